using NUnit.Framework;
using Astmt.Models.Data.Npy;

namespace Astmt.Models.Tests.Data;

/// <summary>The writer: byte-identical to numpy's np.save for version 1.0, and round trips for every dtype and version 2.0.</summary>
public class NpyWriterTests
{
    [Test]
    public void Version1_IsByteIdenticalToNumpy()
    {
        var numpyBytes = File.ReadAllBytes(FixtureFiles.Path("npy", "f32_2x3x4.npy"));
        var data = Enumerable.Range(0, 24).Select(i => (float)((i - 7) * 0.5)).ToArray();
        using var ms = new MemoryStream();
        NpyWriter.Write(ms, NpyArray.FromFloat32(data, 2, 3, 4));
        Assert.That(ms.ToArray(), Is.EqualTo(numpyBytes));
    }

    [Test]
    public void Version2_IsByteIdenticalToNumpy()
    {
        var numpyBytes = File.ReadAllBytes(FixtureFiles.Path("npy", "f32_v2_4x3.npy"));
        var data = Enumerable.Range(0, 12).Select(i => (float)((i - 7) * 0.5)).ToArray();
        using var ms = new MemoryStream();
        NpyWriter.Write(ms, NpyArray.FromFloat32(data, 4, 3), forceMajorVersion: 2);
        Assert.That(ms.ToArray(), Is.EqualTo(numpyBytes));
    }

    [Test]
    public void RoundTrip_AllTypesAndShapes()
    {
        using var tmp = new TempDirectory();
        var cases = new (NpyArray Array, string Name)[]
        {
            (NpyArray.FromFloat64([1.5, -2, double.MaxValue], 3), "f8"),
            (NpyArray.FromInt32([int.MinValue, 0, int.MaxValue, 5], 2, 2), "i4"),
            (NpyArray.FromInt64([long.MinValue, -1], 2, 1, 1), "i8"),
            (NpyArray.FromFloat32([7f], []), "scalar"),
        };
        foreach (var (array, name) in cases)
        {
            string path = Path.Combine(tmp.FullName, "sub", name + ".npy");
            NpyWriter.Write(path, array);
            var back = NpyReader.Read(path);
            Assert.That(back.DType, Is.EqualTo(array.DType), name);
            Assert.That(back.Shape, Is.EqualTo(array.Shape), name);
            Assert.That(back.Bytes.ToArray(), Is.EqualTo(array.Bytes.ToArray()), name);
        }
    }
}

using NUnit.Framework;
using Astmt.Models.Data.Npy;

namespace Astmt.Models.Tests.Data;

/// <summary>The reader on files numpy wrote (Tools/fixtures/make_npy_fixtures.py), including the error cases.</summary>
public class NpyReaderTests
{
    // make_npy_fixtures.py: value at flat index i = (i - 7) * 0.5.
    private static double Pattern(int i) => (i - 7) * 0.5;

    [Test]
    public void Float32_V1_ReadsShapeAndValues()
    {
        var a = NpyReader.Read(FixtureFiles.Path("npy", "f32_2x3x4.npy"));
        Assert.That(a.DType, Is.EqualTo(NpyDType.Float32));
        Assert.That(a.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        var v = a.ToFloat64();
        for (int i = 0; i < v.Length; i++) Assert.That(v[i], Is.EqualTo(Pattern(i)), $"element {i}");
    }

    [Test]
    public void Float64_ReadsAsFloat32AndInt64()
    {
        var a = NpyReader.Read(FixtureFiles.Path("npy", "f64_3x5.npy"));
        Assert.That(a.DType, Is.EqualTo(NpyDType.Float64));
        Assert.That(a.Shape, Is.EqualTo(new[] { 3, 5 }));
        var f = a.ToFloat32();
        var l = a.ToInt64();
        for (int i = 0; i < 15; i++)
        {
            Assert.That(f[i], Is.EqualTo((float)Pattern(i)));
            Assert.That(l[i], Is.EqualTo((long)Pattern(i)), "float to int64 truncates toward zero like torch .long()");
        }
    }

    [Test]
    public void Int32_And_Int64()
    {
        var a = NpyReader.Read(FixtureFiles.Path("npy", "i32_7.npy"));
        Assert.That(a.DType, Is.EqualTo(NpyDType.Int32));
        Assert.That(a.ToInt64(), Is.EqualTo(new long[] { -3, -2, -1, 0, 1, 2, 3 }));
        var b = NpyReader.Read(FixtureFiles.Path("npy", "i64_2x2.npy"));
        Assert.That(b.DType, Is.EqualTo(NpyDType.Int64));
        Assert.That(b.Shape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(b.ToInt64(), Is.EqualTo(new long[] { -1, 0, 12, 1L << 40 }));
    }

    [Test]
    public void Version2Header()
    {
        var a = NpyReader.Read(FixtureFiles.Path("npy", "f32_v2_4x3.npy"));
        Assert.That(a.Shape, Is.EqualTo(new[] { 4, 3 }));
        var v = a.ToFloat64();
        for (int i = 0; i < 12; i++) Assert.That(v[i], Is.EqualTo(Pattern(i)));
    }

    [Test]
    public void ScalarAndEmptyArrays()
    {
        var s = NpyReader.Read(FixtureFiles.Path("npy", "f32_scalar.npy"));
        Assert.That(s.Shape, Is.Empty);
        Assert.That(s.ToFloat32(), Is.EqualTo(new[] { 3.25f }));
        var e = NpyReader.Read(FixtureFiles.Path("npy", "f32_empty_0x3.npy"));
        Assert.That(e.Shape, Is.EqualTo(new[] { 0, 3 }));
        Assert.That(e.Count, Is.Zero);
    }

    [TestCase("bad_fortran.npy", "Fortran order")]
    [TestCase("bad_truncated.npy", "truncated")]
    [TestCase("bad_truncated_header.npy", "truncated")]
    [TestCase("bad_magic.npy", "magic")]
    [TestCase("bad_header.npy", "malformed header")]
    [TestCase("bad_bigendian.npy", "unsupported dtype '>f4'")]
    [TestCase("bad_uint8.npy", "unsupported dtype '|u1'")]
    public void BadFiles_FailNamingTheFileAndTheProblem(string file, string expected)
    {
        string path = FixtureFiles.Path("npy", file);
        var ex = Assert.Throws<NpyFormatException>(() => NpyReader.Read(path))!;
        Assert.That(ex.Message, Does.Contain(path));
        Assert.That(ex.Message, Does.Contain(expected));
        Assert.That(ex.FileName, Is.EqualTo(path));
    }

    [Test]
    public void MissingFile_FailsNamingTheFile()
    {
        var ex = Assert.Throws<NpyFormatException>(() => NpyReader.Read("/nonexistent/dir/x.npy"))!;
        Assert.That(ex.Message, Does.Contain("/nonexistent/dir/x.npy"));
    }

    [Test]
    public void TrailingBytes_AreReported()
    {
        using var tmp = new TempDirectory();
        string path = Path.Combine(tmp.FullName, "extra.npy");
        var bytes = File.ReadAllBytes(FixtureFiles.Path("npy", "f32_2x3x4.npy"));
        File.WriteAllBytes(path, [.. bytes, 1, 2, 3, 4]);
        var ex = Assert.Throws<NpyFormatException>(() => NpyReader.Read(path))!;
        Assert.That(ex.Message, Does.Contain("unexpected bytes"));
    }
}

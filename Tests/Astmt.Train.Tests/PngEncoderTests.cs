using System.IO.Compression;
using System.Text;
using Astmt.Train.Experiments;
using Astmt.Train.Imaging;
using Astmt.Train.Tests.Support;

namespace Astmt.Train.Tests;

/// <summary>The PNG encoder and its checksums, against known vectors and an independent decoder.</summary>
public sealed class PngEncoderTests
{
    [Test]
    public void Crc32_MatchesTheStandardCheckValue() =>
        Assert.That(Crc32.Compute(Encoding.ASCII.GetBytes("123456789")), Is.EqualTo(0xCBF43926u));

    [Test]
    public void Crc32_AgreesWithABitwiseImplementation_OnRandomData()
    {
        var data = new byte[1000];
        new Random(3).NextBytes(data);
        Assert.That(Crc32.Compute(data), Is.EqualTo(MiniPngReader.BitwiseCrc32(data)));
    }

    [Test]
    public void Adler32_MatchesKnownVectors()
    {
        Assert.That(Adler32.Compute(Encoding.ASCII.GetBytes("Wikipedia")), Is.EqualTo(0x11E60398u));
        Assert.That(Adler32.Compute([]), Is.EqualTo(1u));
    }

    [Test]
    public void Adler32_LongInputsReduceCorrectly()
    {
        // 20,000 bytes of 0xFF overflow 32-bit sums without the periodic reduction; compare with the definition in 64 bits.
        var data = Enumerable.Repeat((byte)0xFF, 20_000).ToArray();
        ulong a = 1, b = 0;
        foreach (byte x in data) { a = (a + x) % 65521; b = (b + a) % 65521; }
        Assert.That(Adler32.Compute(data), Is.EqualTo((uint)((b << 16) | a)));
    }

    [Test]
    public void ZlibStream_RoundTripsThroughTheFrameworkDecoder()
    {
        var data = new byte[5000];
        new Random(5).NextBytes(data);
        byte[] z = PngEncoder.ZlibCompress(data);
        Assert.That((z[0] * 256 + z[1]) % 31, Is.Zero, "zlib header check bits");
        using var inflate = new ZLibStream(new MemoryStream(z), CompressionMode.Decompress);
        var back = new MemoryStream();
        inflate.CopyTo(back);
        Assert.That(back.ToArray(), Is.EqualTo(data));
    }

    [TestCase(1, 1)]
    [TestCase(7, 5)]
    [TestCase(33, 17)]
    public void EncodedImage_DecodesToTheSamePixels(int width, int height)
    {
        var image = new RgbImage(width, height);
        new Random(width * 100 + height).NextBytes(image.Pixels);
        var (w, h, rgb) = MiniPngReader.Decode(PngEncoder.Encode(image));
        Assert.That((w, h), Is.EqualTo((width, height)));
        Assert.That(rgb, Is.EqualTo(image.Pixels));
    }

    [Test]
    public void PredictionGrid_HasInputPredictionAndTruthTiles()
    {
        var task = new TaskInfo("seg", MapKind.Segmentation, [], Classes: 3);
        var input = new DenseMap(2, 2, 3, [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
        var pred = new DenseMap(2, 2, 1, [0, 1, 2, 1]);
        var truth = new DenseMap(2, 2, 1, [-1, 1, 2, 0]);
        var sample = new PredictionSample(input, new Dictionary<string, TaskPrediction> { ["seg"] = new(pred, truth) });
        var grid = PredictionGrid.Draw(task, [sample, sample]);
        int g = PredictionGrid.Gap;
        Assert.That((grid.Width, grid.Height), Is.EqualTo((3 * 2 + 4 * g, 2 * (2 + g) + g)));
        (byte, byte, byte) At(int x, int y) { int i = (y * grid.Width + x) * 3; return (grid.Pixels[i], grid.Pixels[i + 1], grid.Pixels[i + 2]); }
        Assert.That(At(g, g), Is.EqualTo(((byte)255, (byte)0, (byte)0)), "input tile is the red image");
        Assert.That(At(2 * g + 2 + 1, g), Is.EqualTo(ColorMaps.Segmentation(1)), "prediction tile, pixel (1,0) is class 1");
        Assert.That(At(3 * g + 4, g), Is.EqualTo(((byte)0, (byte)0, (byte)0)), "void ground truth is black");
        Assert.That(At(3 * g + 4 + 1, g + 1), Is.EqualTo(ColorMaps.Segmentation(0)), "ground truth (1,1) is class 0");
    }

    [Test]
    public void ColourMaps_EncodeNormalsAndKeepClassesApart()
    {
        Assert.That(ColorMaps.Normal(0, 0, 1), Is.EqualTo(((byte)128, (byte)128, (byte)255)));
        Assert.That(ColorMaps.Normal(0, 0, 0), Is.EqualTo(((byte)0, (byte)0, (byte)0)));
        var colours = Enumerable.Range(0, 40).Select(ColorMaps.Segmentation).ToHashSet();
        Assert.That(colours, Has.Count.EqualTo(40), "40 classes get 40 distinct colours");
        Assert.That(colours, Does.Not.Contain(((byte)0, (byte)0, (byte)0)), "black is reserved for void");
        Assert.That(ColorMaps.Depth(0, 0, 10), Is.Not.EqualTo(ColorMaps.Depth(10, 0, 10)));
    }
}

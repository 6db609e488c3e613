using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Astmt.Engine;
using Astmt.Engine.IO;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Fixtures.NewTempFolder();

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string TempFile(string name = "t.safetensors") => Path.Combine(_dir, name);

    // ------------------------------------------------------------------ round trip and layout

    [Test]
    public void RoundTripKeepsValuesShapesOrderAndMetadata()
    {
        var rng = new Random(11);
        var permuted = F.Permute(Numeric.RandomFloat(rng, 3, 5), 1, 0);
        Assert.That(permuted.IsContiguous, Is.False, "the test wants a strided view");
        var tensors = new Dictionary<string, Tensor>
        {
            ["encoder.0.weight"] = Numeric.RandomFloat(rng, 4, 3, 3, 3),
            ["odd"] = Numeric.RandomFloat(rng, 45, 65),
            ["double"] = Numeric.RandomDouble(rng, 2, 1, 7),
            ["labels"] = Tensor.FromArray([long.MinValue, -1, 0, 1, long.MaxValue, 1L << 40], 2, 3),
            ["scalar"] = Tensor.Scalar(-2.75),
            ["empty"] = Tensor.Zeros([0, 4]),
            ["permuted"] = permuted,
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\" {braces}" };
        var path = TempFile();
        SafeTensors.Save(path, tensors, metadata);

        var file = SafeTensors.Load(path);
        Assert.That(file.Keys, Is.EqualTo(tensors.Keys.ToArray()));
        Assert.That(file.Metadata, Is.EquivalentTo(metadata));
        foreach (var (name, expected) in tensors)
        {
            var actual = file.Get(name);
            Assert.That(actual.Shape, Is.EqualTo(expected.Shape), name);
            Assert.That(actual.DType, Is.EqualTo(expected.DType), name);
            if (expected.DType == DType.Int64) Assert.That(actual.ToArray<long>(), Is.EqualTo(expected.ToArray<long>()), name);
            else Assert.That(actual.ToDoubleArray(), Is.EqualTo(expected.ToDoubleArray()), name);
        }
    }

    [Test]
    public void WrittenFileHasTheHuggingFaceLayout()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray([1f, 2f, 3f], 3),
            ["b"] = Tensor.FromArray([1.0, 2.0], 2, 1),
            ["c"] = Tensor.FromArray([7L], 1),
        };
        var path = TempFile();
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);

        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.That(n % 8, Is.EqualTo(0), "header padded to 8 bytes");
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(headerText.TrimEnd(' '), Does.EndWith("}"), "padding is spaces after the JSON");
        using var doc = JsonDocument.Parse(headerText);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("__metadata__").GetProperty("k").GetString(), Is.EqualTo("v"));
        string[] dtypes = ["F32", "F64", "I64"];
        int[][] shapes = [[3], [2, 1], [1]];
        long[] sizes = [12, 16, 8];
        long offset = 0;
        string[] names = ["a", "b", "c"];
        for (int i = 0; i < names.Length; i++)
        {
            var e = root.GetProperty(names[i]);
            Assert.That(e.GetProperty("dtype").GetString(), Is.EqualTo(dtypes[i]));
            Assert.That(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()), Is.EqualTo(shapes[i]));
            Assert.That(e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()), Is.EqualTo(new[] { offset, offset + sizes[i] }));
            offset += sizes[i];
        }
        Assert.That(bytes.Length, Is.EqualTo(8 + n + offset));
        Assert.That(BitConverter.ToSingle(bytes, (int)(8 + n + 4)), Is.EqualTo(2f), "data little-endian right after the header");
        Assert.That(BitConverter.ToInt64(bytes, (int)(8 + n + 28)), Is.EqualTo(7L));
    }

    [Test]
    public void SaveOverwritesAnExistingFileAndLeavesNoTemporaryFiles()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray([1f], 1) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["y"] = Tensor.FromArray([2f, 3f], 2) });
        var file = SafeTensors.Load(path);
        Assert.That(file.Keys, Is.EqualTo(new[] { "y" }));
        Assert.That(file.Get("y").ToArray<float>(), Is.EqualTo(new[] { 2f, 3f }));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void AFileDescribedByHandReadsItsHeaderOnFirstUse()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray([1.5, -2.5], 2), ["b"] = Tensor.FromArray([3L], 1) });
        var file = new SafeTensorsFile(path, new Dictionary<string, string>(), ["a", "b"]);
        Assert.That(file.Info("a").FileDType, Is.EqualTo("F64"));
        Assert.That(file.Get("a").ToArray<double>(), Is.EqualTo(new[] { 1.5, -2.5 }));
        var all = file.GetAll();
        Assert.That(all.Keys, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(all["b"].ToArray<long>(), Is.EqualTo(new[] { 3L }));
    }

    // ------------------------------------------------------------------ files written by PyTorch

    [Test]
    public void ReadsEveryDtypeAsPyTorchWroteIt()
    {
        var file = SafeTensors.Load(Fixtures.Path("safetensors_dtypes.safetensors"));
        Assert.That(file.Metadata["made_by"], Does.Contain("make_safetensors_dtypes.py"));
        var i = Enumerable.Range(0, 24).ToArray();

        var f64 = file.Get("f64");
        Assert.That((f64.DType, f64.Shape), Is.EqualTo((DType.Float64, new[] { 2, 3, 4 })));
        Assert.That(f64.ToArray<double>(), Is.EqualTo(i.Select(k => k / 7.0).ToArray()));

        var exact = i.Select(k => (float)((k - 5) * 0.375)).ToArray();
        foreach (var (name, shape) in new[] { ("f32", new[] { 4, 6 }), ("f16_exact", new[] { 24 }), ("bf16_exact", new[] { 6, 4 }) })
        {
            var t = file.Get(name);
            Assert.That((t.DType, t.Shape), Is.EqualTo((DType.Float32, shape)), name);
            Assert.That(t.ToArray<float>(), Is.EqualTo(exact), name);
        }
        var f16 = file.Get("f16_rounded").ToArray<float>();
        Assert.That(f16, Is.EqualTo(i.Select(k => (float)(Half)(k * 0.1 + 0.01)).ToArray()), "f16 widened exactly as System.Half rounds");
        var bf16 = file.Get("bf16_rounded").ToArray<float>();
        Assert.That(bf16, Is.EqualTo(i.Select(k => RoundToBFloat16(k * 0.1 + 0.01)).ToArray()), "bf16 = float32 rounded to nearest-even on 16 bits");

        Assert.That(file.Get("i64").ToArray<long>(), Is.EqualTo(i.Select(k => k * 1_000_000_007L - (1L << 40)).ToArray()));
        var i32 = file.Get("i32");
        Assert.That((i32.DType, i32.Shape), Is.EqualTo((DType.Int64, new[] { 4, 6 })));
        Assert.That(i32.ToArray<long>(), Is.EqualTo(i.Select(k => k * 100_003L - 1_000_000).ToArray()));
        Assert.That(file.Get("i16").ToArray<long>(), Is.EqualTo(i.Select(k => k * 1_001L - 12_000).ToArray()));
        Assert.That(file.Get("i8").ToArray<long>(), Is.EqualTo(i.Select(k => k * 11L - 128).ToArray()));
        Assert.That(file.Get("u8").ToArray<long>(), Is.EqualTo(i.Select(k => k * 11L).ToArray()));
        var flags = file.Get("bool");
        Assert.That((flags.DType, flags.Shape), Is.EqualTo((DType.Int64, new[] { 4, 6 })));
        Assert.That(flags.ToArray<long>(), Is.EqualTo(i.Select(k => k % 3 == 0 ? 1L : 0L).ToArray()));

        var scalar = file.Get("scalar");
        Assert.That((scalar.Rank, scalar.Item()), Is.EqualTo((0, 2.5)));
        Assert.That(file.Get("empty").Shape, Is.EqualTo(new[] { 0, 3 }));
    }

    /// <summary>float32 of <paramref name="v"/> rounded to bfloat16 (round to nearest, ties to even), independently of the reader.</summary>
    private static float RoundToBFloat16(double v)
    {
        uint bits = BitConverter.SingleToUInt32Bits((float)v);
        uint rounded = bits + 0x7FFF + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(rounded & 0xFFFF0000u);
    }

    [Test]
    public void ReadsTheEngineGoldenFixture()
    {
        var file = SafeTensors.Load(Fixtures.Path("engine_golden.safetensors"));
        Assert.That(file.Keys, Has.Count.EqualTo(40), "3 inputs, 10 initial parameters, 5 outputs, 10 gradients, 12 after Adam");
        Assert.That(file.Metadata["made_by"], Is.EqualTo("Tools/fixtures/make_engine_golden.py"));
        Assert.That(file.Get("init.conv1.weight").Shape, Is.EqualTo(new[] { 4, 3, 3, 3 }));
        // st_write.py passes arrays through np.ascontiguousarray, which makes 0-d values 1-d: scalars are stored as [1].
        Assert.That(file.Info("out.nll").Shape, Is.EqualTo(new[] { 1 }));

        // log-softmax output: exp sums to 1 over the 3 channels at every pixel of [2,3,8,10].
        var seg = file.Get("out.seg");
        Assert.That(seg.Shape, Is.EqualTo(new[] { 2, 3, 8, 10 }));
        var s = seg.ToDoubleArray();
        for (int b = 0; b < 2; b++)
            for (int p = 0; p < 80; p++)
                Assert.That(Math.Exp(s[b * 240 + p]) + Math.Exp(s[b * 240 + 80 + p]) + Math.Exp(s[b * 240 + 160 + p]), Is.EqualTo(1.0).Within(1e-5));

        // The script sets target[0, 0, :4] = -1 (ignored) and draws the rest from {0, 1, 2}.
        var target = file.Get("input.target");
        Assert.That((target.DType, target.Shape), Is.EqualTo((DType.Int64, new[] { 2, 8, 10 })));
        var tv = target.ToArray<long>();
        Assert.That(tv.Take(4), Is.All.EqualTo(-1L));
        Assert.That(tv.Skip(4), Is.All.InRange(-1L, 2L));
        // depth_gt[1, 0, 2:4, 3:7] = 0; elsewhere rand + 0.5.
        var depth = file.Get("input.depth_gt").ToArray<float>();
        for (int h = 0; h < 8; h++)
            for (int w = 0; w < 10; w++)
            {
                float v = depth[80 + h * 10 + w];
                if (h is >= 2 and < 4 && w is >= 3 and < 7) Assert.That(v, Is.EqualTo(0f));
                else Assert.That(v, Is.InRange(0.5f, 1.5f));
            }
        var idx = file.Get("out.pool_indices");
        Assert.That((idx.DType, idx.Shape), Is.EqualTo((DType.Int64, new[] { 2, 4, 4, 5 })));
        Assert.That(idx.ToArray<long>(), Is.All.InRange(0L, 79L));
    }

    [TestCase("mtan_golden.safetensors", "make_mtan_golden.py")]
    [TestCase("astmt_golden.safetensors", "make_astmt_golden.py")]
    public void ReadsTheModelFixtures(string name, string script)
    {
        var path = Path.Combine(Fixtures.RepoRoot(), "Tests", "Astmt.Models.Tests", "Fixtures", name);
        var file = SafeTensors.Load(path);
        Assert.That(file.Metadata["made_by"], Does.EndWith(script));
        Assert.That(file.Keys, Is.Not.Empty);
        long totalBytes = 0;
        foreach (var key in file.Keys)
        {
            var info = file.Info(key);
            var t = file.Get(key);
            Assert.That(t.Shape, Is.EqualTo(info.Shape), key);
            totalBytes += info.ByteLength;
            if (t.DType == DType.Float32)
                Assert.That(t.ToArray<float>().All(float.IsFinite), key + " finite");
            t.Dispose();
        }
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path).AsSpan(0, 8));
        Assert.That(8 + headerLength + totalBytes, Is.EqualTo(new FileInfo(path).Length), "the tensors tile the data section");
    }

    // ------------------------------------------------------------------ corrupt files

    /// <summary>Writes a file from a raw header and data, independently of the writer under test.</summary>
    private string Craft(string header, int dataBytes, long? declaredHeaderLength = null)
    {
        var path = TempFile("crafted.safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        var len = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, declaredHeaderLength ?? h.Length);
        f.Write(len);
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    private static void ExpectCorrupt(string path, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path).Get("a"))!;
        Assert.That(ex.Message, Does.Contain(path).And.Contain(expected));
    }

    [Test]
    public void TruncatedFileIsReported()
    {
        var path = TempFile("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        ExpectCorrupt(path, "expected at least the 8-byte header length");
    }

    [Test]
    public void HeaderLengthBeyondTheFileIsReported() =>
        ExpectCorrupt(Craft("{}", 0, declaredHeaderLength: 4096), "reaches beyond the file");

    [Test]
    public void MalformedJsonIsReported() =>
        ExpectCorrupt(Craft("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]", 4), "not valid JSON");

    [Test]
    public void UnknownDtypeIsReported() =>
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "unknown dtype 'Q7'; expected one of F64, F32");

    [Test]
    public void OffsetsBeyondTheDataAreReported() =>
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12), "beyond the data section of 12 bytes");

    [Test]
    public void DataCutShortAfterTheHeaderIsReported()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Zeros([10]) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]);
        ExpectCorrupt(path, "beyond the data section");
    }

    [Test]
    public void OverlappingOffsetsAreReported() =>
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
            "overlap");

    [Test]
    public void ShapeAndByteCountMismatchIsReported() =>
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24), "needs 48 bytes but data_offsets [0, 24] span 24");

    [Test]
    public void MissingFieldsAndBadShapesAreReported()
    {
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "no 'shape' array");
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "expected non-negative integers");
        ExpectCorrupt(Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "no 'data_offsets' pair");
        ExpectCorrupt(Craft("[1,2]", 0), "expected an object of tensor entries");
        ExpectCorrupt(Craft("{\"__metadata__\":{\"x\":1}}", 0), "metadata 'x' is a JSON Number; expected a string");
    }

    [Test]
    public void BoolBytesOtherThanZeroOrOneAreReported()
    {
        var path = Craft("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0);
        File.AppendAllText(path, "\u0001\u0007");
        ExpectCorrupt(path, "element 1 holds byte 7; expected 0 or 1");
    }

    [Test]
    public void MissingKeyNamesTheFileAndTheKey()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["present"] = Tensor.Zeros([1]) });
        var ex = Assert.Throws<KeyNotFoundException>(() => SafeTensors.Load(path).Get("absent"))!;
        Assert.That(ex.Message, Does.Contain(path).And.Contain("'absent'").And.Contain("'present'"));
    }

    [Test]
    public void MissingFileIsReported()
    {
        var path = TempFile("nope.safetensors");
        var ex = Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(path))!;
        Assert.That(ex.Message, Does.Contain(path));
    }

    // ------------------------------------------------------------------ atomicity

    [Test]
    public void AFailedWriteLeavesTheOldFileIntact()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["old"] = Tensor.FromArray([1f, 2f, 3f], 3) });
        var before = File.ReadAllBytes(path);

        var big = new Dictionary<string, Tensor> { ["new"] = Tensor.Zeros([100_000]) };
        var ex = Assert.Throws<IOException>(() => SafeTensors.SaveCore(path, big, null, s => new FailingStream(s, failAfterBytes: 50_000)))!;
        Assert.That(ex.Message, Does.Contain("disk full"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "old file untouched");
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "temporary file removed");
        Assert.That(SafeTensors.Load(path).Get("old").ToArray<float>(), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }

    [Test]
    public void AReleasedTensorIsRefusedBeforeAnythingIsWritten()
    {
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["old"] = Tensor.FromArray([1f], 1) });
        var released = Tensor.Zeros([4]);
        released.Dispose();
        var ex = Assert.Throws<ObjectDisposedException>(() =>
            SafeTensors.Save(path, new Dictionary<string, Tensor> { ["fine"] = Tensor.Zeros([2]), ["gone"] = released }))!;
        Assert.That(ex.Message, Does.Contain("'gone'"));
        Assert.That(SafeTensors.Load(path).Keys, Is.EqualTo(new[] { "old" }));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    /// <summary>A stream that accepts a number of bytes and then fails like a full disk.</summary>
    private sealed class FailingStream(Stream inner, long failAfterBytes) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfterBytes)
            {
                int part = (int)(failAfterBytes - _written);
                inner.Write(buffer[..part]);
                _written += part;
                throw new IOException("No space left on device (simulated disk full).");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}

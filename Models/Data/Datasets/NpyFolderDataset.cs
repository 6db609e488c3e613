using Astmt.Models.Data.Npy;

namespace Astmt.Models.Data.Datasets;

/// <summary>
/// A dataset stored as one .npy file per sample and per array, the layout of the MTAN reference:
/// <c>{split}/image/{i}.npy</c> (H×W×3) and <c>{split}/{folder}/{i}.npy</c> per task. Label maps are H×W (or H×W×1) of any
/// supported dtype and become int64 (floats truncate, as <c>.long()</c> does); dense targets are H×W, H×W×1 or H×W×C and
/// become C×H×W float32. The sample count is the number of <c>*.npy</c> files in <c>image/</c>, as in the reference.
/// </summary>
public sealed class NpyFolderDataset : IMultiTaskDataset
{
    private readonly string _splitDirectory;
    private readonly NpyTaskFolder[] _folders;
    private readonly float _imageScale;

    /// <summary>Opens a split directory. <paramref name="imageScale"/> multiplies the stored image values.</summary>
    public NpyFolderDataset(string name, string splitDirectory, IReadOnlyList<NpyTaskFolder> folders, float imageScale = 1f)
    {
        Name = name;
        _splitDirectory = splitDirectory;
        _folders = folders.ToArray();
        _imageScale = imageScale;
        Tasks = _folders.Select(f => f.Task).ToArray();

        string imageDir = Path.Combine(splitDirectory, "image");
        if (!Directory.Exists(imageDir))
            throw new DirectoryNotFoundException($"{name}: expected the image folder '{imageDir}' ({{split}}/image/{{i}}.npy layout).");
        foreach (var f in _folders)
        {
            string dir = Path.Combine(splitDirectory, f.Folder);
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException($"{name}: expected the '{f.Task.Name}' target folder '{dir}'.");
        }
        Count = Directory.EnumerateFiles(imageDir, "*.npy").Count();
        if (Count == 0) throw new InvalidDataException($"{name}: '{imageDir}' holds no .npy files.");
        string first = ImagePath(0);
        var image = NpyReader.Read(first);
        if (image.Shape.Length != 3 || image.Shape[2] != 3)
            throw new NpyFormatException(first, $"an image must be H×W×3, got ({string.Join(", ", image.Shape)}).");
        Height = image.Shape[0];
        Width = image.Shape[1];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public IReadOnlyList<TaskSpec> Tasks { get; }

    /// <inheritdoc />
    public void Load(int index, MultiTaskSample into)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"{Name}: index {index} outside [0, {Count}).");
        if (into.Height != Height || into.Width != Width || into.Tasks.Count != Tasks.Count)
            throw new ArgumentException($"{Name}: the sample buffer is {into.Height}×{into.Width} with {into.Tasks.Count} tasks; expected {Height}×{Width} with {Tasks.Count}.");
        into.Index = index;
        string imagePath = ImagePath(index);
        var image = NpyReader.Read(imagePath);
        CheckShape(image, imagePath, 3);
        HwcToChw(image, into.Image, 3, _imageScale);

        for (int t = 0; t < _folders.Length; t++)
        {
            var task = _folders[t].Task;
            string path = Path.Combine(_splitDirectory, _folders[t].Folder, $"{index}.npy");
            if (!File.Exists(path)) throw new FileNotFoundException($"{Name}: missing '{task.Name}' target '{path}' for sample {index}.", path);
            var array = NpyReader.Read(path);
            CheckShape(array, path, task.Channels);
            if (task.Kind.IsLabelMap()) array.CopyTo(into.Labels[t].AsSpan());
            else HwcToChw(array, into.Values[t], task.Channels, 1f);
        }
    }

    private string ImagePath(int index)
    {
        string path = Path.Combine(_splitDirectory, "image", $"{index}.npy");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{Name}: missing image '{path}'; files must be numbered 0..{Count - 1}.", path);
        return path;
    }

    private void CheckShape(NpyArray a, string path, int channels)
    {
        var s = a.Shape;
        bool ok = s.Length == 3 ? s[0] == Height && s[1] == Width && s[2] == channels
                : s.Length == 2 && channels == 1 && s[0] == Height && s[1] == Width;
        if (!ok)
            throw new NpyFormatException(path, $"expected shape ({Height}, {Width}{(channels == 1 ? "" : $", {channels}")}) " +
                $"{(channels == 1 ? $"or ({Height}, {Width}, 1)" : "")}, got ({string.Join(", ", s)}).");
    }

    private static void HwcToChw(NpyArray source, float[] destination, int channels, float scale)
    {
        if (channels == 1)
        {
            source.CopyTo(destination.AsSpan());
            if (scale != 1f) foreach (ref var v in destination.AsSpan()) v *= scale;
            return;
        }
        var hwc = source.ToFloat32();
        int plane = hwc.Length / channels;
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < channels; c++)
                destination[c * plane + i] = hwc[i * channels + c] * scale;
    }
}

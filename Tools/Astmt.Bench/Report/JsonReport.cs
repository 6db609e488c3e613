using System.Text.Json;

namespace Astmt.Bench.Report;

/// <summary>Writes a command's result object as indented JSON with snake_case names (ms_per_step, gflop_per_s, …).</summary>
internal static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Write<T>(FileInfo? file, T report)
    {
        if (file is null) return;
        if (file.Directory is { Exists: false } dir) dir.Create();
        File.WriteAllText(file.FullName, JsonSerializer.Serialize(report, Options));
        Console.WriteLine($"wrote {file.FullName}");
    }
}

using System.Text;
using System.Text.Json;
using Astmt.Train.Experiments;
using Astmt.Train.IO;

namespace Astmt.Train.Training;

/// <summary>metrics.jsonl: one <see cref="EpochRecord"/> per line, rewritten atomically after every epoch.</summary>
public static class MetricsLog
{
    /// <summary>The records in <paramref name="path"/>, or none when the file does not exist.</summary>
    public static List<EpochRecord> Read(string path)
    {
        var records = new List<EpochRecord>();
        if (!File.Exists(path)) return records;
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            try
            {
                records.Add(JsonSerializer.Deserialize<EpochRecord>(line, EpochRecord.Json)
                    ?? throw new JsonException("the line is null"));
            }
            catch (JsonException e)
            {
                throw new ConfigurationException($"{path} line {lineNumber}: not a valid epoch record ({e.Message}); expected one JSON object per line.", e);
            }
        }
        return records;
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="records"/>, one per line.</summary>
    public static void Write(string path, IEnumerable<EpochRecord> records)
    {
        var text = new StringBuilder();
        foreach (var r in records) text.Append(JsonSerializer.Serialize(r, EpochRecord.Json)).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }
}

namespace Astmt.Bench.Report;

/// <summary>A fixed-width console table printed row by row, so long suites show progress as they go.</summary>
internal sealed class ConsoleTable
{
    private readonly (string Header, int Width, bool Left)[] _columns;

    public ConsoleTable(params (string Header, int Width, bool Left)[] columns) => _columns = columns;

    public void PrintHeader()
    {
        PrintRow(_columns.Select(c => c.Header).ToArray());
        Console.WriteLine(string.Join("  ", _columns.Select(c => new string('-', c.Width))));
    }

    public void PrintRow(params string[] cells)
    {
        if (cells.Length != _columns.Length)
            throw new ArgumentException($"ConsoleTable: {cells.Length} cells for {_columns.Length} columns.");
        var parts = new string[cells.Length];
        for (int i = 0; i < cells.Length; i++)
            parts[i] = _columns[i].Left ? cells[i].PadRight(_columns[i].Width) : cells[i].PadLeft(_columns[i].Width);
        Console.WriteLine(string.Join("  ", parts).TrimEnd());
    }
}

namespace Astmt.Train;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("Astmt.Train: not built yet.");
        return 2;
    }
}

namespace Astmt.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("Astmt.Bench: not built yet.");
        return 2;
    }
}

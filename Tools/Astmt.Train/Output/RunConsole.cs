using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Astmt.Train.Output;

/// <summary>Receives progress from a running loop.</summary>
public interface IProgressSink
{
    /// <summary>Reports <paramref name="images"/> more images done, with a short status such as the running loss.</summary>
    void Advance(int images, string status);
}

/// <summary>
/// Everything the trainer prints. On a terminal it draws live progress bars; when output is redirected (CI, a pipe) it
/// prints plain progress lines instead, about every tenth of an epoch. Tables render in both.
/// </summary>
public sealed class RunConsole
{
    /// <summary>The underlying console.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>True when progress is drawn live.</summary>
    public bool Live { get; }

    // Plain lines go straight to the writer: Spectre would wrap them at its assumed width of 80 columns, which breaks paths
    // and makes logs hard to grep.
    private readonly TextWriter? _plainWriter;

    /// <summary>A console over <paramref name="console"/>; <paramref name="live"/> selects live bars or plain lines.</summary>
    public RunConsole(IAnsiConsole console, bool live)
    {
        Console = console;
        Live = live;
    }

    private RunConsole(IAnsiConsole console, TextWriter plainWriter) : this(console, live: false)
    {
        _plainWriter = plainWriter;
        console.Profile.Width = 160;
    }

    /// <summary>A console writing plain text to <paramref name="writer"/> (no colours, no live bars): for pipes and tests.</summary>
    public static RunConsole Plain(TextWriter writer) => new(AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(writer),
    }), writer);

    /// <summary>The console of this process: live when standard output is a terminal.</summary>
    public static RunConsole ForProcess() => System.Console.IsOutputRedirected
        ? Plain(System.Console.Out)
        : new RunConsole(AnsiConsole.Console, live: true);

    /// <summary>Prints a line of plain text.</summary>
    public void Line(string text)
    {
        if (_plainWriter != null) _plainWriter.WriteLine(text);
        else Console.WriteLine(text);
    }

    /// <summary>Prints a line with Spectre markup (only on live consoles; plain consoles get the text without styling).</summary>
    public void Markup(string markup) => Console.MarkupLine(markup);

    /// <summary>Prints a table or other renderable.</summary>
    public void Write(IRenderable renderable) => Console.Write(renderable);

    /// <summary>Runs <paramref name="body"/> with a progress display of <paramref name="total"/> images, of which
    /// <paramref name="done"/> are already done (after a resume).</summary>
    public void Progress(string title, int total, int done, Action<IProgressSink> body)
    {
        if (Live)
        {
            Console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ImagesPerSecondColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Spectre.Console.Markup.Escape(title), maxValue: Math.Max(1, total));
                    task.Value = done;
                    body(new LiveSink(task, title));
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            var sink = new PlainSink(this, title, total, done);
            body(sink);
            sink.Finish();
        }
    }

    private sealed class LiveSink(ProgressTask task, string title) : IProgressSink
    {
        public void Advance(int images, string status)
        {
            task.Description = Spectre.Console.Markup.Escape(status.Length == 0 ? title : $"{title}  {status}");
            task.Increment(images);
        }
    }

    private sealed class PlainSink(RunConsole owner, string title, int total, int done) : IProgressSink
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _done = done, _sinceStart, _nextReport = NextDecile(done, total), _reported = -1;
        private string _status = "";

        public void Advance(int images, string status)
        {
            _done += images;
            _sinceStart += images;
            _status = status;
            if (_done >= _nextReport && _done < total)
            {
                Report();
                _nextReport = NextDecile(_done, total);
            }
        }

        public void Finish()
        {
            if (_reported != _done) Report();
        }

        private void Report()
        {
            _reported = _done;
            double seconds = _clock.Elapsed.TotalSeconds;
            double rate = seconds > 0 ? _sinceStart / seconds : 0;
            string eta = rate > 0 ? FormatTime(TimeSpan.FromSeconds((total - _done) / rate)) : "--:--";
            owner.Line(string.Create(CultureInfo.InvariantCulture,
                $"{title}  {_done}/{total} images  {rate:F1} img/s  elapsed {FormatTime(_clock.Elapsed)}  ETA {eta}  {_status}").TrimEnd());
        }

        private static int NextDecile(int done, int total)
        {
            int step = Math.Max(1, total / 10);
            return (done / step + 1) * step;
        }
    }

    /// <summary>Formats a duration as h:mm:ss or m:ss.</summary>
    public static string FormatTime(TimeSpan t) => t.TotalHours >= 1
        ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    private sealed class ImagesPerSecondColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s:F1} img/s") : "-- img/s");
    }
}

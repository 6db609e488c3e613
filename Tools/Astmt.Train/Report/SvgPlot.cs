using System.Globalization;
using System.Net;
using System.Text;

namespace Astmt.Train.Report;

/// <summary>A named line of (x, y) points.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="Colour">CSS colour.</param>
/// <param name="Points">Points in x order; non-finite y values are skipped.</param>
public sealed record PlotSeries(string Label, string Colour, IReadOnlyList<(double X, double Y)> Points);

/// <summary>Draws line plots as inline SVG, with axes, four ticks a side and a legend; no script, no external resources.</summary>
public static class SvgPlot
{
    private const int Width = 420, Height = 240, Left = 58, Right = 12, Top = 28, Bottom = 36;

    /// <summary>The SVG element of a plot titled <paramref name="title"/>.</summary>
    public static string Lines(string title, string xLabel, IReadOnlyList<PlotSeries> series, string? dataAttribute = null)
    {
        var ci = CultureInfo.InvariantCulture;
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y) && double.IsFinite(p.X)).ToList();
        double x0 = finite.Count > 0 ? finite.Min(p => p.X) : 0, x1 = finite.Count > 0 ? finite.Max(p => p.X) : 1;
        double y0 = finite.Count > 0 ? finite.Min(p => p.Y) : 0, y1 = finite.Count > 0 ? finite.Max(p => p.Y) : 1;
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) { double pad = Math.Abs(y0) * 0.05 + 1e-6; y0 -= pad; y1 += pad; }
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Sx(double x) => Left + (x - x0) / (x1 - x0) * plotW;
        double Sy(double y) => Top + (1 - (y - y0) / (y1 - y0)) * plotH;

        var svg = new StringBuilder();
        svg.Append(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\"");
        if (dataAttribute != null) svg.Append(" data-plot=\"").Append(Escape(dataAttribute)).Append('"');
        svg.Append(">\n");
        svg.Append(ci, $"<title>{Escape(title)}</title>\n");
        svg.Append(ci, $"<text x=\"{Width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>\n");
        svg.Append(ci, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#999\"/>\n");
        for (int i = 0; i <= 4; i++)
        {
            double yv = y0 + (y1 - y0) * i / 4, yp = Sy(yv);
            svg.Append(ci, $"<line x1=\"{Left}\" y1=\"{yp:F1}\" x2=\"{Left + plotW}\" y2=\"{yp:F1}\" stroke=\"#eee\"/>");
            svg.Append(ci, $"<text x=\"{Left - 4}\" y=\"{yp + 4:F1}\" text-anchor=\"end\" font-size=\"10\">{Tick(yv)}</text>\n");
            double xv = x0 + (x1 - x0) * i / 4, xp = Sx(xv);
            svg.Append(ci, $"<text x=\"{xp:F1}\" y=\"{Top + plotH + 14}\" text-anchor=\"middle\" font-size=\"10\">{Tick(xv)}</text>\n");
        }
        svg.Append(ci, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 4}\" text-anchor=\"middle\" font-size=\"11\">{Escape(xLabel)}</text>\n");

        int legendY = Top + 12;
        foreach (var s in series)
        {
            var pts = s.Points.Where(p => double.IsFinite(p.Y) && double.IsFinite(p.X)).ToList();
            if (pts.Count > 1)
                svg.Append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").Append(Escape(s.Colour)).Append("\" points=\"")
                   .AppendJoin(' ', pts.Select(p => string.Create(ci, $"{Sx(p.X):F1},{Sy(p.Y):F1}"))).Append("\"/>\n");
            foreach (var p in pts)
                svg.Append(ci, $"<circle cx=\"{Sx(p.X):F1}\" cy=\"{Sy(p.Y):F1}\" r=\"2.5\" fill=\"{Escape(s.Colour)}\"/>");
            svg.Append(ci, $"\n<text x=\"{Left + plotW - 6}\" y=\"{legendY}\" text-anchor=\"end\" font-size=\"11\" fill=\"{Escape(s.Colour)}\">{Escape(s.Label)}</text>\n");
            legendY += 14;
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static string Tick(double v) => Math.Abs(v) >= 100 || v == Math.Round(v)
        ? v.ToString("0.#", CultureInfo.InvariantCulture)
        : v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Escapes text for XML and HTML content and attributes.</summary>
    public static string Escape(string text) => WebUtility.HtmlEncode(text);
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace CellGen.Samples.Adding;

/// <summary>The test-MSE curves of all cells as one SVG line chart, log scale.</summary>
public static class Plot
{
    private static readonly string[] Colours = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f" };

    public static string Svg(IReadOnlyList<TrainingResult> results, double baseline, Options options)
    {
        const int width = 760, height = 420, left = 70, right = 170, top = 30, bottom = 50;
        double maxStep = Math.Max(1, results.SelectMany(r => r.Curve).Select(p => p.Step).DefaultIfEmpty(1).Max());
        double low = 1e-4, high = 1;
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        double X(double step) => left + step / maxStep * (width - left - right);
        double Y(double mse) => top + (Math.Log10(high) - Math.Log10(Math.Clamp(mse, low, high))) / (Math.Log10(high) - Math.Log10(low)) * (height - top - bottom);
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{left}\" y=\"18\" font-size=\"14\">Adding problem, T = {options.Length}: test MSE by training step</text>\n");
        for (int e = -4; e <= 0; e++)
        {
            double y = Y(Math.Pow(10, e));
            svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#ddd\"/><text x=\"{left - 8}\" y=\"{F(y + 4)}\" text-anchor=\"end\">1e{e}</text>\n");
        }
        for (int k = 0; k <= 4; k++)
        {
            double step = maxStep * k / 4;
            svg.Append($"<text x=\"{F(X(step))}\" y=\"{height - bottom + 18}\" text-anchor=\"middle\">{step:F0}</text>\n");
        }
        svg.Append($"<text x=\"{(left + width - right) / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">step</text>\n");
        svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Y(baseline))}\" y2=\"{F(Y(baseline))}\" stroke=\"black\" stroke-dasharray=\"4 4\"/>\n");
        svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Y(Trainer.SolvedMse))}\" y2=\"{F(Y(Trainer.SolvedMse))}\" stroke=\"#999\" stroke-dasharray=\"2 4\"/>\n");
        for (int i = 0; i < results.Count; i++)
        {
            string colour = Colours[i % Colours.Length];
            string points = string.Join(" ", results[i].Curve.Select(p => $"{F(X(p.Step))},{F(Y(p.TestMse))}"));
            svg.Append($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"/>\n");
            svg.Append($"<line x1=\"{width - right + 12}\" x2=\"{width - right + 32}\" y1=\"{top + 10 + 18 * i}\" y2=\"{top + 10 + 18 * i}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            svg.Append($"<text x=\"{width - right + 38}\" y=\"{top + 14 + 18 * i}\">{results[i].Cell}</text>\n");
        }
        int legend = top + 14 + 18 * results.Count;
        svg.Append($"<text x=\"{width - right + 12}\" y=\"{legend + 6}\">--- answer 1 (0.167)</text>\n");
        svg.Append($"<text x=\"{width - right + 12}\" y=\"{legend + 24}\">··· solved (0.01)</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}

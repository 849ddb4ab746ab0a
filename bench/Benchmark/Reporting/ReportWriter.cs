using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Akka.Etcd.Benchmark.Reporting;

/// <summary>
/// Renders a <see cref="BenchmarkReport"/> in etcd benchmark's text layout (Summary, Response time histogram, Latency
/// distribution, Error distribution; "%4.4f secs") or as one JSON object for scripts. Stateless.
/// </summary>
internal static class ReportWriter
{
    private const char BarChar = '∎';

    /// <summary>The etcd-style text report.</summary>
    public static string Text(BenchmarkReport report)
    {
        var s = new StringBuilder();
        if (report.Latencies.Length > 0)
        {
            s.Append("\nSummary:\n");
            s.Append(CultureInfo.InvariantCulture, $"  Total:\t{Secs(report.TotalSeconds)}.\n");
            s.Append(CultureInfo.InvariantCulture, $"  Slowest:\t{Secs(report.Slowest)}.\n");
            s.Append(CultureInfo.InvariantCulture, $"  Fastest:\t{Secs(report.Fastest)}.\n");
            s.Append(CultureInfo.InvariantCulture, $"  Average:\t{Secs(report.Average)}.\n");
            s.Append(CultureInfo.InvariantCulture, $"  Stddev:\t{Secs(report.Stddev)}.\n");
            s.Append(CultureInfo.InvariantCulture, $"  {report.Unit}/sec:\t{F(report.Throughput)}\n");
            foreach (var (name, value) in report.Extra)
                s.Append(CultureInfo.InvariantCulture, $"  {name}:\t{value.ToString("0.####", CultureInfo.InvariantCulture)}\n");

            var histogram = report.Histogram();
            var max = histogram.Max(h => h.Count);
            s.Append("\nResponse time histogram:\n");
            foreach (var (mark, count) in histogram)
            {
                var bar = max > 0 ? count * 40 / max : 0;
                s.Append(CultureInfo.InvariantCulture, $"  {F(mark)} [{count}]\t|{new string(BarChar, bar)}\n");
            }

            s.Append("\nLatency distribution:\n");
            for (var i = 0; i < BenchmarkReport.Percentiles.Length; i++)
            {
                if (report.PercentileValues[i] > 0)
                    s.Append(CultureInfo.InvariantCulture,
                        $"  {BenchmarkReport.Percentiles[i].ToString(CultureInfo.InvariantCulture)}% in {Secs(report.PercentileValues[i])}.\n");
            }
        }

        if (report.Errors.Count > 0)
        {
            s.Append("\nError distribution:\n");
            foreach (var (text, count) in report.Errors.OrderByDescending(e => e.Value))
                s.Append(CultureInfo.InvariantCulture, $"  [{count}]\t{text}\n");
        }

        return s.ToString();
    }

    /// <summary>
    /// The JSON report: command, unit, ok, failed, totalSeconds, throughput (unit/s), fastest, slowest, average,
    /// stddev, p10..p99.9 (all seconds), histogram [{mark, count}], errors {text: count}, plus command extras.
    /// </summary>
    public static string Json(BenchmarkReport report)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("command", report.Command);
            json.WriteString("unit", report.Unit);
            json.WriteNumber("ok", report.Latencies.Length);
            json.WriteNumber("failed", report.Errors.Values.Sum());
            json.WriteNumber("totalSeconds", report.TotalSeconds);
            json.WriteNumber("throughput", report.Throughput);
            json.WriteNumber("fastest", report.Fastest);
            json.WriteNumber("slowest", report.Slowest);
            json.WriteNumber("average", report.Average);
            json.WriteNumber("stddev", report.Stddev);
            for (var i = 0; i < BenchmarkReport.Percentiles.Length; i++)
                json.WriteNumber("p" + BenchmarkReport.Percentiles[i].ToString(CultureInfo.InvariantCulture), report.PercentileValues[i]);
            json.WriteStartArray("histogram");
            if (report.Latencies.Length > 0)
            {
                foreach (var (mark, count) in report.Histogram())
                {
                    json.WriteStartObject();
                    json.WriteNumber("mark", mark);
                    json.WriteNumber("count", count);
                    json.WriteEndObject();
                }
            }

            json.WriteEndArray();
            json.WriteStartObject("errors");
            foreach (var (text, count) in report.Errors)
                json.WriteNumber(text, count);
            json.WriteEndObject();
            foreach (var (name, value) in report.Extra)
                json.WriteNumber(name, value);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string F(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture).PadLeft(6);

    private static string Secs(double seconds) => F(seconds) + " secs";
}

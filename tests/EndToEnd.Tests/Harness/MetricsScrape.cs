using System.Globalization;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// One scrape of a member's <c>/metrics</c> (Prometheus text format): every sample by its series text as printed
/// (<c>name{label="value",...}</c>), with the families' names. Labels are compared as printed, so callers give them in
/// the order the server prints them.
/// </summary>
public sealed class MetricsScrape
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private MetricsScrape(string text, Dictionary<string, double> samples)
    {
        Text = text;
        Samples = samples;
    }

    /// <summary>The exposition as served.</summary>
    public string Text { get; }

    /// <summary>Every sample: series text to value.</summary>
    public IReadOnlyDictionary<string, double> Samples { get; }

    /// <summary>GETs <paramref name="baseUrl"/><c>/metrics</c> and parses it.</summary>
    public static async Task<MetricsScrape> GetAsync(string baseUrl)
    {
        var text = await Http.GetStringAsync(baseUrl.TrimEnd('/') + "/metrics");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var split = line.LastIndexOf(' ');
            var value = line[(split + 1)..];
            samples[line[..split]] = value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            };
        }
        return new MetricsScrape(text, samples);
    }

    /// <summary>The value of one series; 0 when absent (a counter that has not been created yet).</summary>
    public double this[string series] => Samples.TryGetValue(series, out var value) ? value : 0;

    /// <summary>True when some sample belongs to the metric family <paramref name="name"/> (a histogram's <c>_bucket</c>, <c>_sum</c>, <c>_count</c> too).</summary>
    public bool Has(string name) => Samples.Keys.Any(series =>
        series == name || series.StartsWith(name + "{", StringComparison.Ordinal));

    /// <summary>The sum of every series of <paramref name="name"/> whose text contains all of <paramref name="labels"/> (e.g. <c>grpc_method="Put"</c>).</summary>
    public double Sum(string name, params string[] labels) => Samples
        .Where(sample => (sample.Key == name || sample.Key.StartsWith(name + "{", StringComparison.Ordinal))
                         && labels.All(label => sample.Key.Contains(label, StringComparison.Ordinal)))
        .Sum(sample => sample.Value);
}

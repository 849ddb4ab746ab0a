using System.Text.Json;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Node.Logging;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Tests.Logging;

public class EtcdJsonLoggerTests
{
    private sealed class FixedTime(DateTimeOffset now, TimeZoneInfo zone) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();
        public override TimeZoneInfo LocalTimeZone => zone;
    }

    private static readonly DateTimeOffset Instant = new(2026, 11, 22, 2, 30, 0, 123, TimeSpan.Zero);

    private static (EtcdJsonLoggerProvider Provider, StringWriter Output) Create(LogLevel level = LogLevel.Information, TimeZoneInfo? zone = null)
    {
        var output = new StringWriter();
        return (new EtcdJsonLoggerProvider(output, level, new FixedTime(Instant, zone ?? TimeZoneInfo.Utc)), output);
    }

    private static JsonElement[] Lines(StringWriter output) =>
        output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    [Fact]
    public void Line_has_zap_shape_and_template_fields()
    {
        var (provider, output) = Create();
        var logger = provider.CreateLogger("Akka.Etcd.Actors.Raft.RaftActor");
        logger.LogInformation("elected leader {member} at term {term} in {took} ({ok}) {urls}", "8e9e05c52164694d", 2L, TimeSpan.FromMilliseconds(1.5), true, new[] { new Uri("http://127.0.0.1:2380") });
        var line = Assert.Single(Lines(output));
        var names = line.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["level", "ts", "caller", "msg", "member", "term", "took", "ok", "urls"], names);
        Assert.Equal("info", line.GetProperty("level").GetString());
        Assert.Equal("2026-11-22T02:30:00.123Z", line.GetProperty("ts").GetString());
        Assert.Equal("raft/RaftActor", line.GetProperty("caller").GetString());
        Assert.StartsWith("elected leader 8e9e05c52164694d at term 2 in ", line.GetProperty("msg").GetString());
        Assert.Equal(2, line.GetProperty("term").GetInt64());
        Assert.Equal(JsonValueKind.Number, line.GetProperty("term").ValueKind);
        Assert.Equal("1.5ms", line.GetProperty("took").GetString());
        Assert.True(line.GetProperty("ok").GetBoolean());
        Assert.Equal("http://127.0.0.1:2380", line.GetProperty("urls")[0].GetString());
        Assert.EndsWith("}\n", output.ToString());
    }

    [Fact]
    public void Timestamp_uses_local_offset_like_zap()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus-one", TimeSpan.FromHours(1), "plus-one", "plus-one");
        var (provider, output) = Create(zone: zone);
        provider.CreateLogger("x").LogWarning("w");
        var line = Assert.Single(Lines(output));
        Assert.Equal("2026-11-22T03:30:00.123+0100", line.GetProperty("ts").GetString());
        Assert.Equal("warn", line.GetProperty("level").GetString());
        Assert.Equal("x", line.GetProperty("caller").GetString());
    }

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("panic", LogLevel.Critical)]
    [InlineData("fatal", LogLevel.Critical)]
    public void Level_filter_from_log_level(string name, LogLevel minimum)
    {
        var (provider, output) = Create(EtcdLogLevels.Parse(name));
        var logger = provider.CreateLogger("a.b.C");
        foreach (var level in new[] { LogLevel.Trace, LogLevel.Debug, LogLevel.Information, LogLevel.Warning, LogLevel.Error, LogLevel.Critical })
            logger.Log(level, "m");
        var levels = Lines(output).Select(l => l.GetProperty("level").GetString()).ToArray();
        var expected = new[] { LogLevel.Debug, LogLevel.Information, LogLevel.Warning, LogLevel.Error, LogLevel.Critical }
            .Where(l => l >= minimum).Select(EtcdLogLevels.ToZapName).ToArray();
        Assert.Equal(expected, levels);
        Assert.Equal(minimum, provider.MinimumLevel);
    }

    [Fact]
    public void Unknown_level_name_is_rejected() => Assert.Throws<ArgumentException>(() => EtcdLogLevels.Parse("loud"));

    [Fact]
    public void Exceptions_add_error_and_stacktrace()
    {
        var (provider, output) = Create();
        provider.CreateLogger("s.T").LogError(new InvalidOperationException("disk <full>"), "apply failed");
        var line = Assert.Single(Lines(output));
        Assert.Equal("disk <full>", line.GetProperty("error").GetString());
        Assert.Contains("InvalidOperationException", line.GetProperty("stacktrace").GetString());
        Assert.Contains("\"error\":\"disk <full>\"", output.ToString());
    }

    [Fact]
    public void Concurrent_writers_produce_whole_lines()
    {
        var (provider, output) = Create();
        const int threads = 8, perThread = 200;
        Parallel.For(0, threads, t =>
        {
            var logger = provider.CreateLogger($"w.Worker{t}");
            for (var i = 0; i < perThread; i++)
                logger.LogInformation("entry {thread} {index} {padding}", t, i, new string('x', i % 50));
        });
        var lines = Lines(output);
        Assert.Equal(threads * perThread, lines.Length);
        Assert.Equal(threads * perThread, lines.Select(l => (l.GetProperty("thread").GetInt32(), l.GetProperty("index").GetInt32())).Distinct().Count());
    }

    [Theory]
    [InlineData("Akka.Etcd.Actors.Raft.RaftActor", "raft/RaftActor")]
    [InlineData("Akka.Etcd.Storage.Mvcc.MvccStore`1", "mvcc/MvccStore")]
    [InlineData("Outer+Inner", "outer/Inner")]
    [InlineData("Plain", "Plain")]
    public void Caller_is_short_category(string category, string caller) => Assert.Equal(caller, LogCaller.FromCategory(category));

    [Fact]
    public void From_config_uses_level_and_file_outputs()
    {
        var path = Path.Combine(Path.GetTempPath(), $"akka-etcd-log-{Guid.NewGuid():N}.log");
        try
        {
            using (var provider = EtcdJsonLoggerProvider.FromConfig(new MemberConfig { LogLevel = "warn", LogOutputs = [path] }))
            {
                var logger = provider.CreateLogger("n.Node");
                logger.LogInformation("dropped");
                logger.LogWarning("kept {n}", 1);
            }
            var line = JsonDocument.Parse(Assert.Single(File.ReadAllLines(path))).RootElement;
            Assert.Equal("kept 1", line.GetProperty("msg").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Node.Logging;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Akka.Etcd.Node.Tests.Logging;

public class AkkaLoggingTests
{
    /// <summary>Collects the provider's lines (the sink writes one whole line per call, under its lock).</summary>
    private sealed class LineCollector : TextWriter
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(string? value)
        {
            if (!string.IsNullOrEmpty(value))
                Lines.Enqueue(value);
        }

        public override void Write(char value) => throw new InvalidOperationException("the sink writes whole lines");
    }

    private sealed class Chatty : ReceiveActor
    {
        public Chatty()
        {
            var log = Context.GetLogger();
            Receive<string>(text => log.Info("heard {Text} at term {Term}", text, 7));
            Receive<int>(_ => log.Error(new InvalidOperationException("boom"), "failed on {0}", "purpose"));
        }
    }

    private static async Task<JsonElement> WaitForLine(LineCollector output, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var text in output.Lines)
            {
                var line = JsonDocument.Parse(text).RootElement;
                if (match(line))
                    return line;
            }
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException("no matching line; got:\n" + string.Join("", output.Lines));
    }

    [Fact]
    public async Task Akka_log_lines_arrive_as_etcd_json_lines()
    {
        var output = new LineCollector();
        var member = MemberConfigParser.Parse(["--log-level=debug"], new Dictionary<string, string>(), TextWriter.Null, TextWriter.Null).Config!;
        using var provider = new EtcdJsonLoggerProvider(output, LogLevel.Debug);
        using var host = new HostBuilder()
            .ConfigureLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Debug).AddProvider(provider))
            .ConfigureServices(services => services.AddAkka("etcd", akka => akka
                // A local system: the node's reference config runs Akka.Cluster on the peer port, which a logging test
                // has no use for (and would bind a fixed port).
                .AddHocon(member.AkkaConfig, HoconAddMode.Prepend)
                .AddHocon("akka.actor.provider = local", HoconAddMode.Prepend)
                .AddEtcdJsonLogging()))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var chatty = system.ActorOf(Props.Create(() => new Chatty()), "chatty");
            chatty.Tell("hello");
            chatty.Tell(1);
            // The dead-letter listener subscribes in its PreStart, which runs before it answers Identify: a dead letter
            // sent earlier (the system starts it asynchronously) would never be reported.
            await system.ActorSelection("/system/deadLetterListener").ResolveOne(TimeSpan.FromSeconds(20));
            system.DeadLetters.Tell("nobody listens");

            var heard = await WaitForLine(output, l => l.GetProperty("msg").GetString() == "heard hello at term 7");
            Assert.Equal("info", heard.GetProperty("level").GetString());
            Assert.Equal("akka://etcd/user/chatty", heard.GetProperty("caller").GetString());
            Assert.Equal("hello", heard.GetProperty("Text").GetString());
            Assert.Equal(7, heard.GetProperty("Term").GetInt32());
            Assert.Equal(["level", "ts", "caller", "msg"], heard.EnumerateObject().Select(p => p.Name).Take(4));

            var failed = await WaitForLine(output, l => l.GetProperty("msg").GetString() == "failed on purpose");
            Assert.Equal("error", failed.GetProperty("level").GetString());
            Assert.Equal("boom", failed.GetProperty("error").GetString());
            Assert.False(failed.TryGetProperty("0", out _)); // positional holes make the message, not fields

            // Akka's own lines: the dead-letter listener's report, and the logging bus's start-up line at debug.
            var deadLetter = await WaitForLine(output, l => l.GetProperty("msg").GetString()!.Contains("was not delivered"));
            Assert.Equal("info", deadLetter.GetProperty("level").GetString());
            Assert.StartsWith("akka://etcd", deadLetter.GetProperty("caller").GetString());
            var started = await WaitForLine(output, l => l.GetProperty("msg").GetString()!.Contains("started", StringComparison.OrdinalIgnoreCase)
                                                        && l.GetProperty("level").GetString() == "debug");
            Assert.DoesNotContain("[DEBUG]", started.GetProperty("msg").GetString());
        }
        finally
        {
            await host.StopAsync();
        }

        // every line, Akka's included, is one JSON object with etcd's fields and no Akka decoration in msg
        Assert.All(output.Lines, text =>
        {
            Assert.EndsWith("\n", text);
            Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            var line = JsonDocument.Parse(text).RootElement;
            foreach (var field in new[] { "level", "ts", "caller", "msg" })
                Assert.Equal(JsonValueKind.String, line.GetProperty(field).ValueKind);
            Assert.DoesNotMatch(@"^\[(DEBUG|INFO|WARNING|ERROR)\]", line.GetProperty("msg").GetString());
        });
    }

    [Fact]
    public void Member_config_keeps_akka_off_stdout()
    {
        var member = MemberConfigParser.Parse(["--log-level=warn"], new Dictionary<string, string>(), TextWriter.Null, TextWriter.Null).Config!;
        Assert.Equal("OFF", member.AkkaConfig.GetString("akka.stdout-loglevel"));
        Assert.Equal("WARNING", member.AkkaConfig.GetString("akka.loglevel"));
        Assert.False(member.AkkaConfig.GetBoolean("akka.log-config-on-start"));
    }

    [Fact]
    public async Task Akkas_fallback_logger_writes_etcd_json_lines()
    {
        // Akka writes to its stdout logger while its loggers are not running: before they start, and after the logging
        // bus stops them at shutdown, when a cluster member still logs "Remoting shut down" (seen on every stop of a
        // three-member cluster, in Akka's "[INFO][date][thread][source]" text, before this logger was configured).
        var member = MemberConfigParser.Parse([], new Dictionary<string, string>(), TextWriter.Null, TextWriter.Null).Config!;
        var config = Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(member.AkkaConfig);
        using var system = ActorSystem.Create("fallback", config);
        var output = new LineCollector();
        using var provider = new EtcdJsonLoggerProvider(output);
        try
        {
            Assert.IsType<AkkaStdoutLogger>(system.Settings.StdoutLogger);
            AkkaStdoutLogger.WriteTo(provider);

            system.Settings.StdoutLogger.Tell(new Info("remoting-terminator", typeof(object), "Remoting shut down."));
            system.Settings.StdoutLogger.Tell(new Debug("remoting", typeof(object), "below --log-level"));

            var line = await WaitForLine(output, l => l.GetProperty("msg").GetString() == "Remoting shut down.");
            Assert.Equal("info", line.GetProperty("level").GetString());
            Assert.Equal("remoting-terminator", line.GetProperty("caller").GetString());
            Assert.DoesNotContain(output.Lines, text => text.Contains("below --log-level"));
        }
        finally
        {
            AkkaStdoutLogger.WriteTo(null);
            await system.Terminate();
        }
    }

    [Theory]
    [InlineData(Akka.Event.LogLevel.DebugLevel, LogLevel.Debug)]
    [InlineData(Akka.Event.LogLevel.InfoLevel, LogLevel.Information)]
    [InlineData(Akka.Event.LogLevel.WarningLevel, LogLevel.Warning)]
    [InlineData(Akka.Event.LogLevel.ErrorLevel, LogLevel.Error)]
    public void Levels_map_one_to_one(Akka.Event.LogLevel akka, LogLevel expected) => Assert.Equal(expected, AkkaJsonLogger.ToLogLevel(akka));
}

using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary>
/// <c>etcdctl watch</c> (etcd 3.4's flags: <c>--rev</c>, <c>--prefix</c>, <c>--prev-kv</c>, <c>-i</c>, <c>-- COMMAND</c>;
/// there is no <c>--from-key</c>): the printed events must match etcd's. Watches are long-running, so they run
/// through <see cref="ScenarioWatch"/> and stop once their expected output is printed. A live watch is only
/// relied on once it is known to be registered: either it starts at a revision (<c>--rev</c>: replay does not
/// depend on when it registers), or it runs in interactive mode where a <c>progress</c> line answered with
/// <c>progress notify: REV</c> proves the watches before it are created. No compaction here (see
/// <see cref="WatchCompactionScenarioTests"/>), so <c>--rev 1</c> replays all history.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class WatchScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Historical_watches_replay_puts_re_puts_and_deletes()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var first = await s.PutAsync("hist/a", "1");
            await s.PutAsync("hist/b", "2");
            await s.PutAsync("hist/a", "3");
            await s.RunAsync("del", "hist/a");
            await s.PutAsync("hist/c", "4");
            await s.PutAsync("hist0", "outside");

            await using (var w = ScenarioWatch.Start(s, "watch", "hist/a", "--rev", "1"))
            {
                await w.WaitForTailAsync("DELETE", "hist/a", "");
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/a", "--rev", "1", "--prev-kv"))
            {
                await w.WaitForTailAsync("DELETE", "hist/a", "3", "hist/a", "");
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/", "--prefix", "--rev", (first + 1).ToString()))
            {
                await w.WaitForTailAsync("hist/c", "4");
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/a", "hist/c", "--rev", "1"))
            {
                await w.WaitForTailAsync("DELETE", "hist/a", "");
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/", "--prefix", "--rev", first.ToString(), "-w", "json"))
            {
                await w.WaitForLinesAsync(1);
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/", "--prefix", "--rev", first.ToString(), "--prev-kv", "-w", "json"))
            {
                await w.WaitForLinesAsync(1);
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/", "--prefix", "--rev", (first + 2).ToString(), "-w", "fields"))
            {
                await w.WaitForLineCountAsync("\"Lease\" : 0", 3);
                await w.StopAsync();
            }
            await using (var w = ScenarioWatch.Start(s, "watch", "hist/b", "--rev", "1", "--hex"))
            {
                await w.WaitForTailAsync(@"\x68\x69\x73\x74\x2f\x62", @"\x32");
                await w.StopAsync();
            }
        }, etcd =>
        {
            Assert.Contains("$ etcdctl watch hist/a --rev 1\nPUT\nhist/a\n1\nPUT\nhist/a\n3\nDELETE\nhist/a\n\nrc=137\n", etcd);
            Assert.Contains("$ etcdctl watch hist/a --rev 1 --prev-kv\nPUT\nhist/a\n1\nPUT\nhist/a\n1\nhist/a\n3\nDELETE\nhist/a\n3\nhist/a\n\nrc=137\n", etcd);
            Assert.Matches(@"\$ etcdctl watch hist/ --prefix --rev \d+\nPUT\nhist/b\n2\nPUT\nhist/a\n3\nDELETE\nhist/a\n\nPUT\nhist/c\n4\nrc=137\n", etcd);
            Assert.Contains("$ etcdctl watch hist/a hist/c --rev 1\nPUT\nhist/a\n1\nPUT\nhist/b\n2\nPUT\nhist/a\n3\nDELETE\nhist/a\n\nrc=137\n", etcd);
            // One response carries the whole replay: header revision is the store's, events in revision order.
            Assert.Matches("\\{\"Header\":\\{\"cluster_id\":N,\"member_id\":N,\"revision\":\\d+,\"raft_term\":N\\},\"Events\":\\[" +
                           "\\{\"kv\":\\{\"key\":\"aGlzdC9h\",\"create_revision\":\\d+,\"mod_revision\":\\d+,\"version\":1,\"value\":\"MQ==\"\\}\\}," +
                           ".*\\{\"type\":1,\"kv\":\\{\"key\":\"aGlzdC9h\",\"mod_revision\":\\d+\\}\\},.*\"CompactRevision\":0,\"Canceled\":false,\"Created\":false\\}\n", etcd);
            Assert.Contains("{\"type\":1,\"kv\":{\"key\":\"aGlzdC9h\",\"mod_revision\":", etcd);
            Assert.Matches("\"prev_kv\":\\{\"key\":\"aGlzdC9h\",\"create_revision\":\\d+,\"mod_revision\":\\d+,\"version\":2,\"value\":\"Mw==\"\\}", etcd);
            Assert.Contains("\"Type\" : DELETE\n\"Key\" : \"hist/a\"\n\"CreateRevision\" : 0\n", etcd);
            Assert.Contains("\"Type\" : PUT\n\"Key\" : \"hist/c\"\n", etcd);
            Assert.Contains("$ etcdctl watch hist/b --rev 1 --hex\nPUT\n\\x68\\x69\\x73\\x74\\x2f\\x62\n\\x32\nrc=137\n", etcd);
            foreach (var watch in etcd.Split("$ etcdctl watch").Skip(1))
            {
                Assert.DoesNotContain("hist0", watch);
                Assert.DoesNotContain("aGlzdDA=", watch);
            }
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Argument_errors_and_unsupported_output()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var revision = await s.PutAsync("argerr/k", "v");
            await s.RunAsync("watch");
            await s.RunAsync("watch", "argerr/a", "argerr/b", "--prefix");
            await s.RunAsync("watch", "argerr/k", "--");
            await s.RunAsync("watch", "--from-key", "argerr/k");
            await s.RunAsync("watch", "argerr/k", "--rev", revision.ToString(), "-w", "table");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl watch\nError: bad number of arguments\nrc=128\n", etcd);
            Assert.Contains("Error: `range_end` and `--prefix` are mutually exclusive\nrc=128\n", etcd);
            Assert.Contains("Error: bad number of arguments (found separator --, but no commands)\nrc=128\n", etcd);
            Assert.Contains("Error: unknown flag: --from-key", etcd);
            Assert.Contains("Error: table not supported as output format\nrc=4\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Txn_touching_several_watched_keys_is_one_response()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var marker = await s.PutAsync("tw/m", "m");
            var from = (marker + 1).ToString();
            await using var json = ScenarioWatch.Start(s, "watch", "tw/", "--prefix", "--rev", from, "-w", "json");
            await using var simple = ScenarioWatch.Start(s, "watch", "tw/", "--prefix", "--rev", from, "--prev-kv");
            await s.RunWithInputAsync("value(\"tw/m\") = \"m\"\n\nput tw/a 1\nput tw/b 2\ndel tw/m\nput tx/outside o\n\n\n", "txn");
            await json.WaitForLinesAsync(1);
            await simple.WaitForTailAsync("DELETE", "tw/m", "m", "tw/m", "");
            // A range delete is one revision too: both deletes come in one response.
            await s.RunAsync("del", "tw/", "--prefix");
            await json.WaitForLinesAsync(2);
            await simple.WaitForTailAsync("DELETE", "tw/b", "2", "tw/b", "");
            await json.StopAsync();
            await simple.StopAsync();
        }, etcd =>
        {
            var lines = etcd.Split('\n');
            var responses = lines.Where(l => l.StartsWith("{\"Header\"", StringComparison.Ordinal)).ToArray();
            Assert.Equal(2, responses.Length);
            Assert.Contains("\"Events\":[{\"kv\":{\"key\":\"dHcvYQ==\"", responses[0]);
            Assert.Contains("{\"kv\":{\"key\":\"dHcvYg==\"", responses[0]);
            Assert.Contains("{\"type\":1,\"kv\":{\"key\":\"dHcvbQ==\"", responses[0]);
            Assert.DoesNotContain("dHgvb3V0c2lkZQ==", responses[0]);
            Assert.Contains("\"Events\":[{\"type\":1,\"kv\":{\"key\":\"dHcvYQ==\"", responses[1]);
            Assert.Contains("{\"type\":1,\"kv\":{\"key\":\"dHcvYg==\"", responses[1]);
            Assert.Contains("--prev-kv\nPUT\ntw/a\n1\nPUT\ntw/b\n2\nDELETE\ntw/m\nm\ntw/m\n\nDELETE\ntw/a\n1\ntw/a\n\nDELETE\ntw/b\n2\ntw/b\n\nrc=137\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Interactive_watches_added_while_running()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var seed = await s.PutAsync("ia/seed", "0");
            await using var w = ScenarioWatch.Start(s, "watch", "-i");
            await w.WriteLineAsync("watch ia/foo");
            await w.WriteLineAsync("progress");
            await w.WaitForLineCountAsync($"progress notify: {seed}", 1);
            await s.PutAsync("ia/foo", "1");
            await w.WaitForTailAsync("PUT", "ia/foo", "1");
            await w.WriteLineAsync("watch --prefix ia/b");
            await w.WriteLineAsync("progress");
            // A progress response is broadcast to every watch of the stream: one line per watch.
            await w.WaitForLineCountAsync($"progress notify: {seed + 1}", 2);
            await s.PutAsync("ia/bar", "2");
            await w.WaitForTailAsync("PUT", "ia/bar", "2");
            await s.PutAsync("ia/foo", "3");
            await w.WaitForTailAsync("PUT", "ia/foo", "3");
            await s.PutAsync("ia/other", "4");
            await s.PutAsync("ia/baz", "5");
            await w.WaitForTailAsync("PUT", "ia/baz", "5");
            await w.WriteLineAsync("bogus");
            await w.WriteLineAsync("watch");
            await w.WriteLineAsync("cancel 0");
            await w.CloseInputAsync();
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl watch -i\nprogress notify: \d+\nPUT\nia/foo\n1\nprogress notify: \d+\nprogress notify: \d+\n" +
                           @"PUT\nia/bar\n2\nPUT\nia/foo\n3\nPUT\nia/baz\n5\n", etcd);
            Assert.Contains("Invalid command bogus (only support watch)\nInvalid command watch (command type or key is not provided)\n" +
                            "Invalid command cancel 0 (only support watch)\nError: Error reading watch request line: EOF\nrc=3\n", etcd);
            Assert.DoesNotContain("ia/other\n4", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Exec_command_runs_per_event_with_watch_environment()
    {
        const string Echo = "echo got $ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE";
        var transcript = await servers.RunAsync(async s =>
        {
            var first = await s.PutAsync("ex/a", "1");
            await s.PutAsync("ex/b", "two words");
            await s.RunAsync("del", "ex/a");
            await using (var w = ScenarioWatch.Start(s, "watch", "ex/", "--prefix", "--rev", first.ToString(), "--", "sh", "-c", Echo))
            {
                await w.WaitUntilAsync(o => ScenarioWatch.CompleteLines(o).Count(l => l.StartsWith("got ", StringComparison.Ordinal)) == 3,
                    "3 command outputs");
                await w.StopAsync();
            }

            // Live events, one response each: interactive mode proves the watch is registered before the puts.
            await using var live = ScenarioWatch.Start(s, "watch", "-i");
            await live.WriteLineAsync($"watch ex/ --prefix -- sh -c \"{Echo}\"");
            await live.WriteLineAsync("progress");
            await live.WaitUntilAsync(o => o.StartsWith("progress notify: ", StringComparison.Ordinal) && o.EndsWith('\n'), "progress notify");
            await s.PutAsync("ex/c", "3");
            await live.WaitUntilAsync(o => o.EndsWith("\"ex/c\"=\"3\"\n", StringComparison.Ordinal), "command output for ex/c=3");
            await s.RunAsync("del", "ex/", "--prefix");
            await live.WaitUntilAsync(o => o.EndsWith("\"DELETE\" \"ex/c\"=\"\"\n", StringComparison.Ordinal), "command outputs for the delete");
            await live.CloseInputAsync();
        }, etcd =>
        {
            Assert.Matches(@"PUT\nex/a\n1\nPUT\nex/b\ntwo words\nDELETE\nex/a\n\n" +
                           @"got (\d+) ""PUT"" ""ex/a""=""1""\ngot \1 ""PUT"" ""ex/b""=""two words""\ngot \1 ""DELETE"" ""ex/a""=""""\n", etcd);
            Assert.Matches(@"PUT\nex/c\n3\ngot \d+ ""PUT"" ""ex/c""=""3""\nDELETE\nex/b\n\nDELETE\nex/c\n\n" +
                           @"got (\d+) ""DELETE"" ""ex/b""=""""\ngot \1 ""DELETE"" ""ex/c""=""""\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Watch_from_a_future_revision_waits_for_it()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var start = await s.PutAsync("fut/k", "0");
            var future = (start + 3).ToString();
            await using var plain = ScenarioWatch.Start(s, "watch", "fut/k", "--rev", future);
            await using var interactive = ScenarioWatch.Start(s, "watch", "-i");
            await interactive.WriteLineAsync($"watch fut/k --rev {future}");
            await interactive.WriteLineAsync("progress");
            await interactive.WaitForLineCountAsync($"progress notify: {start}", 1);
            await s.PutAsync("fut/k", "1");
            await s.PutAsync("fut/k", "2");
            // The store is at start+2 and the watch printed nothing: progress shows it is current all the same.
            await interactive.WriteLineAsync("progress");
            await interactive.WaitForLineCountAsync($"progress notify: {start + 2}", 1);
            await s.PutAsync("fut/k", "3");
            await interactive.WaitForTailAsync("PUT", "fut/k", "3");
            await plain.WaitForTailAsync("PUT", "fut/k", "3");
            await s.PutAsync("fut/k", "4");
            await interactive.WaitForTailAsync("PUT", "fut/k", "4");
            await plain.WaitForTailAsync("PUT", "fut/k", "4");
            await interactive.CloseInputAsync();
            await plain.StopAsync();
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl watch -i\nprogress notify: (\d+)\nprogress notify: \d+\nPUT\nfut/k\n3\nPUT\nfut/k\n4\n" +
                           @"Error: Error reading watch request line: EOF\nrc=3\n", etcd);
            Assert.Matches(@"\$ etcdctl watch fut/k --rev \d+\nPUT\nfut/k\n3\nPUT\nfut/k\n4\nrc=137\n", etcd);
        });
        output.WriteLine(transcript);
    }
}

/// <summary>
/// Watches from a compacted revision: etcdctl prints the server's cancel reason and exits with code 5. Its own
/// servers, since compaction is global and would break the <c>--rev 1</c> replays of <see cref="WatchScenarioTests"/>.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class WatchCompactionScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Watch_below_the_compacted_revision_is_canceled()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var first = await s.PutAsync("cw/k", "1");
            var second = await s.PutAsync("cw/k", "2");
            await s.PutAsync("cw/k", "3");
            await s.RunAsync("compaction", second.ToString());
            await s.RunAsync("watch", "cw/k", "--rev", first.ToString());
            await s.RunAsync("watch", "cw/k", "--rev", first.ToString(), "-w", "json");
            await s.RunAsync("watch", "cw/", "--prefix", "--rev", "1", "--prev-kv");
            await using (var w = ScenarioWatch.Start(s, "watch", "cw/k", "--rev", second.ToString()))
            {
                await w.WaitForTailAsync("PUT", "cw/k", "3");
                await w.StopAsync();
            }
            await using var interactive = ScenarioWatch.Start(s, "watch", "-i");
            await interactive.WriteLineAsync($"watch cw/k --rev {first}");
            await interactive.WriteLineAsync($"watch cw/k --rev {second}");
            await interactive.WaitForTailAsync("PUT", "cw/k", "3");
            await interactive.CloseInputAsync();
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl watch cw/k --rev \d+\nwatch was canceled \(etcdserver: mvcc: required revision has been compacted\)\n" +
                           @"Error: watch is canceled by the server\nrc=5\n", etcd);
            Assert.Matches("\\{\"Header\":\\{\"cluster_id\":N,\"member_id\":N,\"raft_term\":N\\},\"Events\":\\[\\],\"CompactRevision\":\\d+,\"Canceled\":true,\"Created\":false\\}\n" +
                           "watch was canceled \\(etcdserver: mvcc: required revision has been compacted\\)\nError: watch is canceled by the server\nrc=5\n", etcd);
            Assert.Matches(@"\$ etcdctl watch cw/k --rev \d+\nPUT\ncw/k\n2\nPUT\ncw/k\n3\nrc=137\n", etcd);
            Assert.Matches(@"\$ etcdctl watch -i\nPUT\ncw/k\n2\nPUT\ncw/k\n3\nwatch was canceled \(etcdserver: mvcc: required revision has been compacted\)\n" +
                           @"Error: Error reading watch request line: EOF\nrc=3\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Watch_from_the_compact_revision_with_prev_kv_omits_the_compacted_prev_kv()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.PutAsync("cpk/k", "1");
            var second = await s.PutAsync("cpk/k", "2");
            await s.PutAsync("cpk/k", "3");
            await s.RunAsync("compaction", second.ToString());
            // The first event's previous version (at second - 1) is compacted away: etcd sends the event without it.
            await using var w = ScenarioWatch.Start(s, "watch", "cpk/k", "--rev", second.ToString(), "--prev-kv");
            await w.WaitForTailAsync("PUT", "cpk/k", "2", "cpk/k", "3");
            await w.StopAsync();
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl watch cpk/k --rev \d+ --prev-kv\nPUT\ncpk/k\n2\nPUT\ncpk/k\n2\ncpk/k\n3\nrc=137\n", etcd);
        });
        output.WriteLine(transcript);
    }
}

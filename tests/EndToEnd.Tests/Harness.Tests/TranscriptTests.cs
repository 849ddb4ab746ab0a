using Akka.Etcd.EndToEnd.Tests.Harness;

namespace Akka.Etcd.EndToEnd.Tests.Harness.Tests;

/// <summary>Normalisation rules of <see cref="Transcript"/>; pure, no processes.</summary>
[Trait("Category", "EndToEnd")]
public sealed class TranscriptTests
{
    [Fact]
    public void Masks_ids_terms_ports_timings_and_client_ids()
    {
        const string raw =
            "{\"header\":{\"cluster_id\":6001611773266757492,\"member_id\":13049071153751544597,\"revision\":4,\"raft_term\":2}}\n" +
            "\"MemberID\" : 13049071153751544597\n\"RaftTerm\" : 2\n\"Revision\" : 4\n" +
            "http://127.0.0.1:24379 is healthy: successfully committed proposal: took = 208.556649ms\n" +
            "{\"level\":\"warn\",\"ts\":\"2026-11-22T02:24:53.903Z\",\"target\":\"endpoint://client-22a0124c-252e-4e62-9189-63c0fb4a5d6c/127.0.0.1:24379\"}\n" +
            "lease 694d7d1e7a3c1c0a granted with TTL(60s)";
        Assert.Equal(
            "{\"header\":{\"cluster_id\":N,\"member_id\":N,\"revision\":4,\"raft_term\":N}}\n" +
            "\"MemberID\" : N\n\"RaftTerm\" : N\n\"Revision\" : 4\n" +
            "http://ADDR is healthy: successfully committed proposal: took = T\n" +
            "{\"level\":\"warn\",\"ts\":\"T\",\"target\":\"endpoint://client-X/ADDR\"}\n" +
            "lease HEXID granted with TTL(T)",
            Transcript.Normalize(raw));
    }

    [Fact]
    public void Keeps_base64_values_and_revisions_intact()
    {
        const string raw = "{\"kvs\":[{\"key\":\"Y21wL2s=\",\"create_revision\":2,\"value\":\"MTBzMTIzNDU2Nzg5YWJjZGVm\"}]}";
        Assert.Equal(raw, Transcript.Normalize(raw));
    }

    [Fact]
    public void Masks_db_sizes_and_repads_tables()
    {
        const string raw =
            "+------------------------+---------+\n" +
            "|        ENDPOINT        | DB SIZE |\n" +
            "| http://127.0.0.1:24379 |  123 kB |\n" +
            "[{\"Status\":{\"dbSize\":20480,\"dbSizeInUse\":16384}}]\n\"DBSize\" : 20480";
        Assert.Equal(
            "+--+\n| ENDPOINT | DB SIZE |\n| http://ADDR | SIZE |\n" +
            "[{\"Status\":{\"dbSize\":SIZE,\"dbSizeInUse\":SIZE}}]\n\"DBSize\" : SIZE",
            Transcript.Normalize(raw));
    }

    [Fact]
    public void Records_command_output_and_exit_code_in_etcd_diff_layout()
    {
        var transcript = new Transcript();
        transcript.Record(["put", "k", "two words"], new EtcdctlResult(0, "OK\n", ""));
        transcript.Record(["get", ""], new EtcdctlResult(1, "", "Error: etcdserver: key is not provided"));
        Assert.Equal(
            "$ etcdctl put k 'two words'\nOK\nrc=0\n$ etcdctl get ''\nError: etcdserver: key is not provided\nrc=1\n",
            transcript.Raw);
    }

    [Fact]
    public void Difference_names_the_first_differing_line()
    {
        Assert.Equal("", Transcript.Difference("a\nb", "a\nb"));
        var difference = Transcript.Difference("a\nb\nc", "a\nx\nc");
        Assert.StartsWith("transcripts differ at line 2:\n  etcd: b\n  ours: x\n", difference);
    }
}

using Akka.Configuration;
using Akka.Etcd.Node.Configuration;

namespace Akka.Etcd.Node.Tests.Configuration;

public class EtcdSettingsTests
{
    private static EtcdSettings Load(string text) => HoconConfigFile.LoadText(text, "test.conf");

    [Fact]
    public void Reference_config_holds_every_flag_default()
    {
        var defaults = EtcdSettings.Default;
        foreach (var flag in FlagCatalog.All.Where(EtcdSettings.IsSetting))
        {
            Assert.True(EtcdSettings.DefaultConfig.HasPath($"akka.etcd.{flag.Name}"), $"reference.conf lacks akka.etcd.{flag.Name}");
            Assert.Equal(flag.Check(flag.Default), defaults.Values[flag.Name]);
        }
        Assert.Empty(defaults.ExplicitNames);
        Assert.Equal(
            FlagCatalog.All.Where(EtcdSettings.IsSetting).Select(f => f.Name).Order(),
            EtcdSettings.DefaultConfig.GetValue("akka.etcd").GetObject().Items.Keys.Order());
    }

    [Fact]
    public void Settings_fall_back_to_the_reference_and_know_what_the_file_set()
    {
        var settings = Load("akka.etcd { name = n1, snapshot-count = 5 }");
        Assert.Equal("n1", settings.Values["name"]);
        Assert.Equal("5", settings.Values["snapshot-count"]);
        Assert.Equal("1000", settings.Values["election-timeout"]);
        Assert.True(settings.IsSet("name"));
        Assert.False(settings.IsSet("election-timeout"));
        Assert.Equal(["name", "snapshot-count"], settings.ExplicitNames.Order());
        Assert.Equal("OFF", settings.Config.GetString("akka.stdout-loglevel"));
    }

    [Theory]
    [InlineData("heartbeat-interval = 50", "heartbeat-interval", "50")]
    [InlineData("heartbeat-interval = 100ms", "heartbeat-interval", "100")]
    [InlineData("election-timeout = 1s", "election-timeout", "1000")]
    [InlineData("election-timeout = 1.5s", "election-timeout", "1500")]
    [InlineData("election-timeout = \"2 seconds\"", "election-timeout", "2000")]
    [InlineData("proxy-dial-timeout = 1 minute", "proxy-dial-timeout", "60000")]
    [InlineData("grpc-keepalive-min-time = 1m30s", "grpc-keepalive-min-time", "1m30s")]
    [InlineData("grpc-keepalive-min-time = 2 seconds", "grpc-keepalive-min-time", "2000000000ns")]
    [InlineData("listen-client-urls = [\"http://b:2379\", \"http://a:2379\"]", "listen-client-urls", "http://b:2379,http://a:2379")]
    [InlineData("listen-client-urls = \"http://b:2379,http://a:2379\"", "listen-client-urls", "http://b:2379,http://a:2379")]
    [InlineData("cipher-suites = []", "cipher-suites", "")]
    [InlineData("pre-vote = on", "pre-vote", "true")]
    [InlineData("pre-vote = true", "pre-vote", "true")]
    [InlineData("snapshot-count = 0x10", "snapshot-count", "16")]
    [InlineData("name = null", "name", "default")]
    public void Values_take_hocon_and_flag_forms(string setting, string name, string expected)
    {
        Assert.Equal(expected, Load($"akka.etcd {{\n  {setting}\n}}").Values[name]);
    }

    [Theory]
    [InlineData("local { n = m1 }\nakka.etcd.name = ${local.n}", "m1")]
    [InlineData("root = /var/lib\nakka.etcd.name = ${root}\"/member\"", "/var/lib/member")]
    [InlineData("akka.etcd.name = ${late}\nlate = defined-later", "defined-later")]
    [InlineData("akka.etcd { name = x }\nakka.etcd { name = y }", "y")]
    [InlineData("akka { etcd { name = deep } }", "deep")]
    [InlineData("akka.etcd.name = \"quoted # not a comment\" # comment", "quoted # not a comment")]
    [InlineData("akka.etcd.name = a // comment\n// whole line\n", "a")]
    public void Substitutions_environment_and_merging(string text, string expectedName)
    {
        Assert.Equal(expectedName, Load(text).Values["name"]);
    }

    [Theory]
    [InlineData("akka.etcd.config = x", "unknown setting 'akka.etcd.config'")]
    [InlineData("akka.etcd.snapshot = x", "unknown setting 'akka.etcd.snapshot'")]
    [InlineData("akka.etcd.listen-client-urls = [\"ftp://x:1\"]", "URL scheme must be http, https, unix, or unixs: ftp://x:1")]
    [InlineData("akka.etcd.listen-client-urls = [[\"http://x:1\"]]", "'akka.etcd.listen-client-urls' must be a list of strings")]
    [InlineData("akka.etcd.initial-cluster-state = maybe", "invalid value \"maybe\" for 'akka.etcd.initial-cluster-state': invalid value")]
    [InlineData("akka.etcd = 5", "'akka.etcd' must be an object of settings")]
    [InlineData("akka.etcd.name = \"bad \\q\"", "Unknown escape code: q")]
    [InlineData("include \"other.conf\"", "line 1, column 1: 'include \"other.conf\"' is not supported")]
    [InlineData("a = 1\nakka.etcd.data-dir = ${?HOME}\"/etcd\"", "line 2, column 22: optional substitutions (${?NAME}) and environment variables are not supported")]
    [InlineData("akka.etcd.data-dir = ${HOME}", "line 1, column 22: could not resolve substitution ${HOME}")]
    public void Bad_settings_are_errors(string text, string fragment)
    {
        var e = Assert.Throws<ConfigErrorException>(() => Load(text));
        Assert.StartsWith("test.conf: ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Theory]
    [InlineData("debug", "DEBUG")]
    [InlineData("info", "INFO")]
    [InlineData("warn", "WARNING")]
    [InlineData("error", "ERROR")]
    [InlineData("fatal", "ERROR")]
    public void Actor_system_log_level_follows_the_member(string etcdLevel, string akkaLevel)
    {
        var config = Load("akka.loglevel = DEBUG\nakka.etcd.name = x").ActorSystemConfig(etcdLevel);
        Assert.Equal(akkaLevel, config.GetString("akka.loglevel"));
        Assert.Equal("x", config.GetString("akka.etcd.name"));
    }

    [Fact]
    public void Create_reads_a_config_built_in_code()
    {
        var settings = EtcdSettings.Create(ConfigurationFactory.ParseString("akka.etcd.max-txn-ops = 9"));
        Assert.Equal("9", settings.Values["max-txn-ops"]);
        Assert.True(settings.IsSet("max-txn-ops"));
    }
}

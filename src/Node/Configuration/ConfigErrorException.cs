namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// A configuration could not be verified (etcd's "error verifying flags" path, exit code 1): a bad value
/// from an environment variable or file, conflicting settings, or an unreadable file. The message is
/// etcd's text where etcd has one (e.g. <c>--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]</c>).
/// </summary>
/// <param name="message">The error text shown to the operator.</param>
/// <param name="inner">The parser's or reader's exception, if any.</param>
/// <param name="settingPath">The HOCON path of the offending setting (e.g. <c>akka.etcd.snapshot-count</c>) when the
/// error is about one setting of a HOCON config, so the file reader can add its line; otherwise null.</param>
public sealed class ConfigErrorException(string message, Exception? inner = null, string? settingPath = null) : Exception(message, inner)
{
    /// <summary>The HOCON path of the offending setting, or null when the error is not about one HOCON setting.</summary>
    public string? SettingPath { get; } = settingPath;
}

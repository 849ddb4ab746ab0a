namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// A configuration could not be verified (etcd's "error verifying flags" path, exit code 1): a bad value
/// from an environment variable or file, conflicting settings, or an unreadable file. The message is
/// etcd's text where etcd has one (e.g. <c>--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]</c>).
/// </summary>
public sealed class ConfigErrorException(string message, Exception? inner = null) : Exception(message, inner);

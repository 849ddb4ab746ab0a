using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Hosting;

/// <summary>
/// Tells systemd that the member serves, as etcd does after "ready to serve client requests": under a
/// <c>Type=notify</c> unit, systemd waits for a <c>READY=1</c> datagram on <c>$NOTIFY_SOCKET</c> before it considers
/// the service started (units ordered after it, <c>systemctl start</c> returning). The datagram is sent with
/// Microsoft.Extensions.Hosting.Systemd's <see cref="SystemdNotifier"/> (abstract <c>@</c> sockets included).
/// Without <c>$NOTIFY_SOCKET</c> (not run by systemd, or <c>Type=simple</c>) nothing is sent.
/// </summary>
public static class SystemdReadiness
{
    /// <summary>
    /// Sends <c>READY=1</c> when <paramref name="notifier"/> has a socket, logging etcd's "notifying init daemon" and
    /// "successfully notified init daemon" (or the failure, which does not stop the member: etcd only logs it too).
    /// Returns whether the datagram was sent.
    /// </summary>
    public static bool NotifyReady(ISystemdNotifier notifier, ILogger log)
    {
        if (!notifier.IsEnabled)
        {
            return false;
        }
        log.LogInformation("notifying init daemon");
        try
        {
            notifier.Notify(ServiceState.Ready);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or ArgumentException)
        {
            log.LogError("failed to notify init daemon: {error}", ex.Message);
            return false;
        }
        log.LogInformation("successfully notified init daemon");
        return true;
    }
}

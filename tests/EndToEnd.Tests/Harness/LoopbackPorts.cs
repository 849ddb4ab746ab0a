using System.Net;
using System.Net.Sockets;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>Picks free TCP ports on 127.0.0.1.</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// Returns <paramref name="count"/> distinct free ports: binds one listener per port on port 0, reads the
    /// ports the kernel chose, then releases them all. Another process can take a port before the server binds
    /// it; the window is small and a failed bind shows in the server log.
    /// </summary>
    public static int[] Free(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners) listener.Stop();
        }
    }
}

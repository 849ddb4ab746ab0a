using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// A Kestrel connection whose abort closes the socket with a FIN, as Go's server (etcd) closes every connection, instead
/// of a TCP reset. Kestrel aborts a connection whenever the client closes it while a stream is still open (a watch, a
/// keep-alive), and the socket transport then disposes the socket with operations in flight and without a prior
/// shutdown, which .NET turns into an abortive close (SO_LINGER 0: RST). A proxy in front of the member sees those
/// resets as errors (ECONNRESET on about every other watch a client closes). Shutting the socket down first marks it as
/// closed for sending, so the transport's disposal that follows is graceful; whatever Kestrel still had queued for a
/// client that has gone is dropped either way. Everything else is the wrapped connection's.
/// </summary>
internal sealed class GracefulCloseConnection : ConnectionContext
{
    private readonly ConnectionContext _inner;
    private int _shutDown;

    /// <summary>Wraps <paramref name="inner"/>; pass the wrapper to the rest of the connection pipeline.</summary>
    public GracefulCloseConnection(ConnectionContext inner) => _inner = inner;

    /// <inheritdoc />
    public override string ConnectionId
    {
        get => _inner.ConnectionId;
        set => _inner.ConnectionId = value;
    }

    /// <inheritdoc />
    public override IFeatureCollection Features => _inner.Features;

    /// <inheritdoc />
    public override IDictionary<object, object?> Items
    {
        get => _inner.Items;
        set => _inner.Items = value;
    }

    /// <inheritdoc />
    public override IDuplexPipe Transport
    {
        get => _inner.Transport;
        set => _inner.Transport = value;
    }

    /// <inheritdoc />
    public override CancellationToken ConnectionClosed
    {
        get => _inner.ConnectionClosed;
        set => _inner.ConnectionClosed = value;
    }

    /// <inheritdoc />
    public override EndPoint? LocalEndPoint
    {
        get => _inner.LocalEndPoint;
        set => _inner.LocalEndPoint = value;
    }

    /// <inheritdoc />
    public override EndPoint? RemoteEndPoint
    {
        get => _inner.RemoteEndPoint;
        set => _inner.RemoteEndPoint = value;
    }

    /// <inheritdoc />
    public override void Abort()
    {
        ShutDownSocket();
        _inner.Abort();
    }

    /// <inheritdoc />
    public override void Abort(ConnectionAbortedException abortReason)
    {
        ShutDownSocket();
        _inner.Abort(abortReason);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>Sends our FIN now (and stops receiving), once; a socket already closed is left alone.</summary>
    private void ShutDownSocket()
    {
        if (Interlocked.Exchange(ref _shutDown, 1) != 0 || _inner.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
            return;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer or the transport: nothing left to close gracefully.
        }
    }
}

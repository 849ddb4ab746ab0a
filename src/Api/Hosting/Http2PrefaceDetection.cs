using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// Connection middleware that lets one cleartext Kestrel endpoint (Protocols = Http1AndHttp2) speak both HTTP/1.1 and
/// h2c with prior knowledge, as etcd's client port does. Kestrel only picks HTTP/2 on such an endpoint when ALPN said
/// "h2" (dotnet/aspnetcore#56984), so this peeks at the first bytes without consuming them and, when they are the
/// HTTP/2 connection preface <c>PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n</c>, sets an
/// <see cref="ITlsApplicationProtocolFeature"/> reporting "h2" (plus an <see cref="ITlsConnectionFeature"/> without
/// certificate, since Kestrel's protocol selection only trusts ALPN when a TLS feature is present; no
/// <see cref="Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature"/> is set, so HTTP/2's TLS checks stay off).
/// Kestrel then expects the scheme "https", so the server must set <c>AllowAlternateSchemes</c>. An HTTP/2 connection's
/// input is then read through an <see cref="Http2AuthorityRewritingReader"/>, so that grpc-go's
/// <c>:authority: http://host:port</c> (clientv3 3.4 with scheme-prefixed endpoints) reaches Kestrel as <c>host:port</c>.
/// Either way the connection is handed on as a <see cref="GracefulCloseConnection"/>, so that Kestrel's aborts close
/// with a FIN rather than a TCP reset. On a TLS port it runs after the handshake and leaves the protocol to ALPN (h2 or
/// http/1.1), rewriting the authority of h2 connections the same way. Stateless and thread-safe.
/// </summary>
internal static class Http2PrefaceDetection
{
    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Runs the detection, then the rest of the connection pipeline (not at all if the peek times out).
    /// <paramref name="maxFrameSize"/> is Kestrel's HTTP/2 SETTINGS_MAX_FRAME_SIZE in octets.
    /// </summary>
    public static async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next, TimeSpan prefaceTimeout,
        int maxFrameSize = Http2AuthorityRewritingReader.DefaultMaxFrameSize)
    {
        if (connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is not null)
        {
            // A TLS connection (the middleware runs after Kestrel's): ALPN chose the protocol; only an HTTP/2 one needs
            // grpc-go's :authority fixed. A client that offered no ALPN falls back to HTTP/1.1, as with Go's server.
            var alpn = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol ?? default;
            if (alpn.Span.SequenceEqual("h2"u8))
            {
                var tlsTransport = connection.Transport;
                connection.Transport = new RewrittenInput(new Http2AuthorityRewritingReader(tlsTransport.Input, maxFrameSize), tlsTransport.Output);
            }
            await next(new GracefulCloseConnection(connection)).ConfigureAwait(false);
            return;
        }

        bool isHttp2;
        using (var timeout = new CancellationTokenSource(prefaceTimeout))
        {
            try
            {
                isHttp2 = await StartsWithPrefaceAsync(connection.Transport.Input, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // Silent client: close the connection.
            }
        }

        if (isHttp2)
        {
            connection.Features.Set<ITlsApplicationProtocolFeature>(H2PriorKnowledge.Instance);
            connection.Features.Set<ITlsConnectionFeature>(H2PriorKnowledge.Instance);
            var transport = connection.Transport;
            connection.Transport = new RewrittenInput(new Http2AuthorityRewritingReader(transport.Input, maxFrameSize), transport.Output);
        }

        await next(new GracefulCloseConnection(connection)).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads until the first bytes match or diverge from the preface; consumes nothing and leaves examined no further
    /// than before, so the HTTP parser sees (and is woken for) every byte.
    /// </summary>
    internal static async ValueTask<bool> StartsWithPrefaceAsync(PipeReader input, CancellationToken cancellationToken)
    {
        long examined = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var decided = TryMatch(buffer, out var isPreface);
            if (decided || result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start, buffer.GetPosition(Math.Min(examined, buffer.Length)));
                return decided && isPreface;
            }

            examined = buffer.Length;
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Compares the buffered bytes with the preface; false while all of them match but fewer than 24 are in.</summary>
    internal static bool TryMatch(in ReadOnlySequence<byte> buffer, out bool isPreface)
    {
        var preface = Preface;
        var length = (int)Math.Min(buffer.Length, preface.Length);
        Span<byte> head = stackalloc byte[preface.Length];
        buffer.Slice(0, length).CopyTo(head);
        if (!head[..length].SequenceEqual(preface[..length]))
        {
            isPreface = false;
            return true;
        }

        isPreface = length == preface.Length;
        return isPreface;
    }

    /// <summary>The connection's transport with its input read through a rewriting reader.</summary>
    private sealed class RewrittenInput(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>The ALPN result "h2" of a connection that has no TLS at all.</summary>
    private sealed class H2PriorKnowledge : ITlsApplicationProtocolFeature, ITlsConnectionFeature
    {
        public static readonly H2PriorKnowledge Instance = new();
        private static readonly byte[] H2 = "h2"u8.ToArray();

        public ReadOnlyMemory<byte> ApplicationProtocol => H2;

        public X509Certificate2? ClientCertificate
        {
            get => null;
            set => throw new NotSupportedException("A cleartext HTTP/2 connection has no client certificate.");
        }

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
            Task.FromResult<X509Certificate2?>(null);
    }
}

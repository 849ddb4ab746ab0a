using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Google.Protobuf;
using Akka.Remote.Transport;
using Akka.Remote.Transport.DotNetty;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// Akka.Remote transport adapter (<c>applied-adapters = ["etcd-peer-tls"]</c> on the DotNetty TCP transport) that
/// enforces <see cref="PeerTls"/>'s verdict on each connection right after its TLS handshake, before Akka's protocol
/// layer acts on it: a refused connection is closed and its association fails, so no message of that peer is read and
/// none is sent to it.
/// </summary>
/// <remarks>
/// Why not refuse in the TLS handshake itself: Akka.Remote 1.5.75 runs CoordinatedShutdown (exit code 79) when an
/// outbound TLS handshake fails, so a member that refused a peer's certificate, or whose certificate a peer refused,
/// would stop. etcd only drops such a connection and retries. So <see cref="PeerTls.Validate"/> lets the handshake
/// finish and records why it refuses; this adapter then drops the connection (outbound: once the handshake is done;
/// inbound: Akka announces the connection before its handshake, so its payloads are held to the verdict). Scheme and
/// addresses are those of the wrapped transport (<c>akka.ssl.tcp</c>).
/// </remarks>
public sealed class PeerTlsGate : Transport
{
    /// <summary>How long an inbound connection may take to present its certificate before it is dropped.</summary>
    public static readonly TimeSpan InboundVerdictTimeout = TimeSpan.FromSeconds(15);

    private readonly Transport _wrapped;
    private readonly PeerTls _tls;
    private readonly Akka.Event.ILoggingAdapter _log;

    /// <summary>Wraps <paramref name="wrapped"/> (Akka's DotNetty TCP transport with TLS on) with <paramref name="tls"/>'s verdicts.</summary>
    public PeerTlsGate(Transport wrapped, PeerTls tls, ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(wrapped);
        ArgumentNullException.ThrowIfNull(tls);
        _wrapped = wrapped;
        _tls = tls;
        System = system;
        Config = wrapped.Config;
        _log = Akka.Event.Logging.GetLogger(system, typeof(PeerTlsGate));
    }

    /// <summary>The wrapped transport's scheme (<c>ssl.tcp</c>): the adapter adds none.</summary>
    public override string SchemeIdentifier => _wrapped.SchemeIdentifier;

    /// <summary>The wrapped transport's largest payload, bytes.</summary>
    public override long MaximumPayloadBytes => _wrapped.MaximumPayloadBytes;

    /// <summary>As the wrapped transport.</summary>
    public override bool IsResponsibleFor(Address remote) => _wrapped.IsResponsibleFor(remote);

    /// <summary>As the wrapped transport.</summary>
    public override Task<bool> Shutdown() => _wrapped.Shutdown();

    /// <summary>As the wrapped transport.</summary>
    public override Task<bool> ManagementCommand(object message) => _wrapped.ManagementCommand(message);

    /// <summary>Listens through the wrapped transport; inbound connections reach Akka only once their certificate passed.</summary>
    public override async Task<(Address, TaskCompletionSource<IAssociationEventListener>)> Listen()
    {
        var (address, wrappedListener) = await _wrapped.Listen().ConfigureAwait(false);
        var upstream = new TaskCompletionSource<IAssociationEventListener>(TaskCreationOptions.RunContinuationsAsynchronously);
        wrappedListener.TrySetResult(new Listener(_tls, upstream.Task, _log));
        return (address, upstream);
    }

    /// <summary>Connects through the wrapped transport (TLS handshake included) and drops the connection if its server certificate was refused.</summary>
    /// <exception cref="InvalidAssociationException">The certificate was refused; the message has the reason.</exception>
    public override async Task<AssociationHandle> Associate(Address remoteAddress)
    {
        var handle = await _wrapped.Associate(remoteAddress).ConfigureAwait(false);
        var refusal = _tls.TakeOutboundRefusal(remoteAddress);
        if (refusal is null)
            return handle;
        handle.Disassociate("peer TLS refused the server certificate: " + refusal, _log);
        throw new InvalidAssociationException($"peer TLS refused {remoteAddress}: {refusal}");
    }

    /// <summary>
    /// Passes inbound connections to Akka at once (DotNetty reads, and so runs the TLS handshake, only once Akka listens
    /// to the connection), each wrapped in a <see cref="GatedHandle"/> that holds its payloads to the TLS verdict.
    /// </summary>
    private sealed class Listener(PeerTls tls, Task<IAssociationEventListener> upstream, Akka.Event.ILoggingAdapter log) : IAssociationEventListener
    {
        public void Notify(IAssociationEvent ev)
        {
            if (ev is InboundAssociation inbound)
            {
                var handle = inbound.Association;
                var verdict = tls.InboundRefusalAsync(handle.RemoteAddress, InboundVerdictTimeout);
                ev = new InboundAssociation(new GatedHandle(handle, verdict, log));
            }
            upstream.ContinueWith(listener => listener.Result.Notify(ev), TaskContinuationOptions.OnlyOnRanToCompletion);
        }
    }

    /// <summary>
    /// An inbound connection whose payloads reach Akka only if its client certificate passed: the verdict is recorded
    /// during the TLS handshake, which ends before the first payload is decrypted. A refused (or never completed)
    /// handshake closes the connection.
    /// </summary>
    private sealed class GatedHandle : AssociationHandle
    {
        private readonly AssociationHandle _inner;
        private readonly Akka.Event.ILoggingAdapter _log;

        public GatedHandle(AssociationHandle inner, Task<string?> verdict, Akka.Event.ILoggingAdapter log)
            : base(inner.LocalAddress, inner.RemoteAddress)
        {
            _inner = inner;
            _log = log;
            ReadHandlerSource.Task.ContinueWith(reader => inner.ReadHandlerSource.TrySetResult(new GatedReader(reader.Result, verdict, this)),
                TaskContinuationOptions.OnlyOnRanToCompletion);
            verdict.ContinueWith(refusal =>
            {
                if (refusal.Result is not null)
                    Refuse(refusal.Result);
            }, TaskContinuationOptions.OnlyOnRanToCompletion);
        }

        public override bool Write(ByteString payload) => _inner.Write(payload);

#pragma warning disable CS0672, CS0618 // Akka's abstract member is marked obsolete in favour of the overload with a reason
        public override void Disassociate() => _inner.Disassociate("disassociated by the local member", _log);
#pragma warning restore CS0672, CS0618

        public void Refuse(string reason) => _inner.Disassociate("peer TLS refused the client certificate: " + reason, _log);
    }

    private sealed class GatedReader(IHandleEventListener upstream, Task<string?> verdict, GatedHandle handle) : IHandleEventListener
    {
        public void Notify(IHandleEvent ev)
        {
            if (ev is InboundPayload)
            {
                if (!verdict.IsCompletedSuccessfully)
                {
                    handle.Refuse("payload before the TLS verdict");
                    return;
                }
                if (verdict.Result is { } refusal)
                {
                    handle.Refuse(refusal);
                    return;
                }
            }
            upstream.Notify(ev);
        }
    }
}

/// <summary>
/// Creates <see cref="PeerTlsGate"/> for Akka.Remote (<c>akka.remote.adapters.etcd-peer-tls</c>) from the member's
/// <see cref="PeerTls"/>, found as the validation callback of the ActorSystem's <see cref="DotNettySslSetup"/>.
/// </summary>
public sealed class PeerTlsGateProvider : ITransportAdapterProvider
{
    /// <summary>The gate around <paramref name="wrappedTransport"/>.</summary>
    /// <exception cref="ConfigurationException">The ActorSystem has no <see cref="DotNettySslSetup"/> made by <see cref="PeerTls.Setup"/>.</exception>
    public Transport Create(Transport wrappedTransport, ExtendedActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        var setup = system.Settings.Setup.Get<DotNettySslSetup>();
        var tls = setup.HasValue ? setup.Value.CustomValidator?.Target as PeerTls : null;
        return tls is null
            ? throw new ConfigurationException("the etcd-peer-tls transport adapter needs the DotNettySslSetup of PeerTls.Setup() in the ActorSystem setup")
            : new PeerTlsGate(wrappedTransport, tls, system);
    }
}

using System.Runtime.CompilerServices;

namespace Akka.Etcd.Api.Grpc;

/// <summary>Writes messages to a response stream.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T>
{
    /// <summary>
    /// Sends one message and flushes it. Safe to call from several tasks at once: writes are serialized, each message
    /// is framed whole. Throws <see cref="InvalidOperationException"/> once the call has completed (handler returned,
    /// deadline passed) and <see cref="Akka.Etcd.Protos.Errors.EtcdException"/> RESOURCE_EXHAUSTED when the message
    /// exceeds <see cref="GrpcServerOptions.MaxSendMessageBytes"/>.
    /// </summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends one message, flushing it only when <paramref name="flush"/>: a burst framed back to back leaves in as few
    /// HTTP/2 DATA frames and socket writes as possible (the last message of a burst must flush). Same threading and
    /// errors as <see cref="WriteAsync(T, CancellationToken)"/>; a writer that cannot defer flushes flushes every message.
    /// </summary>
    Task WriteAsync(T message, bool flush, CancellationToken cancellationToken = default) => WriteAsync(message, cancellationToken);
}

/// <summary>Reads messages of a request stream, one at a time (not thread-safe).</summary>
/// <typeparam name="T">The request message type.</typeparam>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>
    /// Reads the next message: true when <see cref="Current"/> holds one, false when the client half-closed the stream.
    /// Throws <see cref="Akka.Etcd.Protos.Errors.EtcdException"/> for oversize or malformed messages.
    /// </summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Extensions over <see cref="IAsyncStreamReader{T}"/>.</summary>
public static class AsyncStreamReaderExtensions
{
    /// <summary>Enumerates the remaining messages of the stream with <c>await foreach</c>.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            yield return reader.Current;
    }
}

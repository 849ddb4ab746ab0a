using System.Runtime.CompilerServices;

namespace Akka.Etcd.Api.Grpc;

/// <summary>Reads the response messages of one of our client's calls, one at a time (not thread-safe).</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>
    /// Reads the next message: true when <see cref="Current"/> holds one, false when the server ended the stream with status OK.
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

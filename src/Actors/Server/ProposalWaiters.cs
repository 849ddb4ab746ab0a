using System.Collections.Concurrent;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Requests waiting for their proposal to be applied, by proposal ID (etcd's <c>wait.Wait</c>). The API
/// registers an ID before proposing; the MvccStoreActor triggers it with the response (or an error) when it
/// applies the entry carrying that ID. Entries proposed by other members find no waiter and are applied
/// silently. Thread-safe.
/// </summary>
public sealed class ProposalWaiters
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<IMessage>> _waiters = new();

    /// <summary>Number of proposals waiting.</summary>
    public int Count => _waiters.Count;

    /// <summary>Registers a waiter for <paramref name="id"/>; its task completes when the entry is applied.</summary>
    /// <exception cref="InvalidOperationException">The ID is already registered (IDs must be unique).</exception>
    public Task<IMessage> Register(ulong id)
    {
        var reply = new TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiters.TryAdd(id, reply))
        {
            throw new InvalidOperationException($"duplicate proposal id {id:x16}");
        }
        return reply.Task;
    }

    /// <summary>Completes the waiter of <paramref name="id"/> with the apply result, if anyone waits.</summary>
    public void Trigger(ulong id, IMessage response)
    {
        if (_waiters.TryRemove(id, out var reply))
        {
            reply.TrySetResult(response);
        }
    }

    /// <summary>Fails the waiter of <paramref name="id"/>, if anyone waits.</summary>
    public void Fail(ulong id, Exception error)
    {
        if (_waiters.TryRemove(id, out var reply))
        {
            reply.TrySetException(error);
        }
    }

    /// <summary>Forgets a waiter (the caller gave up: deadline or cancellation).</summary>
    public void Cancel(ulong id) => _waiters.TryRemove(id, out _);

    /// <summary>Fails every waiter, e.g. when the member stops.</summary>
    public void FailAll(Exception error)
    {
        foreach (var id in _waiters.Keys)
        {
            Fail(id, error);
        }
    }
}

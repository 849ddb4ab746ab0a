using System.Collections.Concurrent;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Requests waiting for their proposal to be applied, by proposal ID (etcd's <c>wait.Wait</c>). The API
/// registers an ID before proposing; the MvccStoreActor triggers it with the response (or an error) when it
/// applies the entry carrying that ID. Entries proposed by other members find no waiter and are applied
/// silently. A waiter may carry a deadline: <see cref="ExpireDue"/>, called by the member's timer every
/// heartbeat, fails the ones past it, so a put costs no timer of its own. Thread-safe.
/// </summary>
public sealed class ProposalWaiters
{
    private readonly ConcurrentDictionary<ulong, Waiter> _waiters = new();

    /// <summary>Number of proposals waiting.</summary>
    public int Count => _waiters.Count;

    /// <summary>Registers a waiter for <paramref name="id"/> without a deadline; its task completes when the entry is applied.</summary>
    /// <exception cref="InvalidOperationException">The ID is already registered (IDs must be unique).</exception>
    public Task<IMessage> Register(ulong id) => Register(id, long.MaxValue, CancellationToken.None);

    /// <summary>
    /// Registers a waiter for <paramref name="id"/>: its task completes with the apply result, faults with the error
    /// given to <see cref="Fail"/> or <see cref="ExpireDue"/>, or is canceled when <paramref name="cancel"/> fires
    /// (the waiter is then forgotten).
    /// </summary>
    /// <param name="id">The proposal ID (unique).</param>
    /// <param name="deadlineMs">When <see cref="ExpireDue"/> fails it, on the <see cref="Environment.TickCount64"/> clock (ms); <see cref="long.MaxValue"/> = never.</param>
    /// <param name="cancel">Cancels the wait (the client went away).</param>
    /// <exception cref="InvalidOperationException">The ID is already registered (IDs must be unique).</exception>
    public Task<IMessage> Register(ulong id, long deadlineMs, CancellationToken cancel)
    {
        var waiter = new Waiter(this, id, deadlineMs);
        if (!_waiters.TryAdd(id, waiter))
        {
            throw new InvalidOperationException($"duplicate proposal id {id:x16}");
        }
        if (cancel.CanBeCanceled)
        {
            // Disposed when the waiter completes, so a long-lived token does not collect registrations.
            waiter.Registration = cancel.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter);
        }
        return waiter.Task;
    }

    /// <summary>Completes the waiter of <paramref name="id"/> with the apply result, if anyone waits.</summary>
    public void Trigger(ulong id, IMessage response)
    {
        if (_waiters.TryRemove(id, out var reply))
        {
            reply.Registration.Dispose();
            reply.TrySetResult(response);
        }
    }

    /// <summary>Fails the waiter of <paramref name="id"/>, if anyone waits.</summary>
    public void Fail(ulong id, Exception error)
    {
        if (_waiters.TryRemove(id, out var reply))
        {
            reply.Registration.Dispose();
            reply.TrySetException(error);
        }
    }

    /// <summary>Forgets a waiter (the caller gave up: deadline or cancellation).</summary>
    public void Cancel(ulong id)
    {
        if (_waiters.TryRemove(id, out var reply))
        {
            reply.Registration.Dispose();
        }
    }

    /// <summary>
    /// Fails every waiter whose deadline is at or before <paramref name="nowMs"/> (<see cref="Environment.TickCount64"/>
    /// clock, ms) with a fresh error from <paramref name="error"/> (etcd: "etcdserver: request timed out").
    /// </summary>
    /// <returns>How many waiters expired.</returns>
    public int ExpireDue(long nowMs, Func<Exception> error)
    {
        var expired = 0;
        foreach (var (id, waiter) in _waiters)
        {
            if (waiter.DeadlineMs <= nowMs && _waiters.TryRemove(id, out var due))
            {
                due.Registration.Dispose();
                due.TrySetException(error());
                expired++;
            }
        }
        return expired;
    }

    /// <summary>Fails every waiter, e.g. when the member stops.</summary>
    public void FailAll(Exception error)
    {
        foreach (var id in _waiters.Keys)
        {
            Fail(id, error);
        }
    }

    private sealed class Waiter(ProposalWaiters owner, ulong id, long deadlineMs)
        : TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long DeadlineMs { get; } = deadlineMs;

        public CancellationTokenRegistration Registration { get; set; }

        public void Cancel(CancellationToken token)
        {
            if (owner._waiters.TryRemove(new KeyValuePair<ulong, Waiter>(id, this)))
            {
                TrySetCanceled(token);
            }
        }
    }
}

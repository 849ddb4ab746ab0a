using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Tests.Linearizability;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// The clients: each issues one operation at a time to a random member. Writes are proposals (a follower forwards them
/// to the leader) answered when the proposing member applies them; reads ask a read index and are answered once the
/// member applied up to it. A timeout or a crash of the member makes the outcome unknown; a refused request (member
/// down, proposal dropped for lack of a leader) surely did nothing and is left out of the history.
/// </summary>
internal sealed partial class ClusterSimulation
{
    private readonly List<KvOperation> _history = [];
    private readonly Dictionary<int, (KvOperation Operation, ClientRequest Request)> _pending = [];
    private readonly Dictionary<(int Client, string Key), string?> _lastSeen = [];
    private int _nextOperationId;
    private int _writesCompleted;
    private int _failedOperations;
    private bool _clientsStopped;
    private bool _faultsOver;

    private void StartClients()
    {
        for (var client = 1; client <= _options.Clients; client++)
        {
            var id = client;
            _clock.After(_random.Next(1, 30), () => IssueNext(id));
        }
    }

    /// <summary>No new operations; those still pending become unknown.</summary>
    private void StopClients()
    {
        _clientsStopped = true;
        foreach (var (operation, request) in _pending.Values.ToList())
        {
            request.Done = true;
            _history.Add(operation.AsUnknown());
        }

        _pending.Clear();
    }

    private void IssueNext(int client)
    {
        if (_clientsStopped)
        {
            return;
        }

        var id = _nextOperationId++;
        var key = $"k{_random.Next(_options.Keys)}";
        var roll = _random.Next(100);
        var kind = roll < 40 ? KvOperationKind.Get : roll < 65 ? KvOperationKind.Put : roll < 85 ? KvOperationKind.Cas : KvOperationKind.Delete;
        var expected = kind == KvOperationKind.Cas && _random.Next(4) != 0 ? _lastSeen.GetValueOrDefault((client, key)) : null;
        var value = kind is KvOperationKind.Put or KvOperationKind.Cas ? $"v{id}" : null;
        var member = _members[(ulong)(1 + _random.Next(_members.Count))];
        var operation = new KvOperation(id, client, kind, key, value, expected, _clock.Instant(), 0, KvOutcome.Ok, null, false);
        if (!member.IsUp)
        {
            Refused(client);
            return;
        }

        var request = new ClientRequest(id, client);
        _pending[id] = (operation, request);
        _clock.After(_options.OperationTimeoutMs, () => CompleteUnknown(request));
        if (kind == KvOperationKind.Get)
        {
            if (_options.Reads == ReadPath.LocalUnsafe)
            {
                CompleteRead(request, member);
                return;
            }

            var context = ByteString.CopyFromUtf8($"read-{id}");
            member.Reads[context] = request;
            member.Node.ReadIndex(context);
            Process(member);
            return;
        }

        var command = new KvCommand($"req-{id}", kind, key, value, expected);
        try
        {
            member.Node.Propose(command.Encode());
        }
        catch (ProposalDroppedException)
        {
            _pending.Remove(id);
            request.Done = true;
            Refused(client);
            return;
        }

        member.Writes[command.RequestId] = request;
        Process(member);
    }

    private void Refused(int client)
    {
        _failedOperations++;
        ScheduleNext(client);
    }

    private void ScheduleNext(int client) => _clock.After(_random.Next(1, 30), () => IssueNext(client));

    private void CompleteWrite(ClientRequest request, KvApplyResult result)
    {
        if (!Finish(request, out var operation))
        {
            return;
        }

        _writesCompleted++;
        var done = operation with { Response = _clock.Instant(), Succeeded = result.Succeeded };
        _history.Add(done);
        if (operation.Kind == KvOperationKind.Delete || (operation.Kind == KvOperationKind.Cas && result.Succeeded) || operation.Kind == KvOperationKind.Put)
        {
            _lastSeen[(operation.Client, operation.Key)] = operation.Kind == KvOperationKind.Delete ? null : operation.Value;
        }

        ScheduleNext(request.Client);
    }

    private void CompleteRead(ClientRequest request, ClusterMember member)
    {
        if (!Finish(request, out var operation))
        {
            return;
        }

        var value = member.StateMachine.Get(operation.Key);
        _history.Add(operation with { Response = _clock.Instant(), Result = value });
        _lastSeen[(operation.Client, operation.Key)] = value;
        ScheduleNext(request.Client);
    }

    private void CompleteUnknown(ClientRequest request)
    {
        if (!Finish(request, out var operation))
        {
            return;
        }

        _history.Add(operation.AsUnknown());
        ScheduleNext(request.Client);
    }

    private bool Finish(ClientRequest request, out KvOperation operation)
    {
        operation = null!;
        if (request.Done || !_pending.Remove(request.OperationId, out var pending))
        {
            return false;
        }

        request.Done = true;
        operation = pending.Operation;
        return true;
    }
}

using System.Text;

namespace Akka.Etcd.Actors.Tests.Linearizability;

/// <summary>The kinds of operation of the key-value model.</summary>
public enum KvOperationKind
{
    /// <summary>Sets the key to <see cref="KvOperation.Value"/>.</summary>
    Put,

    /// <summary>Reads the key; the result is <see cref="KvOperation.Result"/> (null = absent).</summary>
    Get,

    /// <summary>Removes the key; <see cref="KvOperation.Succeeded"/> tells whether it existed.</summary>
    Delete,

    /// <summary>
    /// Compare-and-set (an etcd txn comparing the value): when the key holds <see cref="KvOperation.Expected"/>
    /// (null = absent) it is set to <see cref="KvOperation.Value"/>; <see cref="KvOperation.Succeeded"/> tells which.
    /// </summary>
    Cas,

    /// <summary>
    /// The projection on one key of a lease revoke (or expiry): when the key holds a value written with the lease (one
    /// of <see cref="KvOperation.RevokedValues"/>) it is deleted, else untouched. A revoke acts on every key at once;
    /// checked per key, its atomicity across keys is not checked.
    /// </summary>
    RevokeLease,
}

/// <summary>What a client learned about an operation.</summary>
public enum KvOutcome
{
    /// <summary>The client got an answer; its result is known.</summary>
    Ok,

    /// <summary>
    /// Timed out, or the member crashed: the operation may or may not have taken effect, at any time after its
    /// invocation. The checker treats it as pending forever (Porcupine's treatment of timed-out operations).
    /// </summary>
    Unknown,
}

/// <summary>
/// One entry of a client history: an operation on one key with its invocation and response instants. Instants come
/// from any clock that is monotonic across all clients; equal instants count as concurrent. Immutable.
/// </summary>
/// <param name="Id">Unique id of the operation within the history.</param>
/// <param name="Client">The client that issued it (a client issues one operation at a time).</param>
/// <param name="Kind">The operation.</param>
/// <param name="Key">The key it touches.</param>
/// <param name="Value">Value written by Put and Cas, else null.</param>
/// <param name="Expected">Value Cas compares with (null = key absent), else null.</param>
/// <param name="Invoke">Instant the client sent the request.</param>
/// <param name="Response">Instant the client got the answer; ignored for <see cref="KvOutcome.Unknown"/>.</param>
/// <param name="Outcome">Whether the result is known.</param>
/// <param name="Result">Value read by Get (null = absent).</param>
/// <param name="Succeeded">Delete: the key existed; Cas: the comparison held. Ignored for Put and Get.</param>
public sealed record KvOperation(
    int Id,
    int Client,
    KvOperationKind Kind,
    string Key,
    string? Value,
    string? Expected,
    long Invoke,
    long Response,
    KvOutcome Outcome,
    string? Result,
    bool Succeeded)
{
    /// <summary>For <see cref="KvOperationKind.RevokeLease"/>: every value written to the key with the lease.</summary>
    public IReadOnlySet<string>? RevokedValues { get; init; }

    /// <summary>The lease of a Put written with one, or of a <see cref="KvOperationKind.RevokeLease"/>; 0 = none.</summary>
    public long Lease { get; init; }

    /// <summary>A completed Put.</summary>
    public static KvOperation Put(int id, int client, string key, string value, long invoke, long response) =>
        new(id, client, KvOperationKind.Put, key, value, null, invoke, response, KvOutcome.Ok, null, false);

    /// <summary>A completed Get that read <paramref name="result"/> (null = absent).</summary>
    public static KvOperation Get(int id, int client, string key, string? result, long invoke, long response) =>
        new(id, client, KvOperationKind.Get, key, null, null, invoke, response, KvOutcome.Ok, result, false);

    /// <summary>A completed Delete; <paramref name="deleted"/> tells whether the key existed.</summary>
    public static KvOperation Delete(int id, int client, string key, bool deleted, long invoke, long response) =>
        new(id, client, KvOperationKind.Delete, key, null, null, invoke, response, KvOutcome.Ok, null, deleted);

    /// <summary>A completed compare-and-set.</summary>
    public static KvOperation Cas(int id, int client, string key, string? expected, string value, bool succeeded, long invoke, long response) =>
        new(id, client, KvOperationKind.Cas, key, value, expected, invoke, response, KvOutcome.Ok, null, succeeded);

    /// <summary>This operation with its result unknown (timed out or its member crashed).</summary>
    public KvOperation AsUnknown() => this with { Outcome = KvOutcome.Unknown, Result = null, Succeeded = false };

    /// <summary>One line for failure reports, e.g. <c>#12 c3 cas(k1, v1-&gt;v2)=true [40, 95]</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder().Append('#').Append(Id).Append(" c").Append(Client).Append(' ');
        text.Append(Kind switch
        {
            KvOperationKind.Put => Lease == 0 ? $"put({Key}, {Value})" : $"put({Key}, {Value}, lease {Lease:x})",
            KvOperationKind.Get => $"get({Key})",
            KvOperationKind.Delete => $"delete({Key})",
            KvOperationKind.RevokeLease => $"revoke-lease({Key}, {Lease:x})",
            _ => $"cas({Key}, {Show(Expected)}->{Value})",
        });
        if (Outcome == KvOutcome.Unknown)
        {
            return text.Append("=? [").Append(Invoke).Append(", ...]").ToString();
        }

        text.Append(Kind switch
        {
            KvOperationKind.Get => "=" + Show(Result),
            KvOperationKind.Put or KvOperationKind.RevokeLease => string.Empty,
            _ => "=" + (Succeeded ? "true" : "false"),
        });
        return text.Append(" [").Append(Invoke).Append(", ").Append(Response).Append(']').ToString();
    }

    private static string Show(string? value) => value ?? "<absent>";
}

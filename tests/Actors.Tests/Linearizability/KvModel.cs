namespace Akka.Etcd.Actors.Tests.Linearizability;

/// <summary>
/// The sequential specification of one key of the key-value store: its state is the key's value (null = absent).
/// Pure and stateless.
/// </summary>
public static class KvModel
{
    /// <summary>
    /// Whether <paramref name="op"/> may take effect on a key holding <paramref name="state"/> and give its recorded
    /// result, and the key's value afterwards. An <see cref="KvOutcome.Unknown"/> operation accepts any result: it
    /// always steps, with its effect when its precondition holds.
    /// </summary>
    public static bool Step(string? state, KvOperation op, out string? next)
    {
        var known = op.Outcome == KvOutcome.Ok;
        switch (op.Kind)
        {
            case KvOperationKind.Put:
                next = op.Value;
                return true;
            case KvOperationKind.Get:
                next = state;
                return !known || string.Equals(state, op.Result, StringComparison.Ordinal);
            case KvOperationKind.Delete:
                next = null;
                return !known || op.Succeeded == (state is not null);
            case KvOperationKind.Cas:
                var holds = string.Equals(state, op.Expected, StringComparison.Ordinal);
                next = holds ? op.Value : state;
                return !known || op.Succeeded == holds;
            case KvOperationKind.RevokeLease:
                next = state is not null && op.RevokedValues!.Contains(state) ? null : state;
                return true;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "unknown operation kind");
        }
    }
}

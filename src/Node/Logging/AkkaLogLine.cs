using System.Collections;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// The logger state of one Akka log event, as <see cref="AkkaJsonLogger"/> hands it to an
/// <see cref="Microsoft.Extensions.Logging.ILogger"/>: <see cref="Source"/> is Akka's log source (an actor path such as
/// <c>akka://etcd/user/raft</c>, or the name a non-actor logger was created with), <see cref="Message"/> the formatted
/// message without Akka's <c>[INFO][date][thread][source]</c> decoration, and the enumerated pairs are the event's
/// semantic-logging properties (<c>log.Info("elected at term {Term}", 2)</c> =&gt; <c>Term = 2</c>).
/// <see cref="EtcdJsonLogger"/> writes <see cref="Source"/> as the line's <c>caller</c>; other providers see a usual
/// structured state whose <see cref="ToString"/> is the message. Immutable.
/// </summary>
public sealed class AkkaLogLine : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly IReadOnlyList<KeyValuePair<string, object?>> _properties;

    /// <summary>Creates the state of one event.</summary>
    /// <param name="source">Akka's log source (written as <c>caller</c>).</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="properties">Semantic properties of the message template, in template order; may be empty.</param>
    public AkkaLogLine(string source, string message, IReadOnlyList<KeyValuePair<string, object?>> properties)
    {
        Source = source;
        Message = message;
        _properties = properties;
    }

    /// <summary>Akka's log source: an actor path (<c>akka://etcd/user/raft</c>) or a logger name.</summary>
    public string Source { get; }

    /// <summary>The formatted message, without Akka's decoration.</summary>
    public string Message { get; }

    /// <summary>Number of semantic properties.</summary>
    public int Count => _properties.Count;

    /// <summary>The semantic property at <paramref name="index"/>.</summary>
    public KeyValuePair<string, object?> this[int index] => _properties[index];

    /// <summary>Enumerates the semantic properties.</summary>
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The message.</summary>
    public override string ToString() => Message;
}

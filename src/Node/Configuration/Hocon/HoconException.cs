namespace Akka.Etcd.Node.Configuration.Hocon;

/// <summary>
/// A HOCON document could not be parsed or resolved, or a typed getter found a value of the wrong
/// type. <see cref="Line"/> and <see cref="Column"/> are 1-based positions in the source text
/// (0 when the error is not tied to a position, e.g. a missing path asked by a getter).
/// </summary>
public sealed class HoconException : FormatException
{
    /// <summary>Creates an error at a source position; the message is prefixed with "line L, column C: ".</summary>
    public HoconException(string message, int line, int column)
        : base(line > 0 ? $"line {line}, column {column}: {message}" : message)
    {
        Line = line;
        Column = column;
        Reason = message;
    }

    /// <summary>1-based line of the offending token, or 0 when not tied to a position.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending token, or 0 when not tied to a position.</summary>
    public int Column { get; }

    /// <summary>The message without the position prefix.</summary>
    public string Reason { get; }
}

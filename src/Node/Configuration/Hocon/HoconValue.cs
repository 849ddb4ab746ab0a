namespace Akka.Etcd.Node.Configuration.Hocon;

/// <summary>The kind of a resolved HOCON value (HOCON.md "Syntax": objects, arrays and the JSON scalars).</summary>
public enum HoconValueKind
{
    /// <summary>An object: ordered keys to values (<see cref="HoconObject"/>).</summary>
    Object,
    /// <summary>An array (<see cref="HoconArray"/>).</summary>
    Array,
    /// <summary>A quoted, unquoted, triple-quoted or concatenated string (<see cref="HoconScalar"/>).</summary>
    String,
    /// <summary>A number written as an unquoted JSON number (<see cref="HoconScalar"/>).</summary>
    Number,
    /// <summary><c>true</c> or <c>false</c> (<see cref="HoconScalar"/>).</summary>
    Boolean,
    /// <summary><c>null</c> (<see cref="HoconScalar"/>).</summary>
    Null,
    /// <summary>Parser-internal: a substitution or concatenation not resolved yet. Never seen after <see cref="HoconParser.Parse(string)"/>.</summary>
    Unresolved,
}

/// <summary>
/// A HOCON value with the 1-based source position where it starts. After
/// <see cref="HoconParser.Parse(string)"/> every value in the tree is an <see cref="HoconObject"/>,
/// <see cref="HoconArray"/> or <see cref="HoconScalar"/>. Values are immutable once parsed and safe to
/// read from any thread.
/// </summary>
public abstract class HoconValue
{
    private protected HoconValue(int line, int column)
    {
        Line = line;
        Column = column;
    }

    /// <summary>What this value is.</summary>
    public abstract HoconValueKind Kind { get; }

    /// <summary>1-based source line where the value starts (0 for values synthesized from environment variables).</summary>
    public int Line { get; }

    /// <summary>1-based source column where the value starts.</summary>
    public int Column { get; }
}

/// <summary>A string, number, boolean or null, kept as its source text (numbers keep their original spelling).</summary>
public sealed class HoconScalar : HoconValue
{
    /// <summary>Creates a scalar of the given kind; <paramref name="text"/> is the value's text (e.g. <c>"42"</c>, <c>"true"</c>).</summary>
    public HoconScalar(HoconValueKind kind, string text, int line, int column) : base(line, column)
    {
        if (kind is HoconValueKind.Object or HoconValueKind.Array or HoconValueKind.Unresolved)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a scalar is a string, number, boolean or null");
        Kind = kind;
        Text = text;
    }

    /// <inheritdoc />
    public override HoconValueKind Kind { get; }

    /// <summary>The value as text: the string itself, the number as written, <c>true</c>/<c>false</c>, or <c>null</c>.</summary>
    public string Text { get; }

    /// <summary>The text of the value.</summary>
    public override string ToString() => Text;
}

/// <summary>An ordered HOCON array. Read-only.</summary>
public sealed class HoconArray : HoconValue, IReadOnlyList<HoconValue>
{
    private readonly List<HoconValue> _items;

    internal HoconArray(List<HoconValue> items, int line, int column) : base(line, column) => _items = items;

    /// <inheritdoc />
    public override HoconValueKind Kind => HoconValueKind.Array;

    /// <summary>The element at <paramref name="index"/> (0-based).</summary>
    public HoconValue this[int index] => _items[index];

    /// <summary>Number of elements.</summary>
    public int Count => _items.Count;

    internal List<HoconValue> Items => _items;

    /// <summary>Enumerates the elements in source order.</summary>
    public IEnumerator<HoconValue> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Parser-internal: <c>${path}</c> or <c>${?path}</c> before resolution.</summary>
internal sealed class HoconSubstitution(IReadOnlyList<string> path, bool optional, int line, int column) : HoconValue(line, column)
{
    public override HoconValueKind Kind => HoconValueKind.Unresolved;

    public IReadOnlyList<string> Path { get; } = path;

    public bool Optional { get; } = optional;

    public string PathText => string.Join('.', Path);

    public override string ToString() => Optional ? $"${{?{PathText}}}" : $"${{{PathText}}}";
}

/// <summary>
/// Parser-internal: a value concatenation (HOCON.md "Value concatenation") before resolution. Whitespace
/// between pieces is kept as <see cref="HoconWhitespace"/> pieces and only matters for string results.
/// </summary>
internal sealed class HoconConcatenation(List<HoconValue> pieces, int line, int column) : HoconValue(line, column)
{
    public override HoconValueKind Kind => HoconValueKind.Unresolved;

    public List<HoconValue> Pieces { get; } = pieces;
}

/// <summary>Parser-internal: whitespace between two pieces of a concatenation.</summary>
internal sealed class HoconWhitespace(string text, int line, int column) : HoconValue(line, column)
{
    public override HoconValueKind Kind => HoconValueKind.Unresolved;

    public string Text { get; } = text;
}

/// <summary>
/// Parser-internal: a field re-assigned to an optional substitution (<c>foo = 42, foo = ${?bar}</c>):
/// resolves to <see cref="Value"/>, or to <see cref="Previous"/> when that is undefined (HOCON.md "Substitutions").
/// </summary>
internal sealed class HoconOptionalOverride(HoconValue value, HoconValue previous) : HoconValue(value.Line, value.Column)
{
    public override HoconValueKind Kind => HoconValueKind.Unresolved;

    public HoconValue Value { get; } = value;

    public HoconValue Previous { get; } = previous;
}

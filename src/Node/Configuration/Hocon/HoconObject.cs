using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Akka.Etcd.Node.Configuration.Hocon;

/// <summary>
/// A HOCON object: keys in first-definition order mapped to values. Typed getters take a path expression
/// (<c>akka.etcd.name</c>, quoted segments allowed: <c>a."b.c"</c>) relative to this object and throw
/// <see cref="HoconException"/> when the path is missing or the value has the wrong type (the message
/// carries the value's line and column). Read-only after parsing; safe to read from any thread.
/// </summary>
public sealed class HoconObject : HoconValue, IReadOnlyDictionary<string, HoconValue>
{
    private readonly Dictionary<string, HoconValue> _fields = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();

    internal HoconObject(int line, int column) : base(line, column)
    {
    }

    /// <inheritdoc />
    public override HoconValueKind Kind => HoconValueKind.Object;

    /// <summary>The value of the direct child <paramref name="key"/> (not a path).</summary>
    public HoconValue this[string key] => _fields[key];

    /// <summary>Direct child keys in first-definition order.</summary>
    public IEnumerable<string> Keys => _order;

    /// <summary>Direct child values in key order.</summary>
    public IEnumerable<HoconValue> Values => _order.Select(k => _fields[k]);

    /// <summary>Number of direct children.</summary>
    public int Count => _order.Count;

    /// <summary>True when <paramref name="key"/> is a direct child.</summary>
    public bool ContainsKey(string key) => _fields.ContainsKey(key);

    /// <summary>Looks up a direct child by key (not a path).</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out HoconValue value) => _fields.TryGetValue(key, out value);

    /// <summary>Enumerates direct children in key order.</summary>
    public IEnumerator<KeyValuePair<string, HoconValue>> GetEnumerator() =>
        _order.Select(k => new KeyValuePair<string, HoconValue>(k, _fields[k])).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Set(string key, HoconValue value)
    {
        if (!_fields.ContainsKey(key))
            _order.Add(key);
        _fields[key] = value;
    }

    internal void Remove(string key)
    {
        if (_fields.Remove(key))
            _order.Remove(key);
    }

    /// <summary>The value at a path, or null when any segment is missing (a <c>null</c> value is returned as a Null scalar).</summary>
    /// <exception cref="HoconException">The path expression is malformed.</exception>
    public HoconValue? GetValue(string path) => Find(HoconParser.ParsePathExpression(path));

    /// <summary>True when the path exists and its value is not <c>null</c> (HOCON.md "hasPath").</summary>
    public bool HasPath(string path) => GetValue(path) is { Kind: not HoconValueKind.Null };

    internal HoconValue? Find(IReadOnlyList<string> path)
    {
        HoconValue current = this;
        foreach (var segment in path)
        {
            if (current is not HoconObject obj || !obj._fields.TryGetValue(segment, out var next))
                return null;
            current = next;
        }
        return current;
    }

    /// <summary>The object at <paramref name="path"/>.</summary>
    /// <exception cref="HoconException">Missing, or not an object.</exception>
    public HoconObject GetObject(string path) =>
        Require(path) as HoconObject ?? throw WrongType(path, Require(path), "an object");

    /// <summary>The string form of the scalar at <paramref name="path"/> (numbers and booleans as written).</summary>
    /// <exception cref="HoconException">Missing, <c>null</c>, an object or an array.</exception>
    public string GetString(string path)
    {
        var value = Require(path);
        return value is HoconScalar { Kind: not HoconValueKind.Null } s ? s.Text : throw WrongType(path, value, "a string");
    }

    /// <summary>The 32-bit integer at <paramref name="path"/> (a number or a string holding one).</summary>
    /// <exception cref="HoconException">Missing, not an integer, or out of range.</exception>
    public int GetInt(string path)
    {
        var value = Require(path);
        return value is HoconScalar s && int.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw WrongType(path, value, "a 32-bit integer");
    }

    /// <summary>The 64-bit integer at <paramref name="path"/> (a number or a string holding one).</summary>
    /// <exception cref="HoconException">Missing, not an integer, or out of range.</exception>
    public long GetLong(string path)
    {
        var value = Require(path);
        return value is HoconScalar s && long.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw WrongType(path, value, "a 64-bit integer");
    }

    /// <summary>The boolean at <paramref name="path"/>: <c>true</c>/<c>false</c>, or the strings yes/no/on/off (HOCON.md "Automatic type conversions").</summary>
    /// <exception cref="HoconException">Missing or not a boolean.</exception>
    public bool GetBool(string path)
    {
        var value = Require(path);
        if (value is HoconScalar s)
        {
            switch (s.Text)
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
            }
        }
        throw WrongType(path, value, "a boolean");
    }

    /// <summary>The elements of the array at <paramref name="path"/> as strings.</summary>
    /// <exception cref="HoconException">Missing, not an array, or an element is an object, array or null.</exception>
    public IReadOnlyList<string> GetStringList(string path)
    {
        var value = Require(path);
        if (value is not HoconArray array)
            throw WrongType(path, value, "an array of strings");
        var result = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is not HoconScalar { Kind: not HoconValueKind.Null } s)
                throw WrongType(path, item, "an array of strings");
            result.Add(s.Text);
        }
        return result;
    }

    /// <summary>
    /// The duration at <paramref name="path"/> (HOCON.md "Duration format"): a number is milliseconds; a
    /// string is a number and a unit (ns, us, ms, s, m, h, d and their long forms such as
    /// <c>millis</c>, <c>seconds</c>), e.g. <c>100ms</c>, <c>1 s</c>, <c>1.5h</c>.
    /// </summary>
    /// <exception cref="HoconException">Missing or not a duration.</exception>
    public TimeSpan GetDuration(string path)
    {
        var value = Require(path);
        if (value is HoconScalar { Kind: HoconValueKind.Number or HoconValueKind.String } s && TryParseDuration(s.Text, out var duration))
            return duration;
        throw WrongType(path, value, "a duration (e.g. 100ms, 1s)");
    }

    /// <summary>Parses HOCON's duration format; a bare number is milliseconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var t = text.Trim();
        var split = 0;
        while (split < t.Length && (char.IsAsciiDigit(t[split]) || t[split] is '.' or '-' or '+'))
            split++;
        if (!double.TryParse(t.AsSpan(0, split), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            return false;
        var unit = t[split..].Trim();
        double ticksPerUnit = unit switch
        {
            "" or "ms" or "milli" or "millis" or "millisecond" or "milliseconds" => TimeSpan.TicksPerMillisecond,
            "ns" or "nano" or "nanos" or "nanosecond" or "nanoseconds" => 0.01,
            "us" or "micro" or "micros" or "microsecond" or "microseconds" => TimeSpan.TicksPerMicrosecond,
            "s" or "second" or "seconds" => TimeSpan.TicksPerSecond,
            "m" or "minute" or "minutes" => TimeSpan.TicksPerMinute,
            "h" or "hour" or "hours" => TimeSpan.TicksPerHour,
            "d" or "day" or "days" => TimeSpan.TicksPerDay,
            _ => -1,
        };
        if (ticksPerUnit < 0)
            return false;
        var ticks = number * ticksPerUnit;
        if (double.IsNaN(ticks) || Math.Abs(ticks) > TimeSpan.MaxValue.Ticks)
            return false;
        duration = TimeSpan.FromTicks((long)Math.Round(ticks));
        return true;
    }

    private HoconValue Require(string path) =>
        GetValue(path) ?? throw new HoconException($"no configuration setting found for path '{path}'", 0, 0);

    private static HoconException WrongType(string path, HoconValue value, string expected) =>
        new($"'{path}' has type {value.Kind.ToString().ToLowerInvariant()} ({Describe(value)}) rather than {expected}", value.Line, value.Column);

    private static string Describe(HoconValue value) => value switch
    {
        HoconScalar s => $"\"{s.Text}\"",
        HoconArray a => $"{a.Count} elements",
        HoconObject o => $"{o.Count} keys",
        _ => value.Kind.ToString(),
    };
}

using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Akka.Etcd.Node.Configuration.Hocon;

/// <summary>
/// Parser for the subset of HOCON (github.com/lightbend/config HOCON.md) that member configuration files
/// use: root braces optional; <c>=</c>, <c>:</c> or nothing before <c>{</c>; <c>+=</c>; dotted path keys
/// (<c>a.b.c = 1</c>, quoted segments kept whole); duplicate keys merge objects, later non-objects win;
/// arrays with commas or newlines; quoted strings with JSON escapes; unquoted and triple-quoted strings;
/// numbers, booleans, null; <c>#</c> and <c>//</c> comments; optional commas at line ends;
/// substitutions <c>${path}</c> and <c>${?path}</c> (falling back to environment variables, self-references
/// see the previous value); value concatenation of strings, arrays and objects on one line.
/// Not supported: <c>include</c>, root arrays. Stateless and thread-safe.
/// </summary>
public static partial class HoconParser
{
    /// <summary>Parses and resolves a document; substitutions fall back to the process environment.</summary>
    /// <exception cref="HoconException">Syntax error, unresolvable substitution or cycle; the message starts with "line L, column C:".</exception>
    public static HoconObject Parse(string text) => Parse(text, null);

    /// <summary>
    /// Parses and resolves a document; a substitution not found in the document is looked up in
    /// <paramref name="environment"/> (the process environment when null) by its whole path text.
    /// </summary>
    /// <exception cref="HoconException">Syntax error, unresolvable substitution or cycle; the message starts with "line L, column C:".</exception>
    public static HoconObject Parse(string text, IReadOnlyDictionary<string, string>? environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        var root = new Reader(text).ParseRoot();
        new Resolver(root, environment ?? ProcessEnvironment()).ResolveAll();
        return root;
    }

    /// <summary>Splits a path expression such as <c>a.b."c.d"</c> into its keys.</summary>
    /// <exception cref="HoconException">Empty path or empty segment.</exception>
    public static IReadOnlyList<string> ParsePathExpression(string path)
    {
        var reader = new Reader(path);
        var keys = reader.ReadPath(stopAtBrace: false);
        reader.ExpectEnd();
        return keys;
    }

    private static Dictionary<string, string> ProcessEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            env[(string)entry.Key] = (string?)entry.Value ?? "";
        return env;
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
    private static partial Regex NumberPattern();

    /// <summary>Characters that end an unquoted string (HOCON.md "Unquoted strings"), besides whitespace.</summary>
    private const string Forbidden = "$\"{}[]:=,+#`^?!@*&\\";

    private sealed class Reader(string text)
    {
        private int _pos;
        private int _line = 1;
        private int _col = 1;

        private bool AtEnd => _pos >= text.Length;
        private char Current => text[_pos];
        private char PeekAt(int offset) => _pos + offset < text.Length ? text[_pos + offset] : '\0';

        private void Advance()
        {
            if (text[_pos] == '\n')
            {
                _line++;
                _col = 1;
            }
            else
            {
                _col++;
            }
            _pos++;
        }

        private HoconException Error(string message) => new(message, _line, _col);

        private static bool IsInlineSpace(char c) => c != '\n' && (char.IsWhiteSpace(c) || c == '\uFEFF');

        private bool AtComment => !AtEnd && (Current == '#' || (Current == '/' && PeekAt(1) == '/'));

        private void SkipInlineSpace()
        {
            while (!AtEnd && IsInlineSpace(Current))
                Advance();
        }

        private void SkipComment()
        {
            while (!AtEnd && Current != '\n')
                Advance();
        }

        /// <summary>Skips spaces, comments and newlines; returns true if a newline was crossed.</summary>
        private bool SkipSpaceAndNewlines()
        {
            var newline = false;
            while (!AtEnd)
            {
                if (IsInlineSpace(Current))
                    Advance();
                else if (Current == '\n')
                {
                    newline = true;
                    Advance();
                }
                else if (AtComment)
                    SkipComment();
                else
                    break;
            }
            return newline;
        }

        public void ExpectEnd()
        {
            SkipInlineSpace();
            if (!AtEnd)
                throw Error($"unexpected '{Current}' in path expression");
        }

        public HoconObject ParseRoot()
        {
            SkipSpaceAndNewlines();
            HoconObject root;
            if (!AtEnd && Current == '{')
            {
                root = ParseBracedObject(Array.Empty<string>());
                SkipSpaceAndNewlines();
                if (!AtEnd)
                    throw Error($"unexpected '{Current}' after the root object's closing '}}'");
            }
            else if (!AtEnd && Current == '[')
            {
                throw Error("a root array is not supported; the document must be an object");
            }
            else
            {
                root = new HoconObject(_line, _col);
                ParseFields(root, Array.Empty<string>(), root, closing: null);
            }
            return root;
        }

        private HoconObject ParseBracedObject(IReadOnlyList<string> prefix)
        {
            var obj = new HoconObject(_line, _col);
            Advance(); // '{'
            ParseFields(obj, prefix, obj, closing: '}');
            Advance(); // '}'
            return obj;
        }

        private HoconObject? _root;

        private void ParseFields(HoconObject target, IReadOnlyList<string> prefix, HoconObject scope, char? closing)
        {
            _root ??= target;
            while (true)
            {
                SkipSpaceAndNewlines();
                if (AtEnd)
                {
                    if (closing is not null)
                        throw Error($"expected '{closing}' before end of input");
                    return;
                }
                if (closing is not null && Current == closing)
                    return;
                if (Current == ',')
                    throw Error("unexpected ','; expected a key");
                if (Current == '}')
                    throw Error("unexpected '}'");
                ParseField(target, prefix);
                // after a field: inline space/comments, then ',' or newline or closing
                SkipInlineSpace();
                if (AtComment)
                    SkipComment();
                if (AtEnd || Current == '\n' || (closing is not null && Current == closing))
                    continue;
                if (Current == ',')
                {
                    Advance();
                    SkipSpaceAndNewlines();
                    if (!AtEnd && Current == ',')
                        throw Error("unexpected ','; two commas in a row");
                    continue;
                }
                throw Error($"unexpected '{Current}' after a value; expected ',', a newline or {(closing is null ? "end of input" : $"'{closing}'")}");
            }
        }

        private void ParseField(HoconObject target, IReadOnlyList<string> prefix)
        {
            int keyLine = _line, keyCol = _col;
            if (text.AsSpan(_pos).StartsWith("include") && IsIncludeStatement())
                throw Error("'include' is not supported");
            var keys = ReadPath(stopAtBrace: true);
            SkipInlineSpace();
            if (AtEnd)
                throw Error($"expected '=', ':' or '{{' after key '{string.Join('.', keys)}'");
            var fullPath = prefix.Concat(keys).ToArray();
            var append = false;
            if (Current is '=' or ':')
            {
                Advance();
            }
            else if (Current == '+' && PeekAt(1) == '=')
            {
                Advance();
                Advance();
                append = true;
            }
            else if (Current != '{')
            {
                throw Error($"expected '=', ':' or '{{' after key '{string.Join('.', keys)}' but found '{Current}'");
            }
            SkipSpaceAndNewlines();
            if (AtEnd)
                throw Error($"expected a value for key '{string.Join('.', keys)}'");
            var value = ParseValue(fullPath, closing: '}');
            Assign(target, keys, fullPath, value, append, keyLine, keyCol);
        }

        private bool IsIncludeStatement()
        {
            var after = _pos + "include".Length;
            while (after < text.Length && IsInlineSpace(text[after]))
                after++;
            return after > _pos + "include".Length && after < text.Length && text[after] == '"';
        }

        /// <summary>Reads a path expression (key) up to a separator; quoted segments keep dots.</summary>
        public List<string> ReadPath(bool stopAtBrace)
        {
            int startLine = _line, startCol = _col;
            var keys = new List<string>();
            var segment = new StringBuilder();
            var segmentHasContent = false;
            var pendingSpace = new StringBuilder();
            while (!AtEnd)
            {
                var c = Current;
                if (c == '\n' || c is '=' or ':' or ',' || (c == '{' && stopAtBrace) || (c == '+' && PeekAt(1) == '=') || c == '}' || AtComment)
                    break;
                if (IsInlineSpace(c))
                {
                    pendingSpace.Append(c);
                    Advance();
                    continue;
                }
                if (pendingSpace.Length > 0)
                {
                    if (segmentHasContent)
                        segment.Append(pendingSpace);
                    pendingSpace.Clear();
                }
                if (c == '"')
                {
                    segment.Append(PeekAt(1) == '"' && PeekAt(2) == '"' ? ReadTripleQuoted() : ReadQuoted());
                    segmentHasContent = true;
                }
                else if (c == '.')
                {
                    if (!segmentHasContent)
                        throw Error("empty key segment in path (check for '..' or a leading '.')");
                    keys.Add(segment.ToString());
                    segment.Clear();
                    segmentHasContent = false;
                    Advance();
                }
                else if (Forbidden.Contains(c))
                {
                    throw Error($"'{c}' is not allowed in an unquoted key; quote the key");
                }
                else
                {
                    segment.Append(c);
                    segmentHasContent = true;
                    Advance();
                }
            }
            if (!segmentHasContent)
                throw keys.Count == 0 ? new HoconException("expected a key", startLine, startCol) : Error("key path ends with '.'");
            keys.Add(segment.ToString());
            return keys;
        }

        private HoconValue ParseValue(IReadOnlyList<string> fullPath, char closing)
        {
            int line = _line, col = _col;
            var pieces = new List<HoconValue>();
            while (!AtEnd)
            {
                var c = Current;
                if (c == '\n' || c == ',' || c == closing || c == '}' || c == ']' || AtComment)
                    break;
                if (IsInlineSpace(c))
                {
                    int wl = _line, wc = _col;
                    var ws = new StringBuilder();
                    while (!AtEnd && IsInlineSpace(Current))
                    {
                        ws.Append(Current);
                        Advance();
                    }
                    pieces.Add(new HoconWhitespace(ws.ToString(), wl, wc));
                    continue;
                }
                int pl = _line, pc = _col;
                switch (c)
                {
                    case '{':
                        pieces.Add(ParseBracedObject(fullPath));
                        break;
                    case '[':
                        pieces.Add(ParseArray(fullPath));
                        break;
                    case '"':
                        var quoted = PeekAt(1) == '"' && PeekAt(2) == '"' ? ReadTripleQuoted() : ReadQuoted();
                        pieces.Add(new HoconScalar(HoconValueKind.String, quoted, pl, pc));
                        break;
                    case '$':
                        pieces.Add(ReadSubstitution());
                        break;
                    default:
                        if (Forbidden.Contains(c))
                            throw Error($"'{c}' is not allowed in an unquoted string; quote the value");
                        var unquoted = new StringBuilder();
                        while (!AtEnd && !IsInlineSpace(Current) && Current != '\n' && !Forbidden.Contains(Current) && !AtComment)
                        {
                            unquoted.Append(Current);
                            Advance();
                        }
                        if (unquoted.Length == 0)
                            throw Error($"unexpected '{c}'");
                        pieces.Add(Typed(new HoconScalar(HoconValueKind.String, unquoted.ToString(), pl, pc)));
                        break;
                }
            }
            while (pieces.Count > 0 && pieces[^1] is HoconWhitespace)
                pieces.RemoveAt(pieces.Count - 1);
            if (pieces.Count == 0)
                throw new HoconException("expected a value", line, col);
            if (pieces.Count == 1)
                return pieces[0];
            return new HoconConcatenation(pieces, line, col);
        }

        private static HoconScalar Typed(HoconScalar s) => s.Text switch
        {
            "true" or "false" => new HoconScalar(HoconValueKind.Boolean, s.Text, s.Line, s.Column),
            "null" => new HoconScalar(HoconValueKind.Null, s.Text, s.Line, s.Column),
            _ when NumberPattern().IsMatch(s.Text) => new HoconScalar(HoconValueKind.Number, s.Text, s.Line, s.Column),
            _ => s,
        };

        private HoconArray ParseArray(IReadOnlyList<string> fullPath)
        {
            int line = _line, col = _col;
            Advance(); // '['
            var items = new List<HoconValue>();
            while (true)
            {
                SkipSpaceAndNewlines();
                if (AtEnd)
                    throw Error("expected ']' before end of input");
                if (Current == ']')
                    break;
                if (Current == ',')
                    throw Error("unexpected ','; expected an array element");
                items.Add(ParseValue(fullPath, closing: ']'));
                SkipInlineSpace();
                if (AtComment)
                    SkipComment();
                if (AtEnd)
                    throw Error("expected ']' before end of input");
                if (Current == ',')
                    Advance();
                else if (Current != '\n' && Current != ']')
                    throw Error($"unexpected '{Current}' in array; expected ',', a newline or ']'");
            }
            Advance(); // ']'
            return new HoconArray(items, line, col);
        }

        private HoconSubstitution ReadSubstitution()
        {
            int line = _line, col = _col;
            if (PeekAt(1) != '{')
                throw Error("'$' must start a substitution '${path}'; quote the value");
            Advance();
            Advance();
            var optional = false;
            if (!AtEnd && Current == '?')
            {
                optional = true;
                Advance();
            }
            SkipInlineSpace();
            var path = ReadPath(stopAtBrace: true);
            SkipInlineSpace();
            if (AtEnd || Current != '}')
                throw Error("expected '}' to close the substitution");
            Advance();
            return new HoconSubstitution(path, optional, line, col);
        }

        private string ReadQuoted()
        {
            int line = _line, col = _col;
            Advance(); // '"'
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd || Current == '\n')
                    throw new HoconException("unterminated quoted string", line, col);
                var c = Current;
                if (c == '"')
                {
                    Advance();
                    return sb.ToString();
                }
                if (c == '\\')
                {
                    Advance();
                    if (AtEnd)
                        throw new HoconException("unterminated quoted string", line, col);
                    var e = Current;
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            var hex = _pos + 5 <= text.Length ? text.Substring(_pos + 1, 4) : "";
                            if (!ushort.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                                throw Error("'\\u' must be followed by four hex digits");
                            sb.Append((char)code);
                            for (var i = 0; i < 4; i++)
                                Advance();
                            break;
                        default:
                            throw Error($"invalid escape '\\{e}' in quoted string");
                    }
                    Advance();
                    continue;
                }
                if (char.IsControl(c) && c != '\t')
                    throw Error("control character in quoted string; use an escape");
                sb.Append(c);
                Advance();
            }
        }

        private string ReadTripleQuoted()
        {
            int line = _line, col = _col;
            for (var i = 0; i < 3; i++)
                Advance();
            var start = _pos;
            while (true)
            {
                if (AtEnd)
                    throw new HoconException("unterminated triple-quoted string", line, col);
                if (Current == '"' && PeekAt(1) == '"' && PeekAt(2) == '"')
                {
                    // extra quotes before the closing three belong to the string
                    while (PeekAt(3) == '"')
                        Advance();
                    var value = text[start.._pos];
                    for (var i = 0; i < 3; i++)
                        Advance();
                    return value;
                }
                Advance();
            }
        }

        /// <summary>Sets a (possibly dotted) key, merging objects and applying self-references and <c>+=</c>.</summary>
        private void Assign(HoconObject target, List<string> keys, string[] fullPath, HoconValue value, bool append, int line, int col)
        {
            var obj = target;
            for (var i = 0; i < keys.Count - 1; i++)
            {
                if (obj.TryGetValue(keys[i], out var existing) && existing is HoconObject child)
                {
                    obj = child;
                    continue;
                }
                var created = new HoconObject(line, col);
                obj.Set(keys[i], created);
                obj = created;
            }
            var key = keys[^1];
            obj.TryGetValue(key, out var previous);
            previous ??= _root is not null && !ReferenceEquals(_root, target) ? _root.Find(fullPath) : null;
            if (append)
            {
                var element = new HoconArray(new List<HoconValue> { value }, value.Line, value.Column);
                value = previous switch
                {
                    null => element,
                    HoconArray arr => new HoconArray(arr.Items.Append(value).ToList(), arr.Line, arr.Column),
                    _ => new HoconConcatenation(new List<HoconValue> { previous, element }, previous.Line, previous.Column),
                };
            }
            else
            {
                value = ReplaceSelfReferences(value, fullPath, previous);
                if (previous is not null && value is HoconSubstitution { Optional: true })
                    value = new HoconOptionalOverride(value, previous);
            }
            if (value is HoconObject incoming && obj.TryGetValue(key, out var current) && current is HoconObject existingObject)
            {
                Merge(existingObject, incoming);
                return;
            }
            obj.Set(key, value);
        }

        private static HoconValue ReplaceSelfReferences(HoconValue value, string[] fullPath, HoconValue? previous)
        {
            switch (value)
            {
                case HoconSubstitution sub when sub.Path.SequenceEqual(fullPath):
                    if (previous is not null)
                        return previous;
                    return sub.Optional ? new HoconConcatenation(new List<HoconValue>(), sub.Line, sub.Column) : sub;
                case HoconConcatenation concat:
                    for (var i = 0; i < concat.Pieces.Count; i++)
                        concat.Pieces[i] = ReplaceSelfReferences(concat.Pieces[i], fullPath, previous);
                    return concat;
                default:
                    return value;
            }
        }
    }

    /// <summary>Merges <paramref name="source"/> into <paramref name="target"/>: nested objects merge, other values replace.</summary>
    internal static void Merge(HoconObject target, HoconObject source)
    {
        foreach (var (key, value) in source)
        {
            if (value is HoconObject incoming && target.TryGetValue(key, out var existing) && existing is HoconObject existingObject)
                Merge(existingObject, incoming);
            else
                target.Set(key, value);
        }
    }

    private sealed class Resolver(HoconObject root, IReadOnlyDictionary<string, string> environment)
    {
        private readonly HashSet<HoconSubstitution> _inProgress = new(ReferenceEqualityComparer.Instance);

        public void ResolveAll() => ResolveObjectInPlace(root);

        private void ResolveObjectInPlace(HoconObject obj)
        {
            foreach (var key in obj.Keys.ToList())
            {
                var resolved = Resolve(obj[key]);
                if (resolved is null)
                    obj.Remove(key);
                else
                    obj.Set(key, resolved);
            }
        }

        /// <summary>Resolves a value; null means "undefined" (an optional substitution with nothing behind it).</summary>
        private HoconValue? Resolve(HoconValue value)
        {
            switch (value)
            {
                case HoconObject obj:
                    ResolveObjectInPlace(obj);
                    return obj;
                case HoconArray array:
                    for (var i = array.Items.Count - 1; i >= 0; i--)
                    {
                        var item = Resolve(array.Items[i]);
                        if (item is null)
                            array.Items.RemoveAt(i);
                        else
                            array.Items[i] = item;
                    }
                    return array;
                case HoconSubstitution sub:
                    return ResolveSubstitution(sub);
                case HoconConcatenation concat:
                    return ResolveConcatenation(concat);
                case HoconOptionalOverride over:
                    return Resolve(over.Value) ?? Resolve(over.Previous);
                default:
                    return value;
            }
        }

        private HoconValue? ResolveSubstitution(HoconSubstitution sub)
        {
            if (!_inProgress.Add(sub))
                throw new HoconException($"substitution cycle through {sub}", sub.Line, sub.Column);
            try
            {
                var target = Lookup(sub.Path);
                if (target is not null)
                    return Resolve(target);
                if (environment.TryGetValue(sub.PathText, out var env))
                    return new HoconScalar(HoconValueKind.String, env, 0, 0);
                if (sub.Optional)
                    return null;
                throw new HoconException($"could not resolve substitution {sub} to a value (not in the document nor in the environment)", sub.Line, sub.Column);
            }
            finally
            {
                _inProgress.Remove(sub);
            }
        }

        private HoconValue? Lookup(IReadOnlyList<string> path)
        {
            HoconValue current = root;
            foreach (var segment in path)
            {
                if (current.Kind == HoconValueKind.Unresolved)
                {
                    var resolved = Resolve(current);
                    if (resolved is null)
                        return null;
                    current = resolved;
                }
                if (current is not HoconObject obj || !obj.TryGetValue(segment, out var next))
                    return null;
                current = next;
            }
            return current;
        }

        private HoconValue? ResolveConcatenation(HoconConcatenation concat)
        {
            var parts = new List<HoconValue>();
            foreach (var piece in concat.Pieces)
            {
                if (piece is HoconWhitespace)
                {
                    parts.Add(piece);
                    continue;
                }
                var resolved = Resolve(piece);
                if (resolved is not null)
                    parts.Add(resolved);
            }
            while (parts.Count > 0 && parts[0] is HoconWhitespace)
                parts.RemoveAt(0);
            while (parts.Count > 0 && parts[^1] is HoconWhitespace)
                parts.RemoveAt(parts.Count - 1);
            var values = parts.Where(p => p is not HoconWhitespace).ToList();
            if (values.Count == 0)
                return null;
            if (values.Count == 1)
                return values[0];
            if (values.Any(v => v is HoconObject))
            {
                if (values.Any(v => v is not HoconObject))
                    throw new HoconException("cannot concatenate an object with a non-object value", concat.Line, concat.Column);
                var merged = new HoconObject(concat.Line, concat.Column);
                foreach (var v in values)
                    Merge(merged, (HoconObject)v);
                return merged;
            }
            if (values.Any(v => v is HoconArray))
            {
                if (values.Any(v => v is not HoconArray))
                    throw new HoconException("cannot concatenate an array with a non-array value", concat.Line, concat.Column);
                return new HoconArray(values.SelectMany(v => ((HoconArray)v).Items).ToList(), concat.Line, concat.Column);
            }
            var sb = new StringBuilder();
            foreach (var part in parts)
                sb.Append(part is HoconWhitespace ws ? ws.Text : ((HoconScalar)part).Text);
            return new HoconScalar(HoconValueKind.String, sb.ToString(), concat.Line, concat.Column);
        }
    }
}

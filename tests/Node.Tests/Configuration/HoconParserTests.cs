using Akka.Etcd.Node.Configuration.Hocon;

namespace Akka.Etcd.Node.Tests.Configuration;

public class HoconParserTests
{
    private static readonly Dictionary<string, string> Env = new() { ["HOME"] = "/home/etcd", ["DATA"] = "/var/lib/etcd" };

    private static HoconObject P(string text) => HoconParser.Parse(text, Env);

    // (document, path, expected string form)
    public static TheoryData<string, string, string> StringCases => new()
    {
        { "a = 1", "a", "1" },
        { "a : 1", "a", "1" },
        { "{ a = 1 }", "a", "1" },
        { "a { b = x }", "a.b", "x" },
        { "a.b.c = deep", "a.b.c", "deep" },
        { "a.\"b.c\" = quoted", "a.\"b.c\"", "quoted" },
        { "a { x = 1 }\na { y = 2 }", "a.x", "1" },
        { "a { x = 1 }\na { y = 2 }", "a.y", "2" },
        { "a = 1\na = 2", "a", "2" },
        { "a { x = 1 }\na = 3", "a", "3" },
        { "a = \"tab\\tq\\\"u\\u0041\"", "a", "tab\tq\"uA" },
        { "a = \"\"\"raw \\n \"quotes\" \"\"\"", "a", "raw \\n \"quotes\" " },
        { "a = \"\"\"x\"\"\"\"", "a", "x\"" },
        { "a = foo bar  baz", "a", "foo bar  baz" },
        { "a = foo \"bar\" 1", "a", "foo bar 1" },
        { "a = true", "a", "true" },
        { "a = 1 # comment", "a", "1" },
        { "a = 1 // comment\n// full line\nb = 2", "b", "2" },
        { "a = x, b = y,", "b", "y" },
        { "a = /var/lib/etcd", "a", "/var/lib/etcd" },
        { "x = 5\ny = ${x}", "y", "5" },
        { "x { p = 1 }\ny = ${x.p}", "y", "1" },
        { "y = ${x}\nx = late", "y", "late" },
        { "dir = ${HOME}/data", "dir", "/home/etcd/data" },
        { "dir = ${?DATA}", "dir", "/var/lib/etcd" },
        { "dir = default\ndir = ${?NOT_SET}", "dir", "default" },
        { "dir = base\ndir = ${?DATA}", "dir", "/var/lib/etcd" },
        { "path = a\npath = ${path}\":b\"", "path", "a:b" },
        { "name = n1\nurl = \"http://\"${name}\":2380\"", "url", "http://n1:2380" },
        { "a = x ${?NOPE} y", "a", "x  y" },
        { "base { p = 1 }\nchild = ${base} { q = 2 }", "child.p", "1" },
        { "base { p = 1 }\nchild = ${base} { q = 2 }", "child.q", "2" },
        { "\"quoted key\" = v", "\"quoted key\"", "v" },
        { "a b = spaced", "\"a b\"", "spaced" },
    };

    [Theory]
    [MemberData(nameof(StringCases))]
    public void Parses(string document, string path, string expected) => Assert.Equal(expected, P(document).GetString(path));

    public static TheoryData<string, int, int, string> ErrorCases => new()
    {
        { "a = ", 1, 5, "expected a value" },
        { "a = 1\nb", 2, 2, "expected '=', ':' or '{'" },
        { "a = \"open", 1, 5, "unterminated quoted string" },
        { "a = \"bad \\q\"", 1, 11, "invalid escape" },
        { "a { b = 1", 1, 10, "expected '}' before end of input" },
        { "a = [1, 2", 1, 10, "expected ']' before end of input" },
        { "a = 1,,\nb = 2", 1, 7, "two commas" },
        { "a = ${missing}", 1, 5, "could not resolve substitution ${missing}" },
        { "a = ${b}\nb = ${a}", 1, 5, "substitution cycle" },
        { "a..b = 1", 1, 3, "empty key segment" },
        { "a = x\n  b = @", 2, 7, "'@' is not allowed" },
        { "{ a = 1 } x", 1, 11, "after the root object" },
        { "a = {x=1} foo", 1, 5, "cannot concatenate an object" },
        { "include \"other.conf\"", 1, 1, "'include' is not supported" },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public void ReportsErrorsWithLineAndColumn(string document, int line, int column, string fragment)
    {
        var e = Assert.Throws<HoconException>(() => P(document));
        Assert.Contains(fragment, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith($"line {line}, column {column}: ", e.Message);
    }

    [Fact]
    public void Arrays_with_commas_newlines_concatenation_and_append()
    {
        var o = P("""
            a = [1, 2, 3]
            b = [
              "x"
              y,
              z
            ]
            c = [1] [2]
            d = [1]
            d += 2
            e = [ ${?NOPE}, keep ]
            """);
        Assert.Equal(["1", "2", "3"], o.GetStringList("a"));
        Assert.Equal(["x", "y", "z"], o.GetStringList("b"));
        Assert.Equal(["1", "2"], o.GetStringList("c"));
        Assert.Equal(["1", "2"], o.GetStringList("d"));
        Assert.Equal(["keep"], o.GetStringList("e"));
    }

    [Fact]
    public void Typed_getters()
    {
        var o = P("""
            n = 42
            big = 9000000000
            neg = -7
            s = "12"
            b1 = true
            b2 = off
            ms = 100
            d1 = 100ms
            d2 = "1.5 s"
            d3 = 2 minutes
            d4 = 1h
            nil = null
            f = 1.5
            """);
        Assert.Equal(42, o.GetInt("n"));
        Assert.Equal(9_000_000_000L, o.GetLong("big"));
        Assert.Equal(-7, o.GetInt("neg"));
        Assert.Equal(12, o.GetInt("s"));
        Assert.True(o.GetBool("b1"));
        Assert.False(o.GetBool("b2"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.GetDuration("ms"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.GetDuration("d1"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.GetDuration("d2"));
        Assert.Equal(TimeSpan.FromMinutes(2), o.GetDuration("d3"));
        Assert.Equal(TimeSpan.FromHours(1), o.GetDuration("d4"));
        Assert.Equal(HoconValueKind.Null, o.GetValue("nil")!.Kind);
        Assert.False(o.HasPath("nil"));
        Assert.Equal(HoconValueKind.Number, o.GetValue("f")!.Kind);
        Assert.Equal(HoconValueKind.Boolean, o.GetValue("b1")!.Kind);
        Assert.Equal(HoconValueKind.String, o.GetValue("s")!.Kind);
    }

    [Fact]
    public void Getter_errors_name_the_path_and_position()
    {
        var o = P("a = x\nb {\n  c = notanumber\n}");
        var e = Assert.Throws<HoconException>(() => o.GetInt("b.c"));
        Assert.Equal((3, 7), (e.Line, e.Column));
        Assert.Contains("'b.c'", e.Message);
        Assert.Throws<HoconException>(() => o.GetString("missing.path"));
        Assert.Throws<HoconException>(() => o.GetString("b"));
        Assert.Throws<HoconException>(() => o.GetDuration("a"));
        Assert.Throws<HoconException>(() => o.GetBool("a"));
    }

    [Fact]
    public void Keys_keep_definition_order_and_empty_documents_are_empty_objects()
    {
        Assert.Equal(["z", "a", "m"], P("z = 1\na = 2\nm = 3\na = 4").Keys);
        Assert.Empty(P(""));
        Assert.Empty(P("# only a comment\n"));
        Assert.Empty(P("{}"));
    }
}

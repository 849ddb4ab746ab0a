using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Reads a member's HOCON file (<c>--config file.conf</c>) with Akka.NET's HOCON parser: <c>akka { ... }</c> configures
/// the actor system, <c>akka.etcd { ... }</c> holds the member settings (<see cref="EtcdSettings"/>); other top-level
/// keys are free for the file's own use (e.g. shared values referenced through substitutions).
/// <para>Akka 1.5's HOCON resolves <c>${path}</c> against the file only. We add HOCON's optional substitution
/// <c>${?NAME}</c>: the file's value at NAME if there is one, else the environment variable NAME, else nothing (a field
/// whose whole value is an unresolved <c>${?NAME}</c> is left unset; inside a concatenation it is empty). <c>include</c>
/// is not supported.</para>
/// <para>Errors name the file and, where it can be told, the line: Akka's syntax errors carry a character position;
/// unknown keys, bad values and unresolved substitutions are located by finding the key (the last assignment of it) or the
/// <c>${...}</c> in the text.</para>
/// </summary>
internal static partial class HoconConfigFile
{
    /// <summary>Reads and checks the file at <paramref name="path"/>.</summary>
    /// <param name="path">The HOCON file.</param>
    /// <exception cref="ConfigErrorException">Unreadable file, HOCON error, unknown key in <c>akka.etcd</c>, or bad value;
    /// the message starts with the path (and <c>line N</c> when known).</exception>
    public static EtcdSettings Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigErrorException($"open {path}: {e.Message}", e);
        }
        return LoadText(text, path);
    }

    /// <summary>Reads HOCON text; <paramref name="source"/> names it in errors. See the type summary.</summary>
    /// <exception cref="ConfigErrorException">As <see cref="Load"/>.</exception>
    public static EtcdSettings LoadText(string text, string source)
    {
        var config = Parse(text, source);
        try
        {
            return EtcdSettings.Create(config);
        }
        catch (ConfigErrorException e) when (e.SettingPath is not null)
        {
            var line = LineOfKey(text, e.SettingPath[(e.SettingPath.LastIndexOf('.') + 1)..]);
            throw new ConfigErrorException($"{source}: {(line > 0 ? $"line {line}: " : "")}{e.Message}", e, e.SettingPath);
        }
    }

    /// <summary>Parses HOCON text into a config (no fallback merged in); see the type summary.</summary>
    /// <exception cref="ConfigErrorException">A HOCON syntax error, an unresolved or optional substitution, or an include.</exception>
    public static Config Parse(string text, string source)
    {
        HoconRoot root;
        try
        {
            root = Parser.Parse(text, include => throw new ConfigErrorException($"{source}: {LinePrefix(text, text.IndexOf("include", StringComparison.Ordinal))}'include \"{include}\"' is not supported"));
        }
        catch (FormatException e)
        {
            throw new ConfigErrorException($"{source}: {Describe(text, e.Message)}", e);
        }
        catch (Exception e) when (e.GetType() == typeof(Exception))
        {
            // Akka 1.5's parser reports a value cut off by the end of the file as a plain Exception.
            throw new ConfigErrorException($"{source}: {e.Message}", e);
        }
        foreach (var substitution in root.Substitutions)
        {
            // Akka 1.5 reads ${?NAME} as the empty path (the whole document) instead of failing: refuse it here.
            if (substitution.Path.Length == 0 || substitution.Path.StartsWith('?'))
                throw new ConfigErrorException($"{source}: {LinePrefix(text, text.IndexOf("${?", StringComparison.Ordinal))}optional substitutions (${{?NAME}}) and environment variables are not supported by Akka.NET's HOCON; set ETCD_* environment variables instead");
        }
        return new Config(root);
    }

    /// <summary>Turns an Akka parser message into ours with the line where it can be told.</summary>
    private static string Describe(string text, string message)
    {
        var position = PositionPattern().Match(message);
        if (position.Success && int.TryParse(position.Groups[1].ValueSpan, out var index))
            return $"{LinePrefix(text, index)}unexpected '{(index < text.Length ? text[index] : ' ')}' (HOCON syntax error)";
        var substitution = SubstitutionPattern().Match(message);
        if (substitution.Success)
        {
            var name = substitution.Groups[1].Value;
            var at = text.IndexOf("${" + name + "}", StringComparison.Ordinal);
            return $"{LinePrefix(text, at)}could not resolve substitution ${{{name}}}";
        }
        return message.ReplaceLineEndings(" ").Trim();
    }

    /// <summary><c>line L, column C: </c> for a character index (1-based line and column), or empty when the index is unknown.</summary>
    private static string LinePrefix(string text, int index)
    {
        if (index < 0 || index > text.Length)
            return "";
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return $"line {line}, column {index - lineStart + 1}: ";
    }

    /// <summary>The 1-based line of the last assignment of <paramref name="key"/> (as a key, or the last segment of a dotted key), or 0.</summary>
    private static int LineOfKey(string text, string key)
    {
        var pattern = new Regex(@"(?:^|[\s{,.])""?" + Regex.Escape(key) + @"""?[ \t]*(?:=|:|\+=|\{)", RegexOptions.Multiline);
        Match? last = null;
        foreach (Match match in pattern.Matches(text))
            last = match;
        if (last is null)
            return 0;
        var index = last.Index + (char.IsWhiteSpace(text[last.Index]) || text[last.Index] is '{' or ',' or '.' ? 1 : 0);
        return text.AsSpan(0, index).Count('\n') + 1;
    }

    [GeneratedRegex(@"at position (\d+)")]
    private static partial Regex PositionPattern();

    [GeneratedRegex(@"Unresolved substitution: ?(\S+)")]
    private static partial Regex SubstitutionPattern();
}

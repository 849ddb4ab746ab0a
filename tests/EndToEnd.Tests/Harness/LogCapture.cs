using System.Text;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Lines a part of the harness collects from several threads (a process's stdout and stderr, a relay's events), read
/// whole or as a tail for failure messages. Thread-safe.
/// </summary>
internal sealed class LogCapture
{
    private readonly StringBuilder _text = new();

    /// <summary>Appends <paramref name="line"/> and a newline.</summary>
    public void Append(string line)
    {
        lock (_text) _text.AppendLine(line);
    }

    /// <summary>Everything appended so far, one line each.</summary>
    public string Text
    {
        get
        {
            lock (_text) return _text.ToString();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of <see cref="Text"/>.</summary>
    public string Tail(int lines)
    {
        var all = Text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}

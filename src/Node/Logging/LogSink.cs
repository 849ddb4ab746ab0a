using System.Text;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Where formatted lines go: one or more streams (stderr, stdout, files) or a <see cref="TextWriter"/>.
/// <see cref="Write"/> takes a lock so each line is written whole; lines are flushed immediately
/// (etcd's zap writes unbuffered to stderr). Thread-safe.
/// </summary>
internal sealed class LogSink : IDisposable
{
    private readonly object _gate = new();
    private readonly Stream[] _streams;
    private readonly bool _ownsStreams;
    private readonly TextWriter? _writer;

    public LogSink(TextWriter writer)
    {
        _writer = writer;
        _streams = [];
    }

    public LogSink(IReadOnlyList<Stream> streams, bool ownsStreams)
    {
        _streams = streams.ToArray();
        _ownsStreams = ownsStreams;
    }

    public void Write(ReadOnlySpan<byte> line)
    {
        lock (_gate)
        {
            if (_writer is not null)
            {
                _writer.Write(Encoding.UTF8.GetString(line));
                _writer.Flush();
                return;
            }
            foreach (var stream in _streams)
            {
                stream.Write(line);
                stream.Flush();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _writer?.Flush();
            if (_ownsStreams)
            {
                foreach (var stream in _streams)
                    stream.Dispose();
            }
        }
    }
}

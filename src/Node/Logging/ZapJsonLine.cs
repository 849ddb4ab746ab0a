using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Etcd.Node.Configuration;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Serializes one etcd/zap-style JSON log line into a per-thread pooled buffer:
/// <c>{"level":"info","ts":"2026-11-22T02:24:36.755Z","caller":"raft/RaftActor","msg":"...",...fields}</c>
/// followed by <c>\n</c>. <c>ts</c> is zap's ISO8601 encoder: local time with milliseconds and
/// <c>Z</c> for a zero offset, else <c>+hhmm</c>. Field values: numbers and booleans as JSON values,
/// <see cref="TimeSpan"/> as Go durations (<c>1.5s</c>), URLs without the trailing slash, sequences as arrays, anything else as its text;
/// an exception adds <c>"error"</c> (its message) and, at error level and above, <c>"stacktrace"</c>.
/// The returned span is valid until the same thread formats the next line.
/// </summary>
internal static class ZapJsonLine
{
    private const int MaxRetainedBufferBytes = 64 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Formats a line; <paramref name="fields"/> may include <c>{OriginalFormat}</c>, which is skipped.</summary>
    public static ReadOnlySpan<byte> Format(DateTimeOffset timestamp, LogLevel level, string caller, string message,
        IEnumerable<KeyValuePair<string, object?>>? fields, Exception? exception)
    {
        var buffer = t_buffer;
        if (buffer is null || buffer.Capacity > MaxRetainedBufferBytes)
            t_buffer = buffer = new ArrayBufferWriter<byte>(512);
        else
            buffer.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null)
            t_writer = writer = new Utf8JsonWriter(buffer, WriterOptions);
        else
            writer.Reset(buffer);

        writer.WriteStartObject();
        writer.WriteString("level", EtcdLogLevels.ToZapName(level));
        Span<char> ts = stackalloc char[32];
        writer.WriteString("ts", ts[..FormatTimestamp(timestamp, ts)]);
        writer.WriteString("caller", caller);
        writer.WriteString("msg", message);
        if (fields is not null)
        {
            foreach (var (key, value) in fields)
            {
                if (key == "{OriginalFormat}")
                    continue;
                writer.WritePropertyName(key);
                WriteValue(writer, value, depth: 0);
            }
        }
        if (exception is not null)
        {
            writer.WriteString("error", exception.Message);
            if (level >= LogLevel.Error)
                writer.WriteString("stacktrace", exception.ToString());
        }
        writer.WriteEndObject();
        writer.Flush();
        buffer.Write("\n"u8);
        return buffer.WrittenSpan;
    }

    /// <summary>Writes zap's ISO8601 timestamp (<c>2006-01-02T15:04:05.000Z0700</c>) into <paramref name="destination"/>; returns the length.</summary>
    public static int FormatTimestamp(DateTimeOffset timestamp, Span<char> destination)
    {
        timestamp.DateTime.TryFormat(destination, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var offset = timestamp.Offset;
        if (offset == TimeSpan.Zero)
        {
            destination[written++] = 'Z';
            return written;
        }
        destination[written++] = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        abs.Hours.TryFormat(destination[written..], out var h, "00", CultureInfo.InvariantCulture);
        written += h;
        abs.Minutes.TryFormat(destination[written..], out var m, "00", CultureInfo.InvariantCulture);
        return written + m;
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value, int depth)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case uint ui: writer.WriteNumberValue(ui); break;
            case ulong ul: writer.WriteNumberValue(ul); break;
            case short sh: writer.WriteNumberValue(sh); break;
            case ushort us: writer.WriteNumberValue(us); break;
            case byte by: writer.WriteNumberValue(by); break;
            case sbyte sb: writer.WriteNumberValue(sb); break;
            case decimal de: writer.WriteNumberValue(de); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case TimeSpan t: writer.WriteStringValue(GoValueSyntax.FormatDuration(t)); break;
            case Uri u: writer.WriteStringValue(u.IsAbsoluteUri && u.AbsolutePath == "/" ? u.GetLeftPart(UriPartial.Authority) : u.ToString()); break;
            case DateTimeOffset dto:
                Span<char> a = stackalloc char[32];
                writer.WriteStringValue(a[..FormatTimestamp(dto, a)]);
                break;
            case DateTime dt:
                Span<char> b2 = stackalloc char[32];
                writer.WriteStringValue(b2[..FormatTimestamp(dt.Kind == DateTimeKind.Utc ? new DateTimeOffset(dt) : new DateTimeOffset(dt.ToLocalTime()), b2)]);
                break;
            case IEnumerable sequence when depth < 2 && value is not IFormattable:
                writer.WriteStartArray();
                foreach (var item in sequence)
                    WriteValue(writer, item, depth + 1);
                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}

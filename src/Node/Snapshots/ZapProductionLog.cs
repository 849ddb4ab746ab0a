using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Akka.Etcd.Node.Snapshots;

/// <summary>
/// The log lines etcdctl's snapshot commands write to stderr (<c>zap.NewProduction()</c>'s JSON encoder):
/// <c>{"level":"info","ts":1796294405.0776799,"caller":"snapshot/v3_snapshot.go:296","msg":"restoring snapshot",...}</c>
/// with <c>ts</c> in Unix seconds. The callers are etcd 3.4.23's, so a transcript of our restore reads like etcdctl's.
/// Fields: strings, integers and string arrays, in the order given. Not thread-safe (one command writes).
/// </summary>
internal sealed class ZapProductionLog(TextWriter output, TimeProvider? time = null)
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Writes one <c>info</c> line.</summary>
    public void Info(string caller, string message, params (string Name, object Value)[] fields) => Write("info", caller, message, fields);

    /// <summary>Writes one <c>warn</c> line.</summary>
    public void Warn(string caller, string message, params (string Name, object Value)[] fields) => Write("warn", caller, message, fields);

    private void Write(string level, string caller, string message, (string Name, object Value)[] fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteString("level", level);
            var seconds = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;
            json.WritePropertyName("ts");
            json.WriteRawValue(seconds.ToString("R", CultureInfo.InvariantCulture));
            json.WriteString("caller", caller);
            json.WriteString("msg", message);
            foreach (var (name, value) in fields)
            {
                switch (value)
                {
                    case string text:
                        json.WriteString(name, text);
                        break;
                    case long number:
                        json.WriteNumber(name, number);
                        break;
                    case ulong number:
                        json.WriteNumber(name, number);
                        break;
                    case int number:
                        json.WriteNumber(name, number);
                        break;
                    case IEnumerable<string> texts:
                        json.WriteStartArray(name);
                        foreach (var text in texts) json.WriteStringValue(text);
                        json.WriteEndArray();
                        break;
                    default:
                        json.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.Flush();
    }
}

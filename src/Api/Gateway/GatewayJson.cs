using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Akka.Etcd.Api.Gateway;

/// <summary>
/// The gateway's JSON as etcd 3.4's grpc-gateway (golang/protobuf jsonpb, <c>OrigName: true</c>) reads and writes it,
/// done by Google.Protobuf's <see cref="JsonParser"/> and <see cref="JsonFormatter"/>: proto field names (etcd's own, e.g.
/// <c>create_revision</c>, <c>grantedTTL</c>), 64-bit integers as strings, bytes as base64, enums by name, fields at
/// their default value left out; input may use proto or JSON names, enum names or numbers, numbers or strings for
/// 64-bit integers, and unknown fields are ignored. Output is compact (no spaces), as Go's. Errors are grpc-gateway's
/// bodies: <c>{"error":msg,"message":msg,"code":N}</c>, and in a stream <c>{"error":{"grpc_code":N,"http_code":H,
/// "message":msg,"http_status":text}}</c>. Thread-safe.
/// </summary>
public static class GatewayJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>Go's encoding/json leaves non-ASCII text as UTF-8; so does this writer (it escapes only what JSON requires).</summary>
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary>
    /// Parses one request of type <paramref name="type"/> from <paramref name="json"/>; empty or whitespace-only input is
    /// the empty request (grpc-gateway ignores EOF).
    /// </summary>
    /// <exception cref="RpcException">InvalidArgument with the text Go's decoder gives for the common mistakes: "unexpected
    /// EOF" for cut-off JSON, "illegal base64 data at input byte N" for a bad bytes field, otherwise the parser's text.</exception>
    public static IMessage ParseRequest(MessageDescriptor type, string json)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (string.IsNullOrWhiteSpace(json))
            return type.Parser.ParseFrom(ByteString.Empty);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw InvalidArgument(GoSyntaxError(json, e));
        }
        using (document)
        {
            if (FirstBadBytes(type, document.RootElement) is { } offset)
                throw InvalidArgument($"illegal base64 data at input byte {offset}");
        }
        try
        {
            return Parser.Parse(json, type);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw InvalidArgument(e.Message);
        }
        catch (InvalidJsonException e)
        {
            throw InvalidArgument(e.Message);
        }
    }

    /// <summary>The message as etcd's gateway prints it (compact, proto names).</summary>
    public static string Format(IMessage message) => Minify(Formatter.Format(message));

    /// <summary>One streamed message: <c>{"result":…}</c> (without the newline that follows it).</summary>
    public static string FormatStreamResult(IMessage message) => "{\"result\":" + Format(message) + "}";

    /// <summary>grpc-gateway's unary error body <c>{"error":msg,"message":msg,"code":N}</c>.</summary>
    public static string FormatError(Status status)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            writer.WriteStartObject();
            writer.WriteString("error", status.Detail);
            writer.WriteString("message", status.Detail);
            writer.WriteNumber("code", (int)status.StatusCode);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>grpc-gateway's in-stream error <c>{"error":{"grpc_code":N,"http_code":H,"message":msg,"http_status":text}}</c>.</summary>
    public static string FormatStreamError(Status status)
    {
        var httpCode = GatewayStatus.HttpStatusOf(status.StatusCode);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            if (status.StatusCode != StatusCode.OK)
                writer.WriteNumber("grpc_code", (int)status.StatusCode);
            writer.WriteNumber("http_code", httpCode);
            writer.WriteString("message", status.Detail);
            writer.WriteString("http_status", GatewayStatus.ReasonPhrase(httpCode));
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>Re-writes JSON without insignificant whitespace, keeping every value's text.</summary>
    private static string Minify(string json)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        using (var document = JsonDocument.Parse(json))
        {
            document.RootElement.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Walks <paramref name="element"/> against <paramref name="type"/> and returns Go's error offset for the first
    /// bytes field (single or repeated, at any depth) whose string is not standard padded base64; null when all decode.
    /// </summary>
    private static int? FirstBadBytes(MessageDescriptor type, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var property in element.EnumerateObject())
        {
            var field = type.FindFieldByName(property.Name) ?? type.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name);
            if (field is null)
                continue;
            var values = property.Value.ValueKind == JsonValueKind.Array && field.IsRepeated
                ? property.Value.EnumerateArray().ToArray()
                : [property.Value];
            foreach (var value in values)
            {
                if (field.FieldType == FieldType.Bytes && value.ValueKind == JsonValueKind.String
                    && GoBase64.ErrorOffset(value.GetString()!) is { } offset)
                    return offset;
                if (field.FieldType == FieldType.Message && !field.IsMap && FirstBadBytes(field.MessageType, value) is { } nested)
                    return nested;
            }
        }
        return null;
    }

    /// <summary>Go's encoding/json text for a syntax error: "unexpected EOF" when the input ends early, else "invalid character".</summary>
    private static string GoSyntaxError(string json, JsonException e)
    {
        var line = (int)(e.LineNumber ?? 0);
        var column = (int)(e.BytePositionInLine ?? 0);
        var lines = json.Split('\n');
        var offset = lines.Take(line).Sum(l => l.Length + 1) + column;
        var rest = offset < json.Length ? json[offset..].TrimStart() : "";
        if (rest.Length == 0)
            return "unexpected EOF";
        var c = rest[0];
        return c == '"' ? "invalid character '\"' after object key:value pair" : $"invalid character '{c}' looking for beginning of value";
    }
}

/// <summary>grpc-gateway's mapping of gRPC status codes to HTTP statuses (runtime.HTTPStatusFromCode).</summary>
public static class GatewayStatus
{
    /// <summary>The HTTP status grpc-gateway answers for <paramref name="code"/>.</summary>
    public static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.Cancelled => 408,
        StatusCode.Unknown => 500,
        StatusCode.InvalidArgument => 400,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists => 409,
        StatusCode.PermissionDenied => 403,
        StatusCode.Unauthenticated => 401,
        StatusCode.ResourceExhausted => 429,
        StatusCode.FailedPrecondition => 412,
        StatusCode.Aborted => 409,
        StatusCode.OutOfRange => 400,
        StatusCode.Unimplemented => 501,
        StatusCode.Internal => 500,
        StatusCode.Unavailable => 503,
        StatusCode.DataLoss => 500,
        _ => 500,
    };

    /// <summary>Go's <c>http.StatusText</c> for the statuses above.</summary>
    public static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}

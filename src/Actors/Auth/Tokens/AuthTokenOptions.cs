using System.Globalization;

namespace Akka.Etcd.Actors.Auth.Tokens;

/// <summary>
/// The parsed <c>--auth-token</c> value (etcd's auth.NewTokenProvider / decomposeOpts / jwtOptions): <c>simple</c>, or
/// <c>jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256,ttl=5m</c>. Options are <c>name=value</c> pairs after the
/// type, comma-separated, each at most once. Immutable.
/// </summary>
public sealed record AuthTokenOptions
{
    /// <summary>The token type: <c>simple</c> or <c>jwt</c>.</summary>
    public string Type { get; init; } = "simple";

    /// <summary>The jwt options given (name → value), e.g. <c>sign-method</c>, <c>pub-key</c>, <c>priv-key</c>, <c>ttl</c>.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>Parses <paramref name="spec"/> as etcd does.</summary>
    /// <exception cref="ArgumentException">"auth: invalid auth options" for a malformed or duplicated option or an
    /// unknown type (etcd's ErrInvalidAuthOpts text).</exception>
    public static AuthTokenOptions Parse(string spec)
    {
        var parts = spec.Split(',');
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < parts.Length; i++)
        {
            var pair = parts[i].Split('=');
            if (pair.Length != 2 || !options.TryAdd(pair[0], pair[1]))
            {
                throw new ArgumentException(InvalidOptions, nameof(spec));
            }
        }
        if (parts[0] is not ("simple" or "jwt"))
        {
            throw new ArgumentException(InvalidOptions, nameof(spec));
        }
        return new AuthTokenOptions { Type = parts[0], Options = options };
    }

    /// <summary>etcd's ErrInvalidAuthOpts text.</summary>
    public const string InvalidOptions = "auth: invalid auth options";

    /// <summary>
    /// Creates the provider: simple tokens with <paramref name="simpleTokenTtl"/>, or a JWT provider from the key files
    /// (read now). Throws <see cref="ArgumentException"/> with etcd's texts for a bad jwt configuration (unknown sign
    /// method, missing key, unreadable or mismatched keys).
    /// </summary>
    public IAuthTokenProvider CreateProvider(TimeSpan simpleTokenTtl) => Type == "jwt"
        ? JwtTokenProvider.Create(this)
        : new SimpleTokenProvider(simpleTokenTtl);

    /// <summary>
    /// A Go duration (<c>300ms</c>, <c>1.5h</c>, <c>5m30s</c>), as the jwt <c>ttl</c> option takes it.
    /// </summary>
    /// <exception cref="ArgumentException">Not a Go duration.</exception>
    public static TimeSpan ParseGoDuration(string text)
    {
        var s = text.AsSpan();
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s.SequenceEqual("0"))
        {
            return TimeSpan.Zero;
        }
        if (s.IsEmpty)
        {
            throw new ArgumentException($"time: invalid duration \"{text}\"", nameof(text));
        }
        double totalNs = 0;
        while (!s.IsEmpty)
        {
            var n = 0;
            while (n < s.Length && (char.IsAsciiDigit(s[n]) || s[n] == '.'))
            {
                n++;
            }
            if (n == 0 || !double.TryParse(s[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"time: invalid duration \"{text}\"", nameof(text));
            }
            s = s[n..];
            var u = 0;
            while (u < s.Length && !char.IsAsciiDigit(s[u]) && s[u] != '.')
            {
                u++;
            }
            double unit = s[..u] switch
            {
                "ns" => 1,
                "us" or "µs" or "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "" => throw new ArgumentException($"time: missing unit in duration \"{text}\"", nameof(text)),
                _ => throw new ArgumentException($"time: unknown unit \"{s[..u].ToString()}\" in duration \"{text}\"", nameof(text)),
            };
            totalNs += value * unit;
            s = s[u..];
        }
        var span = TimeSpan.FromTicks((long)(totalNs / 100));
        return negative ? -span : span;
    }
}

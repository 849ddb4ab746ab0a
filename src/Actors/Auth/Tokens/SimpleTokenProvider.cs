using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;

namespace Akka.Etcd.Actors.Auth.Tokens;

/// <summary>
/// etcd's simple tokens (auth/simple_token.go): <c>prefix.index</c>, where the prefix is 16 random letters chosen by
/// the member that took the Authenticate request and the index is the Raft index of its log entry; the token is
/// remembered with its user on every member when that entry is applied. A token lives for the TTL
/// (<c>--auth-token-ttl</c>, default 300 s) after its last use; deleting the user, changing the password or disabling
/// auth forgets it. Not signed: it is only as secret as the connection (as etcd warns). Thread-safe.
/// </summary>
public sealed class SimpleTokenProvider : IAuthTokenProvider
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const int PrefixLength = 16;

    private readonly ConcurrentDictionary<string, Entry> _tokens = new(StringComparer.Ordinal);
    private readonly long _ttlMs;
    private readonly Func<long> _nowMs;
    private long _lastSweepMs;
    private volatile bool _enabled;

    /// <summary>Creates the provider.</summary>
    /// <param name="ttl">How long a token lives after its last use; zero or less means etcd's 300 s.</param>
    /// <param name="nowMs">A monotonic clock in ms (tests pass their own); default <see cref="Environment.TickCount64"/>.</param>
    public SimpleTokenProvider(TimeSpan ttl, Func<long>? nowMs = null)
    {
        _ttlMs = (long)(ttl > TimeSpan.Zero ? ttl : TimeSpan.FromSeconds(300)).TotalMilliseconds;
        _nowMs = nowMs ?? (() => Environment.TickCount64);
    }

    /// <inheritdoc />
    public string Kind => "simple";

    /// <summary>Tokens currently remembered (expired ones linger until the next assignment sweeps them).</summary>
    public int Count => _tokens.Count;

    /// <inheritdoc />
    public string NewTokenPrefix() => RandomNumberGenerator.GetString(Letters, PrefixLength);

    /// <inheritdoc />
    public string Assign(string username, ulong revision, string prefix, ulong index)
    {
        var token = prefix + "." + index.ToString(CultureInfo.InvariantCulture);
        if (!_enabled)
        {
            return token; // etcd hands the token out but keeps nothing while its TTL keeper is stopped
        }
        var now = _nowMs();
        SweepExpired(now);
        _tokens[token] = new Entry(username, now + _ttlMs);
        return token;
    }

    /// <inheritdoc />
    public ulong? AppliedIndexNeeded(string token) => TryParseIndex(token, out var index) ? index : null;

    /// <inheritdoc />
    public AuthInfo? Resolve(string token, ulong currentRevision)
    {
        if (!TryParseIndex(token, out _) || !_tokens.TryGetValue(token, out var entry))
        {
            return null;
        }
        var now = _nowMs();
        if (entry.IsExpired(now))
        {
            _tokens.TryRemove(KeyValuePair.Create(token, entry));
            return null;
        }
        entry.Touch(now + _ttlMs);
        return new AuthInfo(entry.Username, currentRevision);
    }

    /// <inheritdoc />
    public void InvalidateUser(string username)
    {
        foreach (var (token, entry) in _tokens)
        {
            if (entry.Username == username)
            {
                _tokens.TryRemove(KeyValuePair.Create(token, entry));
            }
        }
    }

    /// <inheritdoc />
    public void Enable() => _enabled = true;

    /// <inheritdoc />
    public void Disable()
    {
        _enabled = false;
        _tokens.Clear();
    }

    private void SweepExpired(long now)
    {
        // At most once a second (etcd's TTL keeper ticks every second); keeps the map bounded by a TTL's worth of tokens.
        if (now - Interlocked.Read(ref _lastSweepMs) < 1000)
        {
            return;
        }
        Interlocked.Exchange(ref _lastSweepMs, now);
        foreach (var (token, entry) in _tokens)
        {
            if (entry.IsExpired(now))
            {
                _tokens.TryRemove(KeyValuePair.Create(token, entry));
            }
        }
    }

    private static bool TryParseIndex(string token, out ulong index)
    {
        index = 0;
        var parts = token.Split('.');
        // etcd parses the suffix with strconv.Atoi: an optional sign and decimal digits.
        if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || value < 0)
        {
            return false;
        }
        index = (ulong)value;
        return true;
    }

    /// <summary>A remembered token: its user and when it expires (ms on the provider's clock), moved on each use.</summary>
    private sealed class Entry(string username, long expiresAtMs)
    {
        private long _expiresAtMs = expiresAtMs;

        public string Username { get; } = username;

        public bool IsExpired(long now) => now > Interlocked.Read(ref _expiresAtMs);

        public void Touch(long expiresAtMs) => Interlocked.Exchange(ref _expiresAtMs, expiresAtMs);
    }
}

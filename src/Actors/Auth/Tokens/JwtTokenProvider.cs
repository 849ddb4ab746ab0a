using System.Security.Cryptography;
using System.Text.Json;
using Akka.Etcd.Protos.Errors;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Akka.Etcd.Actors.Auth.Tokens;

/// <summary>
/// etcd's JWT tokens (auth/jwt.go, auth/options.go) on Microsoft.IdentityModel.JsonWebTokens: a JWS whose payload is
/// <c>{"exp":…,"revision":N,"username":"…"}</c>, signed with <c>sign-method</c> (RS256/384/512, PS256/384/512,
/// ES256/384/512 with the PEM key files <c>priv-key</c>/<c>pub-key</c>; HS256/384/512 with the raw bytes of
/// <c>priv-key</c>), valid for <c>ttl</c> (a Go duration, default 5m). Stateless: any member with the same keys
/// resolves any member's tokens, and etcd's tokens resolve here too. With only a public key the member verifies but
/// cannot sign ("auth: token signing attempted with verify-only key"). Thread-safe.
/// </summary>
public sealed class JwtTokenProvider : IAuthTokenProvider
{
    private static readonly string[] SignMethods =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"];

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly string _signMethod;
    private readonly SecurityKey _verifyKey;
    private readonly SigningCredentials? _signing;
    private readonly TimeSpan _ttl;
    private readonly TokenValidationParameters _validation;

    private JwtTokenProvider(string signMethod, SecurityKey verifyKey, SecurityKey? signKey, TimeSpan ttl)
    {
        _signMethod = signMethod;
        _verifyKey = verifyKey;
        _signing = signKey is null ? null : new SigningCredentials(signKey, signMethod);
        _ttl = ttl;
        _validation = new TokenValidationParameters
        {
            IssuerSigningKey = verifyKey,
            ValidAlgorithms = [signMethod],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.Zero,
        };
    }

    /// <inheritdoc />
    public string Kind => "jwt";

    /// <summary>The signing algorithm (<c>sign-method</c>).</summary>
    public string SignMethod => _signMethod;

    /// <summary>How long a signed token is valid (<c>ttl</c>).</summary>
    public TimeSpan Ttl => _ttl;

    /// <summary>True when only a public key was given: tokens are verified, never issued.</summary>
    public bool VerifyOnly => _signing is null;

    /// <summary>
    /// Builds the provider from the jwt options of <c>--auth-token</c>, reading the key files now (etcd's
    /// newTokenProviderJWT). Throws <see cref="ArgumentException"/> with etcd's texts: "auth: invalid auth signature
    /// method", "auth: missing key data", "auth: public and private keys don't match", a bad ttl or an unreadable key.
    /// </summary>
    public static JwtTokenProvider Create(AuthTokenOptions options)
    {
        var map = options.Options;
        var ttl = map.TryGetValue("ttl", out var ttlText) && ttlText.Length > 0 ? AuthTokenOptions.ParseGoDuration(ttlText) : TimeSpan.FromMinutes(5);
        var publicPem = ReadKeyFile(map, "pub-key");
        var privatePem = ReadKeyFile(map, "priv-key");
        var method = map.GetValueOrDefault("sign-method", "");
        if (!SignMethods.Contains(method))
        {
            throw new ArgumentException("auth: invalid auth signature method");
        }
        switch (method[0])
        {
            case 'R' or 'P':
            {
                var priv = privatePem is null ? null : ImportPem(RSA.Create(), privatePem);
                var pub = publicPem is null ? null : ImportPem(RSA.Create(), publicPem);
                if (priv is null && pub is null)
                {
                    throw new ArgumentException("auth: missing key data");
                }
                if (priv is not null && pub is not null
                    && !priv.ExportParameters(false).Modulus!.AsSpan().SequenceEqual(pub.ExportParameters(false).Modulus))
                {
                    throw new ArgumentException("auth: public and private keys don't match");
                }
                var verify = new RsaSecurityKey(pub ?? priv!);
                return new JwtTokenProvider(method, verify, priv is null ? null : new RsaSecurityKey(priv), ttl);
            }
            case 'E':
            {
                var priv = privatePem is null ? null : ImportPem(ECDsa.Create(), privatePem);
                var pub = publicPem is null ? null : ImportPem(ECDsa.Create(), publicPem);
                if (priv is null && pub is null)
                {
                    throw new ArgumentException("auth: missing key data");
                }
                if (priv is not null && pub is not null
                    && !priv.ExportParameters(false).Q.X!.AsSpan().SequenceEqual(pub.ExportParameters(false).Q.X))
                {
                    throw new ArgumentException("auth: public and private keys don't match");
                }
                var verify = new ECDsaSecurityKey(pub ?? priv!);
                return new JwtTokenProvider(method, verify, priv is null ? null : new ECDsaSecurityKey(priv), ttl);
            }
            default:
            {
                if (privatePem is not { Length: > 0 })
                {
                    throw new ArgumentException("auth: missing key data");
                }
                var key = new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(privatePem));
                return new JwtTokenProvider(method, key, key, ttl);
            }
        }
    }

    /// <inheritdoc />
    public string NewTokenPrefix() => "";

    /// <inheritdoc />
    public string Assign(string username, ulong revision, string prefix, ulong index)
    {
        if (_signing is null)
        {
            throw new EtcdException(RpcStatusCode.Unknown, "auth: token signing attempted with verify-only key");
        }
        // jwt-go marshals its MapClaims with sorted keys: exp, revision, username.
        var payload = JsonSerializer.Serialize(new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["exp"] = DateTimeOffset.UtcNow.Add(_ttl).ToUnixTimeSeconds(),
            ["revision"] = revision,
            ["username"] = username,
        });
        return _handler.CreateToken(payload, _signing);
    }

    /// <inheritdoc />
    public ulong? AppliedIndexNeeded(string token) => null;

    /// <inheritdoc />
    public AuthInfo? Resolve(string token, ulong currentRevision)
    {
        TokenValidationResult result;
        try
        {
            result = _handler.ValidateTokenAsync(token, _validation).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return null;
        }
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }
        if (!jwt.TryGetPayloadValue<string>("username", out var username) || !jwt.TryGetClaim("revision", out var revision)
            || !double.TryParse(revision.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }
        // jwt-go reads numbers as float64 and etcd converts them to uint64.
        return new AuthInfo(username, value <= 0 ? 0 : value >= ulong.MaxValue ? ulong.MaxValue : (ulong)value);
    }

    /// <inheritdoc />
    public void InvalidateUser(string username)
    {
        // Stateless: a JWT stays valid until it expires, as in etcd.
    }

    /// <inheritdoc />
    public void Enable()
    {
    }

    /// <inheritdoc />
    public void Disable()
    {
    }

    private static string? ReadKeyFile(IReadOnlyDictionary<string, string> options, string name)
    {
        if (!options.TryGetValue(name, out var path) || path.Length == 0)
        {
            return null;
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"open {path}: {ex.Message}", ex);
        }
    }

    private static T ImportPem<T>(T algorithm, string pem) where T : AsymmetricAlgorithm
    {
        try
        {
            algorithm.ImportFromPem(pem);
            return algorithm;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            algorithm.Dispose();
            throw new ArgumentException("invalid key: " + ex.Message, ex);
        }
    }

    /// <summary>The key tokens are verified with (for tests that sign their own).</summary>
    internal SecurityKey VerifyKey => _verifyKey;
}

using System.Security.Cryptography;
using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Auth.Tokens;
using Akka.Etcd.Protos.Errors;

namespace Akka.Etcd.Actors.Tests.Auth;

/// <summary>Simple tokens (TTL on a test clock, invalidation) and JWTs (sign, verify, expiry, keys) as etcd's providers.</summary>
public sealed class TokenProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("akka-etcd-jwt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_simple_token_lives_its_ttl_after_its_last_use()
    {
        long now = 0;
        var tokens = new SimpleTokenProvider(TimeSpan.FromSeconds(10), () => now);
        tokens.Enable();
        var prefix = tokens.NewTokenPrefix();
        Assert.Matches("^[a-zA-Z]{16}$", prefix);
        var token = tokens.Assign("u", 3, prefix, 42);
        Assert.Equal(prefix + ".42", token);
        Assert.Equal(42UL, tokens.AppliedIndexNeeded(token));
        now = 9_000;
        Assert.Equal(new AuthInfo("u", 5), tokens.Resolve(token, 5));
        now = 18_000;
        Assert.NotNull(tokens.Resolve(token, 5));
        now = 28_001;
        Assert.Null(tokens.Resolve(token, 5));
    }

    [Fact]
    public void Simple_tokens_go_with_their_user_and_with_auth()
    {
        var tokens = new SimpleTokenProvider(TimeSpan.FromMinutes(5));
        tokens.Enable();
        var a = tokens.Assign("a", 1, "aaaaaaaaaaaaaaaa", 1);
        var b = tokens.Assign("b", 1, "bbbbbbbbbbbbbbbb", 2);
        tokens.InvalidateUser("a");
        Assert.Null(tokens.Resolve(a, 1));
        Assert.NotNull(tokens.Resolve(b, 1));
        tokens.Disable();
        Assert.Null(tokens.Resolve(b, 1));
        Assert.Null(tokens.Resolve("garbage", 1));
        Assert.Null(tokens.AppliedIndexNeeded("no.dots.here"));
        Assert.Null(tokens.AppliedIndexNeeded("x.-1"));
    }

    private string WriteRsaKeys()
    {
        using var rsa = RSA.Create(2048);
        File.WriteAllText(Path.Combine(_dir, "priv.pem"), rsa.ExportRSAPrivateKeyPem());
        File.WriteAllText(Path.Combine(_dir, "pub.pem"), rsa.ExportSubjectPublicKeyInfoPem());
        return _dir;
    }

    [Fact]
    public void A_jwt_carries_user_and_revision_and_verifies_with_the_public_key_alone()
    {
        var dir = WriteRsaKeys();
        var signer = JwtTokenProvider.Create(AuthTokenOptions.Parse($"jwt,pub-key={dir}/pub.pem,priv-key={dir}/priv.pem,sign-method=RS256,ttl=5m"));
        var token = signer.Assign("alice", 7, "", 99);
        Assert.Equal(3, token.Split('.').Length);
        Assert.Equal(new AuthInfo("alice", 7), signer.Resolve(token, 100));
        var verifier = JwtTokenProvider.Create(AuthTokenOptions.Parse($"jwt,pub-key={dir}/pub.pem,sign-method=RS256"));
        Assert.True(verifier.VerifyOnly);
        Assert.Equal(new AuthInfo("alice", 7), verifier.Resolve(token, 100));
        Assert.Throws<EtcdException>(() => verifier.Assign("alice", 7, "", 1));
        Assert.Null(verifier.Resolve(token[..^4] + "AAAA", 100));
        var other = JwtTokenProvider.Create(AuthTokenOptions.Parse($"jwt,priv-key={dir}/priv.pem,sign-method=RS384"));
        Assert.Null(other.Resolve(token, 100)); // another algorithm
    }

    [Fact]
    public void An_expired_jwt_is_refused()
    {
        var dir = WriteRsaKeys();
        var provider = JwtTokenProvider.Create(AuthTokenOptions.Parse($"jwt,priv-key={dir}/priv.pem,sign-method=RS256,ttl=-1s"));
        Assert.Null(provider.Resolve(provider.Assign("alice", 1, "", 1), 1));
    }

    [Theory]
    [InlineData("jwt,sign-method=RS256", "auth: missing key data")]
    [InlineData("jwt,sign-method=XX1", "auth: invalid auth signature method")]
    [InlineData("simple,ttl", AuthTokenOptions.InvalidOptions)]
    [InlineData("simple,a=1,a=2", AuthTokenOptions.InvalidOptions)]
    [InlineData("opaque", AuthTokenOptions.InvalidOptions)]
    public void Bad_token_options_fail_with_etcds_text(string spec, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => AuthTokenOptions.Parse(spec).CreateProvider(TimeSpan.FromMinutes(5)));
        Assert.StartsWith(message, error.Message);
    }

    [Theory]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5s", 1.5)]
    [InlineData("250ms", 0.25)]
    public void Go_durations_parse(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), AuthTokenOptions.ParseGoDuration(text));
}

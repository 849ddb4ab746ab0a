extern alias DotnetEtcd;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Etcd.EndToEnd.Tests.Harness;
using DotnetEtcd::dotnet_etcd;
using Grpc.Core;
using Grpc.Net.Client;
using DnPb = DotnetEtcd::Etcdserverpb;

namespace Akka.Etcd.EndToEnd.Tests.Auth;

/// <summary>
/// dotnet-etcd 10 as an application uses it with security on: a username and password exchanged for a token sent in
/// the <c>token</c> metadata, and a TLS client certificate whose CommonName is the user (<c>--client-cert-auth</c>).
/// The same calls against etcd 3.4 and ours must give the same answers.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DotnetEtcdAuthTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Username_and_password_give_a_token_that_carries_the_users_permissions(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = new EtcdClient(member.ClientUrl);
        await EnableAuthAsync(client);

        var denied = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("app/x", "1").WaitAsync(Deadline));
        Assert.Equal((StatusCode.InvalidArgument, "etcdserver: user name is empty"), (denied.StatusCode, denied.Status.Detail));
        var wrong = await Assert.ThrowsAsync<RpcException>(() =>
            client.AuthenticateAsync(new DnPb.AuthenticateRequest { Name = "alice", Password = "nope" }).WaitAsync(Deadline));
        Assert.Equal((StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"),
            (wrong.StatusCode, wrong.Status.Detail));

        var alice = await TokenAsync(client, "alice", "alicepw");
        var put = await client.PutAsync("app/x", "1", alice).WaitAsync(Deadline);
        Assert.True(put.Header.Revision > 1);
        Assert.Equal("1", (await client.GetValAsync("app/x", alice).WaitAsync(Deadline)));
        var outside = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("other", "1", alice).WaitAsync(Deadline));
        Assert.Equal((StatusCode.PermissionDenied, "etcdserver: permission denied"), (outside.StatusCode, outside.Status.Detail));
        var notAdmin = await Assert.ThrowsAsync<RpcException>(() =>
            client.UserListAsync(new DnPb.AuthUserListRequest(), alice).WaitAsync(Deadline));
        Assert.Equal((StatusCode.PermissionDenied, "etcdserver: permission denied"), (notAdmin.StatusCode, notAdmin.Status.Detail));

        var root = await TokenAsync(client, "root", "rootpw");
        var users = await client.UserListAsync(new DnPb.AuthUserListRequest(), root).WaitAsync(Deadline);
        Assert.Equal(["alice", "root"], users.Users);
        var bogus = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetValAsync("app/x", new Metadata { { "token", "bogus.1" } }).WaitAsync(Deadline));
        Assert.Equal((StatusCode.Unauthenticated, "etcdserver: invalid auth token"), (bogus.StatusCode, bogus.Status.Detail));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_client_certificate_is_verified_at_the_handshake_and_its_common_name_is_the_user(ServerKind kind)
    {
        using var ca = Authority.Create();
        await using var member = await MemberProcess.StartAsync(kind, "m1",
            ["--cert-file", "{root}/server.crt", "--key-file", "{root}/server.key", "--trusted-ca-file", "{root}/ca.crt", "--client-cert-auth"],
            secureClientPort: true, prepare: ca.WriteServerFiles);
        using var plain = new EtcdClient(member.ClientUrl);
        await EnableAuthAsync(plain);

        using (var asAlice = SecureClient(member, ca, ca.Issue("alice")))
        {
            await asAlice.PutAsync("app/tls", "1").WaitAsync(Deadline);
            Assert.Equal("1", await asAlice.GetValAsync("app/tls").WaitAsync(Deadline));
            var outside = await Assert.ThrowsAsync<RpcException>(() => asAlice.PutAsync("other", "1").WaitAsync(Deadline));
            Assert.Equal((StatusCode.PermissionDenied, "etcdserver: permission denied"), (outside.StatusCode, outside.Status.Detail));
        }
        using (var asRoot = SecureClient(member, ca, ca.Issue("root")))
        {
            var users = await asRoot.UserListAsync(new DnPb.AuthUserListRequest()).WaitAsync(Deadline);
            Assert.Equal(["alice", "root"], users.Users);
        }
        using (var anonymous = SecureClient(member, ca, clientCertificate: null))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetValAsync("app/tls").WaitAsync(Deadline));
            AssertRefusedAtHandshake(refused);
        }
        using var stranger = Authority.Create();
        using (var foreign = SecureClient(member, ca, stranger.Issue("root")))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => foreign.GetValAsync("app/tls").WaitAsync(Deadline));
            AssertRefusedAtHandshake(refused);
        }
    }

    /// <summary>
    /// A call on a connection whose handshake the server refused. With TLS 1.3 the client has finished its side of the
    /// handshake before the server's alert arrives, so Grpc.Net.Client reports it as UNAVAILABLE (connect failed) or
    /// INTERNAL (the request stream broke), depending on when the alert is read; both mean nothing was served.
    /// </summary>
    private static void AssertRefusedAtHandshake(RpcException refused) =>
        Assert.True(refused.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"{refused.StatusCode}: {refused.Status.Detail}");

    private static async Task EnableAuthAsync(EtcdClient client)
    {
        await client.UserAddAsync(new DnPb.AuthUserAddRequest { Name = "root", Password = "rootpw" }).WaitAsync(Deadline);
        await client.UserGrantRoleAsync(new DnPb.AuthUserGrantRoleRequest { User = "root", Role = "root" }).WaitAsync(Deadline);
        await client.RoleAddAsync(new DnPb.AuthRoleAddRequest { Name = "app" }).WaitAsync(Deadline);
        await client.RoleGrantPermissionAsync(new DnPb.AuthRoleGrantPermissionRequest
        {
            Name = "app",
            Perm = new DotnetEtcd::Authpb.Permission
            {
                PermType = DotnetEtcd::Authpb.Permission.Types.Type.Readwrite,
                Key = Google.Protobuf.ByteString.CopyFromUtf8("app/"), RangeEnd = Google.Protobuf.ByteString.CopyFromUtf8("app0"),
            },
        }).WaitAsync(Deadline);
        await client.UserAddAsync(new DnPb.AuthUserAddRequest { Name = "alice", Password = "alicepw" }).WaitAsync(Deadline);
        await client.UserGrantRoleAsync(new DnPb.AuthUserGrantRoleRequest { User = "alice", Role = "app" }).WaitAsync(Deadline);
        await client.AuthEnableAsync(new DnPb.AuthEnableRequest()).WaitAsync(Deadline);
    }

    private static async Task<Metadata> TokenAsync(EtcdClient client, string user, string password)
    {
        var answer = await client.AuthenticateAsync(new DnPb.AuthenticateRequest { Name = user, Password = password }).WaitAsync(Deadline);
        return new Metadata { { "token", answer.Token } };
    }

    /// <summary>A dotnet-etcd client on the member's https URL that trusts <paramref name="ca"/> and presents <paramref name="clientCertificate"/>.</summary>
    private static EtcdClient SecureClient(MemberProcess member, Authority ca, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && ca.Issued(certificate),
            },
        };
        return new EtcdClient(member.SecureClientUrl!, configureChannelOptions: options =>
        {
            options.HttpHandler = handler;
            options.Credentials = new SslCredentials();
            options.DisposeHttpClient = true;
        });
    }

    /// <summary>A throw-away certificate authority: its own certificate and the certificates it issues (RSA 2048; the authority three days, what it issues one).</summary>
    private sealed class Authority : IDisposable
    {
        private readonly RSA _key;
        private readonly X509Certificate2 _certificate;

        private Authority(RSA key, X509Certificate2 certificate) => (_key, _certificate) = (key, certificate);

        public static Authority Create()
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=e2e-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            return new Authority(key, request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-2), DateTimeOffset.UtcNow.AddDays(3)));
        }

        /// <summary>A certificate with <paramref name="commonName"/> for client authentication, with its private key.</summary>
        public X509Certificate2 Issue(string commonName)
        {
            var (certificate, key) = Issue(commonName, server: false);
            key.Dispose();
            return certificate;
        }

        /// <summary>Writes ca.crt, server.crt and server.key (PEM, SAN 127.0.0.1) into <paramref name="directory"/>.</summary>
        public void WriteServerFiles(string directory)
        {
            var (certificate, key) = Issue("server", server: true);
            File.WriteAllText(Path.Combine(directory, "ca.crt"), _certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.crt"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.key"), key.ExportPkcs8PrivateKeyPem());
            certificate.Dispose();
            key.Dispose();
        }

        /// <summary>True when <paramref name="certificate"/> chains to this authority.</summary>
        public bool Issued(X509Certificate certificate)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(_certificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            return chain.Build(leaf);
        }

        private (X509Certificate2 Certificate, RSA Key) Issue(string commonName, bool server)
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                server ? [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")] : [new Oid("1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var names = new SubjectAlternativeNameBuilder();
                names.AddIpAddress(System.Net.IPAddress.Loopback);
                names.AddDnsName("localhost");
                request.CertificateExtensions.Add(names.Build());
            }
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] &= 0x7f;
            using var issued = request.Create(_certificate, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
            using var withKey = issued.CopyWithPrivateKey(key);
            // A PKCS#12 round trip gives SslStream a certificate whose key it can use on every platform.
            var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            return (certificate, key);
        }

        public void Dispose()
        {
            _certificate.Dispose();
            _key.Dispose();
        }
    }
}

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>Which server binary a <see cref="MemberProcess"/> runs; both take the same etcd 3.4 flags.</summary>
public enum ServerKind
{
    /// <summary>The reference: Debian's etcd 3.4 at <c>/usr/bin/etcd</c>.</summary>
    Etcd,

    /// <summary>Our member: <c>dotnet akka-etcd.dll</c> from the test output directory.</summary>
    Ours,
}

/// <summary>
/// Decides whether the ours-side of the comparisons runs. Set the environment variable
/// <c>AKKA_ETCD_E2E_OURS=1</c> (or <c>0</c>) to override <see cref="OursByDefault"/>.
/// </summary>
public static class ServerKinds
{
    /// <summary>Flip to <c>true</c> once the member (src/Node) serves etcd's API.</summary>
    public const bool OursByDefault = true;

    /// <summary>Name of the environment variable that switches the ours-side on (1/true) or off (0/false).</summary>
    public const string OursVariable = "AKKA_ETCD_E2E_OURS";

    /// <summary>True when scenarios also run against akka-etcd and compare its transcript with etcd's.</summary>
    public static bool OursEnabled
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(OursVariable);
            if (string.IsNullOrWhiteSpace(value)) return OursByDefault;
            return value.Trim() is "1" or "true" or "True" or "yes";
        }
    }

    /// <summary>The kinds a test that runs per server should cover: etcd always, ours when enabled.</summary>
    public static IEnumerable<ServerKind> UnderTest =>
        OursEnabled ? [ServerKind.Etcd, ServerKind.Ours] : [ServerKind.Etcd];
}

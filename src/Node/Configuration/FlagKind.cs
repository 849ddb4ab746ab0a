namespace Akka.Etcd.Node.Configuration;

/// <summary>How a flag's text is parsed; mirrors the Go flag.Value types etcd 3.4 registers (etcdmain/config.go).</summary>
internal enum FlagKind
{
    /// <summary>Any text.</summary>
    String,
    /// <summary>Go bool flag: <c>--flag</c> alone means true; values per strconv.ParseBool.</summary>
    Bool,
    /// <summary>Go uint (64-bit on amd64).</summary>
    Uint,
    /// <summary>Go uint64.</summary>
    Uint64,
    /// <summary>Go int (64-bit on amd64).</summary>
    Int,
    /// <summary>Go int64.</summary>
    Int64,
    /// <summary>etcd's Uint32Value (strconv errors are reported verbatim).</summary>
    Uint32,
    /// <summary>Go time.Duration text, e.g. <c>5s</c>.</summary>
    Duration,
    /// <summary>Comma-separated URL list checked like etcd's types.NewURLs.</summary>
    Urls,
    /// <summary>Comma-separated strings.</summary>
    Strings,
    /// <summary>One of a fixed set (etcd's SelectiveStringValue); otherwise <c>invalid value</c>.</summary>
    Choice,
    /// <summary>CORS origins: <c>*</c> or a URL list.</summary>
    Cors,
    /// <summary>Accepted for compatibility and ignored (etcd's IgnoredFlag list).</summary>
    Ignored,
}

using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Reads etcd's YAML configuration file (--config-file; etcd 3.4 embed/config.go configYAML): top-level
/// keys are flag names (<c>name</c>, <c>data-dir</c>, <c>listen-client-urls: http://a:2379,http://b:2379</c>,
/// <c>log-outputs: [stderr]</c>), TLS settings sit under <c>client-transport-security</c> and
/// <c>peer-transport-security</c> (<c>cert-file</c>, <c>key-file</c>, <c>client-cert-auth</c>,
/// <c>trusted-ca-file</c>, <c>auto-tls</c>, plus our <c>crl-file</c>, <c>allowed-cn</c>, <c>allowed-hostname</c>).
/// Unknown keys are ignored as etcd does; durations may be Go duration text or integer nanoseconds.
/// </summary>
internal static class YamlConfigFile
{
    private static readonly Dictionary<string, string> ClientSecurityKeys = new(StringComparer.Ordinal)
    {
        ["cert-file"] = "cert-file",
        ["key-file"] = "key-file",
        ["client-cert-auth"] = "client-cert-auth",
        ["trusted-ca-file"] = "trusted-ca-file",
        ["auto-tls"] = "auto-tls",
        ["crl-file"] = "client-crl-file",
        ["allowed-hostname"] = "client-cert-allowed-hostname",
    };

    private static readonly Dictionary<string, string> PeerSecurityKeys = new(StringComparer.Ordinal)
    {
        ["cert-file"] = "peer-cert-file",
        ["key-file"] = "peer-key-file",
        ["client-cert-auth"] = "peer-client-cert-auth",
        ["trusted-ca-file"] = "peer-trusted-ca-file",
        ["auto-tls"] = "peer-auto-tls",
        ["crl-file"] = "peer-crl-file",
        ["allowed-cn"] = "peer-cert-allowed-cn",
        ["allowed-hostname"] = "peer-cert-allowed-hostname",
    };

    /// <summary>Applies the file at <paramref name="path"/> onto <paramref name="values"/>.</summary>
    /// <exception cref="ConfigErrorException">Unreadable file, YAML syntax error, or a bad value.</exception>
    public static void Apply(string path, SettingValues values)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigErrorException($"open {path}: {e.Message}", e);
        }
        ApplyText(text, values);
    }

    /// <summary>Applies YAML text onto <paramref name="values"/>.</summary>
    public static void ApplyText(string text, SettingValues values)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigErrorException($"error converting YAML to JSON: yaml: line {e.Start.Line}: {e.Message}", e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            return;
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            if (key is "client-transport-security" or "peer-transport-security")
            {
                if (valueNode is not YamlMappingNode security)
                    continue;
                var map = key == "client-transport-security" ? ClientSecurityKeys : PeerSecurityKeys;
                foreach (var (innerKey, innerValue) in security.Children)
                {
                    if (map.TryGetValue(((YamlScalarNode)innerKey).Value ?? "", out var flagName))
                        SetValue(values, FlagCatalog.Find(flagName)!, $"{key}.{((YamlScalarNode)innerKey).Value}", innerValue);
                }
                continue;
            }
            var flag = FlagCatalog.Find(key);
            if (flag is null || flag.Kind == FlagKind.Ignored || key is "config-file" or "config" or "version")
                continue;
            SetValue(values, flag, key, valueNode);
        }
    }

    private static void SetValue(SettingValues values, FlagSpec flag, string key, YamlNode node)
    {
        string? text = node switch
        {
            YamlScalarNode { Value: null or "~" or "null" } => null,
            YamlScalarNode s => s.Value,
            YamlSequenceNode seq => string.Join(',', seq.Children.OfType<YamlScalarNode>().Select(c => c.Value)),
            _ => throw new ConfigErrorException($"error unmarshaling JSON: cannot unmarshal object into Go struct field \"{key}\""),
        };
        if (text is null)
            return;
        if (flag.Kind == FlagKind.Duration && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ns))
            text = ns.ToString(CultureInfo.InvariantCulture) + "ns";
        try
        {
            values.Set(flag, text);
        }
        catch (FormatException e)
        {
            throw new ConfigErrorException($"invalid value \"{text}\" for \"{key}\" in config file: {e.Message}", e);
        }
    }
}

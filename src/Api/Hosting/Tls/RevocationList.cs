using System.Formats.Asn1;
using System.Text;

namespace Akka.Etcd.Api.Hosting.Tls;

/// <summary>
/// Reads the revoked serial numbers of an X.509 CRL (RFC 5280 CertificateList, PEM <c>X509 CRL</c> or DER), which is
/// all etcd's <c>--client-crl-file</c> check uses (it compares serials; the CRL's signature is not verified).
/// </summary>
public static class RevocationList
{
    /// <summary>The serials listed in <paramref name="crl"/>, normalized by <see cref="NormalizeSerial"/>.</summary>
    /// <exception cref="FormatException">Not a CRL.</exception>
    public static IReadOnlySet<string> SerialsOf(byte[] crl)
    {
        var der = crl;
        var text = Encoding.ASCII.GetString(crl);
        if (text.Contains("-----BEGIN X509 CRL-----", StringComparison.Ordinal))
        {
            var start = text.IndexOf("-----BEGIN X509 CRL-----", StringComparison.Ordinal) + "-----BEGIN X509 CRL-----".Length;
            var end = text.IndexOf("-----END X509 CRL-----", start, StringComparison.Ordinal);
            if (end < 0)
            {
                throw new FormatException("unterminated PEM block");
            }
            der = Convert.FromBase64String(text[start..end]);
        }
        try
        {
            var serials = new HashSet<string>(StringComparer.Ordinal);
            var list = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            var tbs = list.ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadInteger(); // version
            }
            tbs.ReadSequence(); // signature algorithm
            tbs.ReadSequence(); // issuer
            ReadTime(tbs); // thisUpdate
            if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
            {
                ReadTime(tbs); // nextUpdate
            }
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var revoked = tbs.ReadSequence();
                while (revoked.HasData)
                {
                    var entry = revoked.ReadSequence();
                    var serial = entry.ReadIntegerBytes().ToArray();
                    serials.Add(NormalizeSerial(Convert.ToHexString(serial)));
                }
            }
            return serials;
        }
        catch (AsnContentException ex)
        {
            throw new FormatException("not a certificate revocation list: " + ex.Message, ex);
        }
    }

    /// <summary>A serial number as upper-case hex without leading zeros (how a CRL entry and a certificate are compared).</summary>
    public static string NormalizeSerial(string hex)
    {
        var trimmed = hex.ToUpperInvariant().TrimStart('0');
        return trimmed.Length == 0 ? "0" : trimmed;
    }

    private static void ReadTime(AsnReader reader)
    {
        if (reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime))
        {
            reader.ReadUtcTime();
        }
        else
        {
            reader.ReadGeneralizedTime();
        }
    }
}

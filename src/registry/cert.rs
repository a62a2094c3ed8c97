//! Certificates as regcred shows and stores them: what one says (names, dates, SHA-256
//! fingerprint), whether a pinned one is current, and PEM in and out.
//!
//! Every string read out of a certificate is escaped here, where it is read, so that no
//! output path (table, plain, JSON, a prompt, an error) can print a name that moves the
//! cursor, starts a line or hides what follows: a certificate is whatever the server sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::escape;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{PemObject, SectionKind};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

// Certificates: the chain a registry presents, what one says, and PEM.

/// What a person needs to decide whether to trust a certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    pub der: CertificateDer<'static>,
    /// Escaped for display (`\n`, `\x1b`, `\u{202e}`).
    pub subject: String,
    /// Escaped for display, as `subject`.
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it (`AB:CD:…`).
    pub sha256: String,
    /// Whether it may issue certificates (basicConstraints CA:TRUE).
    pub is_ca: bool,
}

impl CertificateInfo {
    pub fn parse(der: &CertificateDer<'_>) -> Result<CertificateInfo, CertificateParseError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| CertificateParseError::new(&e))?;
        let validity = cert.validity();
        Ok(CertificateInfo {
            der: der.clone().into_owned(),
            subject: escape(&cert.subject().to_string()).into_owned(),
            issuer: escape(&cert.issuer().to_string()).into_owned(),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            sha256: fingerprint(der.as_ref()),
            is_ca: cert.is_ca(),
        })
    }

    pub fn self_signed(&self) -> bool {
        self.subject == self.issuer
    }

    /// Whether it is valid at `now` (its notBefore/notAfter, inclusive).
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// How far ahead `tls show` and `doctor` warn of a pinned certificate's end.
pub const EXPIRY_WARNING: Duration = Duration::days(30);

/// One stored TLS setting's certificates, as [`pin_findings`] takes them.
pub struct PinnedSetting<'a> {
    pub environment: &'a str,
    pub address: &'a str,
    pub pem: &'a str,
}

/// A pinned (or CA) certificate that has expired, expires within [`EXPIRY_WARNING`], or
/// is not valid yet.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.words())]
pub struct PinFinding {
    pub environment: String,
    pub address: String,
    pub subject: String,
    pub sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub state: PinState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    Expired,
    /// Whole days left.
    ExpiresSoon(i64),
    NotYetValid,
}

impl PinFinding {
    fn words(&self) -> String {
        let date = |t: OffsetDateTime| t.date().to_string();
        let when = match self.state {
            PinState::Expired => format!("expired on {}", date(self.not_after)),
            PinState::ExpiresSoon(0) => format!("expires today ({})", date(self.not_after)),
            PinState::ExpiresSoon(days) => format!("expires in {days} day(s), on {}", date(self.not_after)),
            PinState::NotYetValid => format!("is not valid before {}", date(self.not_before)),
        };
        format!(
            "the certificate trusted for {} in environment {} ({}, SHA-256 {}) {when}; replace it: regcred -e {} tls fetch {}, \
             or regcred -e {} tls set {} --ca-cert FILE",
            self.address,
            self.environment,
            self.subject,
            self.sha256,
            self.environment,
            self.address,
            self.environment,
            self.address
        )
    }
}

/// The certificates of stored TLS settings that are expired, not yet valid, or expire
/// within [`EXPIRY_WARNING`] of `now`. A stored PEM that no longer parses is left to the
/// commands that use it, which say so.
pub fn pin_findings<'a>(settings: impl IntoIterator<Item = PinnedSetting<'a>>, now: OffsetDateTime) -> Vec<PinFinding> {
    let mut findings = Vec::new();
    for setting in settings {
        let Ok(certs) = certificates_from_pem(setting.pem) else { continue };
        for info in certs.iter().filter_map(|c| CertificateInfo::parse(c).ok()) {
            let state = if now > info.not_after {
                PinState::Expired
            } else if now < info.not_before {
                PinState::NotYetValid
            } else if info.not_after - now <= EXPIRY_WARNING {
                PinState::ExpiresSoon((info.not_after - now).whole_days())
            } else {
                continue;
            };
            findings.push(PinFinding {
                environment: setting.environment.to_owned(),
                address: setting.address.to_owned(),
                subject: info.subject,
                sha256: info.sha256,
                not_before: info.not_before,
                not_after: info.not_after,
                state,
            });
        }
    }
    findings
}

fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Why DER bytes are not a certificate regcred can use (x509-parser's words).
#[derive(Debug, thiserror::Error)]
#[error("not an X.509 certificate: {0}")]
pub struct CertificateParseError(String);

impl CertificateParseError {
    fn new(error: &dyn std::fmt::Display) -> Self {
        CertificateParseError(escape(&error.to_string()).into_owned())
    }
}

/// Why a PEM file cannot serve as a registry's CA.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("it is not PEM: {0}")]
    Syntax(String),
    #[error("it holds no certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("it holds a private key ({label}); give the certificate only, keys never belong in regcred's store")]
    PrivateKey { label: String },
    #[error("certificate {index} in it does not parse: {source}")]
    BadCertificate { index: usize, source: CertificateParseError },
    #[error(
        "certificate {index} in it ({subject}) expired on {not_after}; a CA certificate must be current to be trusted"
    )]
    Expired { index: usize, subject: String, not_after: String },
    #[error("certificate {index} in it ({subject}) is not valid before {not_before}")]
    NotYetValid { index: usize, subject: String, not_before: String },
}

/// The certificates in PEM text, checked to parse. Other sections are ignored, except
/// private keys, which are refused.
pub fn certificates_from_pem(text: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    // Every label is looked at, not only the section kinds rustls knows: `ENCRYPTED
    // PRIVATE KEY` and `OPENSSH PRIVATE KEY` are keys as much as `PRIVATE KEY` is.
    if let Some(label) = pem_labels(text).find(|label| label.to_ascii_uppercase().contains("PRIVATE KEY")) {
        return Err(PemError::PrivateKey { label: escape(label).into_owned() });
    }
    let mut certs = Vec::new();
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(text.as_bytes()) {
        let (kind, der) = item.map_err(|e| PemError::Syntax(e.to_string()))?;
        match kind {
            SectionKind::Certificate => {
                let der = CertificateDer::from(der);
                CertificateInfo::parse(&der)
                    .map_err(|source| PemError::BadCertificate { index: certs.len() + 1, source })?;
                certs.push(der);
            }
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                return Err(PemError::PrivateKey { label: format!("{kind:?}") });
            }
            _ => {}
        }
    }
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
}

/// [`certificates_from_pem`] for a certificate about to be trusted (`tls set --ca-cert`,
/// `add --ca-cert`): each must also be valid at `now`. webpki does not check the dates of a
/// trust anchor, so an expired CA would otherwise go on vouching for the leaves it signed.
pub fn current_certificates_from_pem(
    text: &str,
    now: OffsetDateTime,
) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = certificates_from_pem(text)?;
    for (n, der) in certs.iter().enumerate() {
        let info = CertificateInfo::parse(der).map_err(|source| PemError::BadCertificate { index: n + 1, source })?;
        if now > info.not_after {
            return Err(PemError::Expired {
                index: n + 1,
                subject: info.subject,
                not_after: info.not_after.date().to_string(),
            });
        }
        if now < info.not_before {
            return Err(PemError::NotYetValid {
                index: n + 1,
                subject: info.subject,
                not_before: info.not_before.date().to_string(),
            });
        }
    }
    Ok(certs)
}

/// The labels of every `-----BEGIN LABEL-----` in `text`, wherever it stands.
fn pem_labels(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("-----BEGIN ").map(move |(at, marker)| {
        let rest = &text[at + marker.len()..];
        let end = rest.find("-----").unwrap_or(rest.len()).min(rest.find('\n').unwrap_or(rest.len()));
        rest[..end].trim()
    })
}

/// PEM as openssl writes it: 64-character lines, one block per certificate.
pub fn to_pem(certs: &[CertificateDer<'_>]) -> String {
    let mut text = String::new();
    for cert in certs {
        text.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = BASE64.encode(cert.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            text.push_str(&String::from_utf8_lossy(line));
            text.push('\n');
        }
        text.push_str("-----END CERTIFICATE-----\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_certificates_or_with_keys_is_refused() {
        assert!(matches!(certificates_from_pem("hello"), Err(PemError::NoCertificate)));
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(certificates_from_pem(key), Err(PemError::PrivateKey { .. })));
        for label in ["ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY", "Private Key"] {
            let key = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
            assert!(matches!(certificates_from_pem(&key), Err(PemError::PrivateKey { .. })), "{label} is refused");
        }
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(certificates_from_pem(junk), Err(PemError::BadCertificate { index: 1, .. })));
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let der = CertificateDer::from(vec![7u8; 100]);
        let pem = to_pem(&[der]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        // 100 bytes are 136 base64 characters: 64 + 64 + 8.
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3].len(), 8);
        assert_eq!(lines[4], "-----END CERTIFICATE-----");
        assert!(pem.ends_with("-----\n"));
    }

    /// A CA (`openssl req -x509`, 2026-11-26 10:16:12 to 2036-11-23 10:16:12 UTC) and a leaf
    /// it issued for registry.test (to 2027-02-24 10:16:12). The checks below take their
    /// `now` from the certificates' own dates, so they do not depend on today's.
    const CA_AND_LEAF: &str = "\
-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIURLwOjxgHq0R2W/fUlAzjH1hAPp0wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcmVnY3JlZCB0ZXN0IENBMB4XDTI2MTEyNjEwMTYxMloXDTM2
MTEyMzEwMTYxMlowGjEYMBYGA1UEAwwPcmVnY3JlZCB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEevKcv8EVtNIDDMlAsg88lm5y0A5fEm86sis7/yzN
utRO7D0FiBDvkWLoHX6amE7nLFja7zG/38MY6glbeplpIKNTMFEwHQYDVR0OBBYE
FAAqgsCV/7qjYqDy5T4P9y9wJGMOMB8GA1UdIwQYMBaAFAAqgsCV/7qjYqDy5T4P
9y9wJGMOMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAL1wBvpr
0hLfwt7qpE38u1qB8mxMaZxz/vfJ2DT5ZK9yAiB1RiFNu5UTt0OQD9c1tfhfkadq
g0XuylGExDn3h7JJGQ==
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIBhzCCAS6gAwIBAgIBAjAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9yZWdjcmVk
IHRlc3QgQ0EwHhcNMjYxMTI2MTAxNjEyWhcNMjcwMjI0MTAxNjEyWjAYMRYwFAYD
VQQDDA1yZWdpc3RyeS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENwUF
GyJ/iSIpZRyK7G2zYj9nJyYlbFyQgfa4q/jYKzZ5o6XWQL/GrM25gylW1YMI7/hG
k1hOnEzBCb6FHYAxkqNnMGUwGAYDVR0RBBEwD4INcmVnaXN0cnkudGVzdDAJBgNV
HRMEAjAAMB0GA1UdDgQWBBT5BVlxBjrP7SfQoXlLJuRPdbZ21jAfBgNVHSMEGDAW
gBQAKoLAlf+6o2Kg8uU+D/cvcCRjDjAKBggqhkjOPQQDAgNHADBEAiA/vv4JUeF1
iLxK389I0bDMeZrnCgzLVB8JdXTRoIyOFAIgJm3ldvIHXz5yEf1yFyADnyaKzDkr
Um55e7Bn7OSGq7I=
-----END CERTIFICATE-----
";

    fn ca_and_leaf() -> (CertificateInfo, CertificateInfo) {
        let certs = certificates_from_pem(CA_AND_LEAF).expect("the test certificates parse");
        let info = |der| CertificateInfo::parse(der).expect("the test certificates parse");
        (info(&certs[0]), info(&certs[1]))
    }

    const SECOND: Duration = Duration::seconds(1);

    #[test]
    fn a_certificate_is_self_signed_when_it_names_itself_its_issuer() {
        let (ca, leaf) = ca_and_leaf();
        assert!(ca.self_signed(), "{} by {}", ca.subject, ca.issuer);
        assert!(!leaf.self_signed(), "{} by {}", leaf.subject, leaf.issuer);
    }

    #[test]
    fn a_certificate_is_current_from_its_first_second_to_its_last() {
        let (ca, _) = ca_and_leaf();
        for now in [ca.not_before, ca.not_before + Duration::days(1), ca.not_after] {
            assert!(ca.is_current(now), "current at {now}");
        }
        for now in [ca.not_before - SECOND, ca.not_after + SECOND] {
            assert!(!ca.is_current(now), "not current at {now}");
        }
    }

    #[test]
    fn pins_are_found_expired_expiring_within_30_days_or_not_valid_yet() {
        let (_, leaf) = ca_and_leaf();
        let findings = |now: OffsetDateTime| {
            let setting = PinnedSetting { environment: "ci", address: "registry.test:5000", pem: CA_AND_LEAF };
            pin_findings([setting], now)
                .into_iter()
                .map(|f| (f.subject.clone(), f.state, f.to_string()))
                .collect::<Vec<_>>()
        };
        let leaf_only = |now: OffsetDateTime| {
            let found = findings(now);
            assert!(found.iter().all(|(subject, ..)| *subject == leaf.subject), "the CA is current: {found:?}");
            found.into_iter().map(|(_, state, words)| (state, words)).collect::<Vec<_>>()
        };
        // Well inside its dates and more than 30 days from its end: nothing to say.
        assert_eq!(findings(leaf.not_before), vec![]);
        assert_eq!(findings(leaf.not_after - EXPIRY_WARNING - SECOND), vec![]);
        // Both were made the same second.
        let early = findings(leaf.not_before - SECOND);
        assert_eq!(early.len(), 2, "{early:?}");
        for (_, state, words) in &early {
            assert_eq!(*state, PinState::NotYetValid);
            assert!(words.contains("is not valid before 2026-11-26;"), "{words}");
        }
        let [(state, words)] = &leaf_only(leaf.not_after - EXPIRY_WARNING)[..] else { panic!("one finding") };
        assert_eq!(*state, PinState::ExpiresSoon(30));
        assert!(words.contains("expires in 30 day(s), on 2027-02-24;"), "{words}");
        let [(state, _)] = &leaf_only(leaf.not_after - Duration::days(10) - Duration::hours(1))[..] else {
            panic!("one finding")
        };
        assert_eq!(*state, PinState::ExpiresSoon(10));
        // Its last second is still today; the next one is past it.
        let [(state, words)] = &leaf_only(leaf.not_after)[..] else { panic!("one finding") };
        assert_eq!(*state, PinState::ExpiresSoon(0));
        assert!(words.contains("expires today (2027-02-24)"), "{words}");
        let [(state, words)] = &leaf_only(leaf.not_after + SECOND)[..] else { panic!("one finding") };
        assert_eq!(*state, PinState::Expired);
        assert_eq!(
            *words,
            format!(
                "the certificate trusted for registry.test:5000 in environment ci (CN=registry.test, SHA-256 {}) \
                 expired on 2027-02-24; replace it: regcred -e ci tls fetch registry.test:5000, \
                 or regcred -e ci tls set registry.test:5000 --ca-cert FILE",
                leaf.sha256
            )
        );
    }

    #[test]
    fn a_certificate_to_trust_must_be_current_and_the_error_says_which() {
        let (ca, leaf) = ca_and_leaf();
        for now in [leaf.not_before, leaf.not_after] {
            let certs = current_certificates_from_pem(CA_AND_LEAF, now).expect("both current");
            assert_eq!(certs.len(), 2);
        }
        match current_certificates_from_pem(CA_AND_LEAF, leaf.not_after + SECOND) {
            Err(PemError::Expired { index: 2, subject, not_after }) => {
                assert_eq!((&*subject, &*not_after), ("CN=registry.test", "2027-02-24"));
            }
            other => panic!("the leaf has expired: {other:?}"),
        }
        match current_certificates_from_pem(CA_AND_LEAF, ca.not_before - SECOND) {
            Err(PemError::NotYetValid { index: 1, subject, not_before }) => {
                assert_eq!((&*subject, &*not_before), ("CN=regcred test CA", "2026-11-26"));
            }
            other => panic!("the CA is not valid yet: {other:?}"),
        }
    }

    #[test]
    fn fingerprints_look_like_openssl_s() {
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}

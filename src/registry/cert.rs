//! Certificates as regcred shows and stores them: what one says (names, dates, SHA-256
//! fingerprint), and PEM in and out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{PemObject, SectionKind};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

// Certificates: the chain a registry presents, what one says, and PEM.

/// What a person needs to decide whether to trust a certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    pub der: CertificateDer<'static>,
    pub subject: String,
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
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| CertificateParseError(e.to_string()))?;
        let validity = cert.validity();
        Ok(CertificateInfo {
            der: der.clone().into_owned(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            sha256: fingerprint(der.as_ref()),
            is_ca: cert.is_ca(),
        })
    }

    pub fn self_signed(&self) -> bool {
        self.subject == self.issuer
    }
}

fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Why DER bytes are not a certificate regcred can use (x509-parser's words).
#[derive(Debug, thiserror::Error)]
#[error("not an X.509 certificate: {0}")]
pub struct CertificateParseError(String);

/// Why a PEM file cannot serve as a registry's CA.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("it is not PEM: {0}")]
    Syntax(String),
    #[error("it holds no certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("it holds a private key; give the certificate only, keys never belong in regcred's store")]
    PrivateKey,
    #[error("certificate {index} in it does not parse: {source}")]
    BadCertificate { index: usize, source: CertificateParseError },
}

/// The certificates in PEM text, checked to parse. Other sections are ignored, except
/// private keys, which are refused.
pub fn certificates_from_pem(text: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
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
                return Err(PemError::PrivateKey);
            }
            _ => {}
        }
    }
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
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
        assert!(matches!(certificates_from_pem(key), Err(PemError::PrivateKey)));
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

    #[test]
    fn fingerprints_look_like_openssl_s() {
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}

//! TLS for registries: the certificate verifier (system CAs, pinned certificates, docker's
//! insecure mode), the rustls client configuration, the connector that puts rustls under
//! ureq, the handshake that only reads the chain a registry presents (`tls fetch`), and the
//! sorting of transport and TLS failures into `RegistryError`s.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};

use regcred_core::RegistryAddress;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme,
};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport, TransportAdapter,
};

use time::OffsetDateTime;

use super::cert::CertificateInfo;
use super::{CONNECT_TIMEOUT, DOCKER_HUB_ENDPOINT, REQUEST_TIMEOUT, RegistryError, Trust};

/// Why the TLS stack could not be built (a broken root store or crypto provider).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot set up certificate verification: {0}")]
    Verifier(rustls::client::VerifierBuilderError),
    #[error("cannot set up TLS: {0}")]
    Protocols(rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// The system's CA certificates (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else the platform's
/// store), loaded once and only when a registry is contacted.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Checks server certificates the way docker does: against the system's CA certificates
/// plus the registry's own, accepting a pinned certificate as it is, or not at all for an
/// insecure registry. The TLS handshake's signatures are always checked.
#[derive(Debug)]
struct RegistryVerifier {
    provider: Arc<CryptoProvider>,
    insecure: bool,
    pinned: Vec<CertificateDer<'static>>,
    /// Pinned certificates outside their validity when the verifier was made, each with
    /// its raw subject: they are kept out of the trust anchors (webpki does not check an
    /// anchor's dates) and named when a chain they issued is refused.
    stale: Vec<(Vec<u8>, CertificateInfo)>,
    /// None when there is no root certificate at all.
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

impl RegistryVerifier {
    fn new(trust: &Trust) -> Result<RegistryVerifier, SetupError> {
        let provider = provider();
        let pinned = match trust {
            Trust::Pinned(certs) => certs.clone(),
            _ => Vec::new(),
        };
        if matches!(trust, Trust::Insecure) {
            return Ok(RegistryVerifier { provider, insecure: true, pinned, stale: Vec::new(), webpki: None });
        }
        let now = OffsetDateTime::now_utc();
        let mut stale = Vec::new();
        let mut anchors = Vec::new();
        for pin in &pinned {
            match (CertificateInfo::parse(pin), raw_name(pin, Name::Subject)) {
                (Ok(info), Some(subject)) if !info.is_current(now) => stale.push((subject, info)),
                _ => anchors.push(pin.clone()),
            }
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        roots.add_parsable_certificates(anchors);
        let webpki = if roots.is_empty() {
            None
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(SetupError::Verifier)?;
            Some(verifier)
        };
        Ok(RegistryVerifier { provider, insecure: false, pinned, stale, webpki })
    }

    /// The stale pin that issued a certificate of the chain, if one did.
    fn stale_issuer(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Option<&CertificateInfo> {
        let issuers: Vec<Vec<u8>> =
            std::iter::once(end_entity).chain(intermediates).filter_map(|c| raw_name(c, Name::Issuer)).collect();
        self.stale.iter().find(|(subject, _)| issuers.contains(subject)).map(|(_, info)| info)
    }

    /// A pinned certificate presented as it is: the handshake proves the server holds its
    /// key; it must still be valid now and name the server, as Go requires too.
    fn check_pinned(
        end_entity: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, name)?;
        let info = CertificateInfo::parse(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now > info.not_after.unix_timestamp() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if now < info.not_before.unix_timestamp() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        Ok(())
    }
}

impl ServerCertVerifier for RegistryVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if self.pinned.iter().any(|pin| pin.as_ref() == end_entity.as_ref()) {
            Self::check_pinned(end_entity, server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        let verified = match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            None => Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        };
        verified.map_err(|error| match self.stale_issuer(end_entity, intermediates) {
            Some(anchor) => {
                rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(StalePin {
                    subject: anchor.subject.clone(),
                    not_before: anchor.not_before,
                    not_after: anchor.not_after,
                }))))
            }
            None => error,
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Clone, Copy)]
enum Name {
    Subject,
    Issuer,
}

/// The DER of a certificate's subject or issuer name, to match issuers to CAs.
fn raw_name(der: &CertificateDer<'_>, which: Name) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let name = match which {
        Name::Subject => cert.subject(),
        Name::Issuer => cert.issuer(),
    };
    Some(name.as_raw().to_vec())
}

/// A pinned CA that is outside its validity issued the registry's certificate: refused,
/// as docker refuses it, with the pin named so the user knows what to replace.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.words())]
pub(super) struct StalePin {
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl StalePin {
    fn words(&self) -> String {
        if OffsetDateTime::now_utc() < self.not_before {
            format!(
                "the CA certificate pinned for it ({}) is not valid before {}",
                self.subject,
                self.not_before.date()
            )
        } else {
            format!("the CA certificate pinned for it ({}) expired on {}", self.subject, self.not_after.date())
        }
    }
}

pub(super) fn client_config(trust: &Trust) -> Result<ClientConfig, SetupError> {
    let verifier = RegistryVerifier::new(trust)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Protocols)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Puts rustls with our [`ClientConfig`] on top of ureq's TCP transport for `https` URLs.
/// (ureq's own rustls connector takes no custom verifier.)
#[derive(Debug)]
pub(super) struct RustlsConnector {
    pub(super) config: Arc<ClientConfig>,
}

impl<In: Transport> Connector<In> for RustlsConnector {
    type Out = Either<In, RustlsTransport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else { return Ok(None) };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name = ServerName::try_from(host.to_owned()).map_err(|_| ureq::Error::Tls("invalid server name"))?;
        let mut connection = ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)?;
        let boxed: Box<dyn Transport> = Box::new(transport);
        let mut socket = TransportAdapter::new(boxed, details.current_time.clone());
        socket.set_timeout(details.timeout);
        // The handshake happens here, so that a certificate problem surfaces as a
        // connection error with the rustls error inside.
        connection.complete_io(&mut socket)?;
        let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        Ok(Some(Either::B(RustlsTransport { buffers, stream: rustls::StreamOwned::new(connection, socket) })))
    }
}

pub(super) struct RustlsTransport {
    buffers: LazyBuffers,
    stream: rustls::StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for RustlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsTransport").finish_non_exhaustive()
    }
}

impl Transport for RustlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// The certificates a registry presents in the TLS handshake, and whether the system's
/// CA certificates already trust them.
pub struct Presented {
    pub chain: Vec<CertificateInfo>,
    pub trusted_by_system: bool,
}

/// Connects to `address` (port 443 when it has none), completes a TLS handshake that
/// accepts any certificate, and returns the chain the server presented. Nothing is sent
/// over the connection.
pub fn presented_chain(address: &RegistryAddress) -> Result<Presented, RegistryError> {
    let name = address.as_str().to_owned();
    let host = if address.is_docker_hub() { DOCKER_HUB_ENDPOINT } else { address.host() };
    let bare_host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = address.port().unwrap_or(443);
    let socket_addresses: Vec<_> =
        (bare_host, port).to_socket_addrs().map_err(|e| io_error(name.clone(), &e))?.collect();
    if socket_addresses.is_empty() {
        return Err(RegistryError::Dns { address: name });
    }
    let mut last_error = None;
    let mut stream = None;
    for socket_address in &socket_addresses {
        match TcpStream::connect_timeout(socket_address, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        let error = last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused));
        return Err(io_error(name, &error));
    };
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
        .map_err(|e| io_error(name.clone(), &e))?;

    let server_name = ServerName::try_from(bare_host.to_owned())
        .map_err(|_| RegistryError::Tls { address: name.clone(), detail: "invalid server name".into() })?;
    let accept_any = client_config(&Trust::Insecure)
        .map_err(|e| RegistryError::Tls { address: name.clone(), detail: e.to_string() })?;
    let mut connection =
        ClientConnection::new(Arc::new(accept_any), server_name.clone()).map_err(|e| tls_error(name.clone(), &e))?;
    while connection.is_handshaking() {
        connection.complete_io(&mut stream).map_err(|e| io_error(name.clone(), &e))?;
    }
    let ders: Vec<CertificateDer<'static>> =
        connection.peer_certificates().unwrap_or_default().iter().map(|c| c.clone().into_owned()).collect();
    connection.send_close_notify();
    let _ = connection.complete_io(&mut stream);

    let Some((end_entity, intermediates)) = ders.split_first() else {
        return Err(RegistryError::Tls { address: name, detail: "the server presented no certificate".into() });
    };
    let trusted_by_system = RegistryVerifier::new(&Trust::System)
        .ok()
        .and_then(|v| v.verify_server_cert(end_entity, intermediates, &server_name, &[], UnixTime::now()).ok())
        .is_some();
    let chain = ders
        .iter()
        .map(|der| {
            CertificateInfo::parse(der).map_err(|e| RegistryError::Tls { address: name.clone(), detail: e.to_string() })
        })
        .collect::<Result<_, _>>()?;
    Ok(Presented { chain, trusted_by_system })
}

/// Sorts an I/O error: a TLS failure inside it, a refused connection, a time-out, or DNS.
pub(super) fn io_error(address: String, io: &io::Error) -> RegistryError {
    if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return tls_error(address, tls);
    }
    match io.kind() {
        io::ErrorKind::ConnectionRefused => RegistryError::Refused { address },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            RegistryError::Timeout { address, what: "no answer".into() }
        }
        // std's resolver reports a failed lookup as an uncategorized error.
        _ if io.to_string().contains("failed to lookup address") => RegistryError::Dns { address },
        _ => RegistryError::Connect { address, detail: io.to_string() },
    }
}

pub(super) fn tls_error(address: String, error: &rustls::Error) -> RegistryError {
    match error {
        rustls::Error::InvalidCertificate(reason) => match reason {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. }
            | CertificateError::NotValidForName
            | CertificateError::NotValidForNameContext { .. } => {
                RegistryError::InvalidCertificate { address, detail: certificate_words(reason) }
            }
            _ => RegistryError::Untrusted { address, detail: certificate_words(reason) },
        },
        rustls::Error::InvalidMessage(_) => {
            RegistryError::NotTls { address, detail: format!("the answer to a TLS handshake was not TLS: {error}") }
        }
        other => RegistryError::Tls { address, detail: other.to_string() },
    }
}

fn certificate_words(reason: &CertificateError) -> String {
    match reason {
        CertificateError::UnknownIssuer => {
            "it is self-signed or issued by a CA that is neither among the system's CA certificates nor pinned \
             for this registry"
                .into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "it is not valid yet".into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is issued for another host name or address".into()
        }
        // webpki's word for a self-signed CA certificate used as the server's own, the
        // kind `openssl req -x509` makes.
        CertificateError::Other(other) => match other.0.downcast_ref::<StalePin>() {
            Some(stale) => stale.to_string(),
            None if other.to_string().contains("CaUsedAsEndEntity") => {
                "it is a self-signed certificate that is not pinned for this registry".into()
            }
            None => regcred_core::escape(&other.to_string()).into_owned(),
        },
        other => regcred_core::escape(&other.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A self-signed P-256 certificate for 127.0.0.1 and localhost (`openssl req -x509`),
    /// valid from 2026-11-26 06:58:49 to 2036-11-23 06:58:49 UTC. Every check below passes
    /// its own `now`, so the test does not depend on today's date.
    const PINNED: &str = "-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUIjihsTRu/V7dFmaEk93gyDAhg1YwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMB4XDTI2MTEyNjA2NTg0OVoXDTM2MTEyMzA2
NTg0OVowFDESMBAGA1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEccPR1RrkQGc+N+KWZ+5jO2rgAxOpmbuno6e97xkuInngxMBQb1PNuBBH
nP95JJwSR4b7YxKIFXDl+j8C+pJjoaNvMG0wHQYDVR0OBBYEFI0WWD5/MY8+EfOc
Zuim6/J47EK3MB8GA1UdIwQYMBaAFI0WWD5/MY8+EfOcZuim6/J47EK3MA8GA1Ud
EwEB/wQFMAMBAf8wGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MAoGCCqGSM49
BAMCA0gAMEUCIBBgEWZOTb/jDV32sqgxWlCT3MDAC9NwYdFeUBYTHpI0AiEAgqTt
OLHPoMZE/3Mo7tsHe2aEKVNxnIzkMxFz6R/4XQ4=
-----END CERTIFICATE-----
";

    fn pinned() -> (CertificateDer<'static>, CertificateInfo) {
        let der = crate::registry::cert::certificates_from_pem(PINNED).expect("the test certificate parses").remove(0);
        let info = CertificateInfo::parse(&der).expect("the test certificate parses");
        (der, info)
    }

    fn at(t: OffsetDateTime) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap()))
    }

    fn host(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_owned()).unwrap()
    }

    fn certificate_error(result: Result<(), rustls::Error>) -> Option<CertificateError> {
        match result {
            Ok(()) => None,
            Err(rustls::Error::InvalidCertificate(reason)) => Some(reason),
            Err(other) => panic!("not a certificate error: {other}"),
        }
    }

    #[test]
    fn a_pinned_certificate_is_accepted_only_while_valid_and_for_its_own_names() {
        let (der, info) = pinned();
        let second = time::Duration::seconds(1);
        let check = |name: &str, now: OffsetDateTime| {
            certificate_error(RegistryVerifier::check_pinned(&der, &host(name), at(now)))
        };
        // Valid from its first second to its last, both inclusive, as Go counts them.
        for now in [info.not_before, info.not_before + time::Duration::days(1), info.not_after] {
            assert_eq!(check("127.0.0.1", now), None, "valid at {now}");
            assert_eq!(check("localhost", now), None, "valid at {now}");
        }
        assert_eq!(check("127.0.0.1", info.not_after + second), Some(CertificateError::Expired));
        assert_eq!(check("127.0.0.1", info.not_before - second), Some(CertificateError::NotValidYet));
        // Valid in time, but issued for other names.
        for other in ["127.0.0.2", "registry.example", "::1"] {
            let reason = check(other, info.not_before).expect("another host is refused");
            assert!(
                matches!(reason, CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }),
                "{other}: {reason:?}"
            );
        }
    }

    #[test]
    fn the_verifier_holds_a_presented_pin_to_its_dates_and_names() {
        let (der, info) = pinned();
        let verifier = RegistryVerifier::new(&Trust::Pinned(vec![der.clone()])).expect("a verifier");
        let verify = |name: &str, now: OffsetDateTime| {
            certificate_error(verifier.verify_server_cert(&der, &[], &host(name), &[], at(now)).map(|_| ()))
        };
        assert_eq!(verify("127.0.0.1", info.not_before + time::Duration::days(1)), None);
        assert_eq!(verify("127.0.0.1", info.not_after + time::Duration::seconds(1)), Some(CertificateError::Expired));
        assert!(verify("registry.example", info.not_before + time::Duration::days(1)).is_some());
        // The same certificate, not pinned: nothing vouches for it.
        let unpinned = RegistryVerifier::new(&Trust::Pinned(Vec::new())).expect("a verifier");
        let now = at(info.not_before + time::Duration::days(1));
        assert!(unpinned.verify_server_cert(&der, &[], &host("127.0.0.1"), &[], now).is_err());
    }
}

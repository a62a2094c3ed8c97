//! Talking to registries over the network: TLS (the system's CA certificates, a pinned
//! certificate, or docker's insecure mode), the registry v2 handshake with Basic and Bearer
//! authentication, and the certificate chain a registry presents.
//!
//! Only `verify`, `tls` and `add`/`edit --verify` come here. `resolve`, `list` and the
//! credential helper never do, so they never load certificates or build a TLS stack.
//!
//! HTTP is ureq's; TLS is rustls with our own certificate verifier, plugged into ureq as a
//! connector. The verifier is ours because docker (Go) trusts a certificate that is itself
//! in the trusted pool, while webpki refuses a CA certificate presented as the server's own
//! (`CaUsedAsEndEntity`), and that is exactly what `openssl req -x509` makes: the usual
//! self-signed registry certificate.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::RegistryAddress;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};
use zeroize::Zeroizing;

use crate::secrets::Secret;

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request (connection, TLS, answer) may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// docker's and kubectl's username for identity (refresh) tokens.
const IDENTITY_TOKEN_USER: &str = "<token>";
/// Where Docker Hub's registry API is; `docker.io` itself only redirects.
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

/// How far a registry's TLS certificate is trusted.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The system's CA certificates.
    #[default]
    System,
    /// The system's CA certificates and these: a private CA, or a pinned certificate, which
    /// is trusted as it is when the registry presents exactly it.
    Pinned(Vec<CertificateDer<'static>>),
    /// docker's insecure registry: HTTPS without verification, then plain HTTP.
    Insecure,
}

/// The trust of every registry that has a TLS setting, by canonical address; the others
/// get [`Trust::System`]. A token service on another host is looked up here too.
#[derive(Debug, Default)]
pub struct Trusts(HashMap<String, Trust>);

impl Trusts {
    pub fn insert(&mut self, address: String, trust: Trust) {
        self.0.insert(address, trust);
    }

    pub fn get(&self, address: &str) -> Trust {
        self.0.get(address).cloned().unwrap_or_default()
    }
}

/// The credential to check.
pub struct Login<'a> {
    pub username: &'a str,
    pub secret: &'a Secret,
}

/// What to check: the registry, the credential, and optionally the pull of one image.
pub struct Check<'a> {
    pub address: &'a RegistryAddress,
    /// Repository and tag or digest: ask for a token scoped to pulling it and look up its
    /// manifest.
    pub image: Option<(&'a str, &'a str)>,
    pub login: Login<'a>,
}

/// How the registry was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// HTTPS with a verified certificate.
    Https,
    /// HTTPS, certificate not checked (insecure registry).
    HttpsUnverified,
    /// Plain HTTP (insecure registry).
    Http,
}

/// How the registry asked to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// It did not ask: `/v2/` answered without credentials.
    None,
    Basic,
    /// The token flow, with the token service's address.
    Bearer {
        realm: String,
    },
}

/// The registry's answer about the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credential was accepted.
    Valid,
    /// The registry needs no credential, so this one was not checked.
    NotRequired,
    /// The registry or its token service refused it; why, in words.
    Rejected(String),
}

/// What the registry said about the image's manifest once authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// The manifest is there and may be read.
    Allowed,
    /// Access was granted but there is no such manifest (HTTP 404).
    NotFound,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone)]
pub struct Report {
    /// The `/v2/` URL that answered.
    pub url: String,
    pub channel: Channel,
    pub auth: Auth,
    pub verdict: Verdict,
    /// With an image and a valid credential: whether its manifest could be read.
    pub pull: Option<Pull>,
}

/// Why a registry could not be asked. Rejections are not errors: they are a [`Verdict`].
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot resolve the host name of {address}")]
    Dns { address: String },
    #[error("{address} refused the connection (nothing listens on that port?)")]
    Refused { address: String },
    #[error("{address} did not answer in time ({what})")]
    Timeout { address: String, what: String },
    #[error("cannot connect to {address}: {detail}")]
    Connect { address: String, detail: String },
    #[error("the TLS certificate of {address} is not trusted: {detail}")]
    Untrusted { address: String, detail: String },
    #[error("the TLS certificate of {address} is not valid: {detail}")]
    InvalidCertificate { address: String, detail: String },
    #[error("{address} does not speak TLS ({detail})")]
    NotTls { address: String, detail: String },
    #[error("TLS with {address} failed: {detail}")]
    Tls { address: String, detail: String },
    #[error("{address} did not answer like a registry: {detail}")]
    Protocol { address: String, detail: String },
}

impl RegistryError {
    /// A stable word for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            RegistryError::Dns { .. } => "dns",
            RegistryError::Refused { .. } => "connection_refused",
            RegistryError::Timeout { .. } => "timeout",
            RegistryError::Connect { .. } => "connect",
            RegistryError::Untrusted { .. } => "untrusted_certificate",
            RegistryError::InvalidCertificate { .. } => "invalid_certificate",
            RegistryError::NotTls { .. } => "not_tls",
            RegistryError::Tls { .. } => "tls",
            RegistryError::Protocol { .. } => "protocol",
        }
    }

    /// Whether TLS (rather than the network or HTTP) is what failed.
    pub fn is_tls(&self) -> bool {
        matches!(
            self,
            RegistryError::Untrusted { .. }
                | RegistryError::InvalidCertificate { .. }
                | RegistryError::NotTls { .. }
                | RegistryError::Tls { .. }
        )
    }

    /// Whether an insecure registry should be tried again over plain HTTP. docker tries
    /// its next endpoint on any error; only a name that does not resolve is hopeless.
    fn allows_http_fallback(&self) -> bool {
        !matches!(self, RegistryError::Dns { .. })
    }
}

/// Performs the registry v2 handshake with `check.login`: `GET /v2/`, then on 401 Basic
/// authentication or the Bearer token flow, and for an image a look at its manifest.
pub fn verify(check: &Check<'_>, trusts: &Trusts) -> Result<Report, RegistryError> {
    let address = check.address.as_str();
    let trust = trusts.get(address);
    let client = Client::new(address, &trust)?;
    let host = if check.address.is_docker_hub() { DOCKER_HUB_ENDPOINT } else { address };

    let (base, channel, first) = client.ping(host)?;
    let url = format!("{base}/v2/");
    let mut report = Report { url: url.clone(), channel, auth: Auth::None, verdict: Verdict::Valid, pull: None };
    let authorization: Option<Zeroizing<String>> = match first.status {
        200 => {
            report.verdict = Verdict::NotRequired;
            None
        }
        401 => {
            let challenge = first.challenge.ok_or_else(|| {
                client.protocol(format!("GET {url} answered HTTP 401 without a WWW-Authenticate challenge"))
            })?;
            match challenge.scheme.as_str() {
                "basic" => {
                    report.auth = Auth::Basic;
                    let header = basic_header(&check.login);
                    let answer = client.get(&url, Some(&header), &[])?;
                    match answer.status {
                        200 => Some(header),
                        401 | 403 => {
                            report.verdict = Verdict::Rejected(format!(
                                "GET {url} with Basic authentication answered HTTP {}",
                                answer.status
                            ));
                            return Ok(report);
                        }
                        other => return Err(client.protocol(format!("GET {url} answered HTTP {other}"))),
                    }
                }
                "bearer" => {
                    let realm = challenge
                        .params
                        .get("realm")
                        .ok_or_else(|| client.protocol("its Bearer challenge names no realm (token service)".into()))?
                        .clone();
                    report.auth = Auth::Bearer { realm: realm.clone() };
                    let scope = check.image.map(|(repository, _)| format!("repository:{repository}:pull"));
                    let service = challenge.params.get("service").map(String::as_str);
                    let token = match token(&client, &trust, trusts, &realm, service, scope.as_deref(), &check.login)? {
                        Ok(token) => token,
                        Err(why) => {
                            report.verdict = Verdict::Rejected(why);
                            return Ok(report);
                        }
                    };
                    let header = Zeroizing::new(format!("Bearer {}", token.as_str()));
                    let answer = client.get(&url, Some(&header), &[])?;
                    match answer.status {
                        200 => Some(header),
                        401 | 403 => {
                            report.verdict = Verdict::Rejected(format!(
                                "the token service issued a token, but GET {url} with it answered HTTP {}",
                                answer.status
                            ));
                            return Ok(report);
                        }
                        other => return Err(client.protocol(format!("GET {url} answered HTTP {other}"))),
                    }
                }
                other => {
                    return Err(client.protocol(format!("it asks for {other:?} authentication, not Basic or Bearer")));
                }
            }
        }
        404 => return Err(client.protocol(format!("GET {url} answered HTTP 404: no registry API there"))),
        other => {
            return Err(client.protocol(format!("GET {url} answered HTTP {other}; a registry answers 200 or 401")));
        }
    };

    if let Some((repository, reference)) = check.image {
        let manifest = format!("{base}/v2/{repository}/manifests/{reference}");
        let answer = client.head(&manifest, authorization.as_ref())?;
        match answer.status {
            200 => report.pull = Some(Pull::Allowed),
            404 => report.pull = Some(Pull::NotFound),
            401 | 403 => {
                report.verdict = Verdict::Rejected(format!(
                    "the credential is accepted, but may not pull {repository}: HEAD {manifest} answered HTTP {} \
                     (the repository does not exist, or this account has no access to it)",
                    answer.status
                ));
            }
            other => return Err(client.protocol(format!("HEAD {manifest} answered HTTP {other}"))),
        }
    }
    Ok(report)
}

/// The token flow: a token from `realm` for `service` and `scope`, authenticated with the
/// credential. `Ok(Err(why))` when the token service refuses the credential.
fn token(
    registry_client: &Client,
    registry_trust: &Trust,
    trusts: &Trusts,
    realm: &str,
    service: Option<&str>,
    scope: Option<&str>,
    login: &Login<'_>,
) -> Result<Result<Zeroizing<String>, String>, RegistryError> {
    let uri: ureq::http::Uri =
        realm.parse().map_err(|_| registry_client.protocol(format!("its token service {realm:?} is not a URL")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(registry_client.protocol(format!("its token service {realm:?} is not an absolute URL")));
    };
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err(registry_client.protocol(format!("its token service {realm:?} is not HTTP(S)"))),
    };
    let realm_address = match authority.port_u16() {
        Some(port) if port != default_port => format!("{}:{port}", authority.host().to_ascii_lowercase()),
        _ => authority.host().to_ascii_lowercase(),
    };
    let same_server = realm_address == registry_client.address;
    let trust = if same_server { registry_trust.clone() } else { trusts.get(&realm_address) };
    if scheme == "http" && !matches!(trust, Trust::Insecure) {
        return Err(registry_client.protocol(format!(
            "its token service {realm} is plain HTTP; regcred sends a password over plain HTTP only to a registry \
             marked insecure (regcred tls set {realm_address} --insecure)"
        )));
    }
    let other_client;
    let client = if same_server {
        registry_client
    } else {
        other_client = Client::new(&realm_address, &trust)?;
        &other_client
    };

    let answer = if login.username == IDENTITY_TOKEN_USER {
        // An identity token is exchanged for an access token as docker does (OAuth2 refresh).
        let mut form =
            vec![("grant_type", "refresh_token"), ("client_id", "regcred"), ("refresh_token", login.secret.expose())];
        if let Some(service) = service {
            form.push(("service", service));
        }
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        client.post_form(realm, &form)?
    } else {
        let header = basic_header(login);
        let mut query = vec![("account", login.username)];
        if let Some(service) = service {
            query.push(("service", service));
        }
        if let Some(scope) = scope {
            query.push(("scope", scope));
        }
        client.get(realm, Some(&header), &query)?
    };
    match answer.status {
        200 => {}
        401 | 403 => {
            let detail = answer.body.as_deref().and_then(error_message).map(|m| format!(": {m}")).unwrap_or_default();
            return Ok(Err(format!("the token service {realm} answered HTTP {}{detail}", answer.status)));
        }
        other => return Err(client.protocol(format!("its token service {realm} answered HTTP {other}"))),
    }
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token: Option<String>,
        access_token: Option<String>,
    }
    let body = answer.body.unwrap_or_default();
    let parsed: TokenAnswer = serde_json::from_str(&body)
        .map_err(|e| client.protocol(format!("its token service {realm} answered with no token ({e})")))?;
    match parsed.token.filter(|t| !t.is_empty()).or(parsed.access_token) {
        Some(token) => Ok(Ok(Zeroizing::new(token))),
        None => Err(client.protocol(format!("its token service {realm} answered with no token"))),
    }
}

/// The message of a registry's or token service's JSON error answer, if it has one.
fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value["errors"][0]["message"].as_str().or_else(|| value["details"].as_str())?;
    Some(message.chars().filter(|c| !c.is_control()).take(200).collect())
}

fn basic_header(login: &Login<'_>) -> Zeroizing<String> {
    let pair = Zeroizing::new(format!("{}:{}", login.username, login.secret.expose()));
    Zeroizing::new(format!("Basic {}", BASE64.encode(pair.as_bytes())))
}

/// One HTTP answer: what the handshake needs of it.
struct Answer {
    status: u16,
    challenge: Option<Challenge>,
    /// Read for token-service answers only.
    body: Option<String>,
}

/// An HTTP client for one server (`host[:port]`) and one trust.
struct Client {
    address: String,
    agent: ureq::Agent,
    insecure: bool,
}

impl Client {
    fn new(address: &str, trust: &Trust) -> Result<Client, RegistryError> {
        let tls = client_config(trust).map_err(|detail| RegistryError::Tls { address: address.to_owned(), detail })?;
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(RustlsConnector { config: Arc::new(tls) });
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("regcred/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        Ok(Client { address: address.to_owned(), agent, insecure: matches!(trust, Trust::Insecure) })
    }

    /// `GET /v2/` without credentials: over HTTPS, and for an insecure registry then over
    /// plain HTTP when HTTPS fails, as docker does. The base URL, how it was reached, and
    /// the answer.
    fn ping(&self, host: &str) -> Result<(String, Channel, Answer), RegistryError> {
        let https = format!("https://{host}");
        match self.get(&format!("{https}/v2/"), None, &[]) {
            Ok(answer) => Ok((https, if self.insecure { Channel::HttpsUnverified } else { Channel::Https }, answer)),
            Err(error) if self.insecure && error.allows_http_fallback() => {
                let http = format!("http://{host}");
                let answer = self.get(&format!("{http}/v2/"), None, &[])?;
                Ok((http, Channel::Http, answer))
            }
            Err(error) => Err(error),
        }
    }

    fn get(
        &self,
        url: &str,
        authorization: Option<&Zeroizing<String>>,
        query: &[(&str, &str)],
    ) -> Result<Answer, RegistryError> {
        let mut request = self.agent.get(url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value.as_str());
        }
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        self.answer(request.call())
    }

    fn head(&self, url: &str, authorization: Option<&Zeroizing<String>>) -> Result<Answer, RegistryError> {
        let mut request = self.agent.head(url).header(
            "Accept",
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
             application/vnd.docker.distribution.manifest.list.v2+json, \
             application/vnd.docker.distribution.manifest.v2+json",
        );
        if let Some(value) = authorization {
            request = request.header("Authorization", value.as_str());
        }
        self.answer(request.call())
    }

    fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, RegistryError> {
        self.answer(self.agent.post(url).send_form(form.iter().copied()))
    }

    fn answer(&self, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, RegistryError> {
        let mut response = result.map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(Challenge::parse)
            .find(|c| c.scheme == "bearer" || c.scheme == "basic");
        let is_json =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
        let body = if is_json || status == 200 {
            response.body_mut().with_config().limit(1 << 20).read_to_string().ok()
        } else {
            None
        };
        Ok(Answer { status, challenge, body })
    }

    fn protocol(&self, detail: String) -> RegistryError {
        RegistryError::Protocol { address: self.address.clone(), detail }
    }

    fn error(&self, error: ureq::Error) -> RegistryError {
        let address = self.address.clone();
        match error {
            ureq::Error::HostNotFound => RegistryError::Dns { address },
            ureq::Error::Timeout(what) => RegistryError::Timeout { address, what: what.to_string() },
            ureq::Error::Io(io) => io_error(address, &io),
            ureq::Error::Protocol(e) => RegistryError::Protocol { address, detail: e.to_string() },
            ureq::Error::ConnectionFailed => RegistryError::Connect { address, detail: "connection failed".into() },
            other => RegistryError::Connect { address, detail: other.to_string() },
        }
    }
}

/// Sorts an I/O error: a TLS failure inside it, a refused connection, a time-out, or DNS.
fn io_error(address: String, io: &io::Error) -> RegistryError {
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

fn tls_error(address: String, error: &rustls::Error) -> RegistryError {
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
        CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            "it is a self-signed certificate that is not pinned for this registry".into()
        }
        other => other.to_string(),
    }
}

/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    /// Lower case: `basic`, `bearer`.
    scheme: String,
    /// Parameter names in lower case.
    params: HashMap<String, String>,
}

impl Challenge {
    fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, mut rest) = match header.split_once(char::is_whitespace) {
            Some((scheme, rest)) => (scheme, rest.trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let mut params = HashMap::new();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            let after = after.trim_start();
            let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end?..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            params.insert(name, value);
            rest = remainder.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge { scheme: scheme.to_ascii_lowercase(), params })
    }
}

// ---------------------------------------------------------------------------------------
// TLS: the verifier, the client configuration, and the connector that puts it under ureq.

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
    /// None when there is no root certificate at all.
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

impl RegistryVerifier {
    fn new(trust: &Trust) -> Result<RegistryVerifier, String> {
        let provider = provider();
        let pinned = match trust {
            Trust::Pinned(certs) => certs.clone(),
            _ => Vec::new(),
        };
        if matches!(trust, Trust::Insecure) {
            return Ok(RegistryVerifier { provider, insecure: true, pinned, webpki: None });
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        roots.add_parsable_certificates(pinned.iter().cloned());
        let webpki = if roots.is_empty() {
            None
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
            Some(verifier)
        };
        Ok(RegistryVerifier { provider, insecure: false, pinned, webpki })
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
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            None => Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
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

fn client_config(trust: &Trust) -> Result<ClientConfig, String> {
    let verifier = RegistryVerifier::new(trust)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Puts rustls with our [`ClientConfig`] on top of ureq's TCP transport for `https` URLs.
/// (ureq's own rustls connector takes no custom verifier.)
#[derive(Debug)]
struct RustlsConnector {
    config: Arc<ClientConfig>,
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

struct RustlsTransport {
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

// ---------------------------------------------------------------------------------------
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
    pub fn parse(der: &CertificateDer<'_>) -> Result<CertificateInfo, String> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| format!("not an X.509 certificate: {e}"))?;
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
    let accept_any =
        client_config(&Trust::Insecure).map_err(|detail| RegistryError::Tls { address: name.clone(), detail })?;
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
        .map(|der| CertificateInfo::parse(der).map_err(|detail| RegistryError::Tls { address: name.clone(), detail }))
        .collect::<Result<_, _>>()?;
    Ok(Presented { chain, trusted_by_system })
}

/// Why a PEM file cannot serve as a registry's CA.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("it is not PEM: {0}")]
    Syntax(String),
    #[error("it holds no certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("it holds a private key; give the certificate only, keys never belong in regcred's store")]
    PrivateKey,
    #[error("certificate {index} in it does not parse: {detail}")]
    BadCertificate { index: usize, detail: String },
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
                    .map_err(|detail| PemError::BadCertificate { index: certs.len() + 1, detail })?;
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
    fn bearer_challenges_parse_with_quotes_and_escapes() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");

        let c = Challenge::parse(r#"Basic realm="say \"hi\"", charset=UTF-8"#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], r#"say "hi""#);
        assert_eq!(c.params["charset"], "UTF-8");

        assert_eq!(Challenge::parse("Basic").unwrap().params.len(), 0);
        assert!(Challenge::parse("").is_none());
        assert!(Challenge::parse(r#"Bearer realm="unterminated"#).is_none());
    }

    #[test]
    fn token_service_errors_are_quoted_briefly() {
        assert_eq!(
            error_message(r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#)
                .as_deref(),
            Some("incorrect username or password")
        );
        assert_eq!(error_message(r#"{"details":"nope"}"#).as_deref(), Some("nope"));
        assert_eq!(error_message("not json"), None);
    }

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

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
//!
//! This module is the handshake (`verify`) and the vocabulary the commands use; `http` is
//! the client, `verifier` the TLS side, `cert` certificates and PEM. It returns data and
//! typed errors and prints nothing: the commands decide what to say.

mod cert;
mod http;
mod verifier;

use std::collections::HashMap;
use std::time::Duration;

use regcred_core::RegistryAddress;
use rustls::pki_types::CertificateDer;
use zeroize::Zeroizing;

use crate::secrets::Secret;

pub use cert::{
    CertificateInfo, PemError, PinFinding, PinnedSetting, certificates_from_pem, current_certificates_from_pem,
    pin_findings, to_pem,
};
use http::{Client, basic_header, error_message};
pub use verifier::presented_chain;

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request (connection, TLS, answer) may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// docker's and kubectl's username for identity (refresh) tokens.
const IDENTITY_TOKEN_USER: &str = "<token>";
/// Where Docker Hub's registry API is; `docker.io` itself only redirects.
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";
/// Docker Hub's token service: another host than its registry by design, and not worth a
/// warning on every check of a Docker Hub credential.
const DOCKER_HUB_TOKEN_SERVICE: &str = "auth.docker.io";

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
pub struct Trusts {
    trusts: HashMap<String, Trust>,
    /// Addresses with a TLS setting only in other environments, and those environments:
    /// not used for trust, only to say where a missing setting is.
    elsewhere: HashMap<String, Vec<String>>,
}

impl Trusts {
    pub fn insert(&mut self, address: String, trust: Trust) {
        self.trusts.insert(address, trust);
    }

    pub fn get(&self, address: &str) -> Trust {
        self.trusts.get(address).cloned().unwrap_or_default()
    }

    /// Records that `environment` (another one) has a TLS setting for `address`.
    pub fn note_elsewhere(&mut self, address: &str, environment: &str) {
        let environments = self.elsewhere.entry(address.to_owned()).or_default();
        if !environments.iter().any(|e| e == environment) {
            environments.push(environment.to_owned());
        }
    }

    /// The other environments with a TLS setting for `address`, when this one has none.
    pub fn elsewhere(&self, address: &str) -> &[String] {
        if self.trusts.contains_key(address) {
            return &[];
        }
        self.elsewhere.get(address).map_or(&[], Vec::as_slice)
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
    /// The `/v2/` URL that answered (after redirects, which stay on the registry's origin).
    pub url: String,
    /// The token service's `host[:port]` when it is not the registry's own: it received
    /// the password (docker sends it there too), so the commands say so.
    pub foreign_token_service: Option<String>,
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
    let mut report = Report {
        url: first.url.clone(),
        foreign_token_service: None,
        channel,
        auth: Auth::None,
        verdict: Verdict::Valid,
        pull: None,
    };
    let authorization: Option<Zeroizing<String>> = match first.status {
        200 => {
            report.verdict = Verdict::NotRequired;
            None
        }
        401 => {
            let challenge = first.challenge.ok_or_else(|| {
                client.protocol(format!("GET {url} answered HTTP 401 without a WWW-Authenticate challenge"))
            })?;
            let (header, asked) = match challenge.scheme.as_str() {
                "basic" => {
                    report.auth = Auth::Basic;
                    (basic_header(&check.login), format!("GET {url} with Basic authentication"))
                }
                "bearer" => {
                    let realm = challenge
                        .params
                        .get("realm")
                        .ok_or_else(|| client.protocol("its Bearer challenge names no realm (token service)".into()))?
                        .clone();
                    // Shown to the user: escaped (a header value may hold a tab).
                    report.auth = Auth::Bearer { realm: regcred_core::escape(&realm).into_owned() };
                    let (_, realm_address) = token_service_address(&client, &realm)?;
                    let docker_hubs_own = check.address.is_docker_hub() && realm_address == DOCKER_HUB_TOKEN_SERVICE;
                    if realm_address != client.address && !docker_hubs_own {
                        report.foreign_token_service = Some(realm_address);
                    }
                    let scope = check.image.map(|(repository, _)| format!("repository:{repository}:pull"));
                    let service = challenge.params.get("service").map(String::as_str);
                    let token = match token(&client, &trust, trusts, &realm, service, scope.as_deref(), &check.login)? {
                        Ok(token) => token,
                        Err(why) => {
                            report.verdict = Verdict::Rejected(why);
                            return Ok(report);
                        }
                    };
                    (
                        Zeroizing::new(format!("Bearer {}", token.as_str())),
                        format!("the token service issued a token, but GET {url} with it"),
                    )
                }
                other => {
                    return Err(client.protocol(format!("it asks for {other:?} authentication, not Basic or Bearer")));
                }
            };
            match get_authorized(&client, &url, &header)? {
                Ok(answered) => {
                    report.url = answered;
                    Some(header)
                }
                Err(status) => {
                    report.verdict = Verdict::Rejected(format!("{asked} answered HTTP {status}"));
                    return Ok(report);
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

/// Whether the token service's URL is HTTPS, and its `host[:port]` as addresses are
/// written (no port when it is the scheme's default).
/// GETs `url` with an `Authorization` header: `Ok(url that answered)` for HTTP 200,
/// `Err(status)` when the registry refuses it (401, 403), an error for anything else.
fn get_authorized(
    client: &Client,
    url: &str,
    header: &Zeroizing<String>,
) -> Result<Result<String, u16>, RegistryError> {
    let answer = client.get(url, Some(header), &[])?;
    match answer.status {
        200 => Ok(Ok(answer.url)),
        401 | 403 => Ok(Err(answer.status)),
        other => Err(client.protocol(format!("GET {url} answered HTTP {other}"))),
    }
}

fn token_service_address(registry_client: &Client, realm: &str) -> Result<(bool, String), RegistryError> {
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
    let address = match authority.port_u16() {
        Some(port) if port != default_port => format!("{}:{port}", authority.host().to_ascii_lowercase()),
        _ => authority.host().to_ascii_lowercase(),
    };
    Ok((scheme == "https", address))
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
    let (scheme, realm_address) = token_service_address(registry_client, realm)?;
    let same_server = realm_address == registry_client.address;
    let trust = if same_server { registry_trust.clone() } else { trusts.get(&realm_address) };
    if !scheme && !matches!(trust, Trust::Insecure) {
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

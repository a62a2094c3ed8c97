//! The HTTP side of talking to a registry: one ureq client per server and trust, the
//! answers the handshake needs of it (status, challenge, body), and the `WWW-Authenticate`
//! parser.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::escape;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
use zeroize::Zeroizing;

use super::verifier::{RustlsConnector, client_config, io_error};
use super::{CONNECT_TIMEOUT, Channel, Login, REQUEST_TIMEOUT, RegistryError, Trust};

/// The message of a registry's or token service's JSON error answer, if it has one.
pub(super) fn error_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value["errors"][0]["message"].as_str().or_else(|| value["details"].as_str())?;
    let short: String = message.chars().take(200).collect();
    Some(escape(&short).into_owned())
}

pub(super) fn basic_header(login: &Login<'_>) -> Zeroizing<String> {
    let pair = Zeroizing::new(format!("{}:{}", login.username, login.secret.expose()));
    Zeroizing::new(format!("Basic {}", BASE64.encode(pair.as_bytes())))
}

/// How many redirects within one origin are followed; redirects to another origin are
/// never followed.
const MAX_REDIRECTS: usize = 5;

/// One HTTP answer: what the handshake needs of it.
pub(super) struct Answer {
    /// The URL that answered (after redirects within the same origin), without the query.
    pub(super) url: String,
    pub(super) status: u16,
    /// A 3xx answer's `Location`.
    location: Option<String>,
    pub(super) challenge: Option<Challenge>,
    /// Read for token-service answers only.
    pub(super) body: Option<String>,
}

/// An HTTP client for one server (`host[:port]`) and one trust.
pub(super) struct Client {
    pub(super) address: String,
    agent: ureq::Agent,
    insecure: bool,
}

impl Client {
    pub(super) fn new(address: &str, trust: &Trust) -> Result<Client, RegistryError> {
        let tls = client_config(trust)
            .map_err(|e| RegistryError::Tls { address: address.to_owned(), detail: e.to_string() })?;
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(RustlsConnector { config: Arc::new(tls) });
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Redirects are followed by `send`, within the same origin only: ureq would
            // follow them to another host, or from HTTPS to plain HTTP.
            .max_redirects(0)
            .user_agent(concat!("regcred/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        Ok(Client { address: address.to_owned(), agent, insecure: matches!(trust, Trust::Insecure) })
    }

    /// `GET /v2/` without credentials: over HTTPS, and for an insecure registry then over
    /// plain HTTP when HTTPS fails, as docker does. The base URL, how it was reached, and
    /// the answer.
    pub(super) fn ping(&self, host: &str) -> Result<(String, Channel, Answer), RegistryError> {
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

    pub(super) fn get(
        &self,
        url: &str,
        authorization: Option<&Zeroizing<String>>,
        query: &[(&str, &str)],
    ) -> Result<Answer, RegistryError> {
        self.send(Method::Get, url, authorization, query)
    }

    pub(super) fn head(&self, url: &str, authorization: Option<&Zeroizing<String>>) -> Result<Answer, RegistryError> {
        self.send(Method::Head, url, authorization, &[])
    }

    /// A POST is never redirected: a 3xx is its answer.
    pub(super) fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, RegistryError> {
        self.answer(url, self.agent.post(url).send_form(form.iter().copied()))
    }

    /// GET or HEAD `url`, following redirects that stay on its origin (scheme, host and
    /// port). A redirect elsewhere is an error, never followed: it could lead from HTTPS to
    /// plain HTTP, or to a server that answers 200 to anything, and `verify` would then
    /// report what that server said as the registry's answer.
    fn send(
        &self,
        method: Method,
        url: &str,
        authorization: Option<&Zeroizing<String>>,
        query: &[(&str, &str)],
    ) -> Result<Answer, RegistryError> {
        let mut current = url.to_owned();
        // The query goes on the first request only; a Location carries its own.
        let mut query = query;
        for _ in 0..=MAX_REDIRECTS {
            let result = match method {
                Method::Get => {
                    let mut request = self.agent.get(&current);
                    if let Some(value) = authorization {
                        request = request.header("Authorization", value.as_str());
                    }
                    for (key, value) in query {
                        request = request.query(*key, *value);
                    }
                    request.call()
                }
                Method::Head => {
                    let mut request = self.agent.head(&current).header(
                        "Accept",
                        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
                         application/vnd.docker.distribution.manifest.list.v2+json, \
                         application/vnd.docker.distribution.manifest.v2+json",
                    );
                    if let Some(value) = authorization {
                        request = request.header("Authorization", value.as_str());
                    }
                    request.call()
                }
            };
            let answer = self.answer(&current, result)?;
            let Some(location) = answer.location.as_deref() else { return Ok(answer) };
            let next = resolve(&current, location)
                .ok_or_else(|| self.protocol(format!("{method} {current} redirected to {location:?}, not a URL")))?;
            if origin(&next) != origin(&current) {
                let downgrade = if current.starts_with("https:") && next.starts_with("http:") {
                    " (from HTTPS to plain HTTP)"
                } else {
                    ""
                };
                return Err(self.protocol(format!(
                    "{method} {current} answered HTTP {} with a redirect to {next}{downgrade}; regcred follows a \
                     registry's redirects only within the same scheme, host and port",
                    answer.status
                )));
            }
            current = next;
            query = &[];
        }
        Err(self.protocol(format!("{method} {url} redirected more than {MAX_REDIRECTS} times")))
    }

    fn answer(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, RegistryError> {
        let mut response = result.map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let location = (300..400)
            .contains(&status)
            .then(|| response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned))
            .flatten();
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
        Ok(Answer { url: url.to_owned(), status, location, challenge, body })
    }

    pub(super) fn protocol(&self, detail: String) -> RegistryError {
        RegistryError::Protocol { address: self.address.clone(), detail }
    }

    fn error(&self, error: ureq::Error) -> RegistryError {
        let address = self.address.clone();
        match error {
            ureq::Error::HostNotFound => RegistryError::Dns { address },
            ureq::Error::Timeout(what) => RegistryError::Timeout { address, what: what.to_string() },
            ureq::Error::Io(io) => io_error(address, &io),
            ureq::Error::Protocol(e) => {
                RegistryError::Protocol { address, detail: escape(&e.to_string()).into_owned() }
            }
            ureq::Error::ConnectionFailed => RegistryError::Connect { address, detail: "connection failed".into() },
            other => RegistryError::Connect { address, detail: escape(&other.to_string()).into_owned() },
        }
    }
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Head,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        })
    }
}

/// `location` resolved against `base` (absolute, scheme-relative, absolute-path or
/// relative), escaped for display. None when it is not a URL of HTTP(S).
fn resolve(base: &str, location: &str) -> Option<String> {
    let base_uri: ureq::http::Uri = base.parse().ok()?;
    let scheme = base_uri.scheme_str()?;
    let authority = base_uri.authority()?.as_str();
    let resolved = if location.contains("://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base_uri.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    let uri: ureq::http::Uri = resolved.parse().ok()?;
    matches!(uri.scheme_str(), Some("http" | "https")).then(|| escape(&resolved).into_owned())
}

/// Scheme, host and port (the default port made explicit) of an absolute URL.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let port = authority.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some((scheme, authority.host().to_ascii_lowercase(), port))
}

/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Challenge {
    /// Lower case: `basic`, `bearer`.
    pub(super) scheme: String,
    /// Parameter names in lower case.
    pub(super) params: HashMap<String, String>,
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
    fn redirect_targets_resolve_against_the_url_and_compare_by_origin() {
        let base = "https://reg.lan:5000/v2/";
        assert_eq!(resolve(base, "/mirror/v2/").as_deref(), Some("https://reg.lan:5000/mirror/v2/"));
        assert_eq!(resolve(base, "x/").as_deref(), Some("https://reg.lan:5000/v2/x/"));
        assert_eq!(resolve(base, "//other:1/v2/").as_deref(), Some("https://other:1/v2/"));
        assert_eq!(resolve(base, "http://reg.lan:5000/v2/").as_deref(), Some("http://reg.lan:5000/v2/"));
        assert_eq!(resolve(base, "ftp://reg.lan/"), None);
        assert_eq!(origin("https://REG.lan/v2/"), origin("https://reg.lan:443/other"));
        assert_ne!(origin("https://reg.lan:5000/"), origin("http://reg.lan:5000/"));
        assert_ne!(origin("https://reg.lan:5000/"), origin("https://reg.lan:5001/"));
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
}

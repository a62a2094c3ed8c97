//! Registry addresses: what a user types, what docker sends a credential helper, and the
//! canonical `host[:port]` form regcred stores.

use std::fmt;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

/// The canonical address of Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// The key docker itself uses for Docker Hub in `config.json` and in credential helpers.
pub const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// The host names under which Docker Hub is reachable; all fold to [`DOCKER_HUB`].
const DOCKER_HUB_HOSTS: [&str; 3] = [DOCKER_HUB, "index.docker.io", "registry-1.docker.io"];

/// A registry address in canonical form: lower-case host (IPv6 in brackets) and an optional
/// port, with Docker Hub's aliases folded into `docker.io`.
///
/// ```
/// use regcred_core::RegistryAddress;
///
/// let hub = RegistryAddress::parse("DockerHub").unwrap();
/// assert!(hub.is_docker_hub());
/// assert_eq!(hub.docker_config_key(), "https://index.docker.io/v1/");
///
/// let private = RegistryAddress::parse("Registry.Example.com:5000").unwrap();
/// assert_eq!(private.as_str(), "registry.example.com:5000");
/// assert_eq!(private.host(), "registry.example.com");
/// assert_eq!(private.port(), Some(5000));
///
/// let err = RegistryAddress::parse("https://registry.example.com:5000").unwrap_err();
/// assert_eq!(err.suggestion(), Some("registry.example.com:5000"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryAddress {
    canonical: String,
}

/// Why an address was refused.
///
/// Every message names the input; where a corrected form exists it is offered
/// (`did you mean "registry.example.com:5000"?`) and also available through
/// [`AddressError::suggestion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing was given.
    #[error("registry address is empty")]
    Empty,
    /// The address contains white space.
    #[error("registry address must not contain white space: {input:?}{}", did_you_mean(.suggestion))]
    Whitespace {
        /// The address as given.
        input: String,
        /// The address without the surrounding white space, when that is valid.
        suggestion: Option<String>,
    },
    /// The address starts with `http://`, `https://` or another scheme.
    #[error("registry address must not include a scheme: {input:?}{}", did_you_mean(.suggestion))]
    Scheme {
        /// The address as given.
        input: String,
        /// The address without scheme and path, when that is valid.
        suggestion: Option<String>,
    },
    /// The address ends with `/`.
    #[error("registry address must not end with '/': {input:?}{}", did_you_mean(.suggestion))]
    TrailingSlash {
        /// The address as given.
        input: String,
        /// The address without the trailing `/`, when that is valid.
        suggestion: Option<String>,
    },
    /// The address has a repository path (`host/org`); that is a scope, not an address.
    #[error(
        "registry address must not include a repository path (paths belong to scopes): {input:?}{}",
        did_you_mean(.suggestion)
    )]
    Path {
        /// The address as given.
        input: String,
        /// The host part alone, when that is valid.
        suggestion: Option<String>,
    },
    /// A server URL with a scheme other than `http://` or `https://`.
    #[error("unsupported scheme in registry server URL {input:?}: only http:// and https:// are understood")]
    UnsupportedScheme {
        /// The server URL as given.
        input: String,
    },
    /// The host or the port is malformed.
    #[error("invalid registry address {input:?}: {reason}{}", did_you_mean(.suggestion))]
    Host {
        /// The address as given.
        input: String,
        /// What is wrong with it.
        reason: HostError,
        /// A corrected form (an IPv6 address in brackets), when there is one.
        suggestion: Option<String>,
    },
}

impl AddressError {
    /// The corrected address the message offers, if any (for example
    /// `registry.example.com:5000` for `https://registry.example.com:5000`).
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            AddressError::Whitespace { suggestion, .. }
            | AddressError::Scheme { suggestion, .. }
            | AddressError::TrailingSlash { suggestion, .. }
            | AddressError::Path { suggestion, .. }
            | AddressError::Host { suggestion, .. } => suggestion.as_deref(),
            AddressError::Empty | AddressError::UnsupportedScheme { .. } => None,
        }
    }
}

/// Why the `host[:port]` part of an address or image reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// No host before the port or the `/`.
    #[error("the host is empty")]
    Empty,
    /// A host name with an empty component (`a..b`, `.a`, `a.`).
    #[error("host name {host:?} has an empty component (a leading, trailing or doubled '.')")]
    EmptyLabel {
        /// The host name.
        host: String,
    },
    /// A host name component with a character other than a letter, digit or `-`, or with `-`
    /// at either end.
    #[error(
        "host name component {label:?} must consist of letters, digits and '-', and must not start or end with '-'"
    )]
    Label {
        /// The offending component.
        label: String,
    },
    /// `[` without a closing `]`.
    #[error("IPv6 address {host:?} is missing its closing ']'")]
    UnclosedBracket {
        /// The host as written.
        host: String,
    },
    /// Brackets around something that is not an IPv6 address.
    #[error("{host:?} is not a valid IPv6 address")]
    Ipv6 {
        /// The host as written, brackets included.
        host: String,
    },
    /// An IPv6 zone id (`%eth0`), which image references cannot carry.
    #[error("IPv6 zone ids are not allowed: {host:?}")]
    Ipv6Zone {
        /// The host as written, brackets included.
        host: String,
    },
    /// An IPv6 address without brackets.
    #[error("IPv6 addresses must be written in brackets: {host:?}")]
    UnbracketedIpv6 {
        /// The address as written.
        host: String,
    },
    /// Something other than `:PORT` after `]`.
    #[error("unexpected {rest:?} after the IPv6 address; only \":PORT\" may follow ']'")]
    AfterBracket {
        /// What followed the `]`.
        rest: String,
    },
    /// A `:` with nothing after it.
    #[error("the port after ':' is empty")]
    EmptyPort,
    /// A port that is not a decimal number.
    #[error("port {port:?} is not a number")]
    PortNotNumeric {
        /// The port as written.
        port: String,
    },
    /// A port outside 1–65535.
    #[error("port {port} is out of range (1-65535)")]
    PortRange {
        /// The port as written.
        port: String,
    },
}

/// Formats the optional `; did you mean "…"?` tail of an error message.
fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

/// A validated `host[:port]`, split into its parts (host exactly as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostPort<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
}

/// Validates `host[:port]` with the grammar of `distribution/reference` (domain names with
/// `[a-zA-Z0-9-]` components, IPv4, IPv6 in brackets) and a port in 1–65535.
pub(crate) fn split_host_port(s: &str) -> Result<HostPort<'_>, HostError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(HostError::Empty);
    }
    if bytes[0] == b'[' {
        let Some(close) = s.find(']') else {
            return Err(HostError::UnclosedBracket { host: s.to_owned() });
        };
        let host = &s[..=close];
        check_ipv6(&s[1..close], host)?;
        let rest = &s[close + 1..];
        let port = match rest.strip_prefix(':') {
            None if rest.is_empty() => None,
            None => return Err(HostError::AfterBracket { rest: rest.to_owned() }),
            Some(port) => Some(parse_port(port)?),
        };
        return Ok(HostPort { host, port });
    }
    let (host, port) = match s.split_once(':') {
        None => (s, None),
        Some((host, port)) => {
            if port.contains(':') {
                if looks_like_ipv6(s) {
                    return Err(HostError::UnbracketedIpv6 { host: s.to_owned() });
                }
                return Err(HostError::PortNotNumeric { port: port.to_owned() });
            }
            (host, Some(parse_port(port)?))
        }
    };
    check_domain_name(host)?;
    Ok(HostPort { host, port })
}

/// Whether `s` reads as an IPv6 address written without brackets.
fn looks_like_ipv6(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') && s.parse::<Ipv6Addr>().is_ok()
}

/// IPv6 as `distribution/reference` spells it (hex digits and colons only, so no zone ids
/// and no embedded IPv4), and additionally a well-formed address: the loose regexp of
/// docker accepts `[::::]`, which no registry can ever be reached at.
fn check_ipv6(inner: &str, host: &str) -> Result<(), HostError> {
    if inner.contains('%') {
        return Err(HostError::Ipv6Zone { host: host.to_owned() });
    }
    let charset_ok = inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    if inner.is_empty() || !charset_ok || inner.parse::<Ipv6Addr>().is_err() {
        return Err(HostError::Ipv6 { host: host.to_owned() });
    }
    Ok(())
}

/// `component ('.' component)*` with components `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`;
/// this also covers dotted IPv4 addresses.
fn check_domain_name(host: &str) -> Result<(), HostError> {
    if host.is_empty() {
        return Err(HostError::Empty);
    }
    for label in host.split('.') {
        let b = label.as_bytes();
        let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
            return Err(HostError::EmptyLabel { host: host.to_owned() });
        };
        let chars_ok = b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if !chars_ok || first == b'-' || last == b'-' {
            return Err(HostError::Label { label: label.to_owned() });
        }
    }
    Ok(())
}

/// A decimal port in 1–65535 (leading zeros allowed, as the grammar's `[0-9]+` allows them).
fn parse_port(port: &str) -> Result<u16, HostError> {
    if port.is_empty() {
        return Err(HostError::EmptyPort);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::PortNotNumeric { port: port.to_owned() });
    }
    let mut value: u32 = 0;
    for digit in port.bytes() {
        value = value * 10 + u32::from(digit - b'0');
        if value > u32::from(u16::MAX) {
            return Err(HostError::PortRange { port: port.to_owned() });
        }
    }
    match u16::try_from(value) {
        Ok(0) | Err(_) => Err(HostError::PortRange { port: port.to_owned() }),
        Ok(value) => Ok(value),
    }
}

/// Strips `http://` or `https://` (any case).
fn strip_http_scheme(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    for scheme in ["http://", "https://"] {
        if b.len() >= scheme.len() && b[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes()) {
            return Some(&s[scheme.len()..]);
        }
    }
    None
}

/// Strips any `scheme://` prefix; the part after it when there is one.
pub(crate) fn strip_scheme(s: &str) -> Option<&str> {
    strip_http_scheme(s).or_else(|| s.split_once("://").map(|(_, rest)| rest))
}

impl RegistryAddress {
    /// Parses an address as a user types it (rule 3 of PRODUCT.md §2).
    ///
    /// Accepts `host[:port]` with a host name, `localhost`, an IPv4 address or an IPv6
    /// address in brackets, and a port in 1–65535. Host names are folded to lower case and
    /// leading zeros of the port dropped. The aliases `dockerhub`, `docker.io`,
    /// `index.docker.io` and `registry-1.docker.io` mean Docker Hub (`docker.io`); `quay`
    /// means `quay.io`. A scheme, a trailing `/`, a path or white space is refused, with the
    /// corrected address in the error when there is one.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        if input.contains(char::is_whitespace) {
            let trimmed = input.trim();
            let suggestion = if trimmed.contains(char::is_whitespace) {
                None
            } else {
                Self::parse(trimmed).ok().map(|a| a.canonical)
            };
            return Err(AddressError::Whitespace { input: input.to_owned(), suggestion });
        }
        if let Some(rest) = strip_scheme(input) {
            return Err(AddressError::Scheme { input: input.to_owned(), suggestion: suggest_host(rest) });
        }
        if input.ends_with('/') {
            return Err(AddressError::TrailingSlash { input: input.to_owned(), suggestion: suggest_host(input) });
        }
        if input.contains('/') {
            return Err(AddressError::Path { input: input.to_owned(), suggestion: suggest_host(input) });
        }
        let host_port = split_host_port(input).map_err(|reason| host_error(input, reason))?;
        Ok(Self::from_host_port(host_port, true))
    }

    /// Parses a server URL as docker, podman or skopeo send it to a credential helper.
    ///
    /// Like docker's own credential lookup (`ConvertToHostname`), an `http://` or `https://`
    /// scheme and everything from the first `/` after the host are dropped, so
    /// `https://index.docker.io/v1/`, `https://host:5000`, `host:5000`, `http://host/`,
    /// `https://host/v2/` and `HOST:5000` all arrive at the same canonical address; the host
    /// names of Docker Hub fold to `docker.io`. Surrounding white space (the newline of the
    /// protocol) is ignored.
    ///
    /// The shorthand words `dockerhub` and `quay` are *not* folded here: docker would send a
    /// credential for `dockerhub` to a host of that name, so answering with the Docker Hub
    /// credential would hand it to the wrong server.
    pub fn from_server_url(url: &str) -> Result<Self, AddressError> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(AddressError::Empty);
        }
        let rest = match strip_http_scheme(trimmed) {
            Some(rest) => rest,
            None if trimmed.contains("://") => {
                return Err(AddressError::UnsupportedScheme { input: url.to_owned() });
            }
            None => trimmed,
        };
        let host = rest.split_once('/').map_or(rest, |(host, _)| host);
        let host_port = split_host_port(host).map_err(|reason| host_error(url, reason))?;
        Ok(Self::from_host_port(host_port, false))
    }

    /// The canonical address of a validated `host[:port]`; `words` also folds the shorthand
    /// aliases a person types (`dockerhub`, `quay`).
    pub(crate) fn from_host_port(host_port: HostPort<'_>, words: bool) -> Self {
        let HostPort { host, port } = host_port;
        let mut canonical = String::with_capacity(host.len() + 6);
        canonical.push_str(host);
        canonical.make_ascii_lowercase();
        if port.is_none() {
            if DOCKER_HUB_HOSTS.contains(&canonical.as_str()) || (words && canonical == "dockerhub") {
                return Self::docker_hub();
            }
            if words && canonical == "quay" {
                canonical.push_str(".io");
            }
        }
        if let Some(port) = port {
            // Writing to a String cannot fail.
            let _ = write!(canonical, ":{port}");
        }
        RegistryAddress { canonical }
    }

    /// Docker Hub.
    pub fn docker_hub() -> Self {
        RegistryAddress { canonical: DOCKER_HUB.to_owned() }
    }

    /// Whether this is Docker Hub.
    pub fn is_docker_hub(&self) -> bool {
        self.canonical == DOCKER_HUB
    }

    /// The canonical form, `host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The host part (IPv6 with its brackets).
    pub fn host(&self) -> &str {
        let c = &self.canonical;
        let end =
            if c.starts_with('[') { c.find(']').map_or(c.len(), |i| i + 1) } else { c.find(':').unwrap_or(c.len()) };
        &c[..end]
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        self.canonical[self.host().len()..].strip_prefix(':').and_then(|p| p.parse().ok())
    }

    /// The key docker uses in `config.json`: `https://index.docker.io/v1/` for Docker Hub,
    /// `host[:port]` otherwise.
    pub fn docker_config_key(&self) -> &str {
        if self.is_docker_hub() { DOCKER_HUB_CONFIG_KEY } else { &self.canonical }
    }
}

/// An [`AddressError::Host`], offering the bracketed form for a bare IPv6 address.
fn host_error(input: &str, reason: HostError) -> AddressError {
    let suggestion = match &reason {
        HostError::UnbracketedIpv6 { host } => Some(format!("[{host}]")),
        _ => None,
    };
    AddressError::Host { input: input.to_owned(), reason, suggestion }
}

/// The canonical address a mistyped address most likely meant: the host part of
/// `[scheme://]host[:port][/…]`, if that is valid.
fn suggest_host(s: &str) -> Option<String> {
    let s = strip_scheme(s).unwrap_or(s);
    let host = s.split_once('/').map_or(s, |(host, _)| host);
    let host_port = split_host_port(host).ok()?;
    Some(RegistryAddress::from_host_port(host_port, true).canonical)
}

impl fmt::Display for RegistryAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl fmt::Debug for RegistryAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistryAddress({:?})", self.canonical)
    }
}

impl std::str::FromStr for RegistryAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

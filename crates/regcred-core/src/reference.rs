//! Image references as `docker pull` understands them (the `distribution/reference`
//! grammar with `ParseNormalizedNamed` + `ParseDockerRef` semantics).
//!
//! The grammar, as the Go package states it:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | IPv4address | \[ IPv6address \]
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! remote-name      := path-component ['/' path-component]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" hex
//! ```
//!
//! The parser is a hand-written scanner over bytes. It only ever slices the input at ASCII
//! delimiters (`@`, `:`, `/`), which are never part of a multi-byte UTF-8 sequence, so no
//! input can make it panic.

use std::fmt;

use crate::address::{HostError, RegistryAddress, split_host_port};

/// Docker Hub as `distribution/reference` names it.
const HUB_DOMAIN: &str = "docker.io";
/// The legacy Docker Hub domain that `distribution/reference` rewrites to [`HUB_DOMAIN`].
const LEGACY_HUB_DOMAIN: &str = "index.docker.io";
/// The namespace of official images on Docker Hub.
const OFFICIAL_PREFIX: &str = "library/";
/// `NameTotalLengthMax` of `distribution/reference`: since v0.6 (docker 24 and later) it
/// bounds the repository path alone (`library/` included), not the registry in front of it.
pub(crate) const PATH_LENGTH_MAX: usize = 255;
/// The longest tag.
const TAG_LENGTH_MAX: usize = 128;
/// The tag a reference without tag and digest gets.
const DEFAULT_TAG: &str = "latest";

/// A normalized image reference.
///
/// ```
/// use regcred_core::Reference;
///
/// let r = Reference::parse("bob/app:1").unwrap();
/// assert_eq!(r.registry(), "docker.io");
/// assert_eq!(r.repository(), "bob/app");
/// assert_eq!(r.tag(), Some("1"));
/// assert_eq!(r.canonical(), "docker.io/bob/app:1");
/// assert_eq!(r.familiar(), "bob/app:1");
///
/// // As with `docker pull`, a digest wins over a tag: the tag is dropped.
/// let digest = format!("sha256:{}", "a".repeat(64));
/// let r = Reference::parse(&format!("Registry.Example.com:5000/team/app:1.2@{digest}")).unwrap();
/// assert_eq!(r.registry(), "Registry.Example.com:5000");
/// assert_eq!(r.registry_address().as_str(), "registry.example.com:5000");
/// assert_eq!(r.tag(), None);
/// assert_eq!(r.digest(), Some(digest.as_str()));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The canonical string `registry/repository(:tag|@digest)`.
    full: String,
    /// `full[..registry_len]` is the registry; a `/` follows it.
    registry_len: usize,
    /// `full[..name_len]` is `registry/repository`; `:tag` or `@digest` follows it.
    name_len: usize,
    /// Whether the suffix is a digest (`@…`) rather than a tag (`:…`).
    digested: bool,
    /// The registry folded to a canonical address, kept so that matching is a borrow.
    address: RegistryAddress,
}

/// Why an image reference was refused; each variant names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing was given.
    #[error("image reference is empty")]
    Empty,
    /// The whole reference is 64 lower-case hex digits: docker reserves those for image ids.
    #[error("invalid repository name {input:?}: 64-character hexadecimal strings are reserved for image ids")]
    HexName {
        /// The reference as given.
        input: String,
    },
    /// No repository name, only a registry, tag or digest.
    #[error("image reference {input:?} has no repository name")]
    MissingRepository {
        /// The reference as given.
        input: String,
    },
    /// The registry part is not a valid `host[:port]`.
    #[error("invalid registry {registry:?} in image reference: {reason}")]
    Registry {
        /// The registry part as written.
        registry: String,
        /// What is wrong with it.
        reason: HostError,
    },
    /// The repository path has upper-case letters.
    #[error("repository name must be lowercase: {repository:?}")]
    Uppercase {
        /// The repository path as written.
        repository: String,
    },
    /// The repository path breaks the path-component grammar.
    #[error("invalid repository name {repository:?}: {reason}")]
    Repository {
        /// The repository path as written.
        repository: String,
        /// What is wrong with it.
        reason: PathError,
    },
    /// The repository path is longer than 255 characters (the registry in front of it does
    /// not count, as in docker 24 and later).
    #[error("repository name too long: {length} characters, at most 255 (the registry host does not count)")]
    NameTooLong {
        /// Length of the normalized repository path (`library/` included for Docker Hub).
        length: usize,
    },
    /// The tag breaks `[A-Za-z0-9_][A-Za-z0-9_.-]*`.
    #[error("invalid tag {tag:?}: {reason}")]
    Tag {
        /// The tag as written.
        tag: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The tag is longer than 128 characters.
    #[error("invalid tag {tag:?}: {length} characters, at most 128")]
    TagTooLong {
        /// The tag as written.
        tag: String,
        /// Its length.
        length: usize,
    },
    /// The digest is not `algorithm:hex`.
    #[error("invalid digest {digest:?}: expected ALGORITHM:HEX, such as \"sha256:\" and 64 hex digits")]
    DigestFormat {
        /// The digest as written.
        digest: String,
    },
    /// The digest algorithm is not one docker accepts.
    #[error("invalid digest {digest:?}: unsupported algorithm {algorithm:?} (use sha256, sha384 or sha512)")]
    DigestAlgorithm {
        /// The digest as written.
        digest: String,
        /// The algorithm as written.
        algorithm: String,
    },
    /// The hex part has characters other than `0-9a-f`.
    #[error("invalid digest {digest:?}: the hex part must be lower-case hexadecimal digits (0-9, a-f)")]
    DigestHex {
        /// The digest as written.
        digest: String,
    },
    /// The hex part has the wrong length for its algorithm.
    #[error("invalid digest {digest:?}: {algorithm} needs {expected} hex digits, got {found}")]
    DigestLength {
        /// The digest as written.
        digest: String,
        /// The algorithm.
        algorithm: &'static str,
        /// How many hex digits the algorithm needs.
        expected: usize,
        /// How many were given.
        found: usize,
    },
}

/// Why a repository path (of an image reference or a scope) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `a//b`, or a leading or trailing `/`.
    #[error("empty path component (a leading, trailing or doubled '/')")]
    EmptyComponent,
    /// An upper-case letter.
    #[error("path component {component:?} must be lower-case")]
    Uppercase {
        /// The offending component.
        component: String,
    },
    /// A character outside `[a-z0-9._-]`.
    #[error(
        "character {ch:?} is not allowed in path component {component:?} (use lower-case letters, digits, '.', '_' and '-')"
    )]
    Character {
        /// The offending component.
        component: String,
        /// The first character not allowed.
        ch: char,
    },
    /// A separator at the start or end of a component.
    #[error("path component {component:?} must start and end with a lower-case letter or digit")]
    Edge {
        /// The offending component.
        component: String,
    },
    /// A run of separator characters that is not `.`, `_`, `__` or dashes.
    #[error(
        "path component {component:?} contains the separator {separator:?}; use '.', '_', '__' or one or more '-' between letters or digits"
    )]
    Separator {
        /// The offending component.
        component: String,
        /// The separator as written.
        separator: String,
    },
}

/// Checks `path-component ('/' path-component)*`.
pub(crate) fn check_path(path: &str) -> Result<(), PathError> {
    path.split('/').try_for_each(check_component)
}

/// Checks `[a-z0-9]+ (separator [a-z0-9]+)*` with separator `.`, `_`, `__` or `-+`.
fn check_component(component: &str) -> Result<(), PathError> {
    let b = component.as_bytes();
    let is_alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let is_sep = |c: u8| matches!(c, b'.' | b'_' | b'-');
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Err(PathError::EmptyComponent);
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if is_alnum(c) {
            i += 1;
        } else if is_sep(c) {
            let start = i;
            while i < b.len() && is_sep(b[i]) {
                i += 1;
            }
            // Every byte so far is ASCII, so `start..i` is on character boundaries.
            let separator = &component[start..i];
            let sep_ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|s| s == b'-');
            if !sep_ok {
                return Err(PathError::Separator { component: component.to_owned(), separator: separator.to_owned() });
            }
        } else if c.is_ascii_uppercase() {
            return Err(PathError::Uppercase { component: component.to_owned() });
        } else {
            // `i` follows only ASCII bytes, so it is a character boundary.
            let ch = component[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(PathError::Character { component: component.to_owned(), ch });
        }
    }
    if !is_alnum(first) || !is_alnum(last) {
        return Err(PathError::Edge { component: component.to_owned() });
    }
    Ok(())
}

/// `splitDockerDomain`'s test: the first component names a registry only if it has a `.` or
/// `:`, is `localhost`, or has an upper-case letter.
pub(crate) fn looks_like_domain(component: &str) -> bool {
    component.bytes().any(|b| b == b'.' || b == b':')
        || component == "localhost"
        || component.chars().any(char::is_uppercase)
}

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let reason = match b.first() {
        None => Some("a tag must not be empty"),
        Some(&c) if !word(c) => Some("a tag must start with a letter, digit or '_'"),
        Some(_) if !b.iter().all(|&c| word(c) || c == b'.' || c == b'-') => {
            Some("a tag may contain only letters, digits, '_', '.' and '-'")
        }
        Some(_) => None,
    };
    if let Some(reason) = reason {
        return Err(ReferenceError::Tag { tag: tag.to_owned(), reason });
    }
    if b.len() > TAG_LENGTH_MAX {
        return Err(ReferenceError::TagTooLong { tag: tag.to_owned(), length: b.len() });
    }
    Ok(())
}

/// Checks a digest: `sha256`, `sha384` or `sha512`, `:`, and that many lower-case hex digits.
fn check_digest(digest: &str) -> Result<(), ReferenceError> {
    let Some((algorithm, hex)) = digest.split_once(':').filter(|(a, _)| !a.is_empty()) else {
        return Err(ReferenceError::DigestFormat { digest: digest.to_owned() });
    };
    let (algorithm, expected) = match algorithm {
        "sha256" => ("sha256", 64),
        "sha384" => ("sha384", 96),
        "sha512" => ("sha512", 128),
        _ => {
            return Err(ReferenceError::DigestAlgorithm { digest: digest.to_owned(), algorithm: algorithm.to_owned() });
        }
    };
    if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ReferenceError::DigestHex { digest: digest.to_owned() });
    }
    if hex.len() != expected {
        return Err(ReferenceError::DigestLength { digest: digest.to_owned(), algorithm, expected, found: hex.len() });
    }
    Ok(())
}

/// `name [":" tag]`: the tag is the text after the last ':' when no '/' follows that ':'
/// (else the ':' belongs to a port). `last_slash` is where the last '/' of `rest` is.
fn split_tag(rest: &str, last_slash: Option<usize>) -> (&str, Option<&str>) {
    match rest.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => (&rest[..colon], Some(&rest[colon + 1..])),
        _ => (rest, None),
    }
}

impl Reference {
    /// Parses and normalizes a reference as `docker pull` would.
    ///
    /// No registry means Docker Hub (`docker.io`, also reached as `index.docker.io`), where a
    /// one-component name gets `library/`; no tag and no digest means tag `latest`; with a
    /// tag *and* a digest the tag is dropped, as `ParseDockerRef` does.
    ///
    /// Two deliberate differences from the Go package, both for inputs no registry could
    /// serve: a first component that is detected as a registry must be a valid
    /// `host[:port]` (the Go regexp quietly re-reads `a_b.com/x` as a path without registry),
    /// and the port must be 1–65535 and a bracketed IPv6 address well-formed.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let bytes = input.as_bytes();
        if bytes.len() == 64 && bytes.iter().all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ReferenceError::HexName { input: input.to_owned() });
        }
        let missing = || ReferenceError::MissingRepository { input: input.to_owned() };

        // name [":" tag] ["@" digest]: the digest starts at the first '@'; a tag is the text
        // after the last ':' when no '/' follows that ':' (else the ':' belongs to a port).
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (input, None),
        };
        let last_slash = rest.rfind('/');
        if last_slash.is_none() && rest.starts_with('[') {
            // A bracketed IPv6 registry with nothing after it.
            return Err(missing());
        }
        let (name, tag) = split_tag(rest, last_slash);

        let (registry, path) = match name.split_once('/') {
            Some((first, path)) if looks_like_domain(first) => (Some(first), path),
            _ => (None, name),
        };
        if path.is_empty() {
            return Err(missing());
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase { repository: path.to_owned() });
        }
        let (registry, address) = match registry {
            None => (HUB_DOMAIN, RegistryAddress::docker_hub()),
            Some(registry) => {
                let host_port = split_host_port(registry)
                    .map_err(|reason| ReferenceError::Registry { registry: registry.to_owned(), reason })?;
                let registry = if registry == LEGACY_HUB_DOMAIN { HUB_DOMAIN } else { registry };
                (registry, RegistryAddress::from_host_port(host_port, false))
            }
        };
        check_path(path).map_err(|reason| ReferenceError::Repository { repository: path.to_owned(), reason })?;
        let official = registry == HUB_DOMAIN && !path.contains('/');
        let prefix = if official { OFFICIAL_PREFIX } else { "" };
        let path_len = prefix.len() + path.len();
        if path_len > PATH_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong { length: path_len });
        }
        let name_len = registry.len() + 1 + path_len;
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        if let Some(digest) = digest {
            check_digest(digest)?;
        }

        let (separator, suffix) = match (digest, tag) {
            (Some(digest), _) => ('@', digest),
            (None, Some(tag)) => (':', tag),
            (None, None) => (':', DEFAULT_TAG),
        };
        let mut full = String::with_capacity(name_len + 1 + suffix.len());
        full.push_str(registry);
        full.push('/');
        full.push_str(prefix);
        full.push_str(path);
        full.push(separator);
        full.push_str(suffix);
        Ok(Reference { full, registry_len: registry.len(), name_len, digested: digest.is_some(), address })
    }

    /// The registry as docker normalizes it (`docker.io` for Docker Hub; case kept as
    /// written, exactly as `distribution/reference` does).
    pub fn registry(&self) -> &str {
        &self.full[..self.registry_len]
    }

    /// The registry folded like a user-typed address (lower-case host, Docker Hub aliases
    /// such as `index.docker.io` and `registry-1.docker.io` folded to `docker.io`); this is
    /// what credential scopes are matched against.
    ///
    /// Only Docker Hub's host names fold: a registry written `DockerHub` is a host of that
    /// name to docker, so it stays `dockerhub` here rather than becoming Docker Hub.
    pub fn registry_address(&self) -> &crate::RegistryAddress {
        &self.address
    }

    /// Repository path without the registry (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.full[self.registry_len + 1..self.name_len]
    }

    /// Tag: `latest` when neither tag nor digest was given; `None` with a digest.
    pub fn tag(&self) -> Option<&str> {
        (!self.digested).then(|| &self.full[self.name_len + 1..])
    }

    /// Digest (`sha256:…`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.digested.then(|| &self.full[self.name_len + 1..])
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        self.full[..self.name_len].to_owned()
    }

    /// `docker.io/library/nginx:latest`, or `host/repo@sha256:…` with a digest.
    pub fn canonical(&self) -> String {
        self.full.clone()
    }

    /// The canonical form without copying it.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// `nginx:latest`: the short form docker shows, without `docker.io/` and, for a
    /// one-component name, without `library/` (docker's `FamiliarString`).
    ///
    /// Unlike docker, `docker.io/` is kept when dropping it would change the meaning: for
    /// `docker.io/my.org/app` the short form `my.org/app` would name the registry `my.org`.
    /// So the familiar form always parses back to the same reference.
    pub fn familiar(&self) -> String {
        let suffix = &self.full[self.name_len..];
        if self.registry() != HUB_DOMAIN {
            return self.full.clone();
        }
        let mut path = self.repository();
        if let Some(official) = path.strip_prefix(OFFICIAL_PREFIX)
            && !official.contains('/')
        {
            path = official;
        }
        match path.split_once('/') {
            Some((first, _)) if looks_like_domain(first) => self.full.clone(),
            _ => {
                let mut familiar = String::with_capacity(path.len() + suffix.len());
                familiar.push_str(path);
                familiar.push_str(suffix);
                familiar
            }
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({:?})", self.full)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

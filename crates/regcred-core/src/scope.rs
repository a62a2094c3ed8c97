//! Credential scopes: a registry address plus an optional repository-path prefix
//! (`quay.io/myorg`), matched only at `/` boundaries.

use std::fmt;

use crate::address::strip_scheme;
use crate::reference::{PATH_LENGTH_MAX, PathError, check_path};
use crate::{AddressError, Reference, RegistryAddress};

/// Where a credential applies.
///
/// ```
/// use regcred_core::{Reference, Scope};
///
/// let scope = Scope::parse("ghcr.io/acme").unwrap();
/// assert_eq!(scope.specificity(), 1);
/// assert!(scope.matches(&Reference::parse("ghcr.io/acme/app:1").unwrap()));
/// assert!(!scope.matches(&Reference::parse("ghcr.io/acmeco/app:1").unwrap()));
///
/// // The first component is always the address, so aliases work.
/// assert_eq!(Scope::parse("dockerhub/bob").unwrap().to_string(), "docker.io/bob");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    address: RegistryAddress,
    path: Option<String>,
}

/// Why a scope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The address part was refused.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The scope contains white space.
    #[error("registry scope must not contain white space: {input:?}{}", did_you_mean(.suggestion))]
    Whitespace {
        /// The scope as given.
        input: String,
        /// The scope without the surrounding white space, when that is valid.
        suggestion: Option<String>,
    },
    /// The scope starts with `http://`, `https://` or another scheme.
    #[error("registry scope must not include a scheme: {input:?}{}", did_you_mean(.suggestion))]
    Scheme {
        /// The scope as given.
        input: String,
        /// The scope without the scheme, when that is valid.
        suggestion: Option<String>,
    },
    /// The scope ends with `/`.
    #[error("registry scope must not end with '/': {input:?}{}", did_you_mean(.suggestion))]
    TrailingSlash {
        /// The scope as given.
        input: String,
        /// The scope without the trailing `/`, when that is valid.
        suggestion: Option<String>,
    },
    /// The path part has upper-case letters (repository names are lower-case).
    #[error("registry scope path must be lowercase: {input:?}{}", did_you_mean(.suggestion))]
    Uppercase {
        /// The scope as given.
        input: String,
        /// The scope with its path in lower case, when that is valid.
        suggestion: Option<String>,
    },
    /// The path part breaks the repository path grammar.
    #[error("invalid registry scope {input:?}: {reason}")]
    Path {
        /// The scope as given.
        input: String,
        /// What is wrong with the path.
        reason: PathError,
    },
    /// The path is longer than a repository path may be (255 characters; the address in
    /// front of it does not count), so the scope could match nothing.
    #[error("registry scope path too long: {length} characters, at most 255 (the registry host does not count)")]
    TooLong {
        /// Length of the path.
        length: usize,
    },
}

impl ScopeError {
    /// The corrected scope the message offers, if any.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            ScopeError::Address(err) => err.suggestion(),
            ScopeError::Whitespace { suggestion, .. }
            | ScopeError::Scheme { suggestion, .. }
            | ScopeError::TrailingSlash { suggestion, .. }
            | ScopeError::Uppercase { suggestion, .. } => suggestion.as_deref(),
            ScopeError::Path { .. } | ScopeError::TooLong { .. } => None,
        }
    }
}

/// Formats the optional `; did you mean "…"?` tail of an error message.
fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

/// The canonical form of `s` as a scope, if it is one.
fn suggest(s: &str) -> Option<String> {
    Scope::parse(s).ok().map(|scope| scope.to_string())
}

impl Scope {
    /// Parses `ADDRESS[/path…]` as a user types it; the first component is always the
    /// address (aliases allowed), the rest a lower-case repository-path prefix.
    ///
    /// The address follows [`RegistryAddress::parse`]; the path follows the repository
    /// grammar of image references (lower-case components joined by `.`, `_`, `__` or
    /// dashes). A scheme or a trailing `/` is refused with the corrected scope in the error.
    pub fn parse(input: &str) -> Result<Self, ScopeError> {
        if input.is_empty() {
            return Err(AddressError::Empty.into());
        }
        if input.contains(char::is_whitespace) {
            let trimmed = input.trim();
            let suggestion = if trimmed.contains(char::is_whitespace) { None } else { suggest(trimmed) };
            return Err(ScopeError::Whitespace { input: input.to_owned(), suggestion });
        }
        if let Some(rest) = strip_scheme(input) {
            let rest = rest.trim_end_matches('/');
            // `https://host/v2/` is a registry API URL, not a repository path.
            let rest = rest.strip_suffix("/v1").or_else(|| rest.strip_suffix("/v2")).unwrap_or(rest);
            let suggestion = if strip_scheme(rest).is_some() { None } else { suggest(rest) };
            return Err(ScopeError::Scheme { input: input.to_owned(), suggestion });
        }
        if input.ends_with('/') {
            let rest = input.trim_end_matches('/');
            // `index.docker.io/v1/` is docker's config key for Docker Hub, not a namespace.
            let rest = rest.strip_suffix("/v1").or_else(|| rest.strip_suffix("/v2")).unwrap_or(rest);
            return Err(ScopeError::TrailingSlash { input: input.to_owned(), suggestion: suggest(rest) });
        }
        let Some((address, path)) = input.split_once('/') else {
            return Ok(Scope { address: RegistryAddress::parse(input)?, path: None });
        };
        let address = RegistryAddress::parse(address)?;
        match check_path(path) {
            Ok(()) => {}
            Err(PathError::Uppercase { .. }) => {
                let lower = path.to_ascii_lowercase();
                // Parsed in full: lower case may still be refused, e.g. as too long.
                let suggestion = suggest(&format!("{address}/{lower}"));
                return Err(ScopeError::Uppercase { input: input.to_owned(), suggestion });
            }
            Err(reason) => return Err(ScopeError::Path { input: input.to_owned(), reason }),
        }
        if path.len() > PATH_LENGTH_MAX {
            return Err(ScopeError::TooLong { length: path.len() });
        }
        Ok(Scope { address, path: Some(path.to_owned()) })
    }

    /// Whether `text` may be a scope on `address`: `false` only when [`Scope::parse`] would
    /// surely refuse `text` or give it another address. Lets a caller skip most stored
    /// scopes by comparing text, without parsing them.
    ///
    /// A valid address that is lower-case, no alias and without leading zeros in its port
    /// is its own canonical form, so for such text an inequality is the answer; any other
    /// text may fold into `address` and is left to the parser.
    ///
    /// ```
    /// use regcred_core::{RegistryAddress, Scope};
    ///
    /// let quay = RegistryAddress::parse("quay.io").unwrap();
    /// assert!(Scope::may_have_address("quay.io/acme", &quay));
    /// assert!(Scope::may_have_address("quay", &quay));
    /// assert!(Scope::may_have_address("Quay.IO", &quay));
    /// assert!(!Scope::may_have_address("ghcr.io/acme", &quay));
    /// ```
    pub fn may_have_address(text: &str, address: &RegistryAddress) -> bool {
        // One pass up to the first '/': the address part, whether it has an upper-case
        // letter, a ':' (a port, or IPv6) and a ':0' (maybe a port with leading zeros).
        let b = text.as_bytes();
        let (mut end, mut upper, mut colon, mut colon_zero) = (b.len(), false, false, false);
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'/' => {
                    end = i;
                    break;
                }
                b'A'..=b'Z' => upper = true,
                b':' => {
                    colon = true;
                    colon_zero |= b.get(i + 1) == Some(&b'0');
                }
                _ => {}
            }
        }
        let first = &b[..end];
        if first == address.as_str().as_bytes() {
            return true;
        }
        upper
            || colon_zero
            || (!colon && matches!(first, b"dockerhub" | b"quay" | b"index.docker.io" | b"registry-1.docker.io"))
    }

    /// A scope covering the whole registry.
    pub fn from_address(address: RegistryAddress) -> Self {
        Scope { address, path: None }
    }

    /// The registry address.
    pub fn address(&self) -> &RegistryAddress {
        &self.address
    }

    /// The repository-path prefix, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Number of path components (0 for a whole-registry scope).
    pub fn specificity(&self) -> usize {
        self.path.as_deref().map_or(0, |p| p.bytes().filter(|&b| b == b'/').count() + 1)
    }

    /// Whether this scope applies to the reference: same registry and the path is a prefix
    /// of the repository at a `/` boundary.
    pub fn matches(&self, reference: &Reference) -> bool {
        self.address == *reference.registry_address() && self.covers(reference.repository())
    }

    /// Whether the path prefix covers `repository` (ignoring the registry): equal to it, or
    /// a prefix ending at a `/` boundary, so `acme` covers `acme/app` but not `acmeco/app`.
    pub fn covers(&self, repository: &str) -> bool {
        match &self.path {
            None => true,
            Some(path) => {
                repository.strip_prefix(path.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.address.as_str())?;
        if let Some(path) = &self.path {
            write!(f, "/{path}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.to_string())
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

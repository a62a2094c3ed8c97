//! Credential scopes: a registry address plus an optional repository-path prefix
//! (`quay.io/myorg`), matched only at `/` boundaries.

use std::fmt;

use crate::{AddressError, Reference, RegistryAddress};

/// Where a credential applies.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    address: RegistryAddress,
    path: Option<String>,
}

/// Why a scope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(transparent)]
    Address(#[from] AddressError),
}

impl Scope {
    /// Parses `ADDRESS[/path…]` as a user types it; the first component is always the
    /// address (aliases allowed), the rest a lower-case repository-path prefix.
    pub fn parse(input: &str) -> Result<Self, ScopeError> {
        todo!("{input}")
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
        todo!()
    }
    /// Whether this scope applies to the reference: same registry and the path is a prefix
    /// of the repository at a `/` boundary.
    pub fn matches(&self, reference: &Reference) -> bool {
        todo!("{reference}")
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

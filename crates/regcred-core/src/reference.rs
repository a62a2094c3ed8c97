//! Image references as `docker pull` understands them (the `distribution/reference`
//! grammar with `ParseNormalizedNamed` + `ParseDockerRef` semantics).

use std::fmt;

/// A normalized image reference.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    // fields chosen by the implementation
}

/// Why an image reference was refused; each variant names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("image reference is empty")]
    Empty,
}

impl Reference {
    /// Parses and normalizes a reference as `docker pull` would.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        todo!("{input}")
    }
    /// The registry as docker normalizes it (`docker.io` for Docker Hub; case kept as
    /// written, exactly as `distribution/reference` does).
    pub fn registry(&self) -> &str {
        todo!()
    }
    /// The registry folded like a user-typed address (lower-case host, Docker Hub aliases
    /// such as `index.docker.io` and `registry-1.docker.io` folded to `docker.io`); this is
    /// what credential scopes are matched against.
    pub fn registry_address(&self) -> &crate::RegistryAddress {
        todo!()
    }
    /// Repository path without the registry (`library/nginx`).
    pub fn repository(&self) -> &str {
        todo!()
    }
    /// Tag: `latest` when neither tag nor digest was given; `None` with a digest.
    pub fn tag(&self) -> Option<&str> {
        todo!()
    }
    /// Digest (`sha256:…`), if any.
    pub fn digest(&self) -> Option<&str> {
        todo!()
    }
    /// `registry/repository`.
    pub fn name(&self) -> String {
        todo!()
    }
    /// `docker.io/library/nginx:latest`.
    pub fn canonical(&self) -> String {
        todo!()
    }
    /// `nginx:latest`.
    pub fn familiar(&self) -> String {
        todo!()
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({:?})", self.canonical())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

//! Registry addresses: what a user types, what docker sends a credential helper, and the
//! canonical `host[:port]` form regcred stores.

use std::fmt;

/// The canonical address of Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// The key docker itself uses for Docker Hub in `config.json` and in credential helpers.
pub const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// A registry address in canonical form: lower-case host (IPv6 in brackets) and an optional
/// port, with Docker Hub's aliases folded into `docker.io`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryAddress {
    canonical: String,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    // variants to be defined by the implementation; every message names the input and says
    // what to do (e.g. `did you mean "registry.example.com:5000"?`)
    #[error("registry address is empty")]
    Empty,
}

impl RegistryAddress {
    /// Parses an address as a user types it (rule 3 of PRODUCT.md §2).
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        todo!("{input}")
    }

    /// Parses a server URL as docker, podman or skopeo send it to a credential helper.
    pub fn from_server_url(url: &str) -> Result<Self, AddressError> {
        todo!("{url}")
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
        todo!()
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        todo!()
    }

    /// The key docker uses in `config.json`: `https://index.docker.io/v1/` for Docker Hub,
    /// `host[:port]` otherwise.
    pub fn docker_config_key(&self) -> &str {
        if self.is_docker_hub() { DOCKER_HUB_CONFIG_KEY } else { &self.canonical }
    }
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

//! Names of credentials and environments: lower-case DNS labels, like Kubernetes Secret names.

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
}

/// Checks `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters. `what` ("credential name",
/// "environment name") is used in the error message.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), NameError> {
    todo!("{what} {name}")
}

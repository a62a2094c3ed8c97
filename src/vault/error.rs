//! The vault's error: what went wrong below the commands, typed, with its hint. The exit
//! code is decided from it in one place (`crate::exit`).

use super::fs::FsError;
use super::secrets::SecretError;
use super::store::StoreError;

/// What docker-credential-helpers say when there is nothing for a server; docker matches
/// this text.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// What was asked breaks a rule (a bad name, an unknown environment or selector):
    /// invalid input.
    #[error("{message}")]
    Invalid { message: String, hint: Option<String> },
    /// The metadata says a secret is there, and it is not.
    #[error("the secret of credential {id} is missing from {location}")]
    SecretMissing { id: u64, location: String },
    /// A credential's secret comes from an environment variable (`--secret-from-env`) that
    /// gives none.
    #[error("credential {credential} takes its secret from the environment variable {var}, which {problem}")]
    SecretVariable { id: u64, credential: String, var: String, problem: super::secret_env::Unusable },
    /// The metadata is gone; its secret could not be removed.
    #[error("credential {id} was deleted, but its secret could not be removed: {source}")]
    SecretLeftBehind {
        id: u64,
        #[source]
        source: SecretError,
    },
    /// The credential helper was asked for a credential there is none of.
    #[error("{NOT_FOUND}")]
    NotFound,
}

impl Error {
    pub fn invalid(message: impl Into<String>, hint: Option<String>) -> Error {
        Error::Invalid { message: message.into(), hint }
    }

    /// Invalid input rather than an operational failure.
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Invalid { .. } | Error::NotFound)
    }

    /// The `hint:` for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Store(e) => e.hint(),
            Error::Secret(e) => e.hint(),
            Error::Invalid { hint, .. } => hint.clone(),
            Error::SecretMissing { .. } => {
                Some("run `regcred doctor` to check the store, then re-enter it with `regcred edit`".into())
            }
            Error::SecretVariable { id, var, .. } => Some(format!(
                "set {var} to the registry password or token (in CI: a secret variable), \
                 or store a secret instead with: regcred edit {id} --password-stdin"
            )),
            Error::SecretLeftBehind { .. } => {
                Some("run `regcred doctor --fix` once the secret store is reachable".into())
            }
            Error::NotFound => None,
        }
    }
}

impl From<FsError> for Error {
    fn from(error: FsError) -> Error {
        Error::Store(StoreError::File(error))
    }
}

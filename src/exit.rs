//! Exit codes (PRODUCT.md §4) and the error type that carries one to `main`. The one
//! place where the vault's typed errors become an exit code and a hint.

use std::fmt;

use crate::vault;
use crate::vault::clients::ClientFileError;
use crate::vault::fs::FsError;
use crate::vault::secrets::SecretError;
use crate::vault::store::StoreError;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Store unreadable, keyring unreachable, I/O.
    Operational = 1,
    /// Bad reference, bad address, unknown selector, usage error.
    Input = 2,
    /// `resolve`: at least one image has no credential.
    Unresolved = 3,
    /// Confirmation required or refused.
    Confirmation = 4,
    /// The registry rejected the credential.
    Rejected = 5,
}

/// An error that knows its exit code and, where it helps, what the user should do next.
/// Anything else that reaches `main` is an operational error (exit 1).
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Failure { code, message: message.into(), hint: None }
    }

    /// Invalid input (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Input, message)
    }

    /// Operational error (exit 1).
    pub fn operational(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Operational, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<vault::Error> for Failure {
    fn from(error: vault::Error) -> Failure {
        let code = if error.is_input() { ExitCode::Input } else { ExitCode::Operational };
        let hint = error.hint();
        Failure::new(code, error.to_string()).maybe_hint(hint)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        vault::Error::from(error).into()
    }
}

impl From<SecretError> for Failure {
    fn from(error: SecretError) -> Failure {
        vault::Error::from(error).into()
    }
}

impl From<FsError> for Failure {
    fn from(error: FsError) -> Failure {
        vault::Error::from(error).into()
    }
}

impl From<ClientFileError> for Failure {
    fn from(error: ClientFileError) -> Failure {
        let hint = error.hint();
        Failure::operational(error.to_string()).maybe_hint(hint)
    }
}

/// A command that composed several steps with `anyhow` context: the exit code and hint
/// come from the typed error underneath, the message from the whole chain.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        let message = format!("{error:#}");
        let typed = error.chain().find_map(|cause| {
            let (code, hint) = if let Some(e) = cause.downcast_ref::<vault::Error>() {
                (if e.is_input() { ExitCode::Input } else { ExitCode::Operational }, e.hint())
            } else if let Some(e) = cause.downcast_ref::<StoreError>() {
                (ExitCode::Operational, e.hint())
            } else if let Some(e) = cause.downcast_ref::<SecretError>() {
                (ExitCode::Operational, e.hint())
            } else if let Some(e) = cause.downcast_ref::<FsError>() {
                (ExitCode::Operational, e.hint())
            } else if let Some(e) = cause.downcast_ref::<ClientFileError>() {
                (ExitCode::Operational, e.hint())
            } else if let Some(e) = cause.downcast_ref::<Failure>() {
                (e.code, e.hint.clone())
            } else {
                return None;
            };
            Some(Failure::new(code, String::new()).maybe_hint(hint))
        });
        Failure { message, ..typed.unwrap_or_else(|| Failure::operational(String::new())) }
    }
}

/// Shorthand for returning an input error.
macro_rules! input_error {
    ($($arg:tt)*) => {
        $crate::exit::Failure::input(format!($($arg)*))
    };
}
pub(crate) use input_error;

/// The exit statuses as the user reads them (PRODUCT.md §4), for the man pages.
pub const EXIT_STATUSES: [(u8, &str); 6] = [
    (0, "Success (for resolve: every image has a credential)."),
    (1, "Operational error: the store is unreadable, the keyring unreachable, an I/O error."),
    (2, "Invalid input: a bad image reference or address, an unknown selector, a usage error."),
    (3, "resolve only: at least one image has no credential (its output is still printed)."),
    (4, "Confirmation required or refused (delete without --yes when stdin is not a terminal)."),
    (5, "The registry rejected the credential (verify)."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn context_keeps_the_exit_code_and_hint_of_the_typed_error_underneath() {
        let typed = vault::Error::invalid("no credential \"x\"", Some("see them with: regcred list".into()));
        let failure = Failure::from(Err::<(), _>(typed).context("cannot edit").unwrap_err());
        assert_eq!(failure.code, ExitCode::Input);
        assert_eq!(failure.message, "cannot edit: no credential \"x\"");
        assert_eq!(failure.hint.as_deref(), Some("see them with: regcred list"));
        let path = std::path::PathBuf::from("/x/config.json");
        let refused = FsError::ReadOnly { path, mode: 0o400 };
        let failure = Failure::from(anyhow::Error::new(refused).context("cannot set up docker"));
        assert_eq!(failure.code, ExitCode::Operational);
        assert!(
            failure.message.starts_with("cannot set up docker: /x/config.json is read-only"),
            "{}",
            failure.message
        );
        assert_eq!(failure.hint.as_deref(), Some("to allow changes again: chmod 600 /x/config.json"));
    }
}

//! Secrets that live in no store: a credential added with `--secret-from-env VAR` names an
//! environment variable, read each time the secret is used (CI secret variables, with a
//! `registries.toml` committed beside the code). An unset or empty variable is an error
//! naming the credential and the variable, never an empty password.

use std::fmt;

use super::secrets::{MAX_SECRET, Secret};
use super::store::Credential;
use super::{Error, describe};

/// The longest variable name accepted; names are identifiers, not data.
const MAX_NAME: usize = 255;

/// Why a credential's variable gives no secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Unset,
    NotUtf8,
    Empty,
    TooLong,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::Unset => f.write_str("is not set"),
            Unusable::NotUtf8 => f.write_str("is not valid UTF-8"),
            Unusable::Empty => f.write_str("is empty"),
            Unusable::TooLong => write!(f, "is longer than {MAX_SECRET} bytes"),
        }
    }
}

/// A variable name as POSIX shells and CI systems write them: `[A-Za-z_][A-Za-z0-9_]*`.
/// Anything else could never be set by `export NAME=…`, so it is refused up front.
pub fn check_name(name: &str) -> Result<(), Error> {
    let hint =
        || Some("a variable name is letters, digits and `_`, not starting with a digit (e.g. REGISTRY_TOKEN)".into());
    if name.is_empty() {
        return Err(Error::invalid("the variable name of --secret-from-env is empty", hint()));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || name.len() > MAX_NAME {
        let shown: String = name.chars().take(64).flat_map(char::escape_debug).collect();
        return Err(Error::invalid(format!("\"{shown}\" is not an environment variable name"), hint()));
    }
    Ok(())
}

/// Reads the secret of a credential whose secret comes from `var`.
pub(super) fn read(credential: &Credential, var: &str) -> Result<Secret, Error> {
    let unusable = |problem| Error::SecretVariable {
        id: credential.id,
        credential: describe(credential),
        var: var.to_owned(),
        problem,
    };
    let value = std::env::var_os(var).ok_or_else(|| unusable(Unusable::Unset))?;
    let text = value.to_str().ok_or_else(|| unusable(Unusable::NotUtf8))?;
    if text.is_empty() {
        return Err(unusable(Unusable::Empty));
    }
    if text.len() > MAX_SECRET {
        return Err(unusable(Unusable::TooLong));
    }
    Ok(Secret::new(text.to_owned()))
}

/// Whether `var` is set to something usable now (doctor's warning, add's note).
pub fn is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shell_identifiers() {
        for good in ["A", "_", "REGISTRY_TOKEN", "ci_token_2", "_X9"] {
            check_name(good).unwrap();
        }
        for bad in ["", "9TOKEN", "A-B", "A=B", "A B", "TÖKEN", "$TOKEN", "A\nB"] {
            let err = check_name(bad).unwrap_err();
            assert!(err.is_input(), "{bad:?}");
            assert!(err.hint().is_some(), "{bad:?}");
        }
        check_name(&"A".repeat(MAX_NAME)).unwrap();
        check_name(&"A".repeat(MAX_NAME + 1)).unwrap_err();
    }
}

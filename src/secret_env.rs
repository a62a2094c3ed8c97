//! Secrets that live in no store: a credential added with `--secret-from-env VAR` names an
//! environment variable, read each time the secret is used (CI secret variables, with a
//! `registries.toml` committed beside the code). An unset or empty variable is an error
//! naming the credential and the variable, never an empty password.

use crate::commands::describe;
use crate::exit::{Failure, input_error};
use crate::prompt::MAX_PASSWORD;
use crate::secrets::Secret;
use crate::store::Credential;

/// The longest variable name accepted; names are identifiers, not data.
const MAX_NAME: usize = 255;

/// A variable name as POSIX shells and CI systems write them: `[A-Za-z_][A-Za-z0-9_]*`.
/// Anything else could never be set by `export NAME=…`, so it is refused up front.
pub fn check_name(name: &str) -> Result<(), Failure> {
    let hint = "a variable name is letters, digits and `_`, not starting with a digit (e.g. REGISTRY_TOKEN)";
    if name.is_empty() {
        return Err(input_error!("the variable name of --secret-from-env is empty").hint(hint));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || name.len() > MAX_NAME {
        let shown: String = name.chars().take(64).flat_map(char::escape_debug).collect();
        return Err(input_error!("\"{shown}\" is not an environment variable name").hint(hint));
    }
    Ok(())
}

/// Reads the secret of a credential whose secret comes from `var`.
pub fn read(credential: &Credential, var: &str) -> Result<Secret, Failure> {
    let what = format!("credential {} takes its secret from the environment variable {var}", describe(credential));
    let hint = format!(
        "set {var} to the registry password or token (in CI: a secret variable), \
         or store a secret instead with: regcred edit {} --password-stdin",
        credential.id
    );
    let value = match std::env::var_os(var) {
        None => return Err(Failure::operational(format!("{what}, which is not set")).hint(hint)),
        Some(value) => value,
    };
    let Some(text) = value.to_str() else {
        return Err(Failure::operational(format!("{what}, which is not valid UTF-8")).hint(hint));
    };
    if text.is_empty() {
        return Err(Failure::operational(format!("{what}, which is empty")).hint(hint));
    }
    if text.len() > MAX_PASSWORD {
        return Err(Failure::operational(format!("{what}, which is longer than {MAX_PASSWORD} bytes")).hint(hint));
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
            assert_eq!(err.code, crate::exit::ExitCode::Input, "{bad:?}");
            assert!(err.hint.is_some(), "{bad:?}");
        }
        check_name(&"A".repeat(MAX_NAME)).unwrap();
        check_name(&"A".repeat(MAX_NAME + 1)).unwrap_err();
    }
}

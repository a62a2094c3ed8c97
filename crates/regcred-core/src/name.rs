//! Names of credentials and environments: lower-case DNS labels, like Kubernetes Secret names;
//! a credential name is also never all digits, which would read as a credential id.

/// The longest name (a DNS label).
const NAME_LENGTH_MAX: usize = 63;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was given.
    #[error("{what} is empty")]
    Empty {
        /// What kind of name ("credential name", "environment name").
        what: &'static str,
    },
    /// A character or an end that the DNS-label rule does not allow.
    #[error(
        "invalid {what} {name:?}: use lower-case letters, digits and '-', starting and ending with a letter or digit (at most 63 characters)"
    )]
    Invalid {
        /// What kind of name.
        what: &'static str,
        /// The name as given.
        name: String,
    },
    /// A credential name of digits only: a selector of digits is a credential id, so the
    /// credential could never be selected by this name (and another could be hit instead).
    #[error(
        "invalid {what} {name:?}: a name of digits only would read as a credential id; add a letter or '-' (for example \"cred-{name}\")"
    )]
    AllDigits {
        /// What kind of name.
        what: &'static str,
        /// The name as given.
        name: String,
    },
    /// Longer than 63 characters.
    #[error("invalid {what} {name:?}: {length} characters, at most 63")]
    TooLong {
        /// What kind of name.
        what: &'static str,
        /// The name as given.
        name: String,
        /// Its length.
        length: usize,
    },
}

/// Checks `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters. `what` ("credential name",
/// "environment name") is used in the error message.
///
/// ```
/// use regcred_core::validate_name;
///
/// assert!(validate_name("credential name", "ci-bot-2").is_ok());
/// let err = validate_name("credential name", "Foo").unwrap_err();
/// assert!(err.to_string().starts_with(r#"invalid credential name "Foo": "#));
/// ```
pub fn validate_name(what: &'static str, name: &str) -> Result<(), NameError> {
    let b = name.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Err(NameError::Empty { what });
    };
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(first) || !alnum(last) || !b.iter().all(|&c| alnum(c) || c == b'-') {
        return Err(NameError::Invalid { what, name: name.to_owned() });
    }
    if b.len() > NAME_LENGTH_MAX {
        return Err(NameError::TooLong { what, name: name.to_owned(), length: b.len() });
    }
    Ok(())
}

/// Checks a credential name: [`validate_name`], and not digits only, because wherever a
/// credential is selected (`show 2`, `delete 2`) digits are its id.
///
/// Environment names keep [`validate_name`] alone: an environment is only ever selected by
/// its name, so `2024` is unambiguous there.
///
/// ```
/// use regcred_core::validate_credential_name;
///
/// assert!(validate_credential_name("ci-2").is_ok());
/// let err = validate_credential_name("2").unwrap_err();
/// assert!(err.to_string().contains("would read as a credential id"));
/// ```
pub fn validate_credential_name(name: &str) -> Result<(), NameError> {
    const WHAT: &str = "credential name";
    validate_name(WHAT, name)?;
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::AllDigits { what: WHAT, name: name.to_owned() });
    }
    Ok(())
}

//! What several commands show the same way: a credential (`list`, `show`, `resolve`,
//! `verify`), its status, times, and one JSON value per line.

use comfy_table::Color;
use regcred_core::Status;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::exit::Failure;
use crate::secrets::SecretStoreKind;
use crate::store::Credential;

/// A credential as the user sees it: metadata, status, and the secret only when asked.
pub struct CredentialView<'a> {
    pub credential: &'a Credential,
    pub status: Status,
    pub password: Option<&'a str>,
}

/// A credential object in JSON (PRODUCT.md §4).
#[derive(Serialize)]
pub struct CredentialJson<'a> {
    id: u64,
    name: Option<&'a str>,
    environment: &'a str,
    address: &'a str,
    username: &'a str,
    email: Option<&'a str>,
    status: &'static str,
    added: String,
    updated: String,
    /// Only for a credential added with `--secret-from-env`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_from_env: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

impl<'a> From<&CredentialView<'a>> for CredentialJson<'a> {
    fn from(v: &CredentialView<'a>) -> Self {
        let c = v.credential;
        CredentialJson {
            id: c.id,
            name: c.name.as_deref(),
            environment: &c.environment,
            address: &c.address,
            username: &c.username,
            email: c.email.as_deref(),
            status: status_word(v.status),
            added: rfc3339(c.added),
            updated: rfc3339(c.updated),
            secret_from_env: c.secret_env.as_deref(),
            password: v.password,
        }
    }
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Overridden { .. } => "overridden",
        Status::Inactive => "inactive",
    }
}

/// Green active, yellow overridden, grey inactive.
pub fn status_color(status: Status) -> Option<Color> {
    Some(match status {
        Status::Active => Color::Green,
        Status::Overridden { .. } => Color::Yellow,
        Status::Inactive => Color::DarkGrey,
    })
}

/// `3 (hub-carol)`, or `3`.
pub fn credential_label(c: &Credential) -> String {
    match &c.name {
        Some(name) => format!("{} ({name})", c.id),
        None => c.id.to_string(),
    }
}

/// Where a credential's secret comes from, for `show`.
pub fn secret_words(c: &Credential) -> String {
    match &c.secret_env {
        Some(var) => format!("from the environment variable {var}, read at each use"),
        None => format!("in the {}", secret_store_words(c)),
    }
}

fn secret_store_words(c: &Credential) -> &'static str {
    match c.secret_store {
        SecretStoreKind::Keyring => "OS keyring",
        SecretStoreKind::Keyutils => "kernel keyring (keyutils)",
        SecretStoreKind::Pass => "password store (pass)",
        SecretStoreKind::File => "secrets file (secrets.d/)",
    }
}

pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| time.unix_timestamp().to_string())
}

/// `2026-11-23 15:45`, for tables.
pub fn short_time(time: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}", time.year(), time.month() as u8, time.day(), time.hour(), time.minute())
}

/// One JSON value and a newline. serde_json escapes the C0 controls; this also writes DEL,
/// the C1 controls, bidi controls, zero-width characters and line separators as `\uXXXX`
/// escapes, so JSON on a terminal shows what it holds, and a program still reads the exact
/// value (they can only occur inside strings, and all are in the Basic Multilingual Plane).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    let raw = serde_json::to_string(value)
        .map_err(|e| Failure::operational(format!("cannot write the output as JSON: {e}")))?;
    let mut text = String::with_capacity(raw.len() + 1);
    for c in raw.chars() {
        if regcred_core::unsafe_kind(c).is_some() {
            text.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            text.push(c);
        }
    }
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_could_reorder_a_terminal_and_keeps_the_value() {
        let value = "bob\u{202e}\u{7f}\u{9b}\u{200b}x\u{2028}\n";
        let line = json_line(&serde_json::json!({ "username": value })).unwrap();
        assert_eq!(line, "{\"username\":\"bob\\u202e\\u007f\\u009b\\u200bx\\u2028\\n\"}\n");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["username"], value);
    }
}

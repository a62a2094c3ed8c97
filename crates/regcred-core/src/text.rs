//! Text that came from outside (usernames, e-mails, certificate names, imported values):
//! which characters are refused when stored, and how anything is made safe to print.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// It holds a character that could change what a terminal or a reader sees.
    #[error("the {what} {shown} contains {kind} {code}, which could forge or hide what is printed; remove it")]
    Unsafe {
        /// What the text is ("username", "e-mail").
        what: &'static str,
        /// The text, escaped so that it prints as it is.
        shown: String,
        /// The kind of character ("a control character", "a bidi control", …).
        kind: &'static str,
        /// The character as `U+XXXX`.
        code: String,
    },
}

/// The kind of a character that must not be stored or printed raw, or `None` when it is
/// harmless: control characters (C0, DEL, C1), bidirectional controls, zero-width
/// characters and the Unicode line and paragraph separators.
pub fn unsafe_kind(c: char) -> Option<&'static str> {
    match c {
        c if c.is_control() => Some("a control character"),
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("a bidi control")
        }
        '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' => Some("a zero-width character"),
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        _ => None,
    }
}

/// Refuses text that holds a character [`unsafe_kind`] names. `what` ("username",
/// "e-mail", "credential name") is used in the message.
///
/// ```
/// use regcred_core::check_text;
///
/// assert!(check_text("username", "bob").is_ok());
/// let err = check_text("username", "bob\u{202e}").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"the username "bob\u{202e}" contains a bidi control U+202E, which could forge or hide what is printed; remove it"#
/// );
/// ```
pub fn check_text(what: &'static str, text: &str) -> Result<(), TextError> {
    match text.chars().find_map(|c| unsafe_kind(c).map(|kind| (c, kind))) {
        None => Ok(()),
        Some((c, kind)) => Err(TextError::Unsafe {
            what,
            shown: format!("\"{}\"", escape(text)),
            kind,
            code: format!("U+{:04X}", u32::from(c)),
        }),
    }
}

/// `text` with every character [`unsafe_kind`] names written as an escape (`\n`, `\t`,
/// `\r`, `\x1b`, `\u{202e}`), so printing it cannot move the cursor, start a new line or
/// reorder what follows. Borrowed when there is nothing to escape. A backslash is left as
/// it is (`DOMAIN\user` stays readable), so the escape is for display, not a round trip.
///
/// ```
/// use regcred_core::escape;
///
/// assert_eq!(escape("bob"), "bob");
/// assert_eq!(escape("a\nSHA-256 00\x1b[8m"), r"a\nSHA-256 00\x1b[8m");
/// assert_eq!(escape("x\u{200b}y"), r"x\u{200b}y");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_kind(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if unsafe_kind(c).is_none() => out.push(c),
            c if u32::from(c) < 0x100 => {
                let _ = write!(out, r"\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, r"\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

//! Unsafe characters in stored text, and escaping for display.

use regcred_core::{TextError, check_text, escape, unsafe_kind};

#[test]
fn harmless_text_is_accepted_and_printed_as_is() {
    for text in ["bob", "DOMAIN\\bob", "bob@example.com", "Jürgen", "日本", "a b", ""] {
        assert_eq!(check_text("username", text), Ok(()), "{text:?}");
        assert_eq!(escape(text), text);
    }
}

#[test]
fn every_kind_of_unsafe_character_is_refused_with_its_code() {
    let cases = [
        ("a\nb", "a control character", "U+000A"),
        ("a\tb", "a control character", "U+0009"),
        ("\u{1b}[8m", "a control character", "U+001B"),
        ("a\u{7f}", "a control character", "U+007F"),
        ("a\u{85}", "a control character", "U+0085"),
        ("a\u{202e}b", "a bidi control", "U+202E"),
        ("a\u{2066}b", "a bidi control", "U+2066"),
        ("a\u{200f}", "a bidi control", "U+200F"),
        ("a\u{061c}", "a bidi control", "U+061C"),
        ("a\u{200b}b", "a zero-width character", "U+200B"),
        ("\u{feff}a", "a zero-width character", "U+FEFF"),
        ("a\u{2060}", "a zero-width character", "U+2060"),
        ("a\u{2028}b", "a line or paragraph separator", "U+2028"),
        ("a\u{2029}b", "a line or paragraph separator", "U+2029"),
    ];
    for (text, kind, code) in cases {
        let Err(TextError::Unsafe { what, kind: k, code: c, shown }) = check_text("e-mail", text) else {
            panic!("{text:?} was accepted");
        };
        assert_eq!((what, k, c.as_str()), ("e-mail", kind, code), "{text:?}");
        assert!(!shown.chars().any(|c| unsafe_kind(c).is_some()), "{shown:?} is not escaped");
    }
}

#[test]
fn escaped_text_has_no_unsafe_character_and_keeps_the_rest() {
    assert_eq!(escape("a\r\nb\tc"), r"a\r\nb\tc");
    assert_eq!(escape("CN=x\nSHA-256 AB:CD\x1b[8m"), r"CN=x\nSHA-256 AB:CD\x1b[8m");
    assert_eq!(escape("\u{85}"), r"\x85");
    assert_eq!(escape("bob\u{202e}gpj.exe"), r"bob\u{202e}gpj.exe");
    assert_eq!(escape("ü\u{2028}ü"), r"ü\u{2028}ü");
}

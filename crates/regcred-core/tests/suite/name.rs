//! Credential and environment names: lower-case DNS labels.

use regcred_core::{NameError, validate_name};

#[test]
fn valid_names() {
    let max = "a".repeat(63);
    for name in ["a", "0", "ab", "a-b", "a--b", "ci-bot-2", "123", max.as_str()] {
        assert_eq!(validate_name("credential name", name), Ok(()), "{name:?}");
    }
}

type Check = fn(&NameError) -> bool;

#[test]
fn invalid_names_name_the_input_and_the_rule() {
    let too_long = "a".repeat(64);
    let cases: &[(&str, Check)] = &[
        ("Foo", |e| matches!(e, NameError::Invalid { .. })),
        ("-a", |e| matches!(e, NameError::Invalid { .. })),
        ("a-", |e| matches!(e, NameError::Invalid { .. })),
        ("-", |e| matches!(e, NameError::Invalid { .. })),
        ("a_b", |e| matches!(e, NameError::Invalid { .. })),
        ("a.b", |e| matches!(e, NameError::Invalid { .. })),
        (" a", |e| matches!(e, NameError::Invalid { .. })),
        ("ä", |e| matches!(e, NameError::Invalid { .. })),
        (too_long.as_str(), |e| matches!(e, NameError::TooLong { length: 64, .. })),
    ];
    for &(name, check) in cases {
        let err = validate_name("environment name", name).unwrap_err();
        assert!(check(&err), "{name:?}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("invalid environment name {name:?}")), "{message}");
        assert!(message.contains("63"), "{message}");
    }
}

#[test]
fn exact_messages() {
    assert_eq!(
        validate_name("credential name", "Foo").unwrap_err().to_string(),
        "invalid credential name \"Foo\": use lower-case letters, digits and '-', starting and \
         ending with a letter or digit (at most 63 characters)"
    );
    assert_eq!(validate_name("credential name", "").unwrap_err().to_string(), "credential name is empty");
    assert_eq!(
        validate_name("environment name", &"a".repeat(70)).unwrap_err().to_string(),
        format!("invalid environment name \"{}\": 70 characters, at most 63", "a".repeat(70))
    );
}

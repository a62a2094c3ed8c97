//! Credential and environment names: lower-case DNS labels.

use regcred_core::{NameError, validate_credential_name, validate_name};

#[test]
fn valid_names() {
    let max = "a".repeat(63);
    for name in ["a", "0", "ab", "a-b", "a--b", "ci-bot-2", "123", max.as_str()] {
        assert_eq!(validate_name("environment name", name), Ok(()), "{name:?}");
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

#[test]
fn credential_names_of_digits_only_are_refused_as_they_read_as_ids() {
    let max_digits = "9".repeat(63);
    let rows: &[(&str, bool)] = &[
        ("2", false),
        ("0", false),
        ("007", false),
        ("123", false),
        (max_digits.as_str(), false),
        ("2a", true),
        ("a2", true),
        ("2-3", true),
        ("1-0", true),
        ("cred-2", true),
        ("x", true),
    ];
    for &(name, ok) in rows {
        match validate_credential_name(name) {
            Ok(()) => assert!(ok, "{name:?} should be refused"),
            Err(err) => {
                assert!(!ok, "{name:?} should be accepted: {err}");
                assert_eq!(err, NameError::AllDigits { what: "credential name", name: name.to_owned() });
                assert_eq!(
                    err.to_string(),
                    format!(
                        "invalid credential name {name:?}: a name of digits only would read as a credential id; \
                         add a letter or '-' (for example \"cred-{name}\")"
                    )
                );
            }
        }
    }
}

#[test]
fn credential_names_follow_the_dns_label_rule_first() {
    // The DNS-label rule decides before the digits rule: these name what is wrong with them.
    let long_digits = "1".repeat(64);
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, NameError::Empty { what: "credential name" })),
        ("-1", |e| matches!(e, NameError::Invalid { .. })),
        ("1_2", |e| matches!(e, NameError::Invalid { .. })),
        (long_digits.as_str(), |e| matches!(e, NameError::TooLong { length: 64, .. })),
        ("Foo", |e| matches!(e, NameError::Invalid { what: "credential name", .. })),
    ];
    for &(name, check) in cases {
        let err = validate_credential_name(name).unwrap_err();
        assert!(check(&err), "{name:?}: {err:?}");
    }
}

#[test]
fn environment_names_may_be_digits_only() {
    // An environment is selected only by its name, so digits are unambiguous there.
    for name in ["2", "2024", "007"] {
        assert_eq!(validate_name("environment name", name), Ok(()), "{name:?}");
    }
}

//! Credential scopes: parsing, display and matching at `/` boundaries.

use regcred_core::{AddressError, HostError, PathError, Reference, RegistryAddress, Scope, ScopeError};

#[test]
fn scopes_parse_to_canonical_form() {
    let cases: &[(&str, &str, &str, Option<&str>, usize)] = &[
        ("quay.io/myorg", "quay.io/myorg", "quay.io", Some("myorg"), 1),
        ("quay/myorg", "quay.io/myorg", "quay.io", Some("myorg"), 1),
        ("Quay.IO/myorg", "quay.io/myorg", "quay.io", Some("myorg"), 1),
        ("dockerhub/bob", "docker.io/bob", "docker.io", Some("bob"), 1),
        ("index.docker.io/library", "docker.io/library", "docker.io", Some("library"), 1),
        ("dockerhub", "docker.io", "docker.io", None, 0),
        ("ghcr.io", "ghcr.io", "ghcr.io", None, 0),
        ("ghcr.io/acme/app", "ghcr.io/acme/app", "ghcr.io", Some("acme/app"), 2),
        ("ghcr.io/a/b/c/d", "ghcr.io/a/b/c/d", "ghcr.io", Some("a/b/c/d"), 4),
        ("[fd00::1]:5000/team", "[fd00::1]:5000/team", "[fd00::1]:5000", Some("team"), 1),
        (
            "localhost:5000/a_b/c__d/e---f.g",
            "localhost:5000/a_b/c__d/e---f.g",
            "localhost:5000",
            Some("a_b/c__d/e---f.g"),
            3,
        ),
        // The first component is always the address, even without a dot.
        ("myregistry/team", "myregistry/team", "myregistry", Some("team"), 1),
    ];
    for &(input, display, address, path, specificity) in cases {
        let scope = Scope::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(scope.to_string(), display, "{input:?}");
        assert_eq!(scope.address().as_str(), address, "{input:?}");
        assert_eq!(scope.path(), path, "{input:?}");
        assert_eq!(scope.specificity(), specificity, "{input:?}");
        // Display round-trips through parse.
        assert_eq!(Scope::parse(display).as_ref(), Ok(&scope), "{display:?}");
    }
}

type Check = fn(&ScopeError) -> bool;

#[test]
fn refused_scopes_say_why_and_offer_a_fix() {
    use ScopeError as E;
    let cases: &[(&str, Check, Option<&str>, &str)] = &[
        ("", |e| matches!(e, E::Address(AddressError::Empty)), None, "empty"),
        ("https://quay.io/myorg", |e| matches!(e, E::Scheme { .. }), Some("quay.io/myorg"), "scheme"),
        (
            "https://quay.io/myorg/",
            |e| matches!(e, E::Scheme { .. }),
            Some("quay.io/myorg"),
            "\"https://quay.io/myorg/\"",
        ),
        ("http://Quay.io", |e| matches!(e, E::Scheme { .. }), Some("quay.io"), "scheme"),
        ("https://index.docker.io/v1/", |e| matches!(e, E::Scheme { .. }), Some("docker.io"), "scheme"),
        ("https://ghcr.io/v2/", |e| matches!(e, E::Scheme { .. }), Some("ghcr.io"), "scheme"),
        ("quay.io/myorg/", |e| matches!(e, E::TrailingSlash { .. }), Some("quay.io/myorg"), "\"quay.io/myorg/\""),
        ("quay.io/", |e| matches!(e, E::TrailingSlash { .. }), Some("quay.io"), "'/'"),
        ("index.docker.io/v1/", |e| matches!(e, E::TrailingSlash { .. }), Some("docker.io"), "'/'"),
        (" quay.io/myorg", |e| matches!(e, E::Whitespace { .. }), Some("quay.io/myorg"), "white space"),
        ("quay.io/my org", |e| matches!(e, E::Whitespace { .. }), None, "\"quay.io/my org\""),
        ("quay.io/MyOrg", |e| matches!(e, E::Uppercase { .. }), Some("quay.io/myorg"), "lowercase: \"quay.io/MyOrg\""),
        ("quay.io/My!Org", |e| matches!(e, E::Uppercase { .. }), None, "\"quay.io/My!Org\""),
        ("quay.io//x", |e| matches!(e, E::Path { reason: PathError::EmptyComponent, .. }), None, "\"quay.io//x\""),
        ("quay.io/a..b", |e| matches!(e, E::Path { reason: PathError::Separator { .. }, .. }), None, "\"..\""),
        ("quay.io/-a", |e| matches!(e, E::Path { reason: PathError::Edge { .. }, .. }), None, "\"-a\""),
        ("quay.io/a@b", |e| matches!(e, E::Path { reason: PathError::Character { ch: '@', .. }, .. }), None, "'@'"),
        (
            "host:0/x",
            |e| matches!(e, E::Address(AddressError::Host { reason: HostError::PortRange { .. }, .. })),
            None,
            "port 0",
        ),
        ("a_b.com/x", |e| matches!(e, E::Address(AddressError::Host { .. })), None, "\"a_b\""),
        ("/x", |e| matches!(e, E::Address(AddressError::Empty)), None, "empty"),
    ];
    for &(input, check, suggestion, needle) in cases {
        let err = match Scope::parse(input) {
            Ok(s) => panic!("{input:?} should be refused, parsed as {s}"),
            Err(err) => err,
        };
        assert!(check(&err), "{input:?}: unexpected variant {err:?}");
        assert_eq!(err.suggestion(), suggestion, "{input:?}");
        let message = err.to_string();
        assert!(message.contains(needle), "{input:?}: {message:?} should mention {needle:?}");
    }
}

#[test]
fn the_scope_length_limit_counts_the_path_alone() {
    // As for references (docker 24 and later): 255 characters of path, whatever the address.
    let long_host = format!("{}.example.com", "h".repeat(60));
    for host in ["ghcr.io", "localhost:5000", "[fd00::1]:5000", "dockerhub", long_host.as_str()] {
        for (n, ok) in [(254, true), (255, true), (256, false)] {
            let path = format!("{}/{}", "a".repeat(100), "b".repeat(n - 101));
            let input = format!("{host}/{path}");
            match Scope::parse(&input) {
                Ok(scope) => {
                    assert!(ok, "{input:?} should be refused");
                    assert_eq!(scope.path().map(str::len), Some(n), "{input:?}");
                }
                Err(err) => {
                    assert!(!ok, "{input:?} should parse: {err}");
                    assert_eq!(err, ScopeError::TooLong { length: n }, "{input:?}");
                    assert_eq!(
                        err.to_string(),
                        "registry scope path too long: 256 characters, at most 255 (the registry host does not count)"
                    );
                }
            }
        }
    }
}

#[test]
fn a_scope_at_the_limit_matches_a_reference_at_the_limit() {
    let path = "a".repeat(255);
    let scope = Scope::parse(&format!("example.com/{path}")).unwrap();
    let reference = Reference::parse(&format!("example.com/{path}:1")).unwrap();
    assert!(scope.matches(&reference));
}

#[test]
fn an_uppercase_scope_too_long_in_lower_case_too_offers_no_correction() {
    let long = format!("ghcr.io/A{}", "a".repeat(255));
    let err = Scope::parse(&long).unwrap_err();
    assert!(matches!(err, ScopeError::Uppercase { .. }), "{err:?}");
    assert_eq!(err.suggestion(), None, "the lower-case form is too long, so it is no fix");
    let fits = format!("ghcr.io/A{}", "a".repeat(254));
    let suggestion = Scope::parse(&fits).unwrap_err().suggestion().map(str::to_owned);
    assert_eq!(suggestion, Some(fits.to_lowercase()));
}

#[test]
fn matching_only_at_slash_boundaries() {
    let cases: &[(&str, &str, bool)] = &[
        ("ghcr.io/acme", "ghcr.io/acme/app", true),
        ("ghcr.io/acme", "ghcr.io/acme", true),
        ("ghcr.io/acme", "ghcr.io/acme/x/y:1", true),
        ("ghcr.io/acme", "ghcr.io/acmeco/app", false),
        ("ghcr.io/acme", "ghcr.io/acm/app", false),
        ("ghcr.io/acme", "ghcr.io/ac", false),
        ("ghcr.io/acme", "ghcr.io/acme-x/app", false),
        ("ghcr.io/acme", "ghcr.io/acme.x/app", false),
        ("ghcr.io/acme/app", "ghcr.io/acme/app:1", true),
        ("ghcr.io/acme/app", "ghcr.io/acme/app/sub", true),
        ("ghcr.io/acme/app", "ghcr.io/acme/application", false),
        ("ghcr.io/acme/app", "ghcr.io/acme", false),
        ("ghcr.io", "ghcr.io/anything/at/all", true),
        ("ghcr.io", "quay.io/acme/app", false),
        // Docker Hub, with the normalization of references.
        ("dockerhub", "nginx", true),
        ("dockerhub/library", "nginx", true),
        ("dockerhub/library/nginx", "nginx:1.25", true),
        ("dockerhub/nginx", "nginx", false),
        ("dockerhub/bob", "bob/app", true),
        ("dockerhub/bob", "bobby/app", false),
        ("docker.io", "index.docker.io/bob/app", true),
        ("docker.io", "registry-1.docker.io/bob/app", true),
        ("docker.io", "DOCKER.IO/bob/app", true),
        // Addresses compare in canonical form, ports included.
        ("quay.io", "Quay.IO/org/app", true),
        ("localhost:5000", "localhost:5000/x", true),
        ("localhost:5000", "localhost:5001/x", false),
        ("localhost", "localhost:5000/x", false),
        ("localhost:5000", "localhost:05000/x", true),
        ("[fd00::1]:5000/team", "[FD00::1]:5000/team/app", true),
        // `dockerhub` as a registry in a reference is a host of that name, not Docker Hub.
        ("dockerhub", "DockerHub/bob/app", false),
    ];
    for &(scope, reference, expected) in cases {
        let s = Scope::parse(scope).unwrap();
        let r = Reference::parse(reference).unwrap();
        assert_eq!(s.matches(&r), expected, "{scope} vs {reference}");
    }
}

#[test]
fn covers_compares_paths_only() {
    let scope = Scope::parse("ghcr.io/acme").unwrap();
    assert!(scope.covers("acme"));
    assert!(scope.covers("acme/app"));
    assert!(!scope.covers("acmeco"));
    assert!(!scope.covers("acmeco/app"));
    let whole = Scope::from_address(RegistryAddress::parse("ghcr.io").unwrap());
    assert!(whole.covers("anything"));
    assert_eq!(whole.specificity(), 0);
    assert_eq!(whole, Scope::parse("ghcr.io").unwrap());
}

#[test]
fn scopes_parse_through_from_str() {
    let scope: Scope = "quay/myorg".parse().unwrap();
    assert_eq!(format!("{scope:?}"), "Scope(\"quay.io/myorg\")");
}

#[test]
fn refused_scopes_carry_the_correction_in_their_message() {
    // The exact text a person reads: the corrected scope after "did you mean", or no such
    // tail when there is no correction.
    let cases: &[(&str, &str)] = &[
        (
            "https://quay.io/myorg",
            r#"registry scope must not include a scheme: "https://quay.io/myorg"; did you mean "quay.io/myorg"?"#,
        ),
        ("quay.io/myorg/", r#"registry scope must not end with '/': "quay.io/myorg/"; did you mean "quay.io/myorg"?"#),
        (" quay.io/a", r#"registry scope must not contain white space: " quay.io/a"; did you mean "quay.io/a"?"#),
        ("quay.io/MyOrg", r#"registry scope path must be lowercase: "quay.io/MyOrg"; did you mean "quay.io/myorg"?"#),
        ("quay.io/my org", r#"registry scope must not contain white space: "quay.io/my org""#),
        ("quay.io/My!Org", r#"registry scope path must be lowercase: "quay.io/My!Org""#),
        ("ftp://a b/", r#"registry scope must not contain white space: "ftp://a b/""#),
    ];
    for &(input, message) in cases {
        assert_eq!(Scope::parse(input).unwrap_err().to_string(), message, "{input:?}");
    }
}

#[test]
fn may_have_address_skips_only_text_that_cannot_be_the_address() {
    // (text, address, answer): `true` wherever the text parses to the address (leading
    // zeros in the port, upper case anywhere before the path, aliases), and `false` for
    // text that is already canonical and different, so the filter does skip.
    let cases: &[(&str, &str, bool)] = &[
        ("registry.example.com:5000/team", "registry.example.com:5000", true),
        ("registry.example.com:05000/team", "registry.example.com:5000", true),
        ("registry.example.com:005000", "registry.example.com:5000", true),
        ("[fd00::1]:05000/x", "[fd00::1]:5000", true),
        ("localhost:01", "localhost:1", true),
        ("Registry.example.com:5000", "registry.example.com:5000", true),
        // Only the address part counts: the path is for the parser to judge.
        ("registry.example.com:5000/Team", "registry.example.com:5000", true),
        ("[FD00::1]:5000", "[fd00::1]:5000", true),
        ("[fd00::A]:5000", "[fd00::a]:5000", true),
        ("dockerhub/bob", "docker.io", true),
        ("index.docker.io", "docker.io", true),
        ("registry-1.docker.io/x", "docker.io", true),
        ("quay/org", "quay.io", true),
        ("QUAY:443", "quay:443", true),
        // Skipped: canonical text of another address.
        ("registry.example.com:5001", "registry.example.com:5000", false),
        ("registry.example.com:50000", "registry.example.com:5000", false),
        ("registry.example.com", "registry.example.com:5000", false),
        ("ghcr.io/acme", "quay.io", false),
        ("quay.io:443", "quay.io", false),
        // An alias with a port is a host of that name, not the alias.
        ("quay:443", "quay.io", false),
        ("dockerhub:443/bob", "docker.io", false),
        ("index.docker.io:443", "docker.io", false),
        // A ':0' that is not a leading zero of a port still cannot be skipped safely.
        ("[::0]:5000", "[::]:5000", true),
    ];
    for &(text, address, answer) in cases {
        let address = RegistryAddress::parse(address).unwrap();
        assert_eq!(Scope::may_have_address(text, &address), answer, "{text:?} on {address}");
        if let Ok(scope) = Scope::parse(text)
            && scope.address() == &address
        {
            assert!(answer, "{text:?} parses to {address} and must never be skipped");
        }
    }
}

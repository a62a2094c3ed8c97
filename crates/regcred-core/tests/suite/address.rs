//! Registry addresses: what a user types and what docker sends a credential helper.

use regcred_core::{AddressError, DOCKER_HUB_CONFIG_KEY, HostError, RegistryAddress};

#[test]
fn user_typed_addresses_are_canonical() {
    let cases: &[(&str, &str, &str, Option<u16>)] = &[
        // Docker Hub aliases, in any case.
        ("dockerhub", "docker.io", "docker.io", None),
        ("DockerHub", "docker.io", "docker.io", None),
        ("docker.io", "docker.io", "docker.io", None),
        ("DOCKER.IO", "docker.io", "docker.io", None),
        ("index.docker.io", "docker.io", "docker.io", None),
        ("Index.Docker.IO", "docker.io", "docker.io", None),
        ("registry-1.docker.io", "docker.io", "docker.io", None),
        // Quay.
        ("quay", "quay.io", "quay.io", None),
        ("QUAY", "quay.io", "quay.io", None),
        ("quay.io", "quay.io", "quay.io", None),
        ("Quay.IO", "quay.io", "quay.io", None),
        // Aliases apply to the bare word only; with a port it is a host of that name.
        ("docker.io:443", "docker.io:443", "docker.io", Some(443)),
        ("quay:8080", "quay:8080", "quay", Some(8080)),
        // Custom hosts.
        ("registry.example.com:5000", "registry.example.com:5000", "registry.example.com", Some(5000)),
        ("Registry.Example.COM:5000", "registry.example.com:5000", "registry.example.com", Some(5000)),
        ("registry.example.com", "registry.example.com", "registry.example.com", None),
        ("10.0.0.7:5000", "10.0.0.7:5000", "10.0.0.7", Some(5000)),
        ("10.0.0.7", "10.0.0.7", "10.0.0.7", None),
        ("[fd00::1]:5000", "[fd00::1]:5000", "[fd00::1]", Some(5000)),
        ("[FD00::1]", "[fd00::1]", "[fd00::1]", None),
        ("[::1]:443", "[::1]:443", "[::1]", Some(443)),
        ("localhost:5000", "localhost:5000", "localhost", Some(5000)),
        ("localhost", "localhost", "localhost", None),
        ("myregistry", "myregistry", "myregistry", None),
        // Port boundaries; leading zeros are dropped.
        ("host:1", "host:1", "host", Some(1)),
        ("host:65535", "host:65535", "host", Some(65535)),
        ("host:05000", "host:5000", "host", Some(5000)),
    ];
    for &(input, canonical, host, port) in cases {
        let address = RegistryAddress::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(address.as_str(), canonical, "{input:?}");
        assert_eq!(address.to_string(), canonical, "{input:?}");
        assert_eq!(address.host(), host, "{input:?}");
        assert_eq!(address.port(), port, "{input:?}");
        // Canonical forms are fixed points.
        assert_eq!(RegistryAddress::parse(canonical).as_ref(), Ok(&address), "{canonical:?}");
        assert_eq!(address.is_docker_hub(), canonical == "docker.io");
    }
}

type Check = fn(&AddressError) -> bool;

#[test]
fn refused_addresses_say_why_and_offer_a_fix() {
    use AddressError as E;
    let cases: &[(&str, Check, Option<&str>, &str)] = &[
        ("", |e| matches!(e, E::Empty), None, "empty"),
        (" ", |e| matches!(e, E::Whitespace { .. }), None, "white space"),
        (" quay.io", |e| matches!(e, E::Whitespace { .. }), Some("quay.io"), "\" quay.io\""),
        ("quay.io\n", |e| matches!(e, E::Whitespace { .. }), Some("quay.io"), "quay.io"),
        ("quay .io", |e| matches!(e, E::Whitespace { .. }), None, "\"quay .io\""),
        (
            "https://registry.example.com:5000",
            |e| matches!(e, E::Scheme { .. }),
            Some("registry.example.com:5000"),
            "scheme",
        ),
        ("http://quay.io", |e| matches!(e, E::Scheme { .. }), Some("quay.io"), "\"http://quay.io\""),
        ("HTTPS://Quay.io/", |e| matches!(e, E::Scheme { .. }), Some("quay.io"), "HTTPS://Quay.io/"),
        ("https://index.docker.io/v1/", |e| matches!(e, E::Scheme { .. }), Some("docker.io"), "index.docker.io/v1/"),
        ("https://[fd00::1]:5000", |e| matches!(e, E::Scheme { .. }), Some("[fd00::1]:5000"), "scheme"),
        ("ftp://host", |e| matches!(e, E::Scheme { .. }), Some("host"), "\"ftp://host\""),
        ("https://", |e| matches!(e, E::Scheme { .. }), None, "scheme"),
        ("quay.io/", |e| matches!(e, E::TrailingSlash { .. }), Some("quay.io"), "\"quay.io/\""),
        ("localhost:5000//", |e| matches!(e, E::TrailingSlash { .. }), Some("localhost:5000"), "'/'"),
        ("quay.io/myorg", |e| matches!(e, E::Path { .. }), Some("quay.io"), "\"quay.io/myorg\""),
        (
            "host:0",
            |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. }),
            None,
            "port 0 is out of range (1-65535)",
        ),
        (
            "host:65536",
            |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. }),
            None,
            "port 65536 is out of range",
        ),
        (
            "host:99999999999999999999999",
            |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. }),
            None,
            "99999999999999999999999",
        ),
        ("host:00000", |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. }), None, "00000"),
        (
            "host:abc",
            |e| matches!(e, E::Host { reason: HostError::PortNotNumeric { .. }, .. }),
            None,
            "port \"abc\" is not a number",
        ),
        ("host:-1", |e| matches!(e, E::Host { reason: HostError::PortNotNumeric { .. }, .. }), None, "\"-1\""),
        ("host:+1", |e| matches!(e, E::Host { reason: HostError::PortNotNumeric { .. }, .. }), None, "\"+1\""),
        ("host:", |e| matches!(e, E::Host { reason: HostError::EmptyPort, .. }), None, "\"host:\""),
        ("a:b:c", |e| matches!(e, E::Host { reason: HostError::PortNotNumeric { .. }, .. }), None, "\"b:c\""),
        (":5000", |e| matches!(e, E::Host { reason: HostError::Empty, .. }), None, "\":5000\""),
        (
            "fd00::1",
            |e| matches!(e, E::Host { reason: HostError::UnbracketedIpv6 { .. }, .. }),
            Some("[fd00::1]"),
            "brackets",
        ),
        ("[fd00::1", |e| matches!(e, E::Host { reason: HostError::UnclosedBracket { .. }, .. }), None, "']'"),
        ("[fd00::1%eth0]", |e| matches!(e, E::Host { reason: HostError::Ipv6Zone { .. }, .. }), None, "zone"),
        ("[fd00::1]x", |e| matches!(e, E::Host { reason: HostError::AfterBracket { .. }, .. }), None, "\"x\""),
        ("[]", |e| matches!(e, E::Host { reason: HostError::Ipv6 { .. }, .. }), None, "\"[]\""),
        ("[::ffff:1.2.3.4]", |e| matches!(e, E::Host { reason: HostError::Ipv6 { .. }, .. }), None, "1.2.3.4"),
        ("a_b.com", |e| matches!(e, E::Host { reason: HostError::Label { .. }, .. }), None, "\"a_b\""),
        ("-a.com", |e| matches!(e, E::Host { reason: HostError::Label { .. }, .. }), None, "\"-a\""),
        ("bücher.de", |e| matches!(e, E::Host { reason: HostError::Label { .. }, .. }), None, "\"bücher\""),
        ("a..com", |e| matches!(e, E::Host { reason: HostError::EmptyLabel { .. }, .. }), None, "\"a..com\""),
        ("quay.io.", |e| matches!(e, E::Host { reason: HostError::EmptyLabel { .. }, .. }), None, "\"quay.io.\""),
    ];
    for &(input, check, suggestion, needle) in cases {
        let err = match RegistryAddress::parse(input) {
            Ok(a) => panic!("{input:?} should be refused, parsed as {a}"),
            Err(err) => err,
        };
        assert!(check(&err), "{input:?}: unexpected variant {err:?}");
        assert_eq!(err.suggestion(), suggestion, "{input:?}");
        let message = err.to_string();
        assert!(message.contains(needle), "{input:?}: {message:?} should mention {needle:?}");
        match suggestion {
            Some(s) => assert!(message.ends_with(&format!("; did you mean {s:?}?")), "{message}"),
            None => assert!(!message.contains("did you mean"), "{message}"),
        }
    }
}

#[test]
fn scheme_error_message_carries_the_corrected_address() {
    let err = RegistryAddress::parse("https://registry.example.com:5000").unwrap_err();
    assert_eq!(
        err.to_string(),
        "registry address must not include a scheme: \"https://registry.example.com:5000\"; \
         did you mean \"registry.example.com:5000\"?"
    );
}

#[test]
fn every_server_url_docker_sends_normalizes() {
    let cases: &[(&str, &str)] = &[
        ("https://index.docker.io/v1/", "docker.io"),
        ("https://index.docker.io/v1", "docker.io"),
        ("https://index.docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("https://docker.io", "docker.io"),
        ("https://registry-1.docker.io/v2/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("HTTPS://INDEX.DOCKER.IO/V1/", "docker.io"),
        ("https://registry.example.com:5000", "registry.example.com:5000"),
        ("registry.example.com:5000", "registry.example.com:5000"),
        ("http://registry.example.com:5000/", "registry.example.com:5000"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("REGISTRY.EXAMPLE.COM:5000", "registry.example.com:5000"),
        ("Https://Registry.Example.com:5000/v1/", "registry.example.com:5000"),
        ("registry.example.com:5000\n", "registry.example.com:5000"),
        ("http://host/", "host"),
        ("https://host/v2/", "host"),
        ("host", "host"),
        ("ghcr.io", "ghcr.io"),
        ("https://quay.io", "quay.io"),
        ("localhost:5000", "localhost:5000"),
        ("http://localhost:5000/v2/", "localhost:5000"),
        ("10.0.0.7:5000", "10.0.0.7:5000"),
        ("[fd00::1]:5000", "[fd00::1]:5000"),
        ("https://[FD00::1]:5000/v2/", "[fd00::1]:5000"),
        // Shorthand words are hosts of that name to docker, so they do not fold.
        ("dockerhub", "dockerhub"),
        ("quay", "quay"),
    ];
    for &(url, canonical) in cases {
        let address = RegistryAddress::from_server_url(url).unwrap_or_else(|e| panic!("{url:?} should parse: {e}"));
        assert_eq!(address.as_str(), canonical, "{url:?}");
    }
}

#[test]
fn refused_server_urls() {
    use AddressError as E;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, E::Empty)),
        ("  \n", |e| matches!(e, E::Empty)),
        ("ftp://host", |e| matches!(e, E::UnsupportedScheme { .. })),
        ("https://", |e| matches!(e, E::Host { reason: HostError::Empty, .. })),
        ("https:///v1/", |e| matches!(e, E::Host { reason: HostError::Empty, .. })),
        ("https://host:0", |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. })),
        ("https://host:65536/v2/", |e| matches!(e, E::Host { reason: HostError::PortRange { .. }, .. })),
        ("https://a_b/", |e| matches!(e, E::Host { reason: HostError::Label { .. }, .. })),
    ];
    for &(url, check) in cases {
        let err = RegistryAddress::from_server_url(url).unwrap_err();
        assert!(check(&err), "{url:?}: {err:?}");
        if !url.trim().is_empty() {
            assert!(err.to_string().contains(&format!("{url:?}")), "{url:?}: {err}");
        }
    }
}

#[test]
fn docker_config_keys_round_trip_through_the_helper_protocol() {
    let hub = RegistryAddress::docker_hub();
    assert!(hub.is_docker_hub());
    assert_eq!(hub.docker_config_key(), DOCKER_HUB_CONFIG_KEY);
    assert_eq!(RegistryAddress::from_server_url(hub.docker_config_key()).unwrap(), hub);
    for input in ["quay", "registry.example.com:5000", "[fd00::1]:5000", "localhost"] {
        let address = RegistryAddress::parse(input).unwrap();
        assert_eq!(address.docker_config_key(), address.as_str());
        assert_eq!(RegistryAddress::from_server_url(address.docker_config_key()).unwrap(), address);
    }
}

#[test]
fn addresses_parse_through_from_str() {
    let address: RegistryAddress = "Quay".parse().unwrap();
    assert_eq!(address.as_str(), "quay.io");
    assert_eq!(format!("{address:?}"), "RegistryAddress(\"quay.io\")");
}

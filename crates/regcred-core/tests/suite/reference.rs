//! Image references: cases written from the `distribution/reference` grammar.

use regcred_core::{HostError, PathError, Reference, ReferenceError};

fn hex(n: usize) -> String {
    "0123456789abcdef".chars().cycle().take(n).collect()
}

fn sha256() -> String {
    format!("sha256:{}", hex(64))
}

/// A valid case: input, canonical, registry as docker keeps it, folded address, familiar.
struct Valid {
    input: String,
    canonical: String,
    registry: String,
    address: String,
    familiar: String,
}

fn v(input: &str, canonical: &str, registry: &str, address: &str, familiar: &str) -> Valid {
    Valid {
        input: input.to_owned(),
        canonical: canonical.to_owned(),
        registry: registry.to_owned(),
        address: address.to_owned(),
        familiar: familiar.to_owned(),
    }
}

fn valid_cases() -> Vec<Valid> {
    let d256 = sha256();
    let d384 = format!("sha384:{}", hex(96));
    let d512 = format!("sha512:{}", hex(128));
    let tag128 = format!("a{}", "b".repeat(127));
    let hex64 = hex(64);
    // Paths of exactly 255 characters, with and without an explicit registry (which does
    // not count towards the limit).
    let path255 = "a".repeat(255);
    let path247 = "a".repeat(247); // "library/" is 8 characters
    vec![
        // Docker Hub: default registry, library/ for one component, index.docker.io.
        v("nginx", "docker.io/library/nginx:latest", "docker.io", "docker.io", "nginx:latest"),
        v("nginx:1.25", "docker.io/library/nginx:1.25", "docker.io", "docker.io", "nginx:1.25"),
        v("library/nginx", "docker.io/library/nginx:latest", "docker.io", "docker.io", "nginx:latest"),
        v("docker.io/nginx", "docker.io/library/nginx:latest", "docker.io", "docker.io", "nginx:latest"),
        v("docker.io/library/nginx:1", "docker.io/library/nginx:1", "docker.io", "docker.io", "nginx:1"),
        v("index.docker.io/nginx", "docker.io/library/nginx:latest", "docker.io", "docker.io", "nginx:latest"),
        v("index.docker.io/bob/app:1", "docker.io/bob/app:1", "docker.io", "docker.io", "bob/app:1"),
        v("bob/app", "docker.io/bob/app:latest", "docker.io", "docker.io", "bob/app:latest"),
        v("bob/app:1", "docker.io/bob/app:1", "docker.io", "docker.io", "bob/app:1"),
        v("a/b/c/d/e", "docker.io/a/b/c/d/e:latest", "docker.io", "docker.io", "a/b/c/d/e:latest"),
        v("library/a/b", "docker.io/library/a/b:latest", "docker.io", "docker.io", "library/a/b:latest"),
        v("1/2", "docker.io/1/2:latest", "docker.io", "docker.io", "1/2:latest"),
        // Other Docker Hub spellings are registries to docker; only the address folds.
        v(
            "registry-1.docker.io/bob/app",
            "registry-1.docker.io/bob/app:latest",
            "registry-1.docker.io",
            "docker.io",
            "registry-1.docker.io/bob/app:latest",
        ),
        v(
            "registry-1.docker.io/nginx",
            "registry-1.docker.io/nginx:latest",
            "registry-1.docker.io",
            "docker.io",
            "registry-1.docker.io/nginx:latest",
        ),
        v("DOCKER.IO/nginx", "DOCKER.IO/nginx:latest", "DOCKER.IO", "docker.io", "DOCKER.IO/nginx:latest"),
        // Familiar form keeps docker.io/ where dropping it would create a registry.
        v(
            "docker.io/my.org/app",
            "docker.io/my.org/app:latest",
            "docker.io",
            "docker.io",
            "docker.io/my.org/app:latest",
        ),
        v(
            "docker.io/localhost/app",
            "docker.io/localhost/app:latest",
            "docker.io",
            "docker.io",
            "docker.io/localhost/app:latest",
        ),
        v("docker.io/library/my.app", "docker.io/library/my.app:latest", "docker.io", "docker.io", "my.app:latest"),
        // localhost, with and without a port; without '/' it is a Docker Hub name.
        v("localhost/app", "localhost/app:latest", "localhost", "localhost", "localhost/app:latest"),
        v(
            "localhost:5000/app",
            "localhost:5000/app:latest",
            "localhost:5000",
            "localhost:5000",
            "localhost:5000/app:latest",
        ),
        v(
            "localhost:5000/app:v2",
            "localhost:5000/app:v2",
            "localhost:5000",
            "localhost:5000",
            "localhost:5000/app:v2",
        ),
        v("localhost:5000", "docker.io/library/localhost:5000", "docker.io", "docker.io", "localhost:5000"),
        v("localhost", "docker.io/library/localhost:latest", "docker.io", "docker.io", "localhost:latest"),
        v("foo.com", "docker.io/library/foo.com:latest", "docker.io", "docker.io", "foo.com:latest"),
        v("foo.com:5000", "docker.io/library/foo.com:5000", "docker.io", "docker.io", "foo.com:5000"),
        // Domain detection: '.', ':', localhost or an upper-case letter.
        v("quay.io/org/app:v1", "quay.io/org/app:v1", "quay.io", "quay.io", "quay.io/org/app:v1"),
        v("ghcr.io/acme/team/app:2.0", "ghcr.io/acme/team/app:2.0", "ghcr.io", "ghcr.io", "ghcr.io/acme/team/app:2.0"),
        v(
            "Registry.Example.COM/app",
            "Registry.Example.COM/app:latest",
            "Registry.Example.COM",
            "registry.example.com",
            "Registry.Example.COM/app:latest",
        ),
        v("Foo/bar", "Foo/bar:latest", "Foo", "foo", "Foo/bar:latest"),
        v("Docker/docker", "Docker/docker:latest", "Docker", "docker", "Docker/docker:latest"),
        v("a.b.c/x", "a.b.c/x:latest", "a.b.c", "a.b.c", "a.b.c/x:latest"),
        v("a-b.example/x", "a-b.example/x:latest", "a-b.example", "a-b.example", "a-b.example/x:latest"),
        v(
            "xn--bcher-kva.example/app",
            "xn--bcher-kva.example/app:latest",
            "xn--bcher-kva.example",
            "xn--bcher-kva.example",
            "xn--bcher-kva.example/app:latest",
        ),
        v(
            "my-registry.example.com:65535/app",
            "my-registry.example.com:65535/app:latest",
            "my-registry.example.com:65535",
            "my-registry.example.com:65535",
            "my-registry.example.com:65535/app:latest",
        ),
        v("host:1/app", "host:1/app:latest", "host:1", "host:1", "host:1/app:latest"),
        v("host:05000/app", "host:05000/app:latest", "host:05000", "host:5000", "host:05000/app:latest"),
        // IPv4 and IPv6.
        v("10.0.0.7/app", "10.0.0.7/app:latest", "10.0.0.7", "10.0.0.7", "10.0.0.7/app:latest"),
        v(
            "10.0.0.7:5000/app",
            "10.0.0.7:5000/app:latest",
            "10.0.0.7:5000",
            "10.0.0.7:5000",
            "10.0.0.7:5000/app:latest",
        ),
        v(
            "[fd00::1]:5000/app",
            "[fd00::1]:5000/app:latest",
            "[fd00::1]:5000",
            "[fd00::1]:5000",
            "[fd00::1]:5000/app:latest",
        ),
        v("[FD00::1]/app", "[FD00::1]/app:latest", "[FD00::1]", "[fd00::1]", "[FD00::1]/app:latest"),
        v("[::1]:5000/a/b:tag", "[::1]:5000/a/b:tag", "[::1]:5000", "[::1]:5000", "[::1]:5000/a/b:tag"),
        v(
            "[2001:db8:0:0:0:0:0:1]/x",
            "[2001:db8:0:0:0:0:0:1]/x:latest",
            "[2001:db8:0:0:0:0:0:1]",
            "[2001:db8:0:0:0:0:0:1]",
            "[2001:db8:0:0:0:0:0:1]/x:latest",
        ),
        // Separators: '.', '_', '__', one or more '-'.
        v("foo__bar", "docker.io/library/foo__bar:latest", "docker.io", "docker.io", "foo__bar:latest"),
        v("foo---bar", "docker.io/library/foo---bar:latest", "docker.io", "docker.io", "foo---bar:latest"),
        v(
            "foo-bar_baz.qux",
            "docker.io/library/foo-bar_baz.qux:latest",
            "docker.io",
            "docker.io",
            "foo-bar_baz.qux:latest",
        ),
        v(
            "example.com/a_b/c__d/e---f:t",
            "example.com/a_b/c__d/e---f:t",
            "example.com",
            "example.com",
            "example.com/a_b/c__d/e---f:t",
        ),
        v("a_b/c", "docker.io/a_b/c:latest", "docker.io", "docker.io", "a_b/c:latest"),
        // Tags.
        v("nginx:_x", "docker.io/library/nginx:_x", "docker.io", "docker.io", "nginx:_x"),
        v("nginx:V1.0-RC_1", "docker.io/library/nginx:V1.0-RC_1", "docker.io", "docker.io", "nginx:V1.0-RC_1"),
        v("nginx:1", "docker.io/library/nginx:1", "docker.io", "docker.io", "nginx:1"),
        v(
            &format!("nginx:{tag128}"),
            &format!("docker.io/library/nginx:{tag128}"),
            "docker.io",
            "docker.io",
            &format!("nginx:{tag128}"),
        ),
        // Digests; a tag next to a digest is dropped.
        v(
            &format!("nginx@{d256}"),
            &format!("docker.io/library/nginx@{d256}"),
            "docker.io",
            "docker.io",
            &format!("nginx@{d256}"),
        ),
        v(
            &format!("nginx:1.25@{d256}"),
            &format!("docker.io/library/nginx@{d256}"),
            "docker.io",
            "docker.io",
            &format!("nginx@{d256}"),
        ),
        v(
            &format!("nginx@{d384}"),
            &format!("docker.io/library/nginx@{d384}"),
            "docker.io",
            "docker.io",
            &format!("nginx@{d384}"),
        ),
        v(
            &format!("nginx@{d512}"),
            &format!("docker.io/library/nginx@{d512}"),
            "docker.io",
            "docker.io",
            &format!("nginx@{d512}"),
        ),
        v(
            &format!("host:5000/app:1@{d256}"),
            &format!("host:5000/app@{d256}"),
            "host:5000",
            "host:5000",
            &format!("host:5000/app@{d256}"),
        ),
        // 64-hex strings are refused only as the whole input.
        v(
            &format!("{hex64}:v1"),
            &format!("docker.io/library/{hex64}:v1"),
            "docker.io",
            "docker.io",
            &format!("{hex64}:v1"),
        ),
        v(
            &format!("bob/{hex64}"),
            &format!("docker.io/bob/{hex64}:latest"),
            "docker.io",
            "docker.io",
            &format!("bob/{hex64}:latest"),
        ),
        v(
            &hex(63),
            &format!("docker.io/library/{}:latest", hex(63)),
            "docker.io",
            "docker.io",
            &format!("{}:latest", hex(63)),
        ),
        // Exactly 255 characters of path.
        v(
            &format!("example.com/{path255}"),
            &format!("example.com/{path255}:latest"),
            "example.com",
            "example.com",
            &format!("example.com/{path255}:latest"),
        ),
        v(
            &path247,
            &format!("docker.io/library/{path247}:latest"),
            "docker.io",
            "docker.io",
            &format!("{path247}:latest"),
        ),
    ]
}

#[test]
fn valid_references_normalize_like_docker() {
    let cases = valid_cases();
    assert!(cases.len() >= 60, "{} valid cases", cases.len());
    for case in &cases {
        let r = Reference::parse(&case.input).unwrap_or_else(|e| panic!("{:?} should parse: {e}", case.input));
        assert_eq!(r.canonical(), case.canonical, "canonical of {:?}", case.input);
        assert_eq!(r.to_string(), case.canonical, "display of {:?}", case.input);
        assert_eq!(r.as_str(), case.canonical, "as_str of {:?}", case.input);
        assert_eq!(r.registry(), case.registry, "registry of {:?}", case.input);
        assert_eq!(r.registry_address().as_str(), case.address, "address of {:?}", case.input);
        assert_eq!(r.familiar(), case.familiar, "familiar of {:?}", case.input);
        // The parts add up to the canonical form.
        let suffix = match (r.tag(), r.digest()) {
            (Some(tag), None) => format!(":{tag}"),
            (None, Some(digest)) => format!("@{digest}"),
            other => panic!("{:?}: exactly one of tag and digest, got {other:?}", case.input),
        };
        assert_eq!(r.name(), format!("{}/{}", r.registry(), r.repository()));
        assert_eq!(format!("{}{suffix}", r.name()), case.canonical);
        // Both forms parse back to the same reference.
        assert_eq!(Reference::parse(&case.canonical).as_ref(), Ok(&r), "{:?}", case.canonical);
        assert_eq!(Reference::parse(&case.familiar).as_ref(), Ok(&r), "{:?}", case.familiar);
    }
}

/// Input, registry, repository, tag, digest.
type Parts = (String, &'static str, &'static str, Option<&'static str>, Option<String>);

#[test]
fn parts_of_references() {
    let d = sha256();
    let cases: Vec<Parts> = vec![
        ("nginx".into(), "docker.io", "library/nginx", Some("latest"), None),
        ("bob/app:1".into(), "docker.io", "bob/app", Some("1"), None),
        (format!("nginx@{d}"), "docker.io", "library/nginx", None, Some(d.clone())),
        (format!("quay.io/org/app:v1@{d}"), "quay.io", "org/app", None, Some(d.clone())),
        ("localhost:5000".into(), "docker.io", "library/localhost", Some("5000"), None),
        ("[fd00::1]:5000/team/app:x".into(), "[fd00::1]:5000", "team/app", Some("x"), None),
    ];
    for (input, registry, repository, tag, digest) in cases {
        let r = Reference::parse(&input).unwrap();
        assert_eq!(r.registry(), registry, "{input}");
        assert_eq!(r.repository(), repository, "{input}");
        assert_eq!(r.tag(), tag, "{input}");
        assert_eq!(r.digest(), digest.as_deref(), "{input}");
    }
}

type Check = fn(&ReferenceError) -> bool;

/// An invalid case: input, expected variant, text the message must contain.
fn invalid_cases() -> Vec<(String, Check, String)> {
    use ReferenceError as E;
    let d = |algo: &str, n: usize| format!("{algo}:{}", hex(n));
    let name256 = format!("example.com/{}", "a".repeat(256));
    let hub256 = "a".repeat(248);
    let tag129 = format!("a{}", "b".repeat(128));
    let mut cases: Vec<(String, Check, String)> = vec![
        (String::new(), |e| matches!(e, E::Empty), "empty".into()),
        (hex(64), |e| matches!(e, E::HexName { .. }), hex(64)),
        // Upper case in the path (not in the registry).
        ("Nginx".into(), |e| matches!(e, E::Uppercase { .. }), "\"Nginx\"".into()),
        (
            "docker/Docker".into(),
            |e| matches!(e, E::Uppercase { .. }),
            "repository name must be lowercase: \"docker/Docker\"".into(),
        ),
        ("example.com/Foo".into(), |e| matches!(e, E::Uppercase { .. }), "\"Foo\"".into()),
        ("UPPER.example.com/App".into(), |e| matches!(e, E::Uppercase { .. }), "\"App\"".into()),
        (hex(64).to_uppercase(), |e| matches!(e, E::Uppercase { .. }), hex(64).to_uppercase()),
        // Tags.
        ("nginx:".into(), |e| matches!(e, E::Tag { .. }), "invalid tag \"\"".into()),
        ("nginx:-x".into(), |e| matches!(e, E::Tag { .. }), "\"-x\"".into()),
        ("nginx:.x".into(), |e| matches!(e, E::Tag { .. }), "\".x\"".into()),
        ("nginx:a+b".into(), |e| matches!(e, E::Tag { .. }), "\"a+b\"".into()),
        (
            format!("nginx:{tag129}"),
            |e| matches!(e, E::TagTooLong { length: 129, .. }),
            "129 characters, at most 128".into(),
        ),
        // Digests.
        ("nginx@".into(), |e| matches!(e, E::DigestFormat { .. }), "invalid digest \"\"".into()),
        ("nginx@sha256".into(), |e| matches!(e, E::DigestFormat { .. }), "\"sha256\"".into()),
        (format!("nginx@:{}", hex(64)), |e| matches!(e, E::DigestFormat { .. }), "ALGORITHM:HEX".into()),
        (
            format!("nginx@{}", d("md5", 32)),
            |e| matches!(e, E::DigestAlgorithm { .. }),
            "unsupported algorithm \"md5\"".into(),
        ),
        (format!("nginx@{}", d("SHA256", 64)), |e| matches!(e, E::DigestAlgorithm { .. }), "\"SHA256\"".into()),
        (
            format!("nginx@{}", d("sha256", 63)),
            |e| matches!(e, E::DigestLength { expected: 64, found: 63, .. }),
            "sha256 needs 64 hex digits, got 63".into(),
        ),
        (
            format!("nginx@{}", d("sha256", 65)),
            |e| matches!(e, E::DigestLength { expected: 64, found: 65, .. }),
            "sha256 needs 64 hex digits".into(),
        ),
        (
            format!("nginx@{}", d("sha384", 64)),
            |e| matches!(e, E::DigestLength { expected: 96, .. }),
            "sha384 needs 96 hex digits, got 64".into(),
        ),
        (
            format!("nginx@{}", d("sha512", 127)),
            |e| matches!(e, E::DigestLength { expected: 128, .. }),
            "sha512 needs 128 hex digits, got 127".into(),
        ),
        (
            format!("nginx@sha256:{}", hex(64).to_uppercase()),
            |e| matches!(e, E::DigestHex { .. }),
            "lower-case hexadecimal".into(),
        ),
        (format!("nginx@sha256:{}@x", hex(64)), |e| matches!(e, E::DigestHex { .. }), "@x".into()),
        // The 255-character limit counts the normalized path (with `library/`).
        (
            name256,
            |e| matches!(e, E::NameTooLong { length: 256 }),
            "repository name too long: 256 characters, at most 255 (the registry host does not count)".into(),
        ),
        (hub256, |e| matches!(e, E::NameTooLong { length: 256 }), "256 characters".into()),
        // Path components.
        ("a..b".into(), |e| matches!(e, E::Repository { reason: PathError::Separator { .. }, .. }), "\"..\"".into()),
        ("a___b".into(), |e| matches!(e, E::Repository { reason: PathError::Separator { .. }, .. }), "\"___\"".into()),
        ("a_-b".into(), |e| matches!(e, E::Repository { reason: PathError::Separator { .. }, .. }), "\"_-\"".into()),
        ("a.-b".into(), |e| matches!(e, E::Repository { reason: PathError::Separator { .. }, .. }), "\"a.-b\"".into()),
        ("-a".into(), |e| matches!(e, E::Repository { reason: PathError::Edge { .. }, .. }), "\"-a\"".into()),
        ("a-".into(), |e| matches!(e, E::Repository { reason: PathError::Edge { .. }, .. }), "\"a-\"".into()),
        (".a".into(), |e| matches!(e, E::Repository { reason: PathError::Edge { .. }, .. }), "\".a\"".into()),
        ("bob/_a".into(), |e| matches!(e, E::Repository { reason: PathError::Edge { .. }, .. }), "\"_a\"".into()),
        ("a//b".into(), |e| matches!(e, E::Repository { reason: PathError::EmptyComponent, .. }), "\"a//b\"".into()),
        ("a/".into(), |e| matches!(e, E::Repository { reason: PathError::EmptyComponent, .. }), "\"a/\"".into()),
        ("/a".into(), |e| matches!(e, E::Repository { reason: PathError::EmptyComponent, .. }), "\"/a\"".into()),
        (
            "ngi!nx".into(),
            |e| matches!(e, E::Repository { reason: PathError::Character { ch: '!', .. }, .. }),
            "'!'".into(),
        ),
        (
            "ngïnx".into(),
            |e| matches!(e, E::Repository { reason: PathError::Character { ch: 'ï', .. }, .. }),
            "'ï'".into(),
        ),
        (
            "a/b c".into(),
            |e| matches!(e, E::Repository { reason: PathError::Character { ch: ' ', .. }, .. }),
            "\"b c\"".into(),
        ),
        (
            "nginx:1.0:2".into(),
            |e| matches!(e, E::Repository { reason: PathError::Character { ch: ':', .. }, .. }),
            "\"nginx:1.0\"".into(),
        ),
        // No repository at all.
        ("example.com/".into(), |e| matches!(e, E::MissingRepository { .. }), "\"example.com/\"".into()),
        (":tag".into(), |e| matches!(e, E::MissingRepository { .. }), "\":tag\"".into()),
        (format!("@{}", sha256()), |e| matches!(e, E::MissingRepository { .. }), "no repository name".into()),
        ("[::1]".into(), |e| matches!(e, E::MissingRepository { .. }), "\"[::1]\"".into()),
        ("[::1]:5000".into(), |e| matches!(e, E::MissingRepository { .. }), "\"[::1]:5000\"".into()),
        // Registry hosts.
        ("a_b.com/x".into(), |e| matches!(e, E::Registry { reason: HostError::Label { .. }, .. }), "\"a_b\"".into()),
        (
            "-example.com/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Label { .. }, .. }),
            "\"-example\"".into(),
        ),
        (
            "example-.com/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Label { .. }, .. }),
            "\"example-\"".into(),
        ),
        (
            "héllo.com/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Label { .. }, .. }),
            "\"héllo\"".into(),
        ),
        (
            "example..com/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::EmptyLabel { .. }, .. }),
            "\"example..com\"".into(),
        ),
        (
            ".example.com/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::EmptyLabel { .. }, .. }),
            "\".example.com\"".into(),
        ),
        (":5000/app".into(), |e| matches!(e, E::Registry { reason: HostError::Empty, .. }), "\":5000\"".into()),
        (
            "localhost:0/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::PortRange { .. }, .. }),
            "port 0 is out of range".into(),
        ),
        (
            "localhost:65536/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::PortRange { .. }, .. }),
            "65536".into(),
        ),
        (
            "localhost:abc/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::PortNotNumeric { .. }, .. }),
            "\"abc\"".into(),
        ),
        (
            "localhost:/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::EmptyPort, .. }),
            "\"localhost:\"".into(),
        ),
        (
            "[fd00::1/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::UnclosedBracket { .. }, .. }),
            "\"[fd00::1\"".into(),
        ),
        (
            "[fd00::1%eth0]:5000/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Ipv6Zone { .. }, .. }),
            "zone".into(),
        ),
        ("[zz::1]/x".into(), |e| matches!(e, E::Registry { reason: HostError::Ipv6 { .. }, .. }), "\"[zz::1]\"".into()),
        (
            "[::1::2]/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Ipv6 { .. }, .. }),
            "\"[::1::2]\"".into(),
        ),
        (
            "[::ffff:1.2.3.4]/x".into(),
            |e| matches!(e, E::Registry { reason: HostError::Ipv6 { .. }, .. }),
            "1.2.3.4".into(),
        ),
        (
            "[::1]x/app".into(),
            |e| matches!(e, E::Registry { reason: HostError::AfterBracket { .. }, .. }),
            "\"x\"".into(),
        ),
        (
            "fd00::1/app".into(),
            |e| matches!(e, E::Registry { reason: HostError::UnbracketedIpv6 { .. }, .. }),
            "brackets".into(),
        ),
    ];
    // Upper case makes a first component a registry, which must then be a valid host.
    cases.push(("Foo_bar/x".into(), |e| matches!(e, E::Registry { .. }), "\"Foo_bar\"".into()));
    cases
}

#[test]
fn invalid_references_say_what_and_why() {
    let cases = invalid_cases();
    assert!(cases.len() >= 60, "{} invalid cases", cases.len());
    for (input, check, needle) in &cases {
        let err = match Reference::parse(input) {
            Ok(r) => panic!("{input:?} should be refused, parsed as {r}"),
            Err(err) => err,
        };
        assert!(check(&err), "{input:?}: unexpected variant {err:?}");
        let message = err.to_string();
        assert!(message.contains(needle.as_str()), "{input:?}: {message:?} should mention {needle:?}");
        assert_ne!(message, "invalid", "{input:?}");
    }
}

#[test]
fn tag_is_dropped_when_a_digest_is_given() {
    let d = sha256();
    let r = Reference::parse(&format!("nginx:1.25@{d}")).unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), Some(d.as_str()));
    // Same reference as without the tag.
    assert_eq!(r, Reference::parse(&format!("nginx@{d}")).unwrap());
    // The dropped tag is still validated, as docker does.
    assert!(matches!(Reference::parse(&format!("nginx:-bad@{d}")), Err(ReferenceError::Tag { .. })));
}

#[test]
fn tag_length_boundary() {
    let ok = format!("nginx:{}", "t".repeat(128));
    assert_eq!(Reference::parse(&ok).unwrap().tag().map(str::len), Some(128));
    let too_long = format!("nginx:{}", "t".repeat(129));
    assert!(matches!(Reference::parse(&too_long), Err(ReferenceError::TagTooLong { length: 129, .. })));
}

/// A path of `n` characters made of `parts` components (`a…/a…/…`), for length tables.
fn path_of(n: usize, parts: usize) -> String {
    let mut path = String::with_capacity(n);
    for i in 0..parts {
        if i > 0 {
            path.push('/');
        }
        // The last component takes what is left.
        let left = n - path.len();
        let take = if i + 1 == parts { left } else { (left - (parts - 1 - i) * 2) / (parts - i) };
        path.push_str(&"a".repeat(take));
    }
    assert_eq!(path.len(), n);
    path
}

#[test]
fn the_length_limit_counts_the_repository_path_alone() {
    // docker 24 and later (distribution/reference v0.6): at most 255 characters of path,
    // whatever the registry host in front of it; Docker Hub's `library/` counts.
    let long_host = format!("{}.example.com", "h".repeat(60));
    let rows: Vec<(String, usize, bool)> = [254, 255, 256]
        .into_iter()
        .flat_map(|n| {
            let ok = n <= 255;
            vec![
                (format!("example.com/{}:tag", path_of(n, 1)), n, ok),
                (format!("example.com:5000/{}", path_of(n, 3)), n, ok),
                (format!("{long_host}/{}", path_of(n, 2)), n, ok),
                (format!("[fd00::1]:5000/{}@{}", path_of(n, 2), sha256()), n, ok),
                // Docker Hub without a host: `a/a/…/a:tag`, and one component under `library/`.
                (format!("{}:tag", path_of(n, 4)), n, ok),
                (format!("docker.io/{}", path_of(n, 2)), n, ok),
                (path_of(n - 8, 1), n, ok),
                (format!("docker.io/{}", path_of(n - 8, 1)), n, ok),
            ]
        })
        .collect();
    for (input, length, ok) in rows {
        match Reference::parse(&input) {
            Ok(r) => {
                assert!(ok, "{input:?} ({length} characters of path) should be refused");
                assert_eq!(r.repository().len(), length, "{input:?}");
            }
            Err(err) => {
                assert!(!ok, "{input:?} ({length} characters of path) should parse: {err}");
                assert_eq!(err, ReferenceError::NameTooLong { length }, "{input:?}");
                assert!(err.to_string().contains(&format!("{length} characters, at most 255")), "{err}");
            }
        }
    }
}

#[test]
fn debug_shows_the_canonical_form() {
    let r: Reference = "nginx".parse().unwrap();
    assert_eq!(format!("{r:?}"), "Reference(\"docker.io/library/nginx:latest\")");
}

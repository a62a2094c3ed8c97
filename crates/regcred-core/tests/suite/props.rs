//! Property tests: round trips, idempotent normalization, selection invariants, and that no
//! input makes a parser panic.

use proptest::prelude::*;
use regcred_core::{
    Candidate, Reference, RegistryAddress, Scope, Verdict, select, select_chosen, statuses, validate_name,
};

// ---------------------------------------------------------------------------------------
// Generating valid references from the grammar.

/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`
fn domain_label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?"
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop::option::of(1u16..=65535)
}

/// A registry that the domain detection recognizes: dotted names, localhost, IPv4, IPv6,
/// each with an optional port; also the Docker Hub spellings.
fn registry() -> impl Strategy<Value = String> {
    let with_port = |host: String, port: Option<u16>| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    prop_oneof![
        (prop::collection::vec(domain_label(), 2..4), port())
            .prop_map(move |(labels, port)| with_port(labels.join("."), port)),
        port().prop_map(move |port| with_port("localhost".into(), port)),
        (any::<[u8; 4]>(), port())
            .prop_map(move |(ip, port)| { with_port(format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]), port) }),
        (any::<[u16; 8]>(), any::<bool>(), port()).prop_map(move |(segments, upper, port)| {
            let text = segments.iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":");
            let text = if upper { text.to_uppercase() } else { text };
            with_port(format!("[{text}]"), port)
        }),
        Just("[fd00::1]:5000".to_owned()),
        Just("docker.io".to_owned()),
        Just("index.docker.io".to_owned()),
        Just("registry-1.docker.io".to_owned()),
        (domain_label(), port()).prop_map(move |(label, port)| {
            // Upper case makes a dotless first component a registry.
            with_port(format!("X{label}"), port)
        }),
    ]
}

/// `[a-z0-9]+ (separator [a-z0-9]+)*` with separators `.`, `_`, `__`, `-+`.
fn path_component() -> impl Strategy<Value = String> {
    let separator = prop::sample::select(vec![".", "_", "__", "-", "--", "---"]);
    ("[a-z0-9]{1,6}", prop::collection::vec((separator, "[a-z0-9]{1,6}"), 0..3)).prop_map(|(first, rest)| {
        let mut component = first;
        for (separator, alnum) in rest {
            component.push_str(separator);
            component.push_str(&alnum);
        }
        component
    })
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

fn digest() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|hex| format!("sha256:{hex}")),
        "[0-9a-f]{96}".prop_map(|hex| format!("sha384:{hex}")),
        "[0-9a-f]{128}".prop_map(|hex| format!("sha512:{hex}")),
    ]
}

/// A valid reference string and what it must normalize to.
#[derive(Debug, Clone)]
struct Generated {
    input: String,
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

fn generated_reference() -> impl Strategy<Value = Generated> {
    (
        prop::option::of(registry()),
        prop::collection::vec(path_component(), 1..5),
        prop::option::of(tag()),
        prop::option::of(digest()),
    )
        .prop_map(|(registry, mut path, tag, digest)| {
            let mut input = String::new();
            if let Some(registry) = &registry {
                input.push_str(registry);
                input.push('/');
            } else if path.len() > 1 && path[0].contains('.') {
                // Without a registry a dotted first component would be read as one.
                path[0] = path[0].replace('.', "-");
            }
            let path = path.join("/");
            input.push_str(&path);
            if let Some(tag) = &tag {
                input.push(':');
                input.push_str(tag);
            }
            if let Some(digest) = &digest {
                input.push('@');
                input.push_str(digest);
            }
            let registry = match registry.as_deref() {
                None | Some("index.docker.io") => "docker.io".to_owned(),
                Some(other) => other.to_owned(),
            };
            let repository =
                if registry == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path };
            let tag = match (&digest, tag) {
                (Some(_), _) => None,
                (None, Some(tag)) => Some(tag),
                (None, None) => Some("latest".to_owned()),
            };
            Generated { input, registry, repository, tag, digest }
        })
        .prop_filter("path within 255 characters", |g| g.repository.len() <= 255)
}

proptest! {
    #[test]
    fn generated_references_parse_to_their_parts(g in generated_reference()) {
        let r = Reference::parse(&g.input).map_err(|e| TestCaseError::fail(format!("{:?}: {e}", g.input)))?;
        prop_assert_eq!(r.registry(), g.registry.as_str());
        prop_assert_eq!(r.repository(), g.repository.as_str());
        prop_assert_eq!(r.tag(), g.tag.as_deref());
        prop_assert_eq!(r.digest(), g.digest.as_deref());
        let address = RegistryAddress::parse(r.registry()).unwrap();
        prop_assert_eq!(r.registry_address(), &address);
    }

    #[test]
    fn display_parse_round_trip(g in generated_reference()) {
        let r = Reference::parse(&g.input).unwrap();
        let again = Reference::parse(&r.to_string()).unwrap();
        prop_assert_eq!(&again, &r);
        prop_assert_eq!(r.to_string(), r.canonical());
    }

    #[test]
    fn normalization_is_idempotent(g in generated_reference()) {
        let r = Reference::parse(&g.input).unwrap();
        let canonical = r.canonical();
        prop_assert_eq!(Reference::parse(&canonical).unwrap().canonical(), canonical.clone());
        let familiar = r.familiar();
        let from_familiar = Reference::parse(&familiar).unwrap();
        prop_assert_eq!(from_familiar.canonical(), canonical);
        prop_assert_eq!(from_familiar.familiar(), familiar);
    }

    #[test]
    fn addresses_are_fixed_points(registry in registry()) {
        let address = RegistryAddress::parse(&registry).unwrap();
        prop_assert_eq!(RegistryAddress::parse(address.as_str()).unwrap(), address.clone());
        prop_assert_eq!(RegistryAddress::from_server_url(address.docker_config_key()).unwrap(), address.clone());
        prop_assert_eq!(RegistryAddress::from_server_url(&format!("https://{registry}/v2/")).unwrap(), address.clone());
        let rebuilt = match address.port() {
            Some(port) => format!("{}:{port}", address.host()),
            None => address.host().to_owned(),
        };
        prop_assert_eq!(rebuilt, address.as_str());
    }

    #[test]
    fn scope_display_parse_round_trip(
        registry in registry(),
        path in prop::collection::vec(path_component(), 0..4),
    ) {
        let input = if path.is_empty() { registry } else { format!("{registry}/{}", path.join("/")) };
        let scope = Scope::parse(&input).unwrap();
        prop_assert_eq!(scope.specificity(), path.len());
        prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
    }

    #[test]
    fn a_scope_never_matches_across_a_partial_component(
        registry in registry(),
        prefix in path_component(),
        extra in "[a-z0-9]{1,4}|[._-][a-z0-9]{1,4}",
        rest in prop::collection::vec(path_component(), 0..3),
    ) {
        let scope = Scope::parse(&format!("{registry}/{prefix}")).unwrap();
        let mut repository = format!("{prefix}{extra}");
        for component in &rest {
            repository.push('/');
            repository.push_str(component);
        }
        let reference = Reference::parse(&format!("{registry}/{repository}")).unwrap();
        prop_assert!(!scope.matches(&reference), "{} matched {}", scope, reference);
        // …while at the boundary it does.
        let inside = Reference::parse(&format!("{registry}/{prefix}/{repository}")).unwrap();
        prop_assert!(scope.matches(&inside));
    }
}

// ---------------------------------------------------------------------------------------
// Selection invariants over a small pool where scopes overlap and partially overlap.

const SCOPES: &[&str] = &[
    "ghcr.io",
    "ghcr.io/acme",
    "ghcr.io/acmeco",
    "ghcr.io/acme/app",
    "ghcr.io/acme/app/sub",
    "quay.io",
    "quay.io/acme",
    "dockerhub",
    "dockerhub/library",
    "dockerhub/bob",
    "localhost:5000",
    "localhost:5000/acme",
];

const REFERENCES: &[&str] = &[
    "ghcr.io/acme/app",
    "ghcr.io/acme/app/sub/x",
    "ghcr.io/acmeco/app",
    "ghcr.io/acme",
    "ghcr.io/other/x",
    "quay.io/acme/x",
    "nginx",
    "bob/app",
    "bobby/app",
    "localhost:5000/acme/x",
    "localhost:5001/acme/x",
];

/// Candidates as (scope index, active, sequence) with distinct sequences; ids are 100+i.
fn pool() -> impl Strategy<Value = Vec<(usize, bool, u64)>> {
    prop::collection::vec((0..SCOPES.len(), prop::bool::weighted(0.7)), 0..12).prop_flat_map(|entries| {
        let n = entries.len() as u64;
        Just((1..=n).collect::<Vec<u64>>())
            .prop_shuffle()
            .prop_map(move |sequences| entries.iter().zip(sequences).map(|(&(s, a), q)| (s, a, q)).collect())
    })
}

fn candidates<'a>(scopes: &'a [Scope], pool: &[(usize, bool, u64)]) -> Vec<Candidate<'a>> {
    pool.iter()
        .enumerate()
        .map(|(i, &(s, active, sequence))| Candidate { id: 100 + i as u64, scope: &scopes[s], sequence, active })
        .collect()
}

/// The rule, stated naively: the maximum (specificity, sequence) among active matches.
fn oracle(candidates: &[Candidate<'_>], reference: &Reference) -> Option<u64> {
    candidates
        .iter()
        .filter(|c| c.active && c.scope.matches(reference))
        .max_by_key(|c| (c.scope.specificity(), c.sequence))
        .map(|c| c.id)
}

proptest! {
    #[test]
    fn selection_invariants(pool in pool(), r in 0..REFERENCES.len()) {
        let scopes: Vec<Scope> = SCOPES.iter().map(|s| Scope::parse(s).unwrap()).collect();
        let candidates = candidates(&scopes, &pool);
        let reference = Reference::parse(REFERENCES[r]).unwrap();
        let selection = select(&candidates, &reference);
        prop_assert_eq!(select_chosen(&candidates, &reference), selection.chosen);
        prop_assert_eq!(selection.chosen, oracle(&candidates, &reference));

        if let Some(id) = selection.chosen {
            let chosen = candidates.iter().find(|c| c.id == id).unwrap();
            prop_assert!(chosen.active);
            prop_assert!(chosen.scope.matches(&reference));
            for other in candidates.iter().filter(|c| c.active && c.scope.matches(&reference)) {
                prop_assert!(other.scope.specificity() <= chosen.scope.specificity());
                if other.scope.specificity() == chosen.scope.specificity() {
                    prop_assert_eq!(other.scope, chosen.scope);
                    prop_assert!(other.sequence <= chosen.sequence);
                }
            }
        }

        // One verdict per candidate of the reference's registry, in input order.
        let same_registry: Vec<u64> = candidates
            .iter()
            .filter(|c| c.scope.address() == reference.registry_address())
            .map(|c| c.id)
            .collect();
        let ids: Vec<u64> = selection.verdicts.iter().map(|(id, _)| *id).collect();
        prop_assert_eq!(ids, same_registry);
        for (id, verdict) in &selection.verdicts {
            let c = candidates.iter().find(|c| c.id == *id).unwrap();
            let covers = c.scope.matches(&reference);
            match *verdict {
                Verdict::Chosen => prop_assert_eq!(Some(*id), selection.chosen),
                Verdict::ScopeMismatch => prop_assert!(!covers),
                Verdict::Inactive => prop_assert!(covers && !c.active),
                Verdict::Overridden { by } => {
                    prop_assert_eq!(Some(by), selection.chosen);
                    prop_assert!(covers && c.active);
                }
                Verdict::LessSpecific { than } => {
                    prop_assert_eq!(Some(than), selection.chosen);
                    let chosen = candidates.iter().find(|c| c.id == than).unwrap();
                    prop_assert!(covers && c.active);
                    prop_assert!(c.scope.specificity() < chosen.scope.specificity());
                }
            }
        }
    }

    #[test]
    fn a_newer_active_credential_with_the_same_scope_takes_over(
        pool in pool(),
        r in 0..REFERENCES.len(),
        fallback in 0..SCOPES.len(),
    ) {
        let scopes: Vec<Scope> = SCOPES.iter().map(|s| Scope::parse(s).unwrap()).collect();
        let mut candidates = candidates(&scopes, &pool);
        let reference = Reference::parse(REFERENCES[r]).unwrap();
        let before = select_chosen(&candidates, &reference);
        let scope = match before {
            Some(id) => candidates.iter().find(|c| c.id == id).unwrap().scope,
            None => &scopes[fallback],
        };
        let newest = candidates.iter().map(|c| c.sequence).max().unwrap_or(0) + 1;
        candidates.push(Candidate { id: 1, scope, sequence: newest, active: true });
        let after = select(&candidates, &reference);
        if before.is_some() || scope.matches(&reference) {
            prop_assert_eq!(after.chosen, Some(1));
        } else {
            prop_assert_eq!(after.chosen, None);
        }
        if let Some(old) = before {
            let old_verdict = after.verdicts.iter().find(|(id, _)| *id == old).map(|(_, v)| *v);
            prop_assert_eq!(old_verdict, Some(Verdict::Overridden { by: 1 }));
        }
    }

    #[test]
    fn deactivating_the_chosen_one_hands_over_to_the_next(pool in pool(), r in 0..REFERENCES.len()) {
        let scopes: Vec<Scope> = SCOPES.iter().map(|s| Scope::parse(s).unwrap()).collect();
        let mut candidates = candidates(&scopes, &pool);
        let reference = Reference::parse(REFERENCES[r]).unwrap();
        let Some(chosen) = select_chosen(&candidates, &reference) else {
            return Ok(());
        };
        // The runner-up by the rule, among the others.
        let next = candidates
            .iter()
            .filter(|c| c.id != chosen && c.active && c.scope.matches(&reference))
            .max_by_key(|c| (c.scope.specificity(), c.sequence))
            .map(|c| c.id);
        for c in candidates.iter_mut().filter(|c| c.id == chosen) {
            c.active = false;
        }
        let selection = select(&candidates, &reference);
        prop_assert_eq!(selection.chosen, next);
        let verdict = selection.verdicts.iter().find(|(id, _)| *id == chosen).map(|(_, v)| *v);
        prop_assert_eq!(verdict, Some(Verdict::Inactive));
        // Activating it again takes back over.
        for c in candidates.iter_mut().filter(|c| c.id == chosen) {
            c.active = true;
        }
        prop_assert_eq!(select_chosen(&candidates, &reference), Some(chosen));
    }

    #[test]
    fn statuses_agree_with_the_quadratic_definition(pool in pool()) {
        let scopes: Vec<Scope> = SCOPES.iter().map(|s| Scope::parse(s).unwrap()).collect();
        let candidates = candidates(&scopes, &pool);
        let result = statuses(&candidates);
        prop_assert_eq!(result.len(), candidates.len());
        for (c, status) in candidates.iter().zip(result) {
            let expected = if !c.active {
                regcred_core::Status::Inactive
            } else {
                match candidates
                    .iter()
                    .filter(|o| o.active && o.scope == c.scope && o.sequence > c.sequence)
                    .max_by_key(|o| o.sequence)
                {
                    Some(newer) => regcred_core::Status::Overridden { by: newer.id },
                    None => regcred_core::Status::Active,
                }
            };
            prop_assert_eq!(status, expected);
        }
    }
}

// ---------------------------------------------------------------------------------------
// No input makes a parser panic.

fn exercise(input: &str) {
    if let Ok(r) = Reference::parse(input) {
        // Whatever parses must be stable under normalization.
        assert_eq!(Reference::parse(&r.canonical()).unwrap(), r, "{input:?}");
        assert_eq!(Reference::parse(&r.familiar()).unwrap(), r, "{input:?}");
        let _ = (r.registry(), r.repository(), r.tag(), r.digest(), r.name());
    }
    if let Ok(a) = RegistryAddress::parse(input) {
        assert_eq!(RegistryAddress::parse(a.as_str()).unwrap(), a, "{input:?}");
        let _ = (a.host(), a.port());
    }
    if let Ok(a) = RegistryAddress::from_server_url(input) {
        assert_eq!(RegistryAddress::from_server_url(a.as_str()).unwrap(), a, "{input:?}");
    }
    if let Ok(s) = Scope::parse(input) {
        assert_eq!(Scope::parse(&s.to_string()).unwrap(), s, "{input:?}");
    }
    let _ = validate_name("credential name", input);
    // Error messages are built without panicking too.
    let _ = Reference::parse(input).map_err(|e| e.to_string());
    let _ = RegistryAddress::parse(input).map_err(|e| e.to_string());
    let _ = Scope::parse(input).map_err(|e| e.to_string());
}

proptest! {
    #[test]
    fn parsers_never_panic_on_any_string(input in any::<String>()) {
        exercise(&input);
    }

    #[test]
    fn parsers_never_panic_on_printable_ascii(input in "[ -~]{0,80}") {
        exercise(&input);
    }

    #[test]
    fn parsers_never_panic_on_reference_like_strings(
        input in "[a-fA-F0-9:/@._\\-\\[\\]%A-Z]{0,64}|[a-z0-9./:@-]{0,40}é?[a-z0-9./:@]{0,40}"
    ) {
        exercise(&input);
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

/// A target address, and text that may spell it: its own host with sparse upper case (so
/// that all-lower-case text comes up often), an alias, or any short host; its own port with
/// leading zeros, another port, or none; any short path.
fn scope_text_and_target() -> impl Strategy<Value = (String, String)> {
    let target = prop::sample::select(vec![
        "docker.io",
        "quay.io",
        "[fd00::1]",
        "[fd00::1]:5000",
        "[::]:443",
        "registry.example.com:5000",
        "registry.example.com",
        "a:1",
        "quay:443",
        "dockerhub:5000",
    ]);
    target.prop_flat_map(|target| {
        let address = regcred_core::RegistryAddress::parse(target).unwrap();
        let (host, port) = (address.host().to_owned(), address.port());
        let own_host = prop::collection::vec(prop::bool::weighted(0.05), host.len()).prop_map(move |upper| {
            host.chars().zip(upper).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c }).collect::<String>()
        });
        let other_host = prop_oneof![
            prop::sample::select(vec![
                "dockerhub",
                "DockerHub",
                "index.docker.io",
                "registry-1.docker.io",
                "quay",
                "Quay",
                "[FD00::1]",
                "[fd00:0::1]",
                "[::0]",
            ])
            .prop_map(str::to_owned),
            "[a-zA-Z0-9.-]{1,12}",
        ];
        let own_port = match port {
            Some(port) => "0{0,3}".prop_map(move |zeros| Some(format!("{zeros}{port}"))).boxed(),
            None => Just(None).boxed(),
        };
        let port = prop_oneof![own_port, prop::option::of("0{0,2}[0-9]{1,5}")];
        let path = prop::option::of("[a-zA-Z0-9/]{0,8}");
        (prop_oneof![3 => own_host, 1 => other_host], port, path).prop_map(move |(host, port, path)| {
            let mut text = host;
            if let Some(port) = port {
                text.push(':');
                text.push_str(&port);
            }
            if let Some(path) = path {
                text.push('/');
                text.push_str(&path);
            }
            (text, target.to_owned())
        })
    })
}

proptest! {
    /// The text pre-filter never skips a scope that parses to the address asked about:
    /// leading zeros in the port, upper case before or after a ':', aliases with and
    /// without a port.
    #[test]
    fn may_have_address_never_skips_a_match((text, target) in scope_text_and_target()) {
        let target = regcred_core::RegistryAddress::parse(&target).unwrap();
        if let Ok(scope) = regcred_core::Scope::parse(&text) && scope.address() == &target {
            prop_assert!(regcred_core::Scope::may_have_address(&text, &target), "{text} skipped for {target}");
        }
    }
}

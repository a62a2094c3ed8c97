//! `resolve --client docker|containers`: each answer is the one that client gets, and
//! `--explain` says when they differ. Also the smaller client-facing answers: addresses as
//! the helper takes them in selectors, and Docker Hub's v1 URL in `add`.

use crate::util::{TestEnv, bin_dir};

fn helper_get_username(t: &TestEnv, server: &str) -> Option<String> {
    let run = t.run_bin(&bin_dir().join("docker-credential-regcred"), &["get"], &format!("{server}\n"));
    (run.code == 0).then(|| run.json()["Username"].as_str().unwrap().to_owned())
}

fn resolved_username(t: &TestEnv, image: &str, client: &str) -> Option<String> {
    let run = t.run(&["resolve", image, "--client", client, "-o", "json"]);
    assert!(run.code == 0 || run.code == 3, "{run:?}");
    run.json_lines()[0]["credential"]["username"].as_str().map(str::to_owned)
}

#[test]
fn resolve_for_docker_answers_what_the_credential_helper_gives_docker() {
    let t = TestEnv::new();
    t.add("localhost:5443", "bob", "bob-pw");
    t.add("localhost:5443/team", "alice", "alice-pw");
    t.add("quay.io/myorg", "carol", "carol-pw");
    t.add("ghcr.io", "dave", "dave-pw");
    let erin = t.add("ghcr.io", "erin", "erin-pw");
    let cases = [
        ("localhost:5443/team/app", "localhost:5443", Some("alice"), Some("bob")),
        ("localhost:5443/other/app", "localhost:5443", Some("bob"), Some("bob")),
        ("quay.io/myorg/app", "quay.io", Some("carol"), None),
        ("ghcr.io/x/y", "ghcr.io", Some("erin"), Some("erin")),
        ("nginx", "https://index.docker.io/v1/", None, None),
    ];
    for (image, server, containers, docker) in cases {
        assert_eq!(resolved_username(&t, image, "containers").as_deref(), containers, "{image} for containers");
        assert_eq!(resolved_username(&t, image, "docker").as_deref(), docker, "{image} for docker");
        // The default is the full rule.
        let default = t.run(&["resolve", image, "-o", "json"]).json_lines()[0]["credential"]["username"].clone();
        assert_eq!(default.as_str(), containers, "{image} by default");
        // And docker's answer is exactly what the helper gives docker.
        assert_eq!(helper_get_username(&t, server).as_deref(), docker, "{image}: helper get {server}");
    }
    // Deactivating the newest changes both answers alike.
    t.run(&["deactivate", &erin.to_string()]).ok();
    assert_eq!(resolved_username(&t, "ghcr.io/x/y", "docker").as_deref(), Some("dave"));
    assert_eq!(helper_get_username(&t, "ghcr.io").as_deref(), Some("dave"));
}

#[test]
fn explain_says_when_docker_would_use_another_credential_and_why() {
    let t = TestEnv::new();
    let bob = t.add("localhost:5443", "bob", "bob-pw");
    let alice = t.add("localhost:5443/team", "alice", "alice-pw");
    t.add("quay.io/myorg", "carol", "carol-pw");

    let json = t.run(&["resolve", "localhost:5443/team/app", "--explain", "-o", "json"]).ok().json_lines()[0].clone();
    assert_eq!(json["credential"]["id"], alice);
    assert_eq!(json["differs"]["client"], "docker");
    assert_eq!(json["differs"]["credential_id"], bob);
    assert!(json["differs"]["why"].as_str().unwrap().contains("per registry only"), "{json}");
    let text = t.run(&["resolve", "localhost:5443/team/app", "--explain", "-o", "plain"]).ok().stdout;
    assert!(text.contains(&format!("docker would use credential {bob} bob @ localhost:5443")), "{text}");

    // Asked for docker: the answer is bob, and the note names what podman would use.
    let json = t
        .run(&["resolve", "localhost:5443/team/app", "--client", "docker", "--explain", "-o", "json"])
        .ok()
        .json_lines()[0]
        .clone();
    assert_eq!(json["credential"]["id"], bob);
    assert_eq!(json["differs"]["client"], "containers");
    assert_eq!(json["differs"]["credential_id"], alice);

    // A registry with only a scoped credential: docker gets none (exit 3).
    let run = t.run(&["resolve", "quay.io/myorg/app", "--client", "docker", "--explain", "-o", "json"]).code(3);
    assert_eq!(run.json_lines()[0]["credential"], serde_json::Value::Null);
    assert_eq!(run.json_lines()[0]["differs"]["client"], "containers");
    let json = t.run(&["resolve", "quay.io/myorg/app", "--explain", "-o", "json"]).ok().json_lines()[0].clone();
    assert_eq!(json["differs"]["credential_id"], serde_json::Value::Null);

    // Where both agree, nothing is said.
    let json = t.run(&["resolve", "localhost:5443/other", "--explain", "-o", "json"]).ok().json_lines()[0].clone();
    assert!(json.get("differs").is_none(), "{json}");
    let text = t.run(&["resolve", "localhost:5443/other", "--explain", "-o", "plain"]).ok().stdout;
    assert!(!text.contains("would use"), "{text}");
}

#[test]
fn selectors_take_server_urls_as_docker_writes_them() {
    let t = TestEnv::new();
    let ghcr = t.add("ghcr.io", "bob", "pw");
    let hub = t.add("docker.io", "carol", "pw");
    let scoped = t.add("quay.io/myorg", "robot", "pw");
    for (selector, id) in [
        ("https://ghcr.io", ghcr),
        ("https://ghcr.io/", ghcr),
        ("http://GHCR.io", ghcr),
        ("https://index.docker.io/v1/", hub),
        ("https://registry-1.docker.io", hub),
        ("https://quay.io/myorg", scoped),
    ] {
        assert_eq!(t.run(&["show", selector, "-o", "json"]).ok().json()["id"], id, "{selector}");
    }
    t.run(&["deactivate", "https://ghcr.io/"]).ok();
    assert_eq!(t.status(ghcr), "inactive");
    t.run(&["show", "ftp://ghcr.io"]).code(2).stderr_has("no credential");
    t.run(&["show", "https://example.com"]).code(2).stderr_has("no credential");
}

#[test]
fn docker_hubs_v1_url_is_corrected_to_docker_io() {
    let t = TestEnv::new();
    t.run_with_stdin(&["add", "index.docker.io/v1/", "-u", "bob", "--password-stdin"], "pw\n")
        .code(2)
        .stderr_has("did you mean \"docker.io\"?");
    t.run_with_stdin(&["add", "https://index.docker.io/v1/", "-u", "bob", "--password-stdin"], "pw\n")
        .code(2)
        .stderr_has("did you mean \"docker.io\"?");
    assert!(t.list().is_empty());
}

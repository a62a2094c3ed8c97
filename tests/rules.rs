//! Each Rancher rule of PRODUCT.md §2 as its own test, through the real binary.

use crate::util::TestEnv;

#[test]
fn docker_hub_is_the_default_address() {
    let t = TestEnv::new();
    let id = t.add_with(&["-u", "bob"], "pw");
    let list = t.list();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["address"], "docker.io");
    assert_eq!(t.resolve("nginx"), Some(id));
    assert_eq!(t.resolve("docker.io/bob/app:1"), Some(id));
    assert_eq!(t.resolve("quay.io/bob/app"), None);
}

#[test]
fn docker_hub_aliases_all_mean_docker_io() {
    let t = TestEnv::new();
    for alias in ["dockerhub", "docker.io", "index.docker.io", "registry-1.docker.io", "DockerHub"] {
        t.add(alias, "bob", "pw");
    }
    let quay = t.add("quay", "q", "pw");
    let list = t.list();
    assert!(list.iter().filter(|c| c["id"] != quay).all(|c| c["address"] == "docker.io"), "{list:?}");
    assert_eq!(list.iter().find(|c| c["id"] == quay).unwrap()["address"], "quay.io");
}

#[test]
fn scheme_is_refused_with_the_corrected_address() {
    let t = TestEnv::new();
    t.run_with_stdin(&["add", "https://registry.example.com:5000", "-u", "bob", "--password-stdin"], "pw\n")
        .code(2)
        .stderr_has("error:")
        .stderr_has("\"registry.example.com:5000\"");
    assert!(t.snapshot().is_empty(), "nothing may be written");
}

#[test]
fn host_names_are_stored_lower_case() {
    let t = TestEnv::new();
    t.add("Registry.Example.COM:5000", "bob", "pw");
    assert_eq!(t.list()[0]["address"], "registry.example.com:5000");
}

#[test]
fn most_recently_added_wins() {
    let t = TestEnv::new();
    let old = t.add("quay.io", "alice", "pw1");
    let new = t.add("quay.io", "bob", "pw2");
    assert_eq!(t.resolve("quay.io/org/app"), Some(new));
    // Ids and order are not the same thing: edit the older one and it still does not win.
    t.run_with_stdin(&["edit", &old.to_string(), "-u", "alice2", "--password-stdin"], "pw3\n").ok();
    assert_eq!(t.resolve("quay.io/org/app"), Some(new));
}

#[test]
fn older_credential_is_shown_as_overridden() {
    let t = TestEnv::new();
    let old = t.add("quay.io", "alice", "pw1");
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "pw2\n").ok();
    assert!(run.stderr.contains("overridden"), "add says what it overrides: {}", run.stderr);
    let new: u64 = run.stdout.trim().parse().unwrap();
    assert_eq!(t.status(old), "overridden");
    assert_eq!(t.status(new), "active");
}

#[test]
fn deactivate_hands_over_to_the_next() {
    let t = TestEnv::new();
    let old = t.add("quay.io", "alice", "pw1");
    let new = t.add("quay.io", "bob", "pw2");
    t.run(&["deactivate", &new.to_string()]).ok().stderr_has("Deactivated");
    assert_eq!(t.status(new), "inactive");
    assert_eq!(t.status(old), "active");
    assert_eq!(t.resolve("quay.io/x/y"), Some(old));
    t.run(&["deactivate", &old.to_string()]).ok();
    assert_eq!(t.resolve("quay.io/x/y"), None);
}

#[test]
fn activate_needs_no_password_and_says_when_overridden() {
    let t = TestEnv::new();
    let old = t.add("quay.io", "alice", "pw1");
    t.run(&["deactivate", &old.to_string()]).ok();
    let new = t.add("quay.io", "bob", "pw2");
    // Stdin is empty: any password prompt would fail.
    let run = t.run(&["activate", &old.to_string()]).ok();
    assert!(run.stderr.contains("overridden") && run.stderr.contains(&new.to_string()), "{}", run.stderr);
    assert_eq!(t.status(old), "overridden");
    t.run(&["deactivate", &new.to_string()]).ok();
    let shown = t.run(&["resolve", "quay.io/a/b", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(shown[0]["credential"]["id"], old);
    assert_eq!(shown[0]["credential"]["password"], "pw1", "the secret survived deactivation");
}

#[test]
fn edit_needs_the_password_and_keeps_the_order() {
    let t = TestEnv::new();
    let a = t.add("quay.io", "alice", "pw1");
    let b = t.add("quay.io", "bob", "pw2");
    let before = t.list();
    // No password: refused, nothing changed.
    let snapshot = t.snapshot();
    t.run(&["edit", &a.to_string(), "-u", "carol"]).code(2).stderr_has("password");
    assert_eq!(t.snapshot(), snapshot);
    t.run_with_stdin(&["edit", &a.to_string(), "-u", "carol", "--email", "c@example.com", "--password-stdin"], "new\n")
        .ok();
    let after = t.list();
    let edited = after.iter().find(|c| c["id"] == a).unwrap();
    assert_eq!(edited["username"], "carol");
    assert_eq!(edited["email"], "c@example.com");
    assert_eq!(edited["address"], before.iter().find(|c| c["id"] == a).unwrap()["address"]);
    assert_eq!(edited["added"], before.iter().find(|c| c["id"] == a).unwrap()["added"]);
    assert_eq!(t.resolve("quay.io/x/y"), Some(b), "editing does not make a credential newer");
    t.run(&["deactivate", &b.to_string()]).ok();
    let secret = t.run(&["resolve", "quay.io/x/y", "--show-secret", "-o", "plain"]).ok();
    assert!(secret.stdout.trim_end().ends_with("\tnew"), "{}", secret.stdout);
}

#[test]
fn address_never_changes() {
    let t = TestEnv::new();
    let id = t.add("quay.io", "alice", "pw");
    let snapshot = t.snapshot();
    // There is no option for it, and no positional either.
    t.run_with_stdin(&["edit", &id.to_string(), "ghcr.io", "--password-stdin"], "pw\n").code(2);
    t.run_with_stdin(&["edit", &id.to_string(), "--address", "ghcr.io", "--password-stdin"], "pw\n").code(2);
    assert_eq!(t.snapshot(), snapshot);
    assert_eq!(t.list()[0]["address"], "quay.io");
}

#[test]
fn delete_removes_the_secret() {
    let t = TestEnv::new();
    let id = t.add("quay.io", "alice", "hunter2-secret");
    assert!(t.secrets_text().contains("hunter2-secret"));
    t.run(&["delete", &id.to_string(), "--yes"]).ok();
    assert!(t.list().is_empty());
    let secrets = t.secrets_text();
    assert!(!secrets.contains("hunter2-secret"), "secret left behind:\n{secrets}");
    t.run(&["doctor"]).ok();
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let t = TestEnv::new();
    let id = t.add("quay.io", "alice", "pw");
    let snapshot = t.snapshot();
    t.run(&["delete", &id.to_string()]).code(4).stderr_has("--yes");
    assert_eq!(t.snapshot(), snapshot);
}

#[test]
fn environments_are_isolated() {
    let t = TestEnv::new();
    let prod = t.add("quay.io", "prod-user", "pw1");
    t.run(&["env", "create", "staging"]).ok();
    t.run(&["env", "use", "staging"]).ok();
    assert_eq!(t.resolve("quay.io/a/b"), None);
    let staging = t.add("quay.io", "staging-user", "pw2");
    assert_eq!(t.resolve("quay.io/a/b"), Some(staging));
    assert_eq!(t.status(staging), "active");
    // The default environment is untouched: its credential is still active, not overridden.
    let default = t.run(&["-e", "default", "list", "-o", "json"]).ok().json();
    assert_eq!(default.as_array().unwrap().len(), 1);
    assert_eq!(default[0]["id"], prod);
    assert_eq!(default[0]["status"], "active");
    // Selecting another environment's credential says where it is.
    t.run(&["show", &prod.to_string()]).code(2).stderr_has("default");
    let all = t.run(&["list", "--all-envs", "-o", "json"]).ok().json();
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[test]
fn env_var_selects_the_environment() {
    let mut t = TestEnv::new();
    t.run(&["env", "create", "ci"]).ok();
    t.env("REGCRED_ENV", "ci");
    let id = t.add("quay.io", "robot", "pw");
    assert_eq!(t.list()[0]["environment"], "ci");
    let current = t.run(&["env", "list", "-o", "json"]).ok().json();
    assert_eq!(current.as_array().unwrap().iter().find(|e| e["current"] == true).unwrap()["name"], "default");
    assert_eq!(t.resolve("quay.io/a/b"), Some(id));
}

#[test]
fn env_delete_removes_credentials_and_secrets() {
    let t = TestEnv::new();
    t.run(&["env", "create", "tmp"]).ok();
    t.add_with(&["quay.io", "-u", "x", "-e", "tmp"], "tmp-secret-value");
    t.run(&["env", "delete", "tmp"]).code(4);
    t.run(&["env", "delete", "default", "--yes"]).code(2).stderr_has("current");
    t.run(&["env", "delete", "tmp", "--yes"]).ok();
    assert!(!t.secrets_text().contains("tmp-secret-value"));
    t.run(&["-e", "tmp", "list"]).code(2).stderr_has("does not exist");
}

#[test]
fn scoped_credentials_most_specific_wins() {
    let t = TestEnv::new();
    let registry = t.add("ghcr.io", "everyone", "pw");
    let acme = t.add("ghcr.io/acme", "acme", "pw");
    let app = t.add("ghcr.io/acme/app", "app", "pw");
    let newer_registry = t.add("ghcr.io", "newest", "pw");
    assert_eq!(t.resolve("ghcr.io/acme/app:1"), Some(app));
    assert_eq!(t.resolve("ghcr.io/acme/app/sub"), Some(app));
    assert_eq!(t.resolve("ghcr.io/acme/other"), Some(acme));
    assert_eq!(t.resolve("ghcr.io/acmeco/app"), Some(newer_registry), "never across a partial component");
    assert_eq!(t.status(registry), "overridden");
    assert_eq!(t.status(acme), "active");
    let explained = t.run(&["resolve", "ghcr.io/acme/app", "--explain", "-o", "json"]).ok().json_lines();
    let reasons: Vec<(u64, String)> = explained[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_u64().unwrap(), c["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert!(reasons.contains(&(app, "chosen".into())), "{reasons:?}");
    assert!(reasons.contains(&(acme, "less_specific".into())), "{reasons:?}");
    assert!(reasons.contains(&(newer_registry, "less_specific".into())), "{reasons:?}");
    let other = t.run(&["resolve", "ghcr.io/other/x", "--explain", "-o", "json"]).ok().json_lines();
    let by_id =
        |id: u64| other[0]["candidates"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["reason"].clone();
    assert_eq!(by_id(acme), "scope_mismatch");
    assert_eq!(by_id(registry), "overridden");
    assert_eq!(by_id(newer_registry), "chosen");
}

#[test]
fn resolve_prints_json_lines_in_input_order_and_exits_3_when_unresolved() {
    let t = TestEnv::new();
    let hub = t.add_with(&["-u", "bob", "--email", "bob@example.com", "--name", "hub-bob"], "pw");
    let run = t.run(&["resolve", "nginx", "quay.io/x/y", "busybox@sha256:", "-o", "json"]);
    assert_eq!(run.code, 2, "a bad reference is an input error: {run:?}");
    let digest = format!("busybox@sha256:{}", "a".repeat(64));
    let run = t.run(&["resolve", "nginx", "quay.io/x/y", &digest, "-o", "json"]).code(3);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["image"], "nginx");
    assert_eq!(lines[0]["reference"]["canonical"], "docker.io/library/nginx:latest");
    assert_eq!(lines[0]["reference"]["registry"], "docker.io");
    assert_eq!(lines[0]["reference"]["repository"], "library/nginx");
    assert_eq!(lines[0]["reference"]["tag"], "latest");
    assert_eq!(lines[0]["reference"]["digest"], serde_json::Value::Null);
    assert_eq!(lines[0]["environment"], "default");
    let credential = &lines[0]["credential"];
    assert_eq!(credential["id"], hub);
    assert_eq!(credential["name"], "hub-bob");
    assert_eq!(credential["address"], "docker.io");
    assert_eq!(credential["username"], "bob");
    assert_eq!(credential["email"], "bob@example.com");
    assert_eq!(credential["status"], "active");
    assert!(credential.get("password").is_none(), "no secret without --show-secret");
    assert!(credential["added"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["credential"], serde_json::Value::Null);
    assert_eq!(lines[2]["reference"]["tag"], serde_json::Value::Null);
    assert_eq!(lines[2]["reference"]["digest"], format!("sha256:{}", "a".repeat(64)));
    // --stdin, comments and blank lines skipped.
    let run = t.run_with_stdin(&["resolve", "--stdin", "-o", "json"], "# images\nnginx\n\nalpine:3\n").ok();
    assert_eq!(run.json_lines().len(), 2);
}

#[test]
fn resolve_shows_the_secret_only_when_asked() {
    let t = TestEnv::new();
    t.add("quay.io", "robot", "s3cr3t-token");
    let plain = t.run(&["resolve", "quay.io/a/b", "-o", "plain"]).ok();
    assert!(!plain.stdout.contains("s3cr3t-token"));
    let table = t.run(&["resolve", "quay.io/a/b", "-o", "table", "--explain"]).ok();
    assert!(!table.stdout.contains("s3cr3t-token"));
    assert!(table.stdout.contains("chosen"), "{}", table.stdout);
    let shown = t.run(&["resolve", "quay.io/a/b", "-o", "json", "--show-secret"]).ok().json_lines();
    assert_eq!(shown[0]["credential"]["password"], "s3cr3t-token");
    assert!(!std::fs::read_to_string(t.store_file()).unwrap().contains("s3cr3t-token"));
}

#[test]
fn selectors_take_an_id_a_name_or_an_address() {
    let t = TestEnv::new();
    let a = t.add_with(&["quay.io", "-u", "alice", "--name", "quay-alice"], "pw");
    let b = t.add("quay.io", "bob", "pw");
    let show = |sel: &str| t.run(&["show", sel, "-o", "json"]).ok().json()["id"].as_u64().unwrap();
    assert_eq!(show(&a.to_string()), a);
    assert_eq!(show("quay-alice"), a);
    assert_eq!(show("quay.io"), b, "an address selects the most recently added");
    assert_eq!(show("quay"), b, "aliases work in selectors");
    t.run(&["show", "quay-alise"]).code(2).stderr_has("did you mean \"quay-alice\"");
    t.run(&["show", "99"]).code(2);
}

#[test]
fn names_are_unique_per_environment() {
    let t = TestEnv::new();
    t.add_with(&["quay.io", "-u", "alice", "--name", "shared"], "pw");
    let snapshot = t.snapshot();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "x", "--name", "shared", "--password-stdin"], "pw\n")
        .code(2)
        .stderr_has("already used");
    assert_eq!(t.snapshot(), snapshot);
    t.run(&["env", "create", "other"]).ok();
    t.add_with(&["ghcr.io", "-u", "x", "--name", "shared", "-e", "other"], "pw");
}

#[test]
fn list_formats() {
    let t = TestEnv::new();
    t.add_with(&["quay.io", "-u", "alice", "--email", "a@example.com"], "pw");
    let plain = t.run(&["list", "-o", "plain"]).ok();
    let fields: Vec<&str> = plain.stdout.trim_end().split('\t').collect();
    assert_eq!(fields[..6], ["1", "-", "quay.io", "alice", "a@example.com", "active"]);
    let table = t.run(&["list", "-o", "table"]).ok();
    for header in ["ID", "NAME", "ADDRESS", "USERNAME", "EMAIL", "STATUS", "ADDED"] {
        assert!(table.stdout.contains(header), "{}", table.stdout);
    }
    let show = t.run(&["show", "1", "-o", "json"]).ok().json();
    for field in ["id", "name", "environment", "address", "username", "email", "status", "added", "updated"] {
        assert!(show.get(field).is_some(), "missing {field}: {show}");
    }
    assert!(show.get("password").is_none());
}

#[test]
fn quiet_prints_data_and_errors_only() {
    let t = TestEnv::new();
    let run = t.run_with_stdin(&["-q", "add", "quay.io", "-u", "a", "--password-stdin"], "pw\n").ok();
    assert_eq!(run.stdout, "1\n", "stdout is data, never silenced");
    assert_eq!(run.stderr, "");
    let run = t.run(&["-q", "show", "nope"]).code(2);
    assert!(run.stderr.starts_with("error:"));
}

#[test]
fn parallel_adds_lose_nothing() {
    let t = TestEnv::new();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = t.command(
                &crate::util::regcred_bin(),
                &["add", "quay.io", "-u", &format!("user{i}"), "--password-env", "PW"],
            );
            cmd.env("PW", format!("pw{i}")).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let list = t.list();
    assert_eq!(list.len(), 8);
    let mut ids: Vec<u64> = list.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
    assert_eq!(list.iter().filter(|c| c["status"] == "active").count(), 1);
    t.run(&["doctor"]).ok();
}

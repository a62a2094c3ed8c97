//! Secrets in the real Secret Service (a private gnome-keyring started by scripts/test),
//! confirmed through a second client, `secret-tool`.

use std::process::{Command, Stdio};

use crate::util::TestEnv;

fn store_id(t: &TestEnv) -> String {
    let text = std::fs::read_to_string(t.store_file()).unwrap();
    let value: toml::Table = toml::from_str(&text).unwrap();
    value["store_id"].as_str().unwrap().to_owned()
}

/// What `secret-tool lookup` finds for credential `id` of this store, if anything.
fn lookup(t: &TestEnv, id: u64) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "regcred", "regcred_store", &store_id(t), "regcred_id", &id.to_string()])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `secret-tool search` output (labels and attributes) for credential `id`.
fn describe(t: &TestEnv, id: u64) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "regcred", "regcred_store", &store_id(t), "regcred_id", &id.to_string()])
        .output()
        .unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn files_containing(t: &TestEnv, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![t.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn secret_lives_in_the_keyring_and_nowhere_else() {
    let Some(t) = TestEnv::keyring("secret_lives_in_the_keyring_and_nowhere_else") else { return };
    let id = t.add("quay.io", "robot", "kr-secret-8f3a");
    assert_eq!(lookup(&t, id).as_deref(), Some("kr-secret-8f3a"));
    assert!(describe(&t, id).contains("robot @ quay.io"), "label names what it is:\n{}", describe(&t, id));
    assert!(
        files_containing(&t, "kr-secret-8f3a").is_empty(),
        "secret found in {:?}",
        files_containing(&t, "kr-secret-8f3a")
    );
    assert!(!t.secrets_file().exists() && !t.secrets_dir().exists(), "the file store is never used silently");
    let shown = t.run(&["resolve", "quay.io/a/b", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(shown[0]["credential"]["password"], "kr-secret-8f3a");
    t.run(&["delete", &id.to_string(), "--yes"]).ok();
    assert_eq!(lookup(&t, id), None, "the secret is gone from the keyring");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn rancher_workflow_against_the_keyring() {
    let Some(t) = TestEnv::keyring("rancher_workflow_against_the_keyring") else { return };
    let old = t.add("registry.example.com:5000", "alice", "pw-alice");
    let new = t.add("registry.example.com:5000", "bob", "pw-bob");
    assert_eq!(t.resolve("registry.example.com:5000/team/app"), Some(new));
    assert_eq!(t.status(old), "overridden");
    t.run(&["deactivate", &new.to_string()]).ok();
    assert_eq!(t.resolve("registry.example.com:5000/team/app"), Some(old));
    assert_eq!(lookup(&t, new).as_deref(), Some("pw-bob"), "deactivation keeps the secret");
    t.run(&["activate", &new.to_string()]).ok();
    assert_eq!(t.resolve("registry.example.com:5000/team/app"), Some(new));
    t.run_with_stdin(&["edit", &old.to_string(), "-u", "alice2", "--password-stdin"], "pw-alice-2\n").ok();
    assert_eq!(lookup(&t, old).as_deref(), Some("pw-alice-2"));
    let item = describe(&t, old);
    assert!(item.contains("alice2 @ registry.example.com:5000"), "the label follows the edit:\n{item}");
    assert_eq!(item.matches("[/").count(), 1, "one item per credential:\n{item}");
    assert_eq!(t.resolve("registry.example.com:5000/team/app"), Some(new));
    t.run(&["delete", &old.to_string(), "--yes"]).ok();
    assert_eq!(lookup(&t, old), None);
    t.run(&["env", "create", "other"]).ok();
    t.run(&["env", "use", "other"]).ok();
    assert_eq!(t.resolve("registry.example.com:5000/team/app"), None);
    t.run(&["env", "use", "default"]).ok();
    t.run(&["env", "delete", "other", "--yes"]).ok();
    t.run(&["doctor"]).ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn env_delete_removes_keyring_secrets() {
    let Some(t) = TestEnv::keyring("env_delete_removes_keyring_secrets") else { return };
    t.run(&["env", "create", "tmp"]).ok();
    let id = t.add_with(&["quay.io", "-u", "x", "-e", "tmp"], "tmp-kr-secret");
    assert!(lookup(&t, id).is_some());
    t.run(&["env", "delete", "tmp", "--yes"]).ok();
    assert_eq!(lookup(&t, id), None);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn doctor_removes_an_orphaned_keyring_secret() {
    let Some(t) = TestEnv::keyring("doctor_removes_an_orphaned_keyring_secret") else { return };
    t.add("quay.io", "x", "pw");
    let store = store_id(&t);
    let mut child = Command::new("secret-tool")
        .args(["store", "--label=left over", "service", "regcred", "regcred_store", &store, "regcred_id", "77"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"orphan").unwrap();
    assert!(child.wait().unwrap().success());
    t.run(&["doctor", "-o", "plain"]).code(1).stdout_has("secret without metadata");
    t.run(&["doctor", "--fix"]).ok();
    assert_eq!(lookup(&t, 77), None);
    t.run(&["doctor"]).ok();
}

/// Needs no Secret Service: it is about there being none.
#[test]
fn unreachable_keyring_names_the_cause_and_both_remedies() {
    let mut t = TestEnv::new_with_store("keyring");
    t.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/regcred-test-bus");
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "a", "--password-stdin"], "pw\n").code(1);
    let first = run.stderr.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(run.stderr.contains("--secret-store file"), "{}", run.stderr);
    assert!(run.stderr.contains("gnome-keyring"), "{}", run.stderr);
    assert!(t.list().is_empty(), "nothing was added");
    assert!(!t.secrets_file().exists() && !t.secrets_dir().exists(), "no silent fallback to the file");
    // Reading metadata never needs the keyring.
    t.run(&["list"]).ok();
    t.run(&["resolve", "nginx"]).code(3);
}

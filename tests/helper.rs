//! `docker-credential-regcred`: the protocol as docker, podman and skopeo speak it.

use std::path::PathBuf;

use crate::util::TestEnv;

fn helper_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"))
}

fn store(t: &TestEnv, server: &str, user: &str, secret: &str) {
    let body = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret}).to_string();
    t.run_bin(&helper_bin(), &["store"], &body).ok();
}

fn get(t: &TestEnv, server: &str) -> crate::util::Run {
    t.run_bin(&helper_bin(), &["get"], &format!("{server}\n"))
}

#[test]
fn store_get_list_erase_round_trip() {
    let t = TestEnv::new();
    store(&t, "https://index.docker.io/v1/", "bob", "hub-pw");
    store(&t, "registry.example.com:5000", "alice", "reg-pw");
    let got = get(&t, "https://index.docker.io/v1/").ok().json();
    assert_eq!(
        got,
        serde_json::json!({"ServerURL": "https://index.docker.io/v1/", "Username": "bob", "Secret": "hub-pw"})
    );
    // Every form docker uses reaches the same credential, and ServerURL echoes the question.
    for form in ["docker.io", "index.docker.io", "https://registry-1.docker.io", "https://index.docker.io/v1"] {
        let got = get(&t, form).ok().json();
        assert_eq!(got["Secret"], "hub-pw", "{form}");
        assert_eq!(got["ServerURL"], form);
    }
    for form in ["registry.example.com:5000", "https://registry.example.com:5000", "http://Registry.Example.com:5000/"]
    {
        assert_eq!(get(&t, form).ok().json()["Username"], "alice", "{form}");
    }
    let listed = t.run_bin(&helper_bin(), &["list"], "").ok().json();
    assert_eq!(listed, serde_json::json!({"https://index.docker.io/v1/": "bob", "registry.example.com:5000": "alice"}));
    t.run_bin(&helper_bin(), &["erase"], "https://index.docker.io/v1/\n").ok();
    let run = get(&t, "https://index.docker.io/v1/").code(1);
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
    // What the helper stored is ordinary regcred data.
    let list = t.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["address"], "registry.example.com:5000");
}

#[test]
fn not_found_is_exactly_what_docker_expects() {
    let t = TestEnv::new();
    let run = get(&t, "quay.io").code(1);
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
}

#[test]
fn repeated_login_replaces_instead_of_piling_up() {
    let t = TestEnv::new();
    store(&t, "quay.io", "bob", "one");
    store(&t, "quay.io", "alice", "two");
    store(&t, "quay.io", "bob", "three");
    let list = t.list();
    assert_eq!(list.len(), 2, "{list:?}");
    let got = get(&t, "quay.io").ok().json();
    assert_eq!(
        (got["Username"].as_str(), got["Secret"].as_str()),
        (Some("bob"), Some("three")),
        "the latest login wins"
    );
    assert_eq!(t.status(list.iter().find(|c| c["username"] == "alice").unwrap()["id"].as_u64().unwrap()), "overridden");
    let secrets = t.secrets_text();
    assert!(!secrets.contains("\"one\""), "the replaced secret is gone:\n{secrets}");
}

#[test]
fn identity_tokens_pass_through() {
    let t = TestEnv::new();
    store(&t, "myregistry.azurecr.io", "<token>", "refresh-token-value");
    let got = get(&t, "myregistry.azurecr.io").ok().json();
    assert_eq!(got["Username"], "<token>");
    assert_eq!(got["Secret"], "refresh-token-value");
}

#[test]
fn scoped_and_inactive_credentials_are_not_handed_to_docker() {
    let t = TestEnv::new();
    t.add("quay.io/myorg", "scoped", "pw");
    get(&t, "quay.io").code(1);
    let id = t.add("quay.io", "whole", "pw2");
    assert_eq!(get(&t, "quay.io").ok().json()["Username"], "whole");
    t.run(&["deactivate", &id.to_string()]).ok();
    get(&t, "quay.io").code(1);
}

#[test]
fn version_and_the_regcred_subcommand_agree() {
    let t = TestEnv::new();
    let version = t.run_bin(&helper_bin(), &["version"], "").ok();
    assert!(version.stdout.contains(env!("CARGO_PKG_VERSION")));
    store(&t, "ghcr.io", "bob", "pw");
    let via_regcred = t.run_with_stdin(&["credential-helper", "get"], "ghcr.io\n").ok().json();
    assert_eq!(via_regcred["Secret"], "pw");
}

#[test]
fn the_environment_comes_from_regcred_env() {
    let mut t = TestEnv::new();
    t.run(&["env", "create", "ci"]).ok();
    store(&t, "ghcr.io", "default-user", "pw");
    t.env("REGCRED_ENV", "ci");
    get(&t, "ghcr.io").code(1);
    store(&t, "ghcr.io", "ci-user", "pw-ci");
    assert_eq!(get(&t, "ghcr.io").ok().json()["Username"], "ci-user");
}

#[test]
fn a_malformed_store_request_is_reported_without_its_values() {
    let t = TestEnv::new();
    for request in [
        r#"{"ServerURL":"quay.io","Username":"bob","Secret":987654321}"#,
        r#""hunter2-as-a-bare-string""#,
        r#"{"ServerURL":"quay.io","Username":["bob"],"Secret":"hunter2-beside-a-bad-field"}"#,
    ] {
        let run = t.run_bin(&helper_bin(), &["store"], request).code(1);
        assert!(run.stdout.contains("not a credential-helper store request"), "{}", run.stdout);
        assert!(run.stdout.contains("wrong type at line 1 column"), "{}", run.stdout);
        assert!(!run.stdout.contains("987654321") && !run.stdout.contains("hunter2"), "{}", run.stdout);
        assert!(!run.stderr.contains("987654321") && !run.stderr.contains("hunter2"), "{}", run.stderr);
    }
    let run = t.run_bin(&helper_bin(), &["store"], r#"{"ServerURL":"quay.io"}"#).code(1);
    assert!(run.stdout.contains("missing field `Username`"), "field names are still named: {}", run.stdout);
}

#[test]
fn list_names_only_the_credential_get_hands_out() {
    let t = TestEnv::new();
    // Scoped credentials serve images under their path; docker's config keys are whole
    // registries, so `list` leaves them out as `get` does.
    t.add("quay.io/myorg", "scoped", "pw");
    assert_eq!(t.run_bin(&helper_bin(), &["list"], "").ok().json(), serde_json::json!({}));
    // Two logins to one registry: the one `get` answers with is listed, whichever was
    // stored first.
    store(&t, "quay.io", "bob", "one");
    store(&t, "quay.io", "alice", "two");
    store(&t, "quay.io", "bob", "three");
    assert_eq!(get(&t, "quay.io").ok().json()["Username"], "bob");
    assert_eq!(t.run_bin(&helper_bin(), &["list"], "").ok().json(), serde_json::json!({"quay.io": "bob"}));
    // A later credential for the registry that is switched off is not the one in use,
    // though it comes after bob's.
    let carol = t.add("quay.io", "carol", "pw");
    t.run(&["deactivate", &carol.to_string()]).ok();
    assert_eq!(get(&t, "quay.io").ok().json()["Username"], "bob");
    assert_eq!(t.run_bin(&helper_bin(), &["list"], "").ok().json(), serde_json::json!({"quay.io": "bob"}));
}

#[test]
fn a_request_may_be_64_kib_and_no_more() {
    let t = TestEnv::new();
    store(&t, "quay.io", "bob", "pw");
    // docker writes the server URL and a newline; a request padded with whitespace to the
    // limit is still read whole and answered.
    let request = |len: usize| format!("quay.io\n{}", " ".repeat(len - "quay.io\n".len()));
    let at_limit = t.run_bin(&helper_bin(), &["get"], &request(64 * 1024)).ok();
    assert_eq!(at_limit.json()["Username"], "bob");
    let over = t.run_bin(&helper_bin(), &["get"], &request(64 * 1024 + 1)).code(1);
    assert_eq!(over.stdout, "the request on stdin is larger than 65536 bytes\n");
}

#[test]
fn help_is_asked_with_h_or_help_and_anything_else_is_a_usage_error() {
    let t = TestEnv::new();
    for args in [&["-h"][..], &["--help"], &["get", "-h"]] {
        let run = t.run_bin(&helper_bin(), args, "").code(0);
        assert!(run.stderr.starts_with("Usage: docker-credential-regcred <store|get|erase|list|version>"), "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    for args in [&[][..], &["fetch"], &["-x"], &["get", "list"]] {
        let run = t.run_bin(&helper_bin(), args, "").code(2);
        assert!(run.stderr.starts_with("Usage: docker-credential-regcred"), "{args:?}");
    }
}

#[test]
fn erase_with_nothing_in_use_succeeds_and_writes_nothing() {
    use std::os::unix::fs::MetadataExt;
    // podman treats a failed erase as fatal, so nothing to erase is a success; and it is
    // not a write: an empty config dir gets no store, and a store is not replaced.
    let t = TestEnv::new();
    t.run_bin(&helper_bin(), &["erase"], "quay.io\n").ok();
    assert!(!t.store_file().exists(), "an erase of nothing created {}", t.store_file().display());
    let id = t.add("quay.io", "bob", "pw");
    t.run(&["deactivate", &id.to_string()]).ok();
    let inode = || std::fs::metadata(t.store_file()).unwrap().ino();
    let before = (inode(), t.snapshot());
    t.run_bin(&helper_bin(), &["erase"], "quay.io\n").ok();
    assert_eq!((inode(), t.snapshot()), before, "the store was rewritten");
    assert_eq!(t.status(id), "inactive");
}

#[test]
fn a_login_whose_store_write_fails_puts_back_the_secret_it_replaced() {
    // The secret is written before the store file; when the store cannot be written, the
    // secret it replaced is put back and nothing is changed. A file-size limit between the
    // two files' sizes makes only the store's write fail (EFBIG: SIGXFSZ is ignored).
    let t = TestEnv::new();
    store(&t, "quay.io", "bob", "one");
    // Credentials that read their secrets from variables make the store large and keep
    // the secrets' files few and small.
    for i in 0..20 {
        t.run(&["add", &format!("registry{i}.example.com"), "-u", "robot", "--secret-from-env", "TOKEN"]).ok();
    }
    let limit: u64 = 2048;
    let size = |path: std::path::PathBuf| std::fs::metadata(path).unwrap().len();
    let secrets: Vec<u64> =
        std::fs::read_dir(t.secrets_dir()).unwrap().map(|entry| size(entry.unwrap().path())).collect();
    assert!(!secrets.is_empty(), "the secret is in {}", t.secrets_dir().display());
    assert!(size(t.store_file()) > limit && secrets.iter().all(|&s| s < limit / 2), "the limit lies between the sizes");
    let before = t.snapshot();
    let body = serde_json::json!({"ServerURL": "quay.io", "Username": "bob", "Secret": "two"}).to_string();
    let script = format!("trap '' XFSZ; exec prlimit --fsize={limit} \"$0\" store");
    let mut cmd = t.command(std::path::Path::new("sh"), &["-c", &script, &helper_bin().to_string_lossy()]);
    let run = crate::util::run_with_input(&mut cmd, body.as_bytes()).code(1);
    assert!(run.stdout.contains("registries.toml"), "the store's write failed: {run:?}");
    assert_eq!(t.snapshot(), before, "a failed login changes nothing");
    assert_eq!(get(&t, "quay.io").ok().json()["Secret"], "one");
}

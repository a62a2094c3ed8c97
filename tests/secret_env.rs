//! `--secret-from-env VAR`: no secret stored anywhere, the variable read at each use (resolve,
//! the helper, exports), clear errors when it is unset or empty, and doctor's warning.

use std::path::PathBuf;

use crate::util::TestEnv;

fn helper_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"))
}

fn add_from_env(t: &TestEnv, address: &str, user: &str, var: &str) -> u64 {
    let run = t.run(&["add", address, "-u", user, "--secret-from-env", var]).ok();
    run.stdout.trim().parse().unwrap()
}

#[test]
fn the_secret_is_read_from_the_variable_at_each_use_and_stored_nowhere() {
    let mut t = TestEnv::new();
    let add = t.run(&["add", "registry.example.com:5000", "-u", "ci", "--secret-from-env", "REG_TOKEN"]).ok();
    assert!(add.stderr.contains("read from the environment variable REG_TOKEN"), "{}", add.stderr);
    assert!(add.stderr.contains("REG_TOKEN is not set in this shell"), "{}", add.stderr);
    let store = std::fs::read_to_string(t.store_file()).unwrap();
    assert!(store.contains("secret_from_env = \"REG_TOKEN\""), "{store}");
    assert!(!t.secrets_file().exists() && !t.secrets_dir().exists(), "nothing may be stored");

    // Unset: exit 1, naming the credential and the variable, and no empty password.
    let run = t.run(&["resolve", "registry.example.com:5000/app", "--show-secret", "-o", "json"]).code(1);
    assert!(run.stderr.contains("credential 1 (ci @ registry.example.com:5000)"), "{}", run.stderr);
    assert!(run.stderr.contains("REG_TOKEN, which is not set"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: set REG_TOKEN"), "{}", run.stderr);
    let helper = t.run_bin(&helper_bin(), &["get"], "registry.example.com:5000\n").code(1);
    assert!(helper.stdout.contains("REG_TOKEN, which is not set"), "the helper says it on stdout: {helper:?}");
    // Without --show-secret nothing needs the secret.
    t.run(&["resolve", "registry.example.com:5000/app"]).ok();

    t.env("REG_TOKEN", "");
    let run = t.run(&["export", "docker-config"]).code(1);
    assert!(run.stderr.contains("REG_TOKEN, which is empty"), "{}", run.stderr);

    let mut t2 = TestEnv::new();
    std::fs::create_dir_all(t2.config_dir()).unwrap();
    // The store alone, as a repository would carry it: it holds no secret.
    std::fs::copy(t.store_file(), t2.store_file()).unwrap();
    t2.env("REG_TOKEN", "first-token");
    let got = t2.run(&["resolve", "registry.example.com:5000/app", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(got[0]["credential"]["password"], "first-token");
    let helper = t2.run_bin(&helper_bin(), &["get"], "registry.example.com:5000\n").ok().json();
    assert_eq!(helper["Secret"], "first-token");
    assert_eq!(helper["Username"], "ci");
    let config = t2.run(&["export", "docker-config"]).ok().json();
    assert_eq!(config["auths"]["registry.example.com:5000"]["password"], "first-token");

    // Read at each use: a new value is seen at once.
    t2.env("REG_TOKEN", "second-token");
    let helper = t2.run_bin(&helper_bin(), &["get"], "registry.example.com:5000\n").ok().json();
    assert_eq!(helper["Secret"], "second-token");
    assert!(!t2.secrets_file().exists() && !t2.secrets_dir().exists());
}

#[test]
fn show_and_list_say_where_the_secret_comes_from() {
    let t = TestEnv::new();
    let id = add_from_env(&t, "ghcr.io", "bot", "GHCR_TOKEN").to_string();
    t.add("quay.io", "robot", "stored-pw");
    t.run(&["show", &id, "-o", "plain"]).ok().stdout_has("secret\tfrom the environment variable GHCR_TOKEN");
    let show = t.run(&["show", &id, "-o", "json"]).ok().json();
    assert_eq!(show["secret_from_env"], "GHCR_TOKEN");
    let list = t.list();
    assert_eq!(list[0]["secret_from_env"], "GHCR_TOKEN");
    assert!(list[1].get("secret_from_env").is_none(), "a stored secret has no variable: {}", list[1]);
}

#[test]
fn doctor_warns_about_an_unset_variable_without_failing() {
    let mut t = TestEnv::new();
    add_from_env(&t, "ghcr.io", "bot", "GHCR_TOKEN");
    let run = t.run(&["doctor"]).ok();
    assert!(run.stderr.contains("warning:") && run.stderr.contains("GHCR_TOKEN, which is not set"), "{run:?}");
    t.env("GHCR_TOKEN", "x");
    let run = t.run(&["doctor"]).ok();
    assert!(run.stdout.contains("GHCR_TOKEN, which is set"), "{run:?}");
    assert!(!run.stderr.contains("warning:"), "{run:?}");
}

#[test]
fn edit_moves_a_secret_between_a_store_and_a_variable() {
    let mut t = TestEnv::new();
    let id = t.add("quay.io", "robot", "stored-pw").to_string();
    assert!(t.secrets_text().contains("stored-pw"));
    t.run(&["edit", &id, "--secret-from-env", "QUAY_TOKEN"]).ok();
    let secrets = t.secrets_text();
    assert!(!secrets.contains("stored-pw"), "the stored secret is removed:\n{secrets}");
    t.run(&["doctor"]).ok();
    t.env("QUAY_TOKEN", "from-var");
    let got = t.run(&["resolve", "quay.io/x/y", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(got[0]["credential"]["password"], "from-var");

    // Back to a stored secret: the variable no longer matters.
    t.run_with_stdin(&["edit", &id, "--password-stdin"], "new-stored\n").ok();
    t.env("QUAY_TOKEN", "ignored");
    let got = t.run(&["resolve", "quay.io/x/y", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(got[0]["credential"]["password"], "new-stored");
    assert!(!std::fs::read_to_string(t.store_file()).unwrap().contains("QUAY_TOKEN"));
    t.run(&["doctor"]).ok();
}

#[test]
fn a_variable_credential_needs_no_reachable_store() {
    // The keyring store chosen, with no session bus at all: adding, using and deleting a
    // credential that keeps no secret never touch it.
    let mut t = TestEnv::new_with_store("keyring");
    t.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let id = add_from_env(&t, "ghcr.io", "bot", "GHCR_TOKEN").to_string();
    t.env("GHCR_TOKEN", "tok");
    let helper = t.run_bin(&helper_bin(), &["get"], "ghcr.io\n").ok().json();
    assert_eq!(helper["Secret"], "tok");
    t.run(&["delete", &id, "--yes"]).ok();
    assert!(t.list().is_empty());
}

#[test]
fn bad_variable_names_are_refused_and_nothing_is_written() {
    let t = TestEnv::new();
    t.add("quay.io", "robot", "pw");
    let before = t.snapshot();
    for bad in ["", "9X", "A-B", "A B", "A=B"] {
        let run = t.run(&["add", "ghcr.io", "-u", "bot", "--secret-from-env", bad]).code(2);
        assert!(run.stderr.contains("hint:"), "{run:?}");
        t.run(&["edit", "1", "--secret-from-env", bad]).code(2);
    }
    // One way to give the secret at a time.
    t.run(&["add", "ghcr.io", "-u", "bot", "--secret-from-env", "X", "--password-stdin"]).code(2);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_variable_that_is_not_utf8_is_an_error_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestEnv::new();
    add_from_env(&t, "ghcr.io", "bot", "GHCR_TOKEN");
    let before = t.snapshot();
    let out = t
        .command(&crate::util::regcred_bin(), &["resolve", "ghcr.io/a/b", "--show-secret"])
        .env("GHCR_TOKEN", std::ffi::OsStr::from_bytes(b"tok\xff\xfe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GHCR_TOKEN, which is not valid UTF-8"), "{stderr}");
    assert_eq!(t.snapshot(), before);
}

//! `regcred setup docker|podman`: warnings when another credential helper is replaced,
//! `--undo`, podman's auth file found as podman finds it, and `-e` explained.

use std::fs;

use crate::util::TestEnv;

fn json_of(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn setup_docker_warns_when_it_replaces_another_helper_and_undo_puts_it_back() {
    let t = TestEnv::new();
    let path = t.root().join("docker").join("config.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, r#"{"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"},"auths":{}}"#).unwrap();
    let p = path.to_str().unwrap();

    let dry = t.run(&["setup", "docker", "--config", p, "--dry-run"]).ok();
    assert!(dry.stderr.contains(r#"warning: credsStore was "desktop""#), "{}", dry.stderr);
    assert!(dry.stderr.contains("regcred import docker-config"), "{}", dry.stderr);
    let run = t.run(&["setup", "docker", "--config", p]).ok();
    assert!(run.stderr.contains("docker-credential-desktop"), "{}", run.stderr);
    assert!(run.stderr.contains("--undo"), "{}", run.stderr);
    // Nothing replaced, nothing said.
    let quiet = t.run(&["setup", "docker", "--config", p]).ok();
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
    let run = t.run(&["setup", "docker", "--config", p, "--registry", "gcr.io", "--dry-run"]).ok();
    assert!(run.stderr.contains(r#"credHelpers["gcr.io"] was "gcloud""#), "{}", run.stderr);

    // The user changes the file after setup; undo keeps that and puts "desktop" back.
    let mut value = json_of(&path);
    value["psFormat"] = "table {{.ID}}".into();
    fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
    let dry = t.run(&["setup", "docker", "--config", p, "--undo", "--dry-run"]).ok();
    assert!(dry.stdout.contains(r#"credsStore: "regcred" → "desktop""#), "{}", dry.stdout);
    assert_eq!(json_of(&path)["credsStore"], "regcred", "a dry run writes nothing");
    t.run(&["setup", "docker", "--config", p, "--undo"]).ok();
    assert_eq!(
        json_of(&path),
        serde_json::json!({"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}, "auths": {}, "psFormat": "table {{.ID}}"})
    );
    t.run(&["setup", "docker", "--config", p, "--undo"]).ok().stderr_has("nothing to undo");
}

#[test]
fn a_second_setup_numbers_its_backup_and_undo_reaches_past_it() {
    let t = TestEnv::new();
    let path = t.root().join("config.json");
    let original = r#"{"credsStore":"desktop"}"#;
    fs::write(&path, original).unwrap();
    let p = path.to_str().unwrap();
    let first = t.run(&["setup", "docker", "--config", p, "--registry", "ghcr.io"]).ok();
    assert!(first.stderr.contains(&format!("{p}.regcred-backup.")), "{}", first.stderr);
    let second = t.run(&["setup", "docker", "--config", p]).ok();
    assert!(second.stderr.contains(&format!("{p}.regcred-backup.2.")), "{}", second.stderr);
    // The first backup is the file as the user had it; the second is what the first setup made.
    assert_eq!(fs::read_to_string(format!("{p}.regcred-backup")).unwrap(), original);
    assert_eq!(json_of(&std::path::PathBuf::from(format!("{p}.regcred-backup.2")))["credsStore"], "desktop");
    assert_eq!(
        json_of(&std::path::PathBuf::from(format!("{p}.regcred-backup.2")))["credHelpers"]["ghcr.io"],
        "regcred"
    );
    t.run(&["setup", "docker", "--config", p, "--undo"]).ok();
    assert_eq!(json_of(&path), serde_json::json!({"credsStore": "desktop"}));
}

#[test]
fn setup_undo_of_a_file_setup_made_takes_regcred_out() {
    let t = TestEnv::new();
    t.add("quay.io", "robot", "pw");
    let path = t.root().join("auth.json");
    let p = path.to_str().unwrap();
    t.run(&["setup", "podman", "--config", p]).ok();
    assert_eq!(json_of(&path), serde_json::json!({"credHelpers": {"quay.io": "regcred"}}));
    t.run(&["setup", "podman", "--config", p, "--undo"]).ok();
    assert_eq!(json_of(&path), serde_json::json!({}));
    // --undo takes no registries.
    t.run(&["setup", "podman", "--config", p, "--undo", "--registry", "quay.io"]).code(2);
}

#[test]
fn setup_podman_writes_where_podman_writes_and_says_so() {
    let mut t = TestEnv::new();
    t.add("quay.io", "robot", "pw");
    let runtime = t.root().join("runtime");
    fs::create_dir_all(&runtime).unwrap();
    let named = t.root().join("named-auth.json");
    t.env("XDG_RUNTIME_DIR", runtime.to_str().unwrap());
    let run = t.run(&["setup", "podman"]).ok();
    let expected = runtime.join("containers").join("auth.json");
    assert!(run.stderr.contains(&format!("podman's auth file is {}", expected.display())), "{}", run.stderr);
    assert!(run.stderr.contains("$XDG_RUNTIME_DIR is set"), "{}", run.stderr);
    assert_eq!(json_of(&expected)["credHelpers"]["quay.io"], "regcred");
    assert!(!t.root().join(".config/containers/auth.json").exists(), "not the fallback");

    // REGISTRY_AUTH_FILE comes first.
    t.env("REGISTRY_AUTH_FILE", named.to_str().unwrap());
    t.run(&["setup", "podman"]).ok().stderr_has("$REGISTRY_AUTH_FILE names it");
    assert_eq!(json_of(&named)["credHelpers"]["quay.io"], "regcred");
}

#[test]
fn setup_podman_as_root_without_a_runtime_dir_names_run_containers() {
    let t = TestEnv::new();
    t.add("quay.io", "robot", "pw");
    let uid = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap();
    let mut cmd = t.command(&crate::util::regcred_bin(), &["setup", "podman", "--dry-run"]);
    cmd.env_remove("XDG_RUNTIME_DIR").env_remove("REGISTRY_AUTH_FILE").env_remove("XDG_CONFIG_HOME");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    if uid == 0 {
        // A dry run: the machine's own /run/containers/0/auth.json is only named.
        assert!(stderr.contains("podman's auth file is /run/containers/0/auth.json"), "{stderr}");
    } else if !std::path::Path::new(&format!("/run/containers/{uid}")).is_dir() {
        assert!(stderr.contains(&format!("{}", t.root().join(".config/containers/auth.json").display())), "{stderr}");
    }
}

#[test]
fn setup_podman_leaves_out_and_warns_about_registries_with_only_scoped_credentials() {
    let t = TestEnv::new();
    t.add("quay.io/myorg", "robot", "pw");
    t.add("ghcr.io/acme", "ci", "pw");
    t.add("ghcr.io", "bob", "pw");
    let path = t.root().join("auth.json");
    let p = path.to_str().unwrap();
    let run = t.run(&["setup", "podman", "--config", p]).ok();
    assert_eq!(json_of(&path), serde_json::json!({"credHelpers": {"ghcr.io": "regcred"}}));
    assert!(run.stderr.contains("quay.io has scoped credentials (quay.io/myorg)"), "{}", run.stderr);
    assert!(run.stderr.contains("not set up"), "{}", run.stderr);
    assert!(run.stderr.contains("ghcr.io has scoped credentials (ghcr.io/acme)"), "{}", run.stderr);
    assert!(run.stderr.contains("never a scoped one"), "{}", run.stderr);
    assert!(run.stderr.contains("regcred export auth-json") && run.stderr.contains("regcred exec --image"));

    // Only scoped credentials: nothing to set up, and the error says why.
    let scoped_only = TestEnv::new();
    scoped_only.add("quay.io/myorg", "robot", "pw");
    let other = scoped_only.root().join("auth.json");
    scoped_only
        .run(&["setup", "podman", "--config", other.to_str().unwrap()])
        .code(2)
        .stderr_has("no registry-wide credential");
    assert!(!other.exists());
}

#[test]
fn setup_with_an_environment_says_where_the_helper_takes_it_from() {
    let t = TestEnv::new();
    let path = t.root().join("config.json");
    let p = path.to_str().unwrap();
    t.run(&["-e", "prod", "setup", "docker", "--config", p]).code(2).stderr_has("environment \"prod\" does not exist");
    assert!(!path.exists());
    t.run(&["env", "create", "prod"]).ok();
    let run = t.run(&["-e", "prod", "setup", "docker", "--config", p]).ok();
    assert!(run.stderr.contains("REGCRED_ENV"), "{}", run.stderr);
    assert!(run.stderr.contains("regcred env use prod"), "{}", run.stderr);
    assert!(!fs::read_to_string(&path).unwrap().contains("prod"));
}

#[test]
fn export_onto_an_existing_file_needs_force_or_merge() {
    let t = TestEnv::new();
    t.add("quay.io", "robot", "pw");
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    let config = t.root().join("config.json");
    fs::write(&config, "{\"mine\": true}\n").unwrap();
    let c = config.to_str().unwrap();
    for format in ["docker-config", "auth-json"] {
        t.run(&["export", format, "--output-file", c]).code(2).stderr_has("exists").stderr_has("--force");
        assert_eq!(fs::read_to_string(&config).unwrap(), "{\"mine\": true}\n", "{format} left the file alone");
    }
    t.run(&["export", "k8s-secret", "--name", "pull", "--output-file", c]).code(2).stderr_has("--force");
    t.run(&["export", "registries-conf", "--output-file", c]).code(2).stderr_has("--force");
    t.run(&["export", "docker-config", "--output-file", c, "--force"]).ok();
    assert!(fs::read_to_string(&config).unwrap().contains("quay.io"));

    // docker-daemon: --merge of the same file is the way to update it in place.
    let daemon = t.root().join("daemon.json");
    fs::write(&daemon, "{\"log-level\": \"warn\"}\n").unwrap();
    let d = daemon.to_str().unwrap();
    t.run(&["export", "docker-daemon", "--output-file", d])
        .code(2)
        .stderr_has(&format!("--merge {d} --output-file {d}"));
    t.run(&["export", "docker-daemon", "--merge", d, "--output-file", d]).ok();
    let merged = json_of(&daemon);
    assert_eq!(merged["log-level"], "warn");
    assert_eq!(merged["insecure-registries"], serde_json::json!(["registry.lan:5000"]));
    // --force needs a file to replace.
    t.run(&["export", "docker-config", "--force"]).code(2);
}

#[test]
fn under_sudo_without_a_store_of_roots_own_tls_install_and_daemon_export_say_whose_store_to_read() {
    let is_root = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap();
    let mut t = TestEnv::new();
    let certs = t.root().join("certs.d");
    let daemon = t.root().join("daemon.json");
    fs::write(&daemon, "{\"log-level\": \"warn\"}\n").unwrap();
    let d = daemon.to_str().unwrap();

    // Nothing to install is a failure, sudo or not.
    t.run(&["tls", "install", "--certs-dir", certs.to_str().unwrap()])
        .code(1)
        .stderr_has("no trusted CA certificates to install");
    if !is_root {
        eprintln!("skipped the sudo part: it needs root");
        return;
    }
    t.env("SUDO_USER", "alice");
    let run = t.run(&["tls", "install", "--certs-dir", certs.to_str().unwrap()]).code(1);
    assert!(run.stderr.contains("root has no regcred store"), "{}", run.stderr);
    assert!(run.stderr.contains("--config-dir ~alice/.config/regcred"), "{}", run.stderr);
    assert!(run.stderr.contains("sudo -E"), "{}", run.stderr);
    assert!(!certs.exists());
    let run = t.run(&["export", "docker-daemon", "--merge", d, "--output-file", d]).code(1);
    assert!(run.stderr.contains("--config-dir ~alice/.config/regcred"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&daemon).unwrap(), "{\"log-level\": \"warn\"}\n", "nothing written");

    // With a store (root's own, or the user's named by --config-dir) it works as usual.
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    t.run(&["export", "docker-daemon", "--merge", d, "--output-file", d]).ok();
    assert_eq!(json_of(&daemon)["insecure-registries"], serde_json::json!(["registry.lan:5000"]));
}

#[test]
fn setup_docker_warns_about_registries_with_scoped_credentials() {
    let t = TestEnv::new();
    t.add("quay.io/myorg", "robot", "pw");
    t.add("ghcr.io/acme", "ci", "pw");
    t.add("ghcr.io", "bob", "pw");
    let path = t.root().join("config.json");
    let p = path.to_str().unwrap();
    let run = t.run(&["setup", "docker", "--config", p, "--dry-run"]).ok();
    assert!(run.stderr.contains("quay.io has scoped credentials (quay.io/myorg): docker asks"), "{}", run.stderr);
    assert!(run.stderr.contains("so it gets no credential there"), "{}", run.stderr);
    assert!(run.stderr.contains("ghcr.io has scoped credentials (ghcr.io/acme)"), "{}", run.stderr);
    assert!(run.stderr.contains("regcred exec --image IMAGE -- docker"), "{}", run.stderr);
    // Only the registries set up are mentioned.
    let run = t.run(&["setup", "docker", "--config", p, "--registry", "ghcr.io", "--dry-run"]).ok();
    assert!(!run.stderr.contains("quay.io"), "{}", run.stderr);
    assert!(run.stderr.contains("never a scoped one"), "{}", run.stderr);
}

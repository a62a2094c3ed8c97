//! The store file: permissions, damage, versions, and what doctor makes of them.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::TestEnv;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_store_that_does_not_parse_is_reported_with_line_and_column_and_kept() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let mut text = fs::read_to_string(t.store_file()).unwrap();
    text.push_str("\n[[credentials]\nbroken = \n");
    fs::write(t.store_file(), &text).unwrap();
    let before = t.snapshot();
    let run = t.run(&["list"]).code(1);
    assert!(run.stderr.contains("line ") && run.stderr.contains("column "), "{}", run.stderr);
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n").code(1);
    t.run(&["doctor", "--fix"]).code(1);
    assert_eq!(t.snapshot(), before, "never overwritten");
}

#[test]
fn a_newer_schema_version_is_refused_and_left_alone() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    // A small file-store store is written with version 2 (`secrets.d/`; 3 and 4 are a big
    // store with a journal); 5 is unknown.
    let text = fs::read_to_string(t.store_file()).unwrap();
    assert!(text.starts_with("version = 2\n"), "{text}");
    fs::write(t.store_file(), text.replace("version = 2", "version = 5\nnew_field = true")).unwrap();
    let before = t.snapshot();
    t.run(&["list"]).code(1).stderr_has("version 5");
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n").code(1);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_store_writable_by_others_is_refused_until_fixed() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    fs::set_permissions(t.store_file(), fs::Permissions::from_mode(0o666)).unwrap();
    t.run(&["list"]).code(1).stderr_has("chmod 600");
    t.run(&["doctor"]).code(1);
    t.run(&["doctor", "--fix"]).ok();
    assert_eq!(mode(&t.store_file()), 0o600);
    t.run(&["list"]).ok();
}

#[test]
fn nothing_is_written_by_read_commands_on_a_fresh_store() {
    let t = TestEnv::new();
    t.run(&["list"]).ok();
    t.run(&["resolve", "nginx"]).code(3);
    t.run(&["env", "list"]).ok();
    t.run(&[]).ok().stdout_has("default");
    assert!(!t.config_dir().exists());
}

#[test]
fn doctor_finds_and_fixes_secrets_and_metadata_that_disagree() {
    let t = TestEnv::new();
    let keep = t.add("quay.io", "keep", "pw-keep");
    let lose_secret = t.add("ghcr.io", "lost", "pw-lost");
    let orphan = t.add("docker.io", "orphan", "pw-orphan");
    // Take the secret of one away and the metadata of another, behind regcred's back.
    fs::remove_file(t.secret_file(lose_secret)).unwrap();
    let store = fs::read_to_string(t.store_file()).unwrap();
    let mut store_value: toml::Table = toml::from_str(&store).unwrap();
    let creds = store_value["credentials"].as_array_mut().unwrap();
    creds.retain(|c| c["id"].as_integer() != Some(orphan as i64));
    fs::write(t.store_file(), toml::to_string(&store_value).unwrap()).unwrap();

    let run = t.run(&["doctor", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("metadata without secret"), "{}", run.stdout);
    assert!(run.stdout.contains("secret without metadata"), "{}", run.stdout);
    t.run(&["doctor", "--fix"]).ok();
    t.run(&["doctor"]).ok();
    let ids: Vec<u64> = t.list().iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![keep]);
    let secrets = t.secrets_text();
    assert!(!secrets.contains("pw-orphan") && secrets.contains("pw-keep"), "{secrets}");
    assert!(!t.secret_file(orphan).exists());
}

#[test]
fn temporary_files_of_a_killed_writer_are_removed_by_the_next_write() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    // What a writer SIGKILLed between creating its temporary file and renaming it leaves.
    let leftovers = [".secrets.toml.Ab3dEf", ".regcred-Gh5iJk.tmp", ".secrets.d-7.toml.Kl9mNo.tmp"];
    for name in leftovers {
        fs::write(t.config_dir().join(name), "secret = \"deleted-long-ago\"\n").unwrap();
    }
    t.run(&["list"]).ok();
    assert!(t.config_dir().join(leftovers[0]).exists(), "a reader leaves them alone");
    let run = t.run(&["doctor", "-o", "plain"]).code(1);
    assert_eq!(run.stdout.matches("interrupted write").count(), 3, "{}", run.stdout);
    assert!(t.config_dir().join(leftovers[1]).exists(), "doctor without --fix changes nothing");
    t.add("ghcr.io", "b", "pw2");
    for name in leftovers {
        assert!(!t.config_dir().join(name).exists(), "{name} was left behind");
    }
    let names = |dir: std::path::PathBuf| {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(t.config_dir()), ["registries.lock", "registries.toml", "secrets.d"]);
    assert_eq!(names(t.secrets_dir()), ["1.toml", "2.toml"]);
}

/// A write under way, played by this test with regcred's own store code: lock, secret
/// first, then (after a pause) the metadata. A `doctor` started in the pause must wait for
/// the lock rather than report the credential half added.
#[test]
fn doctor_waits_for_a_write_under_way_instead_of_reporting_it_half_done() {
    let t = TestEnv::new();
    t.add("quay.io", "first", "pw-first");
    let store = regcred::testing::store(&t.config_dir());
    let mut registries = store.transaction().unwrap();
    let (id, sequence) = registries.allocate();
    let stamp = regcred::testing::now();
    let credential = regcred::testing::Credential {
        id,
        environment: "default".into(),
        name: None,
        address: "ghcr.io".into(),
        username: "second".into(),
        email: None,
        active: true,
        sequence,
        secret_store: regcred::testing::SecretStoreKind::File,
        secret_env: None,
        added: stamp,
        updated: stamp,
    };
    let key = regcred::testing::SecretKey {
        store_id: &registries.store_id,
        id,
        environment: "default",
        address: "ghcr.io",
        username: "second",
    };
    let secrets = regcred::testing::secrets(regcred::testing::SecretStoreKind::File, &t.config_dir());
    secrets.set(&key, &regcred::testing::Secret::new("pw-second".into())).unwrap();
    let doctor = t
        .command(&crate::util::regcred_bin(), &["doctor", "-o", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    registries.credentials.push(credential);
    registries.commit().unwrap();
    let out = doctor.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "doctor reported the write under way as a problem:\n{stdout}{stderr}");
    assert!(stdout.contains("2 secret(s) of this store there, 2 credential(s) expect one"), "{stdout}");
}

#[test]
fn a_fifo_in_place_of_the_store_is_refused_instead_of_blocking_forever() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    fs::remove_file(t.store_file()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(t.store_file()).status().unwrap().success());
    t.run(&["list"]).code(1).stderr_has("is not a regular file");
    fs::remove_dir_all(t.secrets_dir()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(t.secrets_dir()).status().unwrap().success());
    fs::remove_file(t.store_file()).unwrap();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n")
        .code(1)
        .stderr_has("not a regular file");
}

#[test]
fn a_symlinked_store_is_refused_and_stays_a_link() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let elsewhere = t.root().join("elsewhere.toml");
    fs::rename(t.store_file(), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.store_file()).unwrap();
    let before = fs::read(&elsewhere).unwrap();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n").code(1).stderr_has("symbolic link");
    assert!(fs::symlink_metadata(t.store_file()).unwrap().file_type().is_symlink(), "the link was replaced");
    assert_eq!(fs::read(&elsewhere).unwrap(), before);
}

#[test]
fn a_hand_lowered_next_id_is_refused_before_a_new_secret_overwrites_an_old_one() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw-a");
    t.add("ghcr.io", "b", "pw-b");
    let text = fs::read_to_string(t.store_file()).unwrap().replace("next_id = 3", "next_id = 2");
    fs::write(t.store_file(), text).unwrap();
    let before = t.snapshot();
    // Without the check the add took id 2 again and replaced credential 2's secret.
    t.run_with_stdin(&["add", "docker.io", "-u", "c", "--password-stdin"], "pw-c\n").code(1).stderr_has("next_id");
    assert_eq!(t.snapshot(), before);
    assert!(t.secrets_text().contains("pw-b"));
}

#[test]
fn a_store_made_read_only_by_its_owner_is_left_unchanged() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    fs::set_permissions(t.store_file(), fs::Permissions::from_mode(0o400)).unwrap();
    let before = t.snapshot();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n").code(1).stderr_has("read-only");
    assert_eq!(t.snapshot(), before, "no secret left behind either");
    assert_eq!(mode(&t.store_file()), 0o400);
    t.run(&["list"]).ok();
}

// ---------------------------------------------------------------------------------------
// Local attackers: each test replays one attack with a planted link, FIFO or file.
// ---------------------------------------------------------------------------------------

fn is_root() -> bool {
    let probe = tempfile::tempfile().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.metadata().unwrap()) == 0
}

fn mkfifo(path: &std::path::Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

fn owner(path: &std::path::Path) -> u32 {
    std::os::unix::fs::MetadataExt::uid(&fs::symlink_metadata(path).unwrap())
}

/// As another user could plant them beside a config in a directory they can write: a link
/// to a victim file at the backup's name, and a FIFO at the next one. `setup` writes through
/// neither (it used to copy over the link's target and make it 0666, or stream the config
/// into the FIFO); it makes the next free backup, 0600, and never overwrites the first.
#[test]
fn setup_backs_up_without_writing_through_a_planted_link_or_fifo() {
    let t = TestEnv::new();
    let dir = t.root().join("docker");
    fs::create_dir(&dir).unwrap();
    let config = dir.join("config.json");
    let original = r#"{"auths":{"x.example.com":{"auth":"c2VjcmV0"}}}"#;
    fs::write(&config, original).unwrap();
    let victim = t.root().join("victim");
    fs::write(&victim, "root's own file\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let backup = |n: &str| std::path::PathBuf::from(format!("{}.regcred-backup{n}", config.display()));
    std::os::unix::fs::symlink(&victim, backup("")).unwrap();
    mkfifo(&backup(".1"));
    let path = config.to_str().unwrap();
    t.run(&["setup", "docker", "--config", path]).ok().stderr_has(&format!("{}", backup(".2").display()));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's own file\n");
    assert_eq!(mode(&victim), 0o600);
    assert!(fs::symlink_metadata(backup("")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(backup(".2")).unwrap(), original);
    assert_eq!(mode(&backup(".2")), 0o600);
    // A second run keeps that backup and numbers the next one.
    t.run(&["setup", "docker", "--config", path, "--registry", "ghcr.io"]).ok();
    assert_eq!(fs::read_to_string(backup(".2")).unwrap(), original);
    assert!(fs::read_to_string(backup(".3")).unwrap().contains("credsStore"));
}

/// `setup` creates a missing ~/.docker or podman's `containers` directory 0700, whatever the
/// umask. (podman's auth file is `$XDG_RUNTIME_DIR/containers/auth.json` when that variable
/// is set, as here: without it, root's would be the machine's `/run/containers/0`.)
#[test]
fn setup_creates_client_config_dirs_private_whatever_the_umask() {
    let t = TestEnv::new();
    let home = t.root();
    let runtime = home.join("run");
    std::fs::create_dir(&runtime).unwrap();
    let mut cmd = t.command(std::path::Path::new("sh"), &[]);
    cmd.arg("-c")
        .arg("umask 000 && \"$0\" setup docker && \"$0\" setup podman --registry quay.io")
        .arg(crate::util::regcred_bin())
        .env("HOME", home)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("XDG_RUNTIME_DIR", &runtime);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&home.join(".docker")), 0o700);
    assert_eq!(mode(&runtime.join("containers")), 0o700);
    assert_eq!(mode(&home.join(".docker/config.json")), 0o600);
}

/// A config dir others may write, or another user's, is refused (exit 1) rather than
/// adopted with their store, lock file or links in it.
#[test]
fn a_config_dir_others_may_write_or_another_user_owns_is_refused() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    for dir_mode in [0o777, 0o770, 0o1777] {
        fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(dir_mode)).unwrap();
        let before = t.snapshot();
        t.run(&["list"]).code(1).stderr_has("writable by other users").stderr_has("chmod 700");
        t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n")
            .code(1)
            .stderr_has("writable by other users");
        assert_eq!(t.snapshot(), before);
    }
    fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    if !is_root() {
        eprintln!("skipped: the other-user half needs root to run as nobody");
        return;
    }
    // Root's store, opened by nobody (the dir and files readable by all).
    fs::set_permissions(t.root(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(t.store_file(), fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(crate::util::regcred_bin())
        .arg("list")
        .env("REGCRED_CONFIG_DIR", t.config_dir())
        .env("HOME", t.root());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("belongs to another user"), "{stderr}");
}

/// The lock file must be a regular file of ours that nobody else may write: a 0666 lock
/// file another user holds would hang every write, and a planted link would create its
/// target.
#[test]
fn a_lock_file_others_may_write_or_a_linked_one_is_refused() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let lock = t.config_dir().join("registries.lock");
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o666)).unwrap();
    let before = t.snapshot();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n")
        .code(1)
        .stderr_has("lock file")
        .stderr_has("writable by other users");
    assert_eq!(t.snapshot(), before);
    fs::remove_file(&lock).unwrap();
    let target = t.root().join("created-by-the-link");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    t.run_with_stdin(&["add", "ghcr.io", "-u", "b", "--password-stdin"], "pw\n").code(1).stderr_has("symbolic link");
    assert!(!target.exists(), "the link's target was created");
    assert_eq!(t.snapshot(), before);
}

/// A FIFO swapped in place of a secret's file is refused on the open descriptor: neither the
/// helper's `get` nor `resolve` blocks on it.
#[test]
fn a_fifo_in_place_of_the_secrets_file_never_blocks_a_reader() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    fs::remove_file(t.secret_file(1)).unwrap();
    mkfifo(&t.secret_file(1));
    let started = std::time::Instant::now();
    t.run(&["resolve", "quay.io/x", "--show-secret"]).code(1).stderr_has("not a regular file");
    let helper = crate::util::bin_dir().join("docker-credential-regcred");
    let run = t.run_bin(&helper, &["get"], "quay.io");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("not a regular file"), "{}", run.stdout);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// `doctor --fix` repairs modes on descriptors opened without following links: a linked
/// secrets file's target keeps its mode, and a sticky shared dir keeps its sticky bit.
#[test]
fn doctor_fix_follows_no_link_and_strips_no_sticky_bit() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let victim = t.root().join("victim.toml");
    fs::rename(t.secret_file(1), &victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, t.secret_file(1)).unwrap();
    let run = t.run(&["doctor", "--fix", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("symbolic link; doctor does not follow it"), "{}", run.stdout);
    assert_eq!(mode(&victim), 0o644, "doctor --fix changed the link's target");
    fs::remove_file(t.secret_file(1)).unwrap();
    fs::rename(&victim, t.secret_file(1)).unwrap();
    fs::set_permissions(t.secret_file(1), fs::Permissions::from_mode(0o600)).unwrap();

    fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(0o1777)).unwrap();
    let run = t.run(&["doctor", "--fix", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("sticky"), "{}", run.stdout);
    assert_eq!(fs::metadata(t.config_dir()).unwrap().permissions().mode() & 0o7777, 0o1777);
}

/// Root changing a user's store (`sudo regcred --config-dir ~user/.config/regcred …`)
/// leaves every file the user's, so the user can go on using it.
#[test]
fn root_writing_a_users_store_leaves_the_files_the_users() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    for path in
        [t.config_dir(), t.store_file(), t.secrets_dir(), t.secret_file(1), t.config_dir().join("registries.lock")]
    {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    t.add("ghcr.io", "b", "pw2");
    fs::remove_file(t.config_dir().join("registries.lock")).unwrap();
    t.run(&["deactivate", "1"]).ok();
    for entry in fs::read_dir(t.config_dir()).unwrap().flatten().chain(fs::read_dir(t.secrets_dir()).unwrap().flatten())
    {
        assert_eq!(owner(&entry.path()), 65534, "{} became root's", entry.path().display());
    }
}

/// The leftover sweep removes exactly the temporary names regcred makes, never a user's
/// file that merely starts like one.
#[test]
fn the_leftover_sweep_spares_files_that_only_look_like_temporary_ones() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let kept = [
        ".secrets.toml.bak-2024",
        ".registries.toml.Ab3dEf.tmp.old",
        ".regcred-notes.txt",
        ".secrets.d-1.toml.bak",
        ".secrets.d-01.toml.Ab3dEf.tmp",
        "secrets.d/.1.toml.Ab3dEf.tmp",
        "secrets.d/notes.txt",
    ];
    let swept = [".secrets.toml.Ab3dEf.tmp", ".registries.toml.Gh5iJk.tmp", ".secrets.d-1.toml.Ab3dEf.tmp"];
    for name in kept.iter().chain(&swept) {
        fs::write(t.config_dir().join(name), "x").unwrap();
    }
    t.add("ghcr.io", "b", "pw2");
    for name in kept {
        assert!(t.config_dir().join(name).exists(), "{name} was deleted");
    }
    for name in swept {
        assert!(!t.config_dir().join(name).exists(), "{name} was left");
    }
}

/// A killed `export --output-file` left its temporary file, holding secrets, beside the
/// output; the next export of that file removes it (and nothing that merely looks alike).
#[test]
fn an_export_removes_the_secret_bearing_temporary_file_of_a_killed_export() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw-export");
    let out_dir = t.root().join("out");
    fs::create_dir(&out_dir).unwrap();
    let leftover = out_dir.join(".auth.json.Xy12Zw.tmp");
    let unrelated = out_dir.join(".auth.json.bak");
    fs::write(&leftover, "{\"auths\":{\"quay.io\":{\"auth\":\"old-secret\"}}}").unwrap();
    fs::write(&unrelated, "mine").unwrap();
    let file = out_dir.join("auth.json");
    t.run(&["export", "auth-json", "--output-file", file.to_str().unwrap()]).ok();
    assert!(!leftover.exists(), "the killed export's temporary file is still there");
    assert!(unrelated.exists());
    assert_eq!(mode(&file), 0o600);
}

/// Appends a hand-written TLS setting with a CA certificate to the store.
fn hand_edit_tls(t: &TestEnv, address: &str) {
    let mut text = fs::read_to_string(t.store_file()).unwrap();
    text.push_str(&format!(
        "\n[[tls]]\nenvironment = \"default\"\naddress = {address:?}\nca_cert = \"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"\nupdated = \"2026-01-01T00:00:00Z\"\n"
    ));
    fs::write(t.store_file(), text).unwrap();
}

/// `tls install` never follows a link planted under --certs-dir (it would write the
/// certificate wherever the link points), and never joins a hand-edited address that is
/// not `host[:port]` (`../../x`, an absolute path) to it.
#[test]
fn tls_install_refuses_a_linked_dir_under_the_certs_dir_and_hand_edited_addresses() {
    let t = TestEnv::new();
    t.add("127.0.0.1:5000", "a", "pw");
    hand_edit_tls(&t, "127.0.0.1:5000");
    let certs = t.root().join("certs.d");
    fs::create_dir(&certs).unwrap();
    let elsewhere = t.root().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, certs.join("127.0.0.1:5000")).unwrap();
    let certs_arg = certs.to_str().unwrap();
    t.run(&["tls", "install", "--certs-dir", certs_arg]).code(1).stderr_has("symbolic link");
    assert!(!elsewhere.join("ca.crt").exists(), "the certificate went through the link");
    fs::remove_file(certs.join("127.0.0.1:5000")).unwrap();
    t.run(&["tls", "install", "--certs-dir", certs_arg]).ok();
    assert_eq!(mode(&certs.join("127.0.0.1:5000/ca.crt")), 0o644);

    for bad in ["../../x", "/etc/evil"] {
        let t = TestEnv::new();
        t.add("quay.io", "a", "pw");
        hand_edit_tls(&t, bad);
        let certs = t.root().join("certs.d");
        t.run(&["tls", "install", "--certs-dir", certs.to_str().unwrap()])
            .code(1)
            .stderr_has("is not a registry address");
        assert!(!t.root().join("x").exists() && !std::path::Path::new("/etc/evil").exists());
        assert!(!certs.exists(), "something was written for {bad}");
    }
}

/// Writes an executable shell script.
fn script(path: &std::path::Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A config file names the credential helper `import` runs: only a plain name, found in an
/// absolute directory of PATH, and in a dry run nothing at all. `{"credsStore":
/// "x/../payload"}` used to run `./payload`.
#[test]
fn import_runs_only_plain_helper_names_from_path_and_nothing_in_a_dry_run() {
    let t = TestEnv::new();
    let marker = t.root().join("ran");
    let work = t.root().join("work");
    // What the attack needs: `docker-credential-x/../payload` resolves to ./payload.
    fs::create_dir_all(work.join("docker-credential-x")).unwrap();
    let touch = format!("echo \"$0\" >> {}", marker.display());
    script(&work.join("payload"), &touch);
    script(&work.join("docker-credential-rel"), &touch);
    let bin = t.root().join("bin");
    fs::create_dir(&bin).unwrap();
    script(
        &bin.join("docker-credential-fake"),
        &format!(
            "{touch}\ncase \"$1\" in list) echo '{{\"quay.io\":\"bob\"}}' ;; get) echo '{{\"Username\":\"bob\",\"Secret\":\"pw-fake\"}}' ;; esac"
        ),
    );
    let config = t.root().join("config.json");
    fs::write(&config, r#"{"credsStore":"x/../payload","credHelpers":{"ghcr.io":"rel","quay.io":"fake"}}"#).unwrap();
    let path = format!("{}:.:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = |args: &[&str]| {
        let out = t.command(&crate::util::regcred_bin(), args).current_dir(&work).env("PATH", &path).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = config.to_str().unwrap();
    let (code, stdout, stderr) = run(&["import", "docker-config", file, "--dry-run", "-o", "plain"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("not a credential helper name"), "{stdout}");
    assert!(stdout.contains("--dry-run runs no program"), "{stdout}");
    assert!(!marker.exists(), "a dry run ran: {}", fs::read_to_string(&marker).unwrap_or_default());
    let (code, stdout, stderr) = run(&["import", "docker-config", file, "-o", "plain"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("docker-credential-rel: not found on PATH"), "{stdout}");
    let ran = fs::read_to_string(&marker).unwrap_or_default();
    assert!(ran.lines().all(|line| line == bin.join("docker-credential-fake").to_str().unwrap()), "{ran}");
    assert!(ran.contains("docker-credential-fake"), "the helper on PATH was not asked: {stdout}");
    assert_eq!(t.resolve("quay.io/x"), Some(1));
}

// ---------------------------------------------------------------------------------------
// A big store of the journal's first release (version 3): read as it is, written whole as
// version 4 by its first write
// ---------------------------------------------------------------------------------------

/// tests/data/store-v3-journal, written by the release that introduced the journal: 1,002
/// credentials added one by one with `--secret-from-env REGISTRY_TOKEN`, so
/// `registries.toml` (version 3, generation 1) holds 1,000 and its journal, whose header
/// carries no sum, the last two.
#[test]
fn a_big_store_of_the_journals_first_release_is_read_as_it_is_and_written_whole_by_its_first_write() {
    let mut t = TestEnv::new();
    release_store(&t, "store-v3-journal", &["registries.toml", "registries.journal"]);
    t.env("REGISTRY_TOKEN", "token-v3");
    let before = t.snapshot();
    assert_eq!(t.list().len(), 1002);
    let run = t.run(&["resolve", "registry1002.example.com:5000/x", "--show-secret", "-o", "json"]).ok();
    let credential = &run.json_lines()[0]["credential"];
    assert_eq!((credential["id"].as_u64(), credential["password"].as_str()), (Some(1002), Some("token-v3")));
    assert_eq!(t.resolve("registry7.example.com:5000/x"), Some(7));
    assert_eq!(t.snapshot(), before, "a read-only command wrote to the store");

    // The first write writes the store whole, as version 4, and starts an empty journal of
    // the next generation whose header vouches for the file.
    let id = t.add("quay.io", "new", "pw-new");
    assert_eq!(id, 1003);
    let store = fs::read(t.store_file()).unwrap();
    let text = String::from_utf8_lossy(&store);
    assert!(text.starts_with("version = 4\n") && text.contains("\njournal = 2\n"), "{}", &text[..200]);
    assert!(text.contains("registry1002.example.com:5000") && text.contains("quay.io"));
    let journal = fs::read_to_string(t.journal_file()).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    let sum = format!(r#""base":{{"len":{},"crc32":{}}}"#, store.len(), crc32fast::hash(&store));
    assert!(journal.contains(r#""generation":2"#) && journal.contains(&sum), "{journal}\nexpected {sum}");
    // From then on a write appends, and every credential reads as before.
    t.run(&["deactivate", "7"]).ok();
    assert_eq!(fs::read(t.store_file()).unwrap(), store, "registries.toml was rewritten");
    assert_eq!(fs::read_to_string(t.journal_file()).unwrap().lines().count(), 2);
    assert_eq!(t.list().len(), 1003);
    assert_eq!(t.status(7), "inactive");
    assert_eq!(t.resolve("registry1001.example.com:5000/x"), Some(1001));
    t.run(&["doctor"]).ok();
}

// ---------------------------------------------------------------------------------------
// The store of the release before `secrets.d/`: read as it is, migrated by its first write
// ---------------------------------------------------------------------------------------

/// Puts the store in tests/data/store-v1 into `t`'s config dir: written by the release
/// before `secrets.d/` (`registries.toml` version 1, all secrets in one `secrets.toml`):
/// five credentials added, one of them deleted again (3), one deactivated (1), one in
/// another environment with a secret that needs escapes (4), one without a stored
/// secret (5, `--secret-from-env`).
fn previous_release_store(t: &TestEnv) {
    release_store(t, "store-v1", &["registries.toml", "secrets.toml"]);
}

/// Copies `files` of tests/data/`fixture` into `t`'s config dir, with the modes regcred gives.
fn release_store(t: &TestEnv, fixture: &str, files: &[&str]) {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(fixture);
    fs::create_dir_all(t.config_dir()).unwrap();
    fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    for name in files {
        fs::copy(data.join(name), t.config_dir().join(name)).unwrap();
        fs::set_permissions(t.config_dir().join(name), fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn expected_secrets() -> Vec<(u64, String)> {
    vec![(1, "pw-alice-1".into()), (2, "pw-bob-2".into()), (4, "odd \"quoted\" \\ secret".into())]
}

#[test]
fn a_store_of_the_previous_release_is_read_as_it_is_and_migrated_by_its_first_write() {
    let t = TestEnv::new();
    previous_release_store(&t);
    let before = t.snapshot();
    // Reads: everything as before, and nothing written (the deactivated 1 is switched on
    // only to resolve it, after the snapshot comparison).
    assert_eq!(t.list().len(), 3);
    t.run(&["list", "--all-envs"]).ok();
    let run = t.run(&["-e", "staging", "resolve", "registry.example.com:5000/x", "--show-secret", "-o", "json"]).ok();
    assert_eq!(run.json_lines()[0]["credential"]["password"], "odd \"quoted\" \\ secret");
    t.run(&["doctor"]).ok();
    assert_eq!(t.snapshot(), before, "a read-only command wrote to the store");
    assert!(!t.secrets_dir().exists());

    // The first write migrates: one file per secret, secrets.toml gone, version 2.
    t.run(&["activate", "1"]).ok();
    assert!(!t.secrets_file().exists(), "secrets.toml is still there");
    let store = fs::read_to_string(t.store_file()).unwrap();
    assert!(store.starts_with("version = 2\n"), "{store}");
    let mut names: Vec<String> =
        fs::read_dir(t.secrets_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["1.toml", "2.toml", "4.toml"]);
    assert_eq!(mode(&t.secrets_dir()), 0o700);
    for name in &names {
        assert_eq!(mode(&t.secrets_dir().join(name)), 0o600, "{name}");
    }
    assert_eq!(resolved_secrets(&t), expected_secrets());
    assert!(!t.secrets_text().contains("pw-gone-3"));
    // And it goes on working in the new layout.
    let id = t.add("docker.io", "new", "pw-new-6");
    assert_eq!(id, 6);
    assert!(t.secret_file(6).exists());
    t.run(&["delete", "2", "--yes"]).ok();
    assert!(!t.secret_file(2).exists(), "a deleted secret's file is unlinked");
    assert!(!t.secrets_text().contains("pw-bob-2"));
    let run = t.run(&["doctor", "-o", "plain"]).ok();
    assert!(run.stdout.contains("3 secret(s) of this store there, 3 credential(s) expect one"), "{}", run.stdout);
}

/// A migration killed at any step leaves a store that reads exactly as before (while
/// `secrets.toml` is there it alone is read, whatever `secrets.d/` holds) and that the next
/// write migrates again, making `secrets.d/` exactly `secrets.toml`.
#[test]
fn an_interrupted_migration_reads_as_before_and_the_next_write_finishes_it() {
    // What the finished migration writes, to play the steps before it.
    let done = TestEnv::new();
    previous_release_store(&done);
    done.run(&["env", "create", "x"]).ok();
    let migrated_file = |id: u64| fs::read(done.secret_file(id)).unwrap();

    type Step = fn(&TestEnv, &dyn Fn(u64) -> Vec<u8>);
    let steps: [(&str, Step); 4] = [
        ("secrets.d made, empty", |t, _| fs::create_dir(t.secrets_dir()).unwrap()),
        ("one secret's file written", |t, file| {
            fs::create_dir(t.secrets_dir()).unwrap();
            fs::write(t.secret_file(1), file(1)).unwrap();
        }),
        ("every file written, registries.toml at version 2, secrets.toml not yet removed", |t, file| {
            fs::create_dir(t.secrets_dir()).unwrap();
            for id in [1, 2, 4] {
                fs::write(t.secret_file(id), file(id)).unwrap();
            }
            let store = fs::read_to_string(t.store_file()).unwrap().replace("version = 1", "version = 2");
            fs::write(t.store_file(), store).unwrap();
        }),
        // An older regcred then changed the store: edited 2's secret and deleted 4 in
        // secrets.toml, leaving secrets.d/ as the interrupted migration left it.
        ("then an older regcred edited one secret and deleted another", |t, file| {
            fs::create_dir(t.secrets_dir()).unwrap();
            for id in [1, 2, 4] {
                fs::write(t.secret_file(id), file(id)).unwrap();
            }
            let secrets = fs::read_to_string(t.secrets_file()).unwrap();
            let cut = secrets.find("\n[secret.4]").unwrap();
            fs::write(t.secrets_file(), secrets[..cut].replace("pw-bob-2", "pw-bob-edited") + "\n").unwrap();
            let store = fs::read_to_string(t.store_file()).unwrap();
            let cut = store.find("[[credentials]]\nid = 4\n").unwrap();
            let rest = &store[cut..];
            let next = rest[1..].find("[[credentials]]").map_or(store.len(), |i| cut + 1 + i);
            fs::write(t.store_file(), format!("{}{}", &store[..cut], &store[next..])).unwrap();
        }),
    ];
    for (step, play) in steps {
        let t = TestEnv::new();
        previous_release_store(&t);
        play(&t, &migrated_file);
        for entry in fs::read_dir(t.secrets_dir()).unwrap().flatten() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o600)).unwrap();
        }
        fs::set_permissions(t.secrets_dir(), fs::Permissions::from_mode(0o700)).unwrap();
        let older_edit = step.starts_with("then");
        let mut expected = expected_secrets();
        if older_edit {
            expected = vec![(1, "pw-alice-1".into()), (2, "pw-bob-edited".into())];
        }
        let secrets_of = |t: &TestEnv| {
            let mut found = resolved_secrets(t);
            found.sort();
            found
        };
        // Credential 1 is inactive until the write switches it on.
        assert_eq!(secrets_of(&t), expected[1..], "{step}: read after the interruption");
        t.run(&["activate", "1"]).ok();
        assert!(!t.secrets_file().exists(), "{step}: the write did not finish the migration");
        assert!(fs::read_to_string(t.store_file()).unwrap().starts_with("version = 2\n"), "{step}");
        assert_eq!(secrets_of(&t), expected, "{step}: read after the migration");
        let mut ids: Vec<String> = fs::read_dir(t.secrets_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        let wanted: &[&str] = if older_edit { &["1.toml", "2.toml"] } else { &["1.toml", "2.toml", "4.toml"] };
        assert_eq!(ids, wanted, "{step}: secrets.d is not exactly what secrets.toml held");
        t.run(&["doctor"]).ok();
    }
}

/// The secrets the previous release's credentials resolve to (id, secret), skipping those
/// that resolve to none (inactive or deleted).
fn resolved_secrets(t: &TestEnv) -> Vec<(u64, String)> {
    let mut found = Vec::new();
    for (env, image) in
        [("default", "quay.io/x"), ("default", "ghcr.io/acme/app"), ("staging", "registry.example.com:5000/x")]
    {
        let run = t.run(&["-e", env, "resolve", image, "--show-secret", "-o", "json"]);
        let lines = run.json_lines();
        let credential = &lines[0]["credential"];
        if let Some(id) = credential["id"].as_u64() {
            found.push((id, credential["password"].as_str().unwrap().to_owned()));
        }
    }
    found
}

/// The text of a store of the previous release with `n` credentials (ids 1..=n, each on
/// its own registry `rI.example.com`, secret `pw-I`), exactly as that release writes
/// `registries.toml` and `secrets.toml` (the form of tests/data/store-v1).
fn previous_release_texts(n: u64) -> (String, String) {
    const STORE_ID: &str = "f9c70ddfe6e7e5bf5455553d5cbd10e4";
    const STAMP: &str = "2026-11-26T09:40:47Z";
    let mut store = format!(
        "version = 1\nstore_id = \"{STORE_ID}\"\ncurrent_environment = \"default\"\nnext_id = {next}\nnext_sequence = {next}\n\n\
         [[environments]]\nname = \"default\"\ncreated = \"{STAMP}\"\n",
        next = n + 1
    );
    let mut secrets = String::from(
        "# regcred secrets: plain text, chosen with `--secret-store file`.\n\
         # Keep this file private (mode 0600). Each [secret.ID] belongs to credential ID.\nversion = 1\n",
    );
    for id in 1..=n {
        store.push_str(&format!(
            "\n[[credentials]]\nid = {id}\nenvironment = \"default\"\naddress = \"r{id}.example.com\"\nusername = \"u{id}\"\n\
             active = true\nsequence = {id}\nsecret_store = \"file\"\nadded = \"{STAMP}\"\nupdated = \"{STAMP}\"\n"
        ));
        secrets.push_str(&format!(
            "\n[secret.{id}]\nstore = \"{STORE_ID}\"\nenvironment = \"default\"\naddress = \"r{id}.example.com\"\n\
             username = \"u{id}\"\nsecret = \"pw-{id}\"\n"
        ));
    }
    (store, secrets)
}

/// Every credential 1..=n resolves to its own secret (one `resolve` for all of them).
fn assert_every_secret_resolves(t: &TestEnv, n: u64, when: &str) {
    let images: Vec<String> = (1..=n).map(|id| format!("r{id}.example.com/x")).collect();
    let mut args = vec!["resolve", "--show-secret", "-o", "json"];
    args.extend(images.iter().map(String::as_str));
    let run = t.run(&args);
    assert_eq!(run.code, 0, "{when}: {}", run.stderr);
    for (id, line) in (1..=n).zip(run.json_lines()) {
        assert_eq!(line["credential"]["password"], format!("pw-{id}"), "{when}: credential {id}");
    }
}

/// The first write of a previous release's store, SIGKILLed at random points of its
/// migration: after each kill the store reads exactly as before (every secret there),
/// and the next write finishes the migration.
#[test]
fn a_migration_killed_at_any_point_loses_nothing_and_is_finished_by_the_next_write() {
    const N: u64 = 150;
    let (store_text, secrets_text) = previous_release_texts(N);
    let fresh = || {
        let t = TestEnv::new();
        fs::create_dir_all(t.config_dir()).unwrap();
        fs::set_permissions(t.config_dir(), fs::Permissions::from_mode(0o700)).unwrap();
        for (name, text) in [("registries.toml", &store_text), ("secrets.toml", &secrets_text)] {
            fs::write(t.config_dir().join(name), text).unwrap();
            fs::set_permissions(t.config_dir().join(name), fs::Permissions::from_mode(0o600)).unwrap();
        }
        t
    };
    // How long an unkilled migration takes here (the quicker of two), to spread the kills
    // over it.
    let mut took = u64::MAX;
    for _ in 0..2 {
        let t = fresh();
        assert_every_secret_resolves(&t, N, "the previous release's store");
        let started = std::time::Instant::now();
        t.run(&["env", "create", "z"]).ok();
        took = took.min(started.elapsed().as_micros().max(1000) as u64);
        assert!(!t.secrets_file().exists());
        assert_every_secret_resolves(&t, N, "after an unkilled migration");
    }

    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("migration kills: seed {seed}, an unkilled migration took {took} µs");
    let (mut killed, mut states) = (0, std::collections::BTreeSet::new());
    for round in 0..24 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let t = fresh();
        let mut child = t
            .command(&crate::util::regcred_bin(), &["env", "create", "z"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(seed % took));
        let _ = child.kill();
        let status = child.wait().unwrap();
        killed += usize::from(status.code().is_none());
        let files = t.secrets_dir().read_dir().map(|d| d.count()).unwrap_or(0);
        states.insert((t.secrets_file().exists(), files > 0));
        assert_every_secret_resolves(&t, N, &format!("round {round}, after the kill"));
        t.run(&["env", "create", "y"]).ok();
        assert!(!t.secrets_file().exists(), "round {round}: the next write left secrets.toml");
        assert_eq!(t.secrets_dir().read_dir().unwrap().count() as u64, N, "round {round}");
        assert!(fs::read_to_string(t.store_file()).unwrap().starts_with("version = 2\n"));
        assert_every_secret_resolves(&t, N, &format!("round {round}, after the next write"));
        t.run(&["doctor"]).ok();
    }
    eprintln!("migration kills: {killed} of 24 landed; (secrets.toml there, secrets.d has files) seen: {states:?}");
    assert!(killed >= 6, "only {killed} of 24 kills landed before the command finished");
}

/// The writes read a big store only for what they need: what they do, print and refuse is
/// what they do on a small store, and the store keeps one journal record per write.
#[test]
fn writes_to_a_big_store_with_a_journal_behave_as_on_a_small_one() {
    let small = TestEnv::new();
    let big = TestEnv::new();
    big.big_store(0);
    small.run(&["env", "create", "bulk"]).ok();
    let journal_lines = || fs::read_to_string(big.journal_file()).map_or(0, |j| j.lines().count());
    for t in [&small, &big] {
        t.add_with(&["quay.io", "-u", "old", "--name", "team"], "pw1");
        t.add("quay.io", "new", "pw2");
    }
    let lines = journal_lines();
    assert!(lines >= 3, "the big store keeps no journal ({lines} lines)");
    // The same commands, the same answers (ids differ: the big store's start after 1,000).
    let id = |t: &TestEnv, name: &str| -> String {
        t.list().iter().find(|c| c["username"] == name).map(|c| c["id"].to_string()).unwrap()
    };
    for t in [&small, &big] {
        let old = id(t, "old");
        // By id, by name and by address; the toggle reports the registry's statuses.
        t.run(&["activate", &old]).ok().stderr_has("overridden");
        t.run(&["deactivate", "team"]).ok();
        assert_eq!(t.status(old.parse().unwrap()), "inactive");
        t.run(&["activate", "quay.io"]).ok();
        t.run_with_stdin(&["edit", "team", "-u", "older", "--password-stdin"], "pw3\n").ok();
        // Refusals come from the whole store: another environment, a near miss, a name taken.
        t.run(&["-e", "bulk", "delete", &old, "--yes"])
            .code(2)
            .stderr_has("is in environment \"default\", not \"bulk\"");
        t.run(&["activate", "quay.i"]).code(2).stderr_has("did you mean \"quay.io\"?");
        t.run_with_stdin(&["add", "ghcr.io", "-u", "x", "--name", "team", "--password-stdin"], "pw\n")
            .code(2)
            .stderr_has("team");
        t.run(&["delete", "team", "--yes"]).ok();
        assert!(t.list().iter().all(|c| c["username"] != "older"));
        assert_eq!(t.resolve("quay.io/x"), Some(id(t, "new").parse().unwrap()));
    }
    // deactivate, edit, delete; the two activations found their credential active already.
    assert_eq!(journal_lines(), lines + 3, "one record per write that changed something");
    // Toggling by id reads the registry's credentials too: the status it reports is right.
    let new = id(&big, "new");
    big.run(&["deactivate", &new]).ok();
    assert_eq!(big.status(new.parse().unwrap()), "inactive");
    big.run(&["doctor"]).ok();
}

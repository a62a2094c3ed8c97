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
    let text = fs::read_to_string(t.store_file()).unwrap().replace("version = 1", "version = 2\nnew_field = true");
    fs::write(t.store_file(), &text).unwrap();
    let before = t.snapshot();
    t.run(&["list"]).code(1).stderr_has("version 2");
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
    let secrets = fs::read_to_string(t.secrets_file()).unwrap();
    let mut value: toml::Table = toml::from_str(&secrets).unwrap();
    remove_secret_entry(&mut value, lose_secret);
    fs::write(t.secrets_file(), toml::to_string(&value).unwrap()).unwrap();
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
    assert!(!fs::read_to_string(t.secrets_file()).unwrap().contains("pw-orphan"));
}

/// Removes credential `id` from a parsed secrets.toml, whatever its exact layout.
fn remove_secret_entry(table: &mut toml::Table, id: u64) {
    let key = id.to_string();
    if table.remove(&key).is_some() {
        return;
    }
    for (_, value) in table.iter_mut() {
        if let Some(inner) = value.as_table_mut()
            && inner.remove(&key).is_some()
        {
            return;
        }
        if let Some(array) = value.as_array_mut() {
            let before = array.len();
            array.retain(|e| e.get("id").and_then(|v| v.as_integer()) != Some(id as i64));
            if array.len() != before {
                return;
            }
        }
    }
    panic!("no entry for credential {id} in secrets.toml:\n{table}");
}

#[test]
fn temporary_files_of_a_killed_writer_are_removed_by_the_next_write() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    // What a writer SIGKILLed between creating its temporary file and renaming it leaves.
    let leftovers = [".secrets.toml.Ab3dEf", ".regcred-Gh5iJk.tmp"];
    for name in leftovers {
        fs::write(t.config_dir().join(name), "secret = \"deleted-long-ago\"\n").unwrap();
    }
    t.run(&["list"]).ok();
    assert!(t.config_dir().join(leftovers[0]).exists(), "a reader leaves them alone");
    let run = t.run(&["doctor", "-o", "plain"]).code(1);
    assert_eq!(run.stdout.matches("interrupted write").count(), 2, "{}", run.stdout);
    assert!(t.config_dir().join(leftovers[1]).exists(), "doctor without --fix changes nothing");
    t.add("ghcr.io", "b", "pw2");
    for name in leftovers {
        assert!(!t.config_dir().join(name).exists(), "{name} was left behind");
    }
    let mut names: Vec<String> =
        fs::read_dir(t.config_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["registries.lock", "registries.toml", "secrets.toml"]);
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
    fs::remove_file(t.secrets_file()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(t.secrets_file()).status().unwrap().success());
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
    assert!(fs::read_to_string(t.secrets_file()).unwrap().contains("pw-b"));
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

/// A FIFO swapped in place of secrets.toml is refused on the open descriptor: neither the
/// helper's `get` nor `resolve` blocks on it.
#[test]
fn a_fifo_in_place_of_the_secrets_file_never_blocks_a_reader() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    fs::remove_file(t.secrets_file()).unwrap();
    mkfifo(&t.secrets_file());
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
    fs::rename(t.secrets_file(), &victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, t.secrets_file()).unwrap();
    let run = t.run(&["doctor", "--fix", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("symbolic link; doctor does not follow it"), "{}", run.stdout);
    assert_eq!(mode(&victim), 0o644, "doctor --fix changed the link's target");
    fs::remove_file(t.secrets_file()).unwrap();
    fs::rename(&victim, t.secrets_file()).unwrap();
    fs::set_permissions(t.secrets_file(), fs::Permissions::from_mode(0o600)).unwrap();

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
    for path in [t.config_dir(), t.store_file(), t.secrets_file(), t.config_dir().join("registries.lock")] {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    t.add("ghcr.io", "b", "pw2");
    fs::remove_file(t.config_dir().join("registries.lock")).unwrap();
    t.run(&["deactivate", "1"]).ok();
    for entry in fs::read_dir(t.config_dir()).unwrap().flatten() {
        assert_eq!(owner(&entry.path()), 65534, "{} became root's", entry.path().display());
    }
}

/// The leftover sweep removes exactly the temporary names regcred makes, never a user's
/// file that merely starts like one.
#[test]
fn the_leftover_sweep_spares_files_that_only_look_like_temporary_ones() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let kept = [".secrets.toml.bak-2024", ".registries.toml.Ab3dEf.tmp.old", ".regcred-notes.txt"];
    let swept = [".secrets.toml.Ab3dEf.tmp", ".registries.toml.Gh5iJk.tmp"];
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

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
    let store = regcred::store::Store::new(t.config_dir());
    let lock = store.lock().unwrap();
    let mut registries = store.load().unwrap();
    let (id, sequence) = registries.allocate();
    let stamp = regcred::store::now();
    let credential = regcred::store::Credential {
        id,
        environment: "default".into(),
        name: None,
        address: "ghcr.io".into(),
        username: "second".into(),
        email: None,
        active: true,
        sequence,
        secret_store: regcred::secrets::SecretStoreKind::File,
        secret_env: None,
        added: stamp,
        updated: stamp,
    };
    let key = regcred::secrets::SecretKey {
        store_id: &registries.store_id,
        id,
        environment: "default",
        address: "ghcr.io",
        username: "second",
    };
    let secrets = regcred::secrets::open(regcred::secrets::SecretStoreKind::File, &t.config_dir());
    secrets.set(&key, &regcred::secrets::Secret::new("pw-second".into())).unwrap();
    let doctor = t
        .command(&crate::util::regcred_bin(), &["doctor", "-o", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    registries.credentials.push(credential);
    store.save(&registries, &lock).unwrap();
    drop(lock);
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

//! Tests of the secret stores: the file store on disk, the keyring store's errors in
//! child processes, and the keyring store against the real Secret Service.

use super::file::{FileEntry, FileSecrets};
use super::*;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The secret store of `kind` for the config dir `dir`.
fn open(kind: SecretStoreKind, dir: &Path) -> Box<dyn SecretStore> {
    crate::vault::testing::secrets(kind, dir)
}

fn key<'a>(store_id: &'a str, id: u64, username: &'a str) -> SecretKey<'a> {
    SecretKey { store_id, id, environment: "default", address: "docker.io", username }
}

fn unique_store_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = RandomState::new().hash_one((
        std::process::id(),
        std::time::SystemTime::now(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ));
    format!("test-{n:016x}")
}

/// A system service this test needs is missing. Such tests are `#[ignore]`d unless asked
/// for (scripts/test asks for all of them): asked for, they fail rather than pass unrun.
fn skip(message: &str, reason: &str) {
    panic!("{message}: {reason}");
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    crate::vault::fs::mode_of(&fs::metadata(path).unwrap())
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

// --- Secret, kinds, errors ---------------------------------------------------------

#[test]
fn secret_debug_is_redacted() {
    let secret = Secret::new("hunter2".to_string());
    assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    assert_eq!(secret.expose(), "hunter2");
}

#[test]
fn no_debug_output_shows_a_secret() {
    assert!(!crate::implements_debug!(FileEntry));
    assert!(!crate::implements_debug!(FileSecrets));
    let secret = Secret::new("hunter2".to_string());
    assert_eq!(format!("{secret:#?}"), "Secret(<redacted>)");
    // Errors about a secrets file holding the secret quote no value from it.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("secrets.toml"), "[secret.1]\nsecret = 12345678\n").unwrap();
    let err = open(SecretStoreKind::File, dir.path()).ids("s1").unwrap_err();
    assert!(!format!("{err:?}").contains("12345678"), "{err:?}");
    let key = key("s1", 1, "bob");
    assert!(!format!("{key:?}").contains("hunter2"));
}

#[test]
fn secret_store_kind_parses_and_displays_its_words() {
    for kind in SecretStoreKind::ALL {
        assert_eq!(SecretStoreKind::parse(&kind.to_string()), Ok(kind));
        assert_eq!(kind.to_string().parse::<SecretStoreKind>(), Ok(kind));
    }
    assert_eq!(SecretStoreKind::parse(" File "), Ok(SecretStoreKind::File));
    let err = SecretStoreKind::parse("vault").unwrap_err();
    assert_eq!(err.to_string(), "unknown secret store `vault` (expected `keyring`, `keyutils`, `pass` or `file`)");
}

#[test]
fn keyring_errors_hint_at_both_remedies() {
    let errors = [
        SecretError::KeyringUnreachable { cause: "no Secret Service is running on the session bus".to_string() },
        SecretError::KeyringLocked,
    ];
    for err in errors {
        let hint = err.hint().unwrap();
        assert!(hint.contains("gnome-keyring-daemon --") && hint.contains("--unlock"), "{hint}");
        assert!(hint.contains("--secret-store file"), "{hint}");
        assert!(hint.contains("REGCRED_SECRET_STORE=file"), "{hint}");
    }
    // Where no Secret Service runs at all, the stores that need none are named too.
    let unreachable = SecretError::KeyringUnreachable { cause: "no D-Bus session bus".to_string() };
    let hint = unreachable.hint().unwrap();
    for remedy in ["gnome-keyring-daemon", "--secret-store keyutils", "--secret-store pass", "--secret-store file"] {
        assert!(hint.contains(remedy), "{hint}");
    }
    assert_eq!(SecretError::KeyringLocked.to_string(), "the keyring is locked");
}

#[test]
fn locked_keyring_hints_replace_the_daemon_and_send_no_newline() {
    // A plain `gnome-keyring-daemon --unlock` starts a second daemon and leaves the keyring
    // locked; `echo` would add a newline to the password.
    for err in [SecretError::KeyringLocked, SecretError::KeyringUnlockDismissed] {
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("printf %s \"$pw\" | gnome-keyring-daemon --replace --unlock --components=secrets"),
            "{hint}"
        );
        assert!(!hint.contains("echo"), "{hint}");
    }
    let timeout = SecretError::KeyringUnlockTimeout { secs: 30 };
    assert_eq!(timeout.to_string(), "the keyring is locked: nobody answered its unlock prompt within 30 s");
    assert!(timeout.hint().unwrap().contains("REGCRED_TIMEOUT"));
}

#[test]
fn open_is_cheap_and_says_where_secrets_live() {
    let dir = tempfile::tempdir().unwrap();
    let file = open(SecretStoreKind::File, dir.path());
    assert_eq!(file.kind(), SecretStoreKind::File);
    assert_eq!(file.location(), dir.path().join("secrets.d").display().to_string());
    assert!(!dir.path().join("secrets.d").exists());
    // A store of the older layout says its file.
    fs::write(dir.path().join("secrets.toml"), "").unwrap();
    assert_eq!(file.location(), dir.path().join("secrets.toml").display().to_string());
    let keyring = open(SecretStoreKind::Keyring, dir.path());
    assert_eq!(keyring.kind(), SecretStoreKind::Keyring);
    assert!(!keyring.location().is_empty());
}

// --- File store --------------------------------------------------------------------

#[test]
fn file_store_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    assert!(store.get(&key("s1", 3, "bob")).unwrap().is_none());

    store.set(&key("s1", 3, "bob"), &Secret::new("hunter2".into())).unwrap();
    let got = store.get(&key("s1", 3, "bob")).unwrap().unwrap();
    assert_eq!(got.expose(), "hunter2");

    // Editing replaces the secret and what is written beside it.
    store.set(&key("s1", 3, "alice"), &Secret::new("s3cret".into())).unwrap();
    assert_eq!(store.get(&key("s1", 3, "alice")).unwrap().unwrap().expose(), "s3cret");
    let text = fs::read_to_string(dir.path().join("secrets.d/3.toml")).unwrap();
    assert!(text.contains("[secret.3]"), "{text}");
    assert!(text.contains("username = \"alice\""), "{text}");
    assert!(text.contains("address = \"docker.io\""), "{text}");
    assert!(text.contains("environment = \"default\""), "{text}");
    assert!(!text.contains("bob"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn file_store_keeps_any_text_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    let awkward = [
        "",
        " spaces around ",
        "quote\" backslash\\ '''triple''' \"\"\"",
        "line\nbreak\r\ntab\tbell\u{7}nul\u{0}del\u{7f}",
        "ünïcødé 🔑 \u{85}\u{2028}",
        "# not a comment = [table]",
    ];
    for (i, text) in awkward.iter().enumerate() {
        let username = format!("user \"{i}\"\n");
        let k = SecretKey { username: &username, ..key("s1", i as u64, "") };
        store.set(&k, &Secret::new(text.to_string())).unwrap();
    }
    for (i, text) in awkward.iter().enumerate() {
        let got = store.get(&key("s1", i as u64, "whoever")).unwrap().unwrap();
        assert_eq!(got.expose(), *text);
    }
}

#[test]
fn file_store_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    assert!(!store.delete(&key("s1", 1, "bob")).unwrap());
    assert!(!dir.path().join("secrets.toml").exists(), "delete of nothing wrote a file");
    assert!(!dir.path().join("secrets.d").exists(), "delete of nothing made the directory");

    store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
    store.set(&key("s1", 2, "bob"), &Secret::new("two".into())).unwrap();
    assert!(store.delete(&key("s1", 1, "bob")).unwrap());
    assert!(!store.delete(&key("s1", 1, "bob")).unwrap());
    assert!(store.get(&key("s1", 1, "bob")).unwrap().is_none());
    assert_eq!(store.get(&key("s1", 2, "bob")).unwrap().unwrap().expose(), "two");
    // Another store's id is not ours to delete.
    assert!(!store.delete(&key("s2", 2, "bob")).unwrap());
    assert!(store.get(&key("s1", 2, "bob")).unwrap().is_some());
}

#[test]
fn file_store_ids_are_per_store_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    assert!(store.ids("s1").unwrap().is_empty());
    for id in [10, 2, 33] {
        store.set(&key("s1", id, "bob"), &Secret::new(format!("p{id}"))).unwrap();
    }
    store.set(&key("s2", 5, "bob"), &Secret::new("other".into())).unwrap();
    assert_eq!(store.ids("s1").unwrap(), vec![2, 10, 33]);
    assert_eq!(store.ids("s2").unwrap(), vec![5]);
    assert!(store.get(&key("s2", 10, "bob")).unwrap().is_none());
}

#[cfg(unix)]
#[test]
fn file_store_writes_mode_0600_under_umask_022_and_000() {
    for umask in ["022", "000"] {
        let dir = tempfile::tempdir().unwrap();
        // The umask is per process, so the write happens in a child (see probe).
        let out = run_probe("file-mode", &[("REGCRED_TEST_PROBE_DIR", dir.path().as_os_str())], &[], Some(umask));
        assert!(out.contains(&format!("umask=0{umask}")), "{out}");
        assert_eq!(mode_of(&dir.path().join("secrets.d/1.toml")), 0o600, "{out}");
        assert_eq!(mode_of(&dir.path().join("secrets.d")), 0o700, "{out}");
    }
}

#[cfg(unix)]
#[test]
fn file_store_restores_0600_when_rewriting() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
    let path = dir.path().join("secrets.d/1.toml");
    chmod(&path, 0o644);
    store.set(&key("s1", 1, "bob"), &Secret::new("two".into())).unwrap();
    assert_eq!(mode_of(&path), 0o600);
}

#[test]
fn file_store_reports_syntax_errors_with_line_and_column_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    let text = "version = 1\n\n[secret.3]\nstore = \"s1\"\nsecret = \"hunter2\nusername = \"bob\"\n";
    fs::write(&path, text).unwrap();
    #[cfg(unix)]
    chmod(&path, 0o600);
    let store = open(SecretStoreKind::File, dir.path());

    let err = store.get(&key("s1", 3, "bob")).unwrap_err();
    let SecretError::FileCorrupt { line, column, .. } = &err else {
        panic!("expected FileCorrupt, got {err:?}");
    };
    assert_eq!((*line, *column), (5, 18), "{err}");
    assert!(!err.to_string().contains("hunter2"), "error quotes a secret: {err}");
    assert!(err.to_string().contains("line 5, column 18"), "{err}");
    assert!(err.hint().unwrap().contains("by hand"));

    for result in
        [store.set(&key("s1", 4, "bob"), &Secret::new("x".into())), store.delete(&key("s1", 3, "bob")).map(drop)]
    {
        assert!(matches!(result, Err(SecretError::FileCorrupt { .. })));
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "corrupt file was rewritten");
}

#[test]
fn file_store_reports_wrong_shapes_without_quoting_values() {
    let cases = [
        (
            "[secret.7]\nstore = \"s1\"\nenvironment = \"default\"\naddress = \"docker.io\"\nusername = \"bob\"\nsecret = 987654321\n",
            (6, 10),
            "`secret.7.secret` must be a string",
        ),
        ("[secret.bob]\nsecret = \"987654321\"\n", (1, 9), "`secret.bob` is not a credential id"),
        ("[secret.8]\nstore = \"s1\"\nsecret = \"987654321\"\n", (1, 1), "`secret.8` has no `environment`"),
        ("secret = \"987654321\"\n", (1, 10), "`secret` must be a table of credential ids"),
        ("version = 1\npassword = \"987654321\"\n", (2, 1), "unknown key `password`"),
    ];
    for (text, (line, column), message) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("secrets.toml"), text).unwrap();
        let err = open(SecretStoreKind::File, dir.path()).ids("s1").unwrap_err();
        match &err {
            SecretError::FileCorrupt { line: l, column: c, message: m, .. } => {
                assert_eq!((*l, *c, m.as_str()), (line, column, message), "{text}");
            }
            other => panic!("expected FileCorrupt for {text:?}, got {other:?}"),
        }
        assert!(!err.to_string().contains("987654321"), "error quotes a value: {err}");
    }
}

#[test]
fn file_store_refuses_a_newer_format() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("secrets.toml"), "version = 2\n").unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    let err = store.get(&key("s1", 1, "bob")).unwrap_err();
    assert!(matches!(err, SecretError::FileVersionTooNew { found: 2, .. }), "{err:?}");
    assert!(store.set(&key("s1", 1, "bob"), &Secret::new("x".into())).is_err());
    assert_eq!(fs::read_to_string(dir.path().join("secrets.toml")).unwrap(), "version = 2\n");
}

#[cfg(unix)]
#[test]
fn file_store_refuses_a_file_others_may_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(SecretStoreKind::File, dir.path());
    store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
    let path = dir.path().join("secrets.d/1.toml");
    for mode in [0o620, 0o602, 0o666] {
        chmod(&path, mode);
        let err = store.get(&key("s1", 1, "bob")).unwrap_err();
        assert!(matches!(err, SecretError::InsecurePermissions { mode: m, .. } if m == mode), "{err:?}");
        assert!(err.to_string().contains("lets other users change it"), "{err}");
        assert_eq!(err.hint().unwrap(), format!("run `chmod 600 {}`", path.display()));
        assert!(store.set(&key("s1", 1, "bob"), &Secret::new("two".into())).is_err());
        assert!(store.delete(&key("s1", 1, "bob")).is_err());
        assert_eq!(mode_of(&path), mode, "refused file was touched");
    }
    // Readable by others: still read (so nothing breaks).
    chmod(&path, 0o644);
    assert!(store.get(&key("s1", 1, "bob")).unwrap().is_some());
    chmod(&path, 0o600);
    // The directory: others may write into it: refused; read or enter it: doctor objects.
    let secrets_dir = dir.path().join("secrets.d");
    chmod(&secrets_dir, 0o770);
    let err = store.get(&key("s1", 1, "bob")).unwrap_err();
    assert!(err.to_string().contains("lets other users change it"), "{err}");
    assert_eq!(err.hint().unwrap(), format!("run `chmod 700 {}`", secrets_dir.display()));
    chmod(&secrets_dir, 0o750);
    assert!(store.get(&key("s1", 1, "bob")).unwrap().is_some());
    let err = store.check().unwrap_err();
    assert!(err.to_string().contains("lets other users read it"), "{err}");
    chmod(&secrets_dir, 0o700);
    store.check().unwrap();
}

// --- Keyring store: errors, in child processes with their own environment ----------

/// Runs this test binary again, for `keyring_error_probe` only, with `probe` as the
/// job; returns its stdout. `umask` runs it under that umask.
fn run_probe(probe: &str, set: &[(&str, &std::ffi::OsStr)], remove: &[&str], umask: Option<&str>) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut command = match umask {
        Some(umask) => {
            let mut sh = Command::new("sh");
            sh.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\"")).arg(&exe);
            sh
        }
        None => Command::new(&exe),
    };
    command.args(["keyring_error_probe", "--nocapture", "--test-threads=1"]).env("REGCRED_TEST_PROBE", probe);
    for (name, value) in set {
        command.env(name, value);
    }
    for name in remove {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "probe {probe} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Not a test by itself: the child side of `run_probe`.
#[test]
fn keyring_error_probe() {
    let Ok(probe) = std::env::var("REGCRED_TEST_PROBE") else {
        return;
    };
    match probe.as_str() {
        "keyring" => {
            let dir = tempfile::tempdir().unwrap();
            let store = open(SecretStoreKind::Keyring, dir.path());
            let err = store.get(&key("probe", 1, "bob")).unwrap_err();
            println!("PROBE display: {err}");
            println!("PROBE hint: {}", err.hint().unwrap_or_default());
            println!("PROBE debug: {err:?}");
        }
        "file-mode" => {
            let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
            let umask = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap_or("?").trim();
            let dir = std::env::var_os("REGCRED_TEST_PROBE_DIR").unwrap();
            let store = open(SecretStoreKind::File, Path::new(&dir));
            store.set(&key("s1", 1, "bob"), &Secret::new("x".into())).unwrap();
            println!("umask={umask}");
        }
        other => panic!("unknown probe {other}"),
    }
}

fn probe_line<'a>(out: &'a str, what: &str) -> &'a str {
    let prefix = format!("PROBE {what}: ");
    out.lines()
        .find_map(|l| Some(l.split_once(prefix.as_str())?.1))
        .unwrap_or_else(|| panic!("no {what} in probe output:\n{out}"))
}

fn assert_two_remedies(out: &str) {
    let hint = probe_line(out, "hint");
    assert!(hint.contains("gnome-keyring-daemon --unlock"), "{hint}");
    assert!(hint.contains("--secret-store file"), "{hint}");
}

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
#[test]
fn keyring_without_session_bus_says_so_in_plain_words() {
    let runtime = tempfile::tempdir().unwrap();
    let out = run_probe(
        "keyring",
        &[("XDG_RUNTIME_DIR", runtime.path().as_os_str())],
        &["DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"],
        None,
    );
    assert_eq!(
        probe_line(&out, "display"),
        "cannot reach the OS keyring: no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)"
    );
    assert_two_remedies(&out);
}

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
#[test]
fn keyring_with_dead_bus_address_says_so_in_plain_words() {
    let out = run_probe(
        "keyring",
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent".as_ref())],
        &["DISPLAY", "WAYLAND_DISPLAY"],
        None,
    );
    let display = probe_line(&out, "display");
    assert!(
        display.starts_with(
            "cannot reach the OS keyring: cannot connect to the D-Bus session bus at `unix:path=/nonexistent`"
        ),
        "{display}"
    );
    assert_two_remedies(&out);
}

/// A real private bus with no Secret Service on it (and none it could start).
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyring_with_no_secret_service_on_the_bus_says_so_in_plain_words() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bus.conf");
    fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
<allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/>
<allow own="*"/>
  </policy>
</busconfig>
"#,
            dir.path().display()
        ),
    )
    .unwrap();
    let daemon = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut daemon = match daemon {
        Ok(daemon) => daemon,
        Err(err) => {
            return skip("no dbus-daemon (install the dbus package)", &err.to_string());
        }
    };
    let mut address = String::new();
    let stdout = daemon.stdout.take().unwrap();
    io::BufReader::new(stdout).read_line(&mut address).unwrap();
    let result = std::panic::catch_unwind(|| {
        run_probe(
            "keyring",
            &[("DBUS_SESSION_BUS_ADDRESS", address.trim().as_ref())],
            &["DISPLAY", "WAYLAND_DISPLAY"],
            None,
        )
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    let out = result.unwrap();
    assert_eq!(
        probe_line(&out, "display"),
        "cannot reach the OS keyring: no Secret Service is running on the session bus \
         (nothing provides org.freedesktop.secrets)"
    );
    assert_two_remedies(&out);
}

// --- Keyring store against the real Secret Service ---------------------------------

/// The keyring store, when the tests may use it: only inside the private session that
/// scripts/with-keyring starts, never the developer's own keyring.
fn private_keyring() -> Option<Box<dyn SecretStore>> {
    let reason = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        "DBUS_SESSION_BUS_ADDRESS is not set".to_string()
    } else if std::env::var("REGCRED_TEST_KEYRING").as_deref() != Ok("private") {
        "not inside scripts/with-keyring (REGCRED_TEST_KEYRING=private), \
         so the tests leave this session's keyring alone"
            .to_string()
    } else {
        let store = open(SecretStoreKind::Keyring, Path::new("/nonexistent"));
        match store.check() {
            Ok(()) => return Some(store),
            Err(err) => err.to_string(),
        }
    };
    skip("no Secret Service (run under scripts/test)", &reason);
    None
}

/// Deletes what a test put in the keyring, even when the test fails.
struct Cleanup<'a> {
    store: &'a dyn SecretStore,
    store_id: &'a str,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(ids) = self.store.ids(self.store_id) {
            for id in ids {
                let _ = self.store.delete(&key(self.store_id, id, ""));
            }
        }
    }
}

/// `secret-tool` with these arguments: (exit success, stdout, then stderr, where it
/// prints attributes).
fn secret_tool(args: &[&str], stdin: Option<&str>) -> Option<(bool, String)> {
    let mut command = Command::new("secret-tool");
    command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            skip("no secret-tool (install libsecret-tools)", &err.to_string());
            return None;
        }
    };
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    let mut out = String::from_utf8_lossy(&output.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&output.stderr));
    Some((output.status.success(), out))
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyring_round_trip_seen_by_secret_tool() {
    let Some(store) = private_keyring() else {
        return;
    };
    let store_id = unique_store_id();
    let _cleanup = Cleanup { store: store.as_ref(), store_id: &store_id };
    let bob = key(&store_id, 42, "bob");

    assert!(store.get(&bob).unwrap().is_none());
    store.set(&bob, &Secret::new("hunter2 ünï 🔑".into())).unwrap();
    assert_eq!(store.get(&bob).unwrap().unwrap().expose(), "hunter2 ünï 🔑");

    let lookup = ["lookup", "service", "regcred", "regcred_store", &store_id, "regcred_id", "42"];
    let search = ["search", "--all", "service", "regcred", "regcred_store", &store_id];
    if let Some((ok, out)) = secret_tool(&lookup, None) {
        assert!(ok);
        assert_eq!(out, "hunter2 ünï 🔑");
        let (_, out) = secret_tool(&search, None).unwrap();
        assert!(out.contains("label = regcred: bob @ docker.io (env default)"), "{out}");
        assert!(out.contains("attribute.username = bob"), "{out}");
        assert!(out.contains("attribute.address = docker.io"), "{out}");
        assert!(out.contains("attribute.environment = default"), "{out}");
    }

    // An edit replaces the one item, label and attributes included.
    let alice = key(&store_id, 42, "alice");
    store.set(&alice, &Secret::new("n3w".into())).unwrap();
    assert_eq!(store.get(&alice).unwrap().unwrap().expose(), "n3w");
    if let Some((_, out)) = secret_tool(&search, None) {
        assert_eq!(out.matches("[/").count(), 1, "one item expected:\n{out}");
        assert!(out.contains("label = regcred: alice @ docker.io (env default)"), "{out}");
        assert!(out.contains("secret = n3w"), "{out}");
    }

    assert!(store.delete(&alice).unwrap());
    assert!(store.get(&alice).unwrap().is_none());
    assert!(!store.delete(&alice).unwrap());
    if let Some((ok, out)) = secret_tool(&lookup, None) {
        assert!(!ok || out.is_empty(), "still in the keyring: {out}");
        let (_, out) = secret_tool(&search, None).unwrap();
        assert!(!out.contains("regcred"), "still in the keyring: {out}");
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyring_ids_are_per_store() {
    let Some(store) = private_keyring() else {
        return;
    };
    let (a, b) = (unique_store_id(), unique_store_id());
    let _cleanup_a = Cleanup { store: store.as_ref(), store_id: &a };
    let _cleanup_b = Cleanup { store: store.as_ref(), store_id: &b };
    for id in [3, 1, 20] {
        store.set(&key(&a, id, "bob"), &Secret::new(format!("a{id}"))).unwrap();
    }
    store.set(&key(&b, 1, "bob"), &Secret::new("b1".into())).unwrap();

    assert_eq!(store.ids(&a).unwrap(), vec![1, 3, 20]);
    assert_eq!(store.ids(&b).unwrap(), vec![1]);
    assert_eq!(store.get(&key(&a, 1, "bob")).unwrap().unwrap().expose(), "a1");
    assert_eq!(store.get(&key(&b, 1, "bob")).unwrap().unwrap().expose(), "b1");
    assert!(store.delete(&key(&b, 1, "bob")).unwrap());
    assert_eq!(store.get(&key(&a, 1, "bob")).unwrap().unwrap().expose(), "a1");
    assert!(store.ids(&b).unwrap().is_empty());
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyring_finds_an_item_written_by_another_client() {
    let Some(store) = private_keyring() else {
        return;
    };
    let store_id = unique_store_id();
    let _cleanup = Cleanup { store: store.as_ref(), store_id: &store_id };
    let attributes = ["service", "regcred", "regcred_store", &store_id, "regcred_id", "7"];
    let mut args = vec!["store", "--label=written by secret-tool"];
    args.extend(attributes);
    let Some((ok, _)) = secret_tool(&args, Some("from-outside")) else {
        return;
    };
    assert!(ok);
    assert_eq!(store.ids(&store_id).unwrap(), vec![7]);
    let seven = key(&store_id, 7, "bob");
    assert_eq!(store.get(&seven).unwrap().unwrap().expose(), "from-outside");
    assert!(store.delete(&seven).unwrap());
    let mut args = vec!["lookup"];
    args.extend(attributes);
    let (ok, out) = secret_tool(&args, None).unwrap();
    assert!(!ok || out.is_empty(), "still in the keyring: {out}");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyring_check_passes_on_an_unlocked_keyring() {
    let Some(store) = private_keyring() else {
        return;
    };
    store.check().unwrap();
    assert_eq!(store.location(), "the Secret Service keyring");
}

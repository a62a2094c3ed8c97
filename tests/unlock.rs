//! A locked keyring, as a desktop has one after a login without the keyring password: each
//! test starts its own private session (`scripts/with-keyring --locked`, with `--xvfb` for a
//! display), so locking it never disturbs the shared test keyring. On a display regcred
//! follows the Secret Service's prompt: gnome-keyring's own prompter (gcr-prompter) shows
//! its dialog on Xvfb, and xdotool types the password or cancels. Without a display the
//! prompt is dismissed and the hint is a command that really unlocks the keyring.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Run, TestEnv, regcred_bin, tool_available};

/// The dialog gnome-keyring's prompter shows for the login keyring (the session runs in
/// the C locale, so the title is the English one).
const DIALOG: &str = "Unlock Login Keyring";
const COLLECTION: &str = "/org/freedesktop/secrets/collection/login";
/// How long any one step may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);

/// A private D-Bus session with a locked gnome-keyring (and a private X display), kept
/// alive by a shell that waits on its stdin; dropping it ends the session.
struct LockedSession {
    child: Child,
    env: HashMap<String, String>,
    dir: tempfile::TempDir,
}

fn repo_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name)
}

impl LockedSession {
    /// The session; missing tools fail the test.
    fn start(test: &str, display: bool) -> Option<LockedSession> {
        let mut tools = vec!["dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool"];
        if display {
            tools.extend(["Xvfb", "xdotool", "/usr/libexec/gcr-prompter"]);
        }
        if !tools.into_iter().all(|tool| tool_available(test, tool)) {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("regcred-unlock-").tempdir().unwrap();
        let env_file = dir.path().join("session.env");
        let mut command = Command::new("bash");
        command.arg(repo_script("with-keyring")).arg("--locked");
        if display {
            command.arg("--xvfb");
        }
        // Publishes the session's environment, then holds the session open until our
        // end of its stdin closes.
        command
            .args(["bash", "-c", r#"env -0 > "$1.tmp" && mv "$1.tmp" "$1" && exec cat >/dev/null"#, "session"])
            .arg(&env_file)
            .env("LC_ALL", "C.UTF-8")
            .env("LANGUAGE", "C")
            .env("TMPDIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("session.log")).unwrap()));
        let mut child = command.spawn().expect("start scripts/with-keyring");
        let started = Instant::now();
        while !env_file.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("session.log")).unwrap_or_default();
                panic!("{test}: scripts/with-keyring exited ({status}) before the session was up:\n{log}");
            }
            assert!(started.elapsed() < STEP, "{test}: the locked session did not come up within {STEP:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(&env_file).unwrap();
        let env = text
            .split('\0')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<HashMap<_, _>>();
        let session = LockedSession { child, env, dir };
        assert!(session.locked(), "{test}: the session's keyring starts locked");
        Some(session)
    }

    fn password(&self) -> &str {
        &self.env["REGCRED_TEST_KEYRING_PASSWORD"]
    }

    /// `program ARGS` in the session: its bus, and its display or none.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(args);
        self.apply(&mut command);
        command
    }

    fn apply(&self, command: &mut Command) {
        command.env_remove("WAYLAND_DISPLAY").env_remove("DISPLAY");
        for key in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "LC_ALL", "LANGUAGE"] {
            if let Some(value) = self.env.get(key) {
                command.env(key, value);
            }
        }
    }

    /// `regcred ARGS` against `t`'s config dir, inside the session.
    fn regcred(&self, t: &TestEnv, args: &[&str]) -> Command {
        let mut command = t.command(&regcred_bin(), args);
        self.apply(&mut command);
        command
    }

    fn bus(&self, dest_path: (&str, &str), method: &str, args: &[&str]) -> String {
        let out = self
            .command("dbus-send", &["--session", "--print-reply", "--reply-timeout=5000"])
            .arg(format!("--dest={}", dest_path.0))
            .arg(dest_path.1)
            .arg(method)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "dbus-send {method}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn locked(&self) -> bool {
        let reply = self.bus(
            ("org.freedesktop.secrets", COLLECTION),
            "org.freedesktop.DBus.Properties.Get",
            &["string:org.freedesktop.Secret.Collection", "string:Locked"],
        );
        assert!(reply.contains("boolean"), "no Locked property: {reply}");
        reply.contains("boolean true")
    }

    fn lock(&self) {
        self.bus(
            ("org.freedesktop.secrets", "/org/freedesktop/secrets"),
            "org.freedesktop.Secret.Service.Lock",
            &[&format!("array:objpath:{COLLECTION}")],
        );
        assert!(self.locked(), "the keyring was locked again");
    }

    /// The pid owning the Secret Service name: the same daemon before and after shows
    /// that nothing regcred did brought it down.
    fn keyring_pid(&self) -> String {
        let reply = self.bus(
            ("org.freedesktop.DBus", "/org/freedesktop/DBus"),
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            &["string:org.freedesktop.secrets"],
        );
        reply.split_whitespace().last().unwrap_or_default().to_owned()
    }

    /// Waits (bounded) for the prompter's dialog and returns its X window id.
    fn dialog(&self) -> String {
        let out = self
            .command("timeout", &[&STEP.as_secs().to_string(), "xdotool", "search", "--sync", "--name", DIALOG])
            .output()
            .unwrap();
        let window = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_owned();
        assert!(!window.is_empty(), "no {DIALOG:?} dialog within {STEP:?}: {}", String::from_utf8_lossy(&out.stderr));
        window
    }

    fn dialogs_open(&self) -> usize {
        let out = self.command("xdotool", &["search", "--name", DIALOG]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }

    fn xdotool(&self, args: &[&str]) {
        let status = self.command("xdotool", args).status().unwrap();
        assert!(status.success(), "xdotool {args:?} failed");
    }

    /// Types the keyring password into the dialog, as a person would.
    fn answer(&self, window: &str) {
        self.xdotool(&["windowfocus", "--sync", window]);
        self.xdotool(&["type", "--delay", "20", self.password()]);
        self.xdotool(&["key", "Return"]);
    }

    /// Presses Escape in the dialog: its Cancel.
    fn cancel(&self, window: &str) {
        self.xdotool(&["windowfocus", "--sync", window]);
        self.xdotool(&["key", "Escape"]);
    }

    /// `regcred ARGS` in the session with `stdin`, run to the end.
    fn run(&self, t: &TestEnv, args: &[&str], stdin: &str) -> Run {
        Pending::start(self, t, args, stdin, "run").finish()
    }

    /// `regcred add ADDRESS -u USER --password-stdin` in the session; the new id.
    fn add(&self, t: &TestEnv, address: &str, username: &str, password: &str) -> u64 {
        finish_add(self.run(t, &["add", address, "-u", username, "--password-stdin"], &format!("{password}\n")))
    }

    fn secret_tool_lookup(&self, t: &TestEnv, id: u64) -> Option<String> {
        let text = std::fs::read_to_string(t.store_file()).unwrap();
        let store: toml::Table = toml::from_str(&text).unwrap();
        let store_id = store["store_id"].as_str().unwrap().to_owned();
        let out = self
            .command(
                "secret-tool",
                &["lookup", "service", "regcred", "regcred_store", &store_id, "regcred_id", &id.to_string()],
            )
            .stderr(Stdio::null())
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for LockedSession {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A regcred process left running while the test answers its prompt; stderr goes to a
/// file so the test can see the "waiting" line before it answers.
struct Pending {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Pending {
    fn start(session: &LockedSession, t: &TestEnv, args: &[&str], stdin: &str, name: &str) -> Pending {
        Pending::spawn(session.regcred(t, args), session, stdin, name)
    }

    fn spawn(mut command: Command, session: &LockedSession, stdin: &str, name: &str) -> Pending {
        let stdout = session.dir.path().join(format!("{name}.out"));
        let stderr = session.dir.path().join(format!("{name}.err"));
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        Pending { child, stdout, stderr }
    }

    /// Waits (bounded) until regcred says on stderr that it waits for the prompt.
    fn wait_for_word(&self) {
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            if text.contains("waiting for the keyring to be unlocked") {
                assert!(text.contains("enter its password in the prompt on the desktop"), "{text}");
                return;
            }
            assert!(started.elapsed() < STEP, "regcred said nothing while waiting for the prompt:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish(mut self) -> Run {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > STEP * 2 {
                let _ = self.child.kill();
                panic!("regcred did not finish within {:?}", STEP * 2);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.stdout).unwrap(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap(),
        }
    }
}

fn finish_add(run: Run) -> u64 {
    let run = run.ok();
    run.stdout.trim().parse().unwrap_or_else(|_| panic!("add printed no id: {run:?}"))
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_locked_keyring_is_unlocked_through_its_prompt_on_a_display() {
    let test = "a_locked_keyring_is_unlocked_through_its_prompt_on_a_display";
    let Some(s) = LockedSession::start(test, true) else { return };
    let t = TestEnv::new_with_store("keyring");
    let daemon = s.keyring_pid();

    // set: a new item in a locked collection.
    let add = Pending::start(&s, &t, &["add", "quay.io", "-u", "robot", "--password-stdin"], "pw-unlock-1\n", "add");
    let window = s.dialog();
    add.wait_for_word();
    s.answer(&window);
    let id = finish_add(add.finish());
    assert!(!s.locked(), "answering the prompt unlocked the keyring");
    assert_eq!(s.secret_tool_lookup(&t, id).as_deref(), Some("pw-unlock-1"));

    // get: reading a locked item.
    s.lock();
    let resolve = Pending::start(&s, &t, &["resolve", "quay.io/a/b", "--show-secret", "-o", "json"], "", "get");
    s.answer(&s.dialog());
    let run = resolve.finish().ok();
    assert_eq!(run.json_lines()[0]["credential"]["password"], "pw-unlock-1");

    // set on an existing item (edit), then ids and check (doctor), then delete.
    s.lock();
    let edit = Pending::start(&s, &t, &["edit", &id.to_string(), "--password-stdin"], "pw-unlock-2\n", "edit");
    s.answer(&s.dialog());
    edit.finish().ok();
    assert_eq!(s.secret_tool_lookup(&t, id).as_deref(), Some("pw-unlock-2"));
    s.lock();
    let doctor = Pending::start(&s, &t, &["doctor"], "", "doctor");
    s.answer(&s.dialog());
    doctor.finish().ok().stdout_has("secret store keyring");
    // The credential helper, as docker calls it: its answer waits for the prompt too.
    s.lock();
    let mut helper = s.regcred(&t, &["credential-helper", "get"]);
    helper.env("REGCRED_SECRET_STORE", "keyring");
    let get = Pending::spawn(helper, &s, "quay.io", "helper");
    s.answer(&s.dialog());
    let run = get.finish().ok();
    assert_eq!(run.json()["Secret"], "pw-unlock-2", "{run:?}");
    s.lock();
    let delete = Pending::start(&s, &t, &["delete", &id.to_string(), "--yes"], "", "delete");
    s.answer(&s.dialog());
    delete.finish().ok();
    assert_eq!(s.secret_tool_lookup(&t, id), None, "the secret is gone from the keyring");
    assert_eq!(s.keyring_pid(), daemon, "the same gnome-keyring answered throughout");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_cancelled_unlock_prompt_is_an_error_and_leaves_the_store_as_it_was() {
    let test = "a_cancelled_unlock_prompt_is_an_error_and_leaves_the_store_as_it_was";
    let Some(s) = LockedSession::start(test, true) else { return };
    let t = TestEnv::new_with_store("keyring");
    let before = t.snapshot();
    let add = Pending::start(&s, &t, &["add", "quay.io", "-u", "robot", "--password-stdin"], "pw-cancel\n", "add");
    s.cancel(&s.dialog());
    let run = add.finish().code(1);
    let run = run.stderr_has("error: the keyring is locked: its unlock prompt was dismissed").stderr_has("hint: ");
    assert!(run.stderr.contains("enter the keyring password in the prompt"), "{}", run.stderr);
    assert!(!run.stderr.contains("pw-cancel"), "the secret is never echoed:\n{}", run.stderr);
    assert_eq!(t.snapshot(), before, "nothing was written");
    assert!(s.locked(), "the keyring stays locked");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn an_unanswered_unlock_prompt_gives_up_and_stays_answerable() {
    let test = "an_unanswered_unlock_prompt_gives_up_and_stays_answerable";
    let Some(s) = LockedSession::start(test, true) else { return };
    let mut t = TestEnv::new_with_store("keyring");
    t.env("REGCRED_TIMEOUT", "2");
    let daemon = s.keyring_pid();
    let started = Instant::now();
    let add = Pending::start(&s, &t, &["add", "quay.io", "-u", "robot", "--password-stdin"], "pw-late\n", "add");
    let window = s.dialog();
    let run = add.finish().code(1);
    assert!(started.elapsed() < STEP, "gave up in time: {:?}", started.elapsed());
    run.stderr_has("waiting for the keyring to be unlocked")
        .stderr_has("error: the keyring is locked: nobody answered its unlock prompt within 2 s")
        .stderr_has("hint: the prompt stays open");
    assert_eq!(s.keyring_pid(), daemon, "giving up did not bring gnome-keyring down");
    // As the hint says: the dialog is still there, and answering it unlocks the keyring.
    assert_eq!(s.dialogs_open(), 1);
    s.answer(&window);
    let started = Instant::now();
    while s.locked() {
        assert!(started.elapsed() < STEP, "the late answer did not unlock the keyring");
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = s.add(&t, "quay.io", "robot", "pw-late");
    assert_eq!(s.secret_tool_lookup(&t, id).as_deref(), Some("pw-late"));
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn without_a_display_a_locked_keyring_fails_with_a_hint_that_unlocks_it() {
    let test = "without_a_display_a_locked_keyring_fails_with_a_hint_that_unlocks_it";
    let Some(s) = LockedSession::start(test, false) else { return };
    let t = TestEnv::new_with_store("keyring");
    let before = t.snapshot();
    let started = Instant::now();
    let out = s.run(&t, &["add", "quay.io", "-u", "robot", "--password-stdin"], "pw-headless\n");
    assert!(started.elapsed() < Duration::from_secs(10), "no prompt is waited for without a display");
    let stderr = out.stderr.clone();
    assert_eq!(out.code, 1, "{stderr}");
    assert!(stderr.contains("error: the keyring is locked\n"), "{stderr}");
    assert!(!stderr.contains("waiting for"), "nothing to wait for without a display:\n{stderr}");
    assert_eq!(t.snapshot(), before, "nothing was written");
    assert!(s.locked());

    // A display the keyring cannot show its prompt on (a stale $DISPLAY over ssh): the
    // prompter fails, the keyring dismisses the prompt, and the hint names the shell way.
    let mut stale = s.regcred(&t, &["add", "quay.io", "-u", "robot", "--password-stdin"]);
    stale.env("DISPLAY", ":99");
    let run = Pending::spawn(stale, &s, "pw-headless\n", "stale").finish().code(1);
    let run = run.stderr_has("error: the keyring is locked: its unlock prompt was dismissed");
    assert!(run.stderr.contains("from this shell with `"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "a prompt that cannot show is not waited for");
    assert_eq!(t.snapshot(), before, "nothing was written");

    // The hint's command, run as a person would paste it, unlocks this very keyring.
    let command = stderr
        .split("from this shell with `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("the hint names no command:\n{stderr}"));
    let unlock = s
        .command("bash", &["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(format!("{}\n", s.password()).as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(unlock.status.success(), "{command}: {}", String::from_utf8_lossy(&unlock.stderr));
    let started = Instant::now();
    while s.locked() {
        assert!(started.elapsed() < STEP, "`{command}` did not unlock the keyring");
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = s.add(&t, "quay.io", "robot", "pw-headless");
    assert_eq!(s.secret_tool_lookup(&t, id).as_deref(), Some("pw-headless"));
}

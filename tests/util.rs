//! Test helpers in the style of ripgrep's `tests/util.rs`: a throwaway config dir per test
//! and a way to run the real binaries against it.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One test's private world: a temporary config dir and the secret store to use.
pub struct TestEnv {
    dir: tempfile::TempDir,
    secret_store: &'static str,
    extra_env: Vec<(String, String)>,
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}:\n{}", self.stdout);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
    }
}

/// Runs `cmd` with `stdin` written to it and its output collected.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    let output = child.wait_with_output().expect("wait for the command");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn regcred_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_regcred"))
}

/// That the private Secret Service of scripts/with-keyring answers on the session bus; its
/// absence fails the test (tests that need it are `#[ignore]`d unless asked for).
pub fn secret_service_available(test: &str) -> bool {
    // Only the private keyring scripts/with-keyring starts, never a person's own.
    let reachable = std::env::var("REGCRED_TEST_KEYRING").as_deref() == Ok("private")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        && Command::new("secret-tool")
            .args(["search", "regcred-probe", "none"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success() || s.code() == Some(1));
    // Tests that need it are `#[ignore]`d unless asked for (scripts/test asks for all of
    // them): asked for, they fail without it rather than passing without a run.
    assert!(reachable, "{test}: no private Secret Service reachable (run under scripts/test)");
    reachable
}

impl TestEnv {
    /// A test world whose secrets go to the 0600 secrets file.
    pub fn new() -> TestEnv {
        TestEnv::with_store("file")
    }

    /// A test world whose secrets go to the real Secret Service, or `None` (skipped) when
    /// there is none.
    pub fn keyring(test: &str) -> Option<TestEnv> {
        secret_service_available(test).then(|| TestEnv::with_store("keyring"))
    }

    /// A test world with this secret store, whether or not it can be reached.
    pub fn new_with_store(secret_store: &'static str) -> TestEnv {
        TestEnv::with_store(secret_store)
    }

    fn with_store(secret_store: &'static str) -> TestEnv {
        let dir = tempfile::Builder::new().prefix("regcred-test-").tempdir().expect("temp dir");
        TestEnv { dir, secret_store, extra_env: Vec::new() }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_file(&self) -> PathBuf {
        self.config_dir().join("registries.toml")
    }

    /// The file store's single file of older versions (still read while it exists).
    pub fn journal_file(&self) -> PathBuf {
        self.config_dir().join("registries.journal")
    }

    pub fn secrets_file(&self) -> PathBuf {
        self.config_dir().join("secrets.toml")
    }

    /// The file store's directory: one file per credential.
    pub fn secrets_dir(&self) -> PathBuf {
        self.config_dir().join("secrets.d")
    }

    /// The file store's file of credential `id`.
    pub fn secret_file(&self, id: u64) -> PathBuf {
        self.secrets_dir().join(format!("{id}.toml"))
    }

    /// Everything the file store keeps, whichever layout: `secrets.toml` and every file of
    /// `secrets.d/`, one after the other ("" when there is none).
    pub fn secrets_text(&self) -> String {
        let mut text = std::fs::read_to_string(self.secrets_file()).unwrap_or_default();
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(self.secrets_dir()).into_iter().flatten().flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            text.push_str(&std::fs::read_to_string(&file).unwrap_or_default());
        }
        text
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The bytes of every file in the config dir, to prove a command changed nothing.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.config_dir()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".lock") {
                    continue;
                }
                if entry.path().is_dir() {
                    // `secrets.d/`: its files count as much as the others.
                    files.push((format!("{name}/"), Vec::new()));
                    for inner in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                        let inner_name = inner.file_name().to_string_lossy().into_owned();
                        files.push((format!("{name}/{inner_name}"), std::fs::read(inner.path()).unwrap_or_default()));
                    }
                    continue;
                }
                files.push((name, std::fs::read(entry.path()).unwrap_or_default()));
            }
        }
        files.sort();
        files
    }

    pub fn command(&self, bin: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("REGCRED_") && !key.starts_with("REGCRED_TEST_") {
                cmd.env_remove(key);
            }
        }
        cmd.env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .env("REGCRED_CONFIG_DIR", self.config_dir())
            .env("REGCRED_SECRET_STORE", self.secret_store)
            .env("HOME", self.dir.path());
        for (key, value) in &self.extra_env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `regcred ARGS` with nothing on stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_bin(&regcred_bin(), args, stdin)
    }

    pub fn run_bin(&self, bin: &Path, args: &[&str], stdin: &str) -> Run {
        self.run_bin_bytes(bin, args, stdin.as_bytes())
    }

    pub fn run_bin_bytes(&self, bin: &Path, args: &[&str], stdin: &[u8]) -> Run {
        run_with_input(&mut self.command(bin, args), stdin)
    }

    /// A store big enough to keep a journal: `BIG` credentials in an environment of their own,
    /// `bulk`, whose secrets come from a variable (so the secret store holds only the test's),
    /// written as regcred writes a store, with version 1 (as an older regcred left it). The
    /// first write turns it into a store with a journal (written whole, generation 1, with an
    /// empty journal vouching for it); then
    /// `journal_records` toggles of bulk credentials follow, one record each.
    pub fn big_store(&self, journal_records: usize) {
        const BIG: usize = 1_000;
        let stamp = "2026-11-26T10:00:00Z";
        let mut text = format!(
            "version = 1\nstore_id = \"{:032x}\"\ncurrent_environment = \"default\"\nnext_id = {next}\nnext_sequence = {next}\n\n\
             [[environments]]\nname = \"default\"\ncreated = \"{stamp}\"\n\n[[environments]]\nname = \"bulk\"\ncreated = \"{stamp}\"\n",
            std::process::id(),
            next = BIG + 1,
        );
        for id in 1..=BIG {
            text.push_str(&format!(
                "\n[[credentials]]\nid = {id}\nenvironment = \"bulk\"\naddress = \"bulk{id}.example.com\"\nusername = \"bulk{id}\"\n\
                 active = true\nsequence = {id}\nsecret_store = \"file\"\nsecret_from_env = \"BULK_TOKEN\"\nadded = \"{stamp}\"\nupdated = \"{stamp}\"\n"
            ));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(self.config_dir()).unwrap();
        std::fs::set_permissions(self.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(self.store_file(), text).unwrap();
        std::fs::set_permissions(self.store_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        for id in 1..=journal_records + 1 {
            self.run(&["-e", "bulk", "deactivate", &id.to_string()]).ok();
        }
        let journal = std::fs::read_to_string(self.journal_file()).unwrap_or_default();
        // The header, then one line per record.
        assert_eq!(journal.lines().count(), journal_records + 1, "{journal}");
    }

    /// `regcred add ADDRESS -u USER --password-stdin`, returning the new id.
    #[track_caller]
    pub fn add(&self, address: &str, username: &str, password: &str) -> u64 {
        self.add_with(&[address, "-u", username], password)
    }

    #[track_caller]
    pub fn add_with(&self, args: &[&str], password: &str) -> u64 {
        let mut all = vec!["add"];
        all.extend(args.iter().filter(|a| !a.is_empty()));
        all.push("--password-stdin");
        let run = self.run_with_stdin(&all, &format!("{password}\n")).ok();
        run.stdout.trim().parse().unwrap_or_else(|_| panic!("add printed no id: {run:?}"))
    }

    /// `list -o json` as values.
    pub fn list(&self) -> Vec<serde_json::Value> {
        let run = self.run(&["list", "-o", "json"]).ok();
        run.json().as_array().cloned().unwrap_or_default()
    }

    /// The status `list` shows for credential `id`.
    pub fn status(&self, id: u64) -> String {
        self.list()
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["status"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("credential {id} not listed"))
    }

    /// The id `resolve` picks for IMAGE, or None.
    pub fn resolve(&self, image: &str) -> Option<u64> {
        let run = self.run(&["resolve", image, "-o", "json"]);
        assert!(run.code == 0 || run.code == 3, "resolve failed: {run:?}");
        run.json_lines()[0]["credential"]["id"].as_u64()
    }
}

/// That `tool` (a program on `$PATH`, or an absolute path) exists; its absence fails the test
/// (tests that need a tool are `#[ignore]`d unless asked for; scripts/test installs every
/// tool a test needs and asks for them all).
pub fn tool_available(test: &str, tool: &str) -> bool {
    let found = if tool.contains('/') {
        Path::new(tool).exists()
    } else {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
    };
    assert!(found, "{test}: {tool} is missing (scripts/test installs it)");
    found
}

/// The directory holding the built `regcred`, to put first on a shell's `$PATH`.
pub fn bin_dir() -> PathBuf {
    regcred_bin().parent().expect("binary has a directory").to_path_buf()
}

/// A real terminal: a private tmux server (its own socket in the test's temp dir) running
/// one shell in a window of a fixed size. Dropping it kills that server.
pub struct Tmux {
    socket: PathBuf,
    runs: std::cell::Cell<u32>,
}

impl Tmux {
    /// Starts `shell` (a command line) in a `width`×`height` window, with a clean environment
    /// pointing regcred at `t`'s config dir and the file secret store, and `regcred` on
    /// `$PATH`. `extra` adds variables (`NAME=value`).
    pub fn start(t: &TestEnv, width: u16, height: u16, shell: &str, extra: &[&str]) -> Tmux {
        let socket = t.root().join(format!("tmux-{width}x{height}"));
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir().display());
        let mut env = vec![
            format!("PATH={path}"),
            format!("HOME={}", t.root().display()),
            "TERM=tmux-256color".to_owned(),
            "LANG=C.UTF-8".to_owned(),
            format!("REGCRED_CONFIG_DIR={}", t.config_dir().display()),
            format!("REGCRED_SECRET_STORE={}", t.secret_store),
            // No history file: a shell writing one as tmux goes away would race the
            // removal of the temp dir.
            "HISTFILE=".to_owned(),
        ];
        env.extend(extra.iter().map(|e| (*e).to_owned()));
        let quoted: Vec<String> = env.iter().map(|e| shell_quote(e)).collect();
        let command = format!("exec env -i {} {shell}", quoted.join(" "));
        let tmux = Tmux { socket, runs: std::cell::Cell::new(0) };
        let status = tmux
            .command()
            .args(["-f", "/dev/null", "new-session", "-d", "-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    /// Types `keys` literally (no key names).
    pub fn type_text(&self, keys: &str) {
        let status = self.command().args(["send-keys", "-l", keys]).status().expect("tmux send-keys");
        assert!(status.success());
    }

    /// Presses named keys: `Enter`, `Tab`, `C-u`.
    pub fn press(&self, keys: &[&str]) {
        let status = self.command().arg("send-keys").args(keys).status().expect("tmux send-keys");
        assert!(status.success());
    }

    /// Types a line and presses Enter.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.press(&["Enter"]);
    }

    /// The screen as text; `escapes` keeps colour and attribute sequences. Wrapped lines
    /// are joined, so a line longer than the window shows as one long line.
    pub fn screen(&self, escapes: bool) -> String {
        let mut cmd = self.command();
        cmd.args(["capture-pane", "-p", "-J"]);
        if escapes {
            cmd.arg("-e");
        }
        let out = cmd.output().expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to five seconds, polling) until the screen contains `needle` and returns
    /// it; panics with the screen otherwise.
    #[track_caller]
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let screen = self.screen(false);
            if screen.contains(needle) {
                return screen;
            }
            if std::time::Instant::now() > deadline {
                panic!("the terminal never showed {needle:?}; it shows:\n{screen}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Resets the terminal (a blank screen) and drops the scrollback, at once: tmux has done
    /// it when the command returns.
    pub fn reset(&self) {
        let status = self.command().args(["send-keys", "-R"]).status().expect("tmux send-keys -R");
        assert!(status.success());
        let _ = self.command().arg("clear-history").status();
    }

    /// Clears the screen, runs a shell command line and waits until it has finished.
    /// Returns what it left on the screen (without the shell's next prompt) and its exit
    /// status.
    #[track_caller]
    pub fn run(&self, line: &str) -> (String, i32) {
        // The marker is numbered so an earlier run's cannot match, and split in the typed
        // line so that only the output matches it.
        let n = self.runs.get() + 1;
        self.runs.set(n);
        self.line(&format!("printf '\\033[H\\033[2J'; {line}; echo \"[exit-{n}\"\"=$?]\""));
        let marker = format!("[exit-{n}=");
        let screen = self.wait_for(&marker);
        let (before, after) = screen.split_once(&marker).unwrap_or((&screen, ""));
        let code = after.split(']').next().and_then(|c| c.parse().ok()).unwrap_or(-1);
        (before.trim_end().to_owned(), code)
    }
}

impl Drop for Tmux {
    /// Kills the server and waits (up to two seconds) for the shells it ran to exit, so
    /// nothing writes into the temp dir while it is removed.
    fn drop(&mut self) {
        let panes = self.command().args(["list-panes", "-a", "-F", "#{pane_pid}"]).output();
        let _ = self.command().arg("kill-server").stderr(Stdio::null()).status();
        let pids: Vec<String> = panes
            .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        // A zombie (state Z) has exited; whether anyone reaps it is not ours to wait for.
        let running = |pid: &String| {
            std::fs::read_to_string(Path::new("/proc").join(pid).join("stat"))
                .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        };
        while pids.iter().any(running) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

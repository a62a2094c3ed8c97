//! One conformance suite for every secret store: the Secret Service (gnome-keyring in the
//! private session), the kernel keyring (keyutils), `pass` with a throwaway GnuPG home and a
//! key made here, and the file store, each through the same cases, all through the real
//! binaries: add, get, edit, rename, delete, what doctor counts, doctor --fix on both kinds of
//! leftover, 32 concurrent adds, and adds SIGKILLed at random moments. Then what is particular
//! to keyutils (new sessions, EPERM/ENOSYS under seccomp) and to pass (the team case, its
//! three setup errors, argv).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{Run, TestEnv, tool_available};

fn helper_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"))
}

/// A store this test needs is missing. Such tests are `#[ignore]`d unless asked for
/// (scripts/test asks for all of them): asked for, they fail rather than pass unrun.
fn skip(test: &str, why: &str) {
    panic!("{test}: {why} (scripts/test installs and starts what the stores need)");
}

/// A throwaway GnuPG home with one key and no passphrase. Its agent is stopped on drop.
pub struct Gpg {
    pub home: PathBuf,
    pub fingerprint: String,
}

impl Gpg {
    pub fn new(dir: &Path, name: &str) -> Gpg {
        let home = dir.join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let uid = format!("{name} <{name}@regcred.test>");
        let out = Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--passphrase", "", "--quick-gen-key", &uid, "future-default", "default", "never"])
            .output()
            .expect("run gpg");
        assert!(out.status.success(), "gpg key generation: {}", String::from_utf8_lossy(&out.stderr));
        let list =
            Command::new("gpg").env("GNUPGHOME", &home).args(["--list-keys", "--with-colons", &uid]).output().unwrap();
        let fingerprint = String::from_utf8_lossy(&list.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_owned()))
            .expect("a fingerprint");
        Gpg { home, fingerprint }
    }

    /// The public key, armoured, for another keyring to import (trusted there only through
    /// `--trust-model always` in PASSWORD_STORE_GPG_OPTS, which proves pass passes it on).
    fn export(&self) -> Vec<u8> {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--armor", "--export", &self.fingerprint])
            .output()
            .unwrap();
        out.stdout
    }

    fn import(&self, key: &[u8]) {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--import"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), key).unwrap();
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").env("GNUPGHOME", &self.home).args(["--kill", "gpg-agent"]).status();
    }
}

/// One store under test: a config dir choosing it, and whatever it needs around it.
pub struct World {
    pub t: TestEnv,
    pub kind: &'static str,
    _gpg: Option<Gpg>,
}

impl World {
    /// The world for `kind`; a store that cannot run here fails the test.
    pub fn new(kind: &'static str, test: &str) -> Option<World> {
        match kind {
            "file" => Some(World { t: TestEnv::new(), kind, _gpg: None }),
            "keyring" => TestEnv::keyring(test).map(|t| World { t, kind, _gpg: None }),
            "keyutils" => {
                let t = TestEnv::new_with_store("keyutils");
                let run = t.run(&["doctor", "-o", "plain"]);
                if run.stdout.contains("problem\tsecret store keyutils") {
                    skip(test, &format!("the kernel keyring is not usable here: {}", run.stdout));
                    return None;
                }
                Some(World { t, kind, _gpg: None })
            }
            "pass" => {
                if !tool_available(test, "pass") || !tool_available(test, "gpg") {
                    return None;
                }
                let mut t = TestEnv::new_with_store("pass");
                let gpg = Gpg::new(t.root(), "owner");
                let store = t.root().join("password-store");
                t.env("GNUPGHOME", gpg.home.to_str().unwrap());
                t.env("PASSWORD_STORE_DIR", store.to_str().unwrap());
                let init = t.command(Path::new("pass"), &["init", &gpg.fingerprint]).output().unwrap();
                assert!(init.status.success(), "pass init: {}", String::from_utf8_lossy(&init.stderr));
                Some(World { t, kind, _gpg: Some(gpg) })
            }
            other => panic!("no such store {other}"),
        }
    }

    fn secret_of(&self, image: &str) -> Option<String> {
        let run = self.t.run(&["resolve", image, "--show-secret", "-o", "json"]);
        assert!(run.code == 0 || run.code == 3, "{run:?}");
        run.json_lines()[0]["credential"]["password"].as_str().map(str::to_owned)
    }

    /// (secrets of this store there, credentials expecting one), as doctor counts them.
    fn doctor_counts(&self) -> (usize, usize) {
        let run = self.t.run(&["doctor", "-o", "plain"]);
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("secret store {}\t", self.kind)))
            .unwrap_or_else(|| panic!("doctor did not check the store: {run:?}"));
        let number_before = |marker: &str| -> usize {
            let before = line.split(marker).next().unwrap();
            before.rsplit(' ').next().unwrap().parse().unwrap()
        };
        (number_before(" secret(s)"), number_before(" credential(s)"))
    }
}

impl Drop for World {
    /// Secrets kept outside the config dir (keyring, kernel keyring) are removed with the
    /// credentials.
    fn drop(&mut self) {
        if self.kind == "keyring" || self.kind == "keyutils" {
            for c in self.t.list() {
                let _ = self.t.run(&["delete", &c["id"].to_string(), "--yes"]);
            }
            let _ = self.t.run(&["doctor", "--fix"]);
        }
    }
}

/// The cases every store goes through.
fn conformance(kind: &'static str) {
    let test = format!("conformance ({kind})");
    let Some(w) = World::new(kind, &test) else { return };
    let t = &w.t;

    // add, and the secret read back by resolve and by the helper
    let id = t.add("registry.example.com:5000", "bob", "first secret ü 🔑").to_string();
    assert_eq!(w.secret_of("registry.example.com:5000/app").as_deref(), Some("first secret ü 🔑"));
    let got = t.run_bin(&helper_bin(), &["get"], "https://registry.example.com:5000\n").ok().json();
    assert_eq!(got["Secret"], "first secret ü 🔑");
    assert_eq!(w.doctor_counts(), (1, 1));
    t.run(&["show", &id, "-o", "plain"]).ok();

    // edit: a new username and secret; the old secret is gone
    t.run_with_stdin(&["edit", &id, "-u", "alice", "--password-stdin"], "second secret\n").ok();
    assert_eq!(w.secret_of("registry.example.com:5000/app").as_deref(), Some("second secret"));
    assert_eq!(t.run_bin(&helper_bin(), &["get"], "registry.example.com:5000\n").ok().json()["Username"], "alice");
    assert_eq!(w.doctor_counts(), (1, 1));

    // rename (a name, then another)
    t.run_with_stdin(&["edit", &id, "--name", "reg-alice", "--password-stdin"], "third secret\n").ok();
    t.run_with_stdin(&["edit", "reg-alice", "--name", "reg-a", "--password-stdin"], "third secret\n").ok();
    assert_eq!(w.secret_of("registry.example.com:5000/app").as_deref(), Some("third secret"));

    // a second credential; ids as doctor counts them
    let other = t.add("quay.io/team", "robot", "robot secret").to_string();
    assert_eq!(w.doctor_counts(), (2, 2));
    t.run(&["doctor"]).ok();

    // delete: metadata and secret
    t.run(&["delete", &id, "--yes"]).ok();
    assert_eq!(w.secret_of("registry.example.com:5000/app"), None);
    assert_eq!(w.doctor_counts(), (1, 1));

    // doctor --fix, metadata without secret: the store file from before a delete, restored
    let saved = std::fs::read(t.store_file()).unwrap();
    t.run(&["delete", &other, "--yes"]).ok();
    std::fs::write(t.store_file(), &saved).unwrap();
    let run = t.run(&["doctor", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("metadata without secret"), "{run:?}");
    t.run(&["doctor", "--fix"]).ok();
    t.run(&["doctor"]).ok();
    assert!(t.list().is_empty());

    // doctor --fix, secret without metadata: the store file from before an add, restored
    let saved = std::fs::read(t.store_file()).unwrap();
    t.add("ghcr.io", "left", "leftover secret");
    std::fs::write(t.store_file(), &saved).unwrap();
    let run = t.run(&["doctor", "-o", "plain"]).code(1);
    assert!(run.stdout.contains("secret without metadata"), "{run:?}");
    t.run(&["doctor", "--fix"]).ok();
    t.run(&["doctor"]).ok();
    assert_eq!(w.doctor_counts(), (0, 0));

    concurrent_adds(&w);
    sigkilled_adds(&w, 12);
}

/// 32 `add`s at once, each to its own registry: 32 ids, 32 secrets, each its own.
fn concurrent_adds(w: &World) {
    let t = &w.t;
    let before = t.list().len();
    let children: Vec<_> = (0..32)
        .map(|i| {
            let mut cmd =
                t.command(&crate::util::regcred_bin(), &["add", &format!("c{i}.example.com"), "-u", &format!("u{i}")]);
            cmd.arg("--password-stdin").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("concurrent-{i}\n").as_bytes())
                .unwrap();
            child
        })
        .collect();
    let mut ids = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 32, "ids handed out twice");
    assert_eq!(t.list().len(), before + 32);
    let images: Vec<String> = (0..32).map(|i| format!("c{i}.example.com/app")).collect();
    let mut args = vec!["resolve", "--show-secret", "-o", "json"];
    args.extend(images.iter().map(String::as_str));
    let lines = t.run(&args).ok().json_lines();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["credential"]["password"], format!("concurrent-{i}"), "{line}");
    }
    assert_eq!(w.doctor_counts(), (before + 32, before + 32));
}

/// `add`s SIGKILLed at spread-out moments: afterwards doctor --fix leaves a store where every
/// credential has its secret, and no secret is left without one.
fn sigkilled_adds(w: &World, rounds: u64) {
    let t = &w.t;
    // How long an add takes here, to spread the kills over it.
    let started = std::time::Instant::now();
    t.add("calibrate.example.com", "c", "calibration");
    let typical = started.elapsed();
    let mut killed = 0;
    for n in 0..rounds {
        let mut cmd = t.command(
            &crate::util::regcred_bin(),
            &["add", &format!("k{n}.example.com"), "-u", &format!("k{n}"), "--password-stdin"],
        );
        // Its own process group, to know when programs it started (`pass`, gpg) are done.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("killed-{n}\n").as_bytes()).unwrap();
        std::thread::sleep(typical.mul_f64(n as f64 / rounds as f64));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            killed += 1;
        }
        let group = child.id().to_string();
        child.wait().unwrap();
        // A `pass insert` that regcred started finishes after regcred is killed: its secret
        // is then one without metadata, which doctor --fix removes once it is there.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while Command::new("pgrep").args(["-g", &group]).stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
            assert!(std::time::Instant::now() < deadline, "programs regcred started are still running");
            std::thread::sleep(Duration::from_millis(10));
        }
        t.run(&["doctor", "--fix"]);
        t.run(&["doctor"]).ok();
        // Whatever was committed reads back whole.
        if let Some(secret) = w.secret_of(&format!("k{n}.example.com/app")) {
            assert_eq!(secret, format!("killed-{n}"));
        }
    }
    let (secrets, credentials) = w.doctor_counts();
    assert_eq!(secrets, credentials);
    eprintln!("{}: {rounds} adds, {killed} SIGKILLed mid-way (typical add {typical:?}); store consistent", w.kind);
}

#[test]
fn conformance_file() {
    conformance("file");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn conformance_keyring() {
    conformance("keyring");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn conformance_keyutils() {
    conformance("keyutils");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn conformance_pass() {
    conformance("pass");
}

// --- keyutils --------------------------------------------------------------------------

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyutils_secrets_outlive_the_process_and_the_session_and_add_says_reboot_ends_them() {
    let test = "keyutils_secrets_outlive_the_process_and_the_session";
    if !tool_available(test, "keyctl") {
        return;
    }
    let Some(w) = World::new("keyutils", test) else { return };
    let run = w.t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "kernel-secret\n").ok();
    assert!(run.stderr.contains("until reboot"), "{}", run.stderr);
    // Another process of the same user, in a new session keyring of its own (what a new
    // login gets): the secret is found through the user's persistent keyring.
    let out =
        w.t.command(Path::new("keyctl"), &["session", "-", helper_bin().to_str().unwrap(), "get"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"quay.io\n")?;
                child.wait_with_output()
            })
            .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("kernel-secret"), "{out:?}");
    // Nothing of it on disk.
    for entry in std::fs::read_dir(w.t.config_dir()).unwrap().flatten() {
        let text = std::fs::read(entry.path()).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains("kernel-secret"), "{}", entry.path().display());
    }
}

/// A seccomp filter that makes the kernel's key system calls fail with `errno`, as the
/// default profile of container runtimes does, around `regcred ARGS`: written in Python
/// (ctypes, prctl) so no compiler or extra package is needed.
const SECCOMP_WRAPPER: &str = r#"
import ctypes, platform, struct, sys, os
errno, argv = int(sys.argv[1]), sys.argv[2:]
arch, calls = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}[platform.machine()]
def insn(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([
    insn(0x20, 0, 0, 4), insn(0x15, 0, 4, arch), insn(0x20, 0, 0, 0),
    insn(0x15, 3, 0, calls[0]), insn(0x15, 2, 0, calls[1]), insn(0x15, 1, 0, calls[2]),
    insn(0x06, 0, 0, 0x7FFF0000), insn(0x06, 0, 0, 0x00050000 | errno),
])
buf = ctypes.create_string_buffer(prog)
fprog = struct.pack("HxxxxxxP", len(prog) // 8, ctypes.addressof(buf))
fbuf = ctypes.create_string_buffer(fprog)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
assert libc.prctl(38, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS"
assert libc.prctl(22, 2, ctypes.addressof(fbuf), 0, 0) == 0, "PR_SET_SECCOMP"
os.execv(argv[0], argv)
"#;

fn under_seccomp(t: &TestEnv, errno: &str, args: &[&str], stdin: &str) -> Run {
    let script = t.root().join("seccomp.py");
    std::fs::write(&script, SECCOMP_WRAPPER).unwrap();
    let regcred = crate::util::regcred_bin();
    let mut all = vec![script.to_str().unwrap(), errno, regcred.to_str().unwrap()];
    all.extend(args);
    crate::util::run_with_input(&mut t.command(Path::new("python3"), &all), stdin.as_bytes())
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn keyutils_refused_by_seccomp_says_why_names_the_other_stores_and_writes_nothing() {
    let test = "keyutils_refused_by_seccomp";
    if !tool_available(test, "python3") {
        return;
    }
    let t = TestEnv::new_with_store("keyutils");
    for (errno, words) in [("1", "EPERM"), ("38", "ENOSYS")] {
        let before = t.snapshot();
        let run = under_seccomp(&t, errno, &["add", "quay.io", "-u", "bob", "--password-stdin"], "pw\n");
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("error: cannot use the kernel keyring") && run.stderr.contains(words), "{run:?}");
        for other in ["--secret-store pass", "--secret-store keyring", "--secret-store file", "--secret-from-env"] {
            assert!(run.stderr.contains(other), "the hint names {other}: {}", run.stderr);
        }
        assert_eq!(t.snapshot(), before, "nothing written");
        assert!(!t.store_file().exists());
    }
    // The filter is what refused: the same command without it gets past the key calls (or
    // fails for another reason on a machine without a session keyring).
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "pw\n");
    assert!(!run.stderr.contains("EPERM") && !run.stderr.contains("ENOSYS"), "{run:?}");
    if run.code == 0 {
        t.run(&["delete", "1", "--yes"]).ok();
    }
}

// --- pass --------------------------------------------------------------------------------

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn pass_entries_are_named_for_people_and_the_secret_never_travels_in_argv() {
    let Some(mut w) = World::new("pass", "pass_entries_are_named_for_people") else { return };
    // A `pass` on PATH that records its arguments, then runs the real one.
    let bin = w.t.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.t.root().join("pass-argv.log");
    let real = String::from_utf8(Command::new("sh").args(["-c", "command -v pass"]).output().unwrap().stdout).unwrap();
    std::fs::write(
        bin.join("pass"),
        format!("#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n", log.display(), real.trim()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("pass"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    w.t.env("PATH", &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()));
    w.t.add("quay.io/myorg", "robot", "argv-probe-secret");
    w.t.run(&["-e", "default", "resolve", "quay.io/myorg/app", "--show-secret"]).ok().stdout_has("argv-probe-secret");
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("insert") && argv.contains("show"), "{argv}");
    assert!(!argv.contains("argv-probe-secret"), "the secret was in argv:\n{argv}");
    let ls = w.t.command(Path::new("pass"), &["ls"]).env("TERM", "dumb").output().unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    for part in ["regcred", "default", "quay.io", "myorg", "robot#1"] {
        assert!(ls.contains(part), "pass ls shows {part}:\n{ls}");
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn pass_team_case_a_second_key_owner_reads_what_regcred_wrote() {
    let Some(w) = World::new("pass", "pass_team_case") else { return };
    let colleague = Gpg::new(w.t.root(), "colleague");
    let owner_home = w.t.root().join("gnupg-owner");
    let owner = Gpg { home: owner_home.clone(), fingerprint: String::new() };
    owner.import(&colleague.export());
    std::mem::forget(owner);
    // The store is re-encrypted for both keys, as a team does.
    let owner_fpr = {
        let out = w.t.command(Path::new("gpg"), &["--list-secret-keys", "--with-colons"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_owned()))
            .unwrap()
    };
    let init =
        w.t.command(Path::new("pass"), &["init", &owner_fpr, &colleague.fingerprint])
            .env("PASSWORD_STORE_GPG_OPTS", "--trust-model always")
            .output()
            .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let mut t = TestEnv::new_with_store("pass");
    t.env("GNUPGHOME", owner_home.to_str().unwrap());
    t.env("PASSWORD_STORE_DIR", w.t.root().join("password-store").to_str().unwrap());
    // PASSWORD_STORE_GPG_OPTS reaches gpg through pass: the imported key is trusted only so.
    t.env("PASSWORD_STORE_GPG_OPTS", "--trust-model always");
    std::fs::create_dir_all(t.config_dir()).unwrap();
    std::fs::copy(w.t.store_file(), t.store_file()).ok();
    let mut owner_env = w.t.command(&crate::util::regcred_bin(), &["add", "ghcr.io", "-u", "team", "--password-stdin"]);
    owner_env.env("PASSWORD_STORE_GPG_OPTS", "--trust-model always").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = owner_env.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"shared-team-secret\n").unwrap();
    assert!(child.wait().unwrap().success());
    // The colleague, with only their own key, reads it with regcred from a copy of the
    // committed store.
    let mut c = TestEnv::new_with_store("pass");
    c.env("GNUPGHOME", colleague.home.to_str().unwrap());
    c.env("PASSWORD_STORE_DIR", w.t.root().join("password-store").to_str().unwrap());
    std::fs::create_dir_all(c.config_dir()).unwrap();
    std::fs::copy(w.t.store_file(), c.store_file()).unwrap();
    let run = c.run(&["resolve", "ghcr.io/acme/app", "--show-secret", "-o", "json"]).ok();
    assert_eq!(run.json_lines()[0]["credential"]["password"], "shared-team-secret");
    drop(t);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn pass_setup_errors_each_say_what_fixes_them() {
    let test = "pass_setup_errors_each_say_what_fixes_them";
    if !tool_available(test, "pass") {
        return;
    }
    // Not initialised.
    let mut t = TestEnv::new_with_store("pass");
    let gpg = Gpg::new(t.root(), "solo");
    t.env("GNUPGHOME", gpg.home.to_str().unwrap());
    t.env("PASSWORD_STORE_DIR", t.root().join("empty-store").to_str().unwrap());
    let before = t.snapshot();
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "pw\n").code(1);
    assert!(run.stderr.contains("is not initialised") && run.stderr.contains("hint: run `pass init"), "{run:?}");
    assert_eq!(t.snapshot(), before);

    // A store initialised for a key this keyring does not have.
    let stranger = Gpg::new(t.root(), "stranger");
    let store = t.root().join("foreign-store");
    let init = Command::new("pass")
        .env("GNUPGHOME", &stranger.home)
        .env("PASSWORD_STORE_DIR", &store)
        .args(["init", &stranger.fingerprint])
        .output()
        .unwrap();
    assert!(init.status.success());
    t.env("PASSWORD_STORE_DIR", store.to_str().unwrap());
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "pw\n").code(1);
    assert!(run.stderr.contains("no usable public key") && run.stderr.contains(&stranger.fingerprint), "{run:?}");
    assert!(run.stderr.contains("hint: import the key"), "{run:?}");
    assert_eq!(t.snapshot(), before, "nothing written");

    // pass not installed.
    t.env("PATH", t.root().join("no-bin").to_str().unwrap());
    let run = t.run_with_stdin(&["add", "quay.io", "-u", "bob", "--password-stdin"], "pw\n").code(1);
    assert!(run.stderr.contains("`pass` program is not installed") && run.stderr.contains("apt-get install pass"));
    assert_eq!(t.snapshot(), before);
}

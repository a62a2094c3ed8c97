//! Reliability (issue #8): many processes writing at once, commands SIGKILLed at random
//! points, and secret hygiene. Every test here drives the real binaries; the state they
//! leave is read back with regcred's own store and secret-store code, in process, so a
//! check costs no extra process. The figures each test reaches are printed (run with
//! `--nocapture`) and recorded in docs/RELIABILITY.md.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use regcred::testing::{SecretKey, SecretStoreKind};

use crate::util::{TestEnv, regcred_bin};

/// How many processes write at once in the concurrency tests.
const WRITERS: usize = 32;
/// How many `doctor` runs check the store while they write.
const DOCTORS: usize = 6;

/// A small xorshift generator: the tests need reproducible randomness, not a crate.
struct Rng(u64);

impl Rng {
    /// Seeded from `REGCRED_TEST_SEED` when set, else from the clock; the seed is printed so
    /// a failure can be replayed.
    fn new(test: &str) -> Rng {
        let seed = std::env::var("REGCRED_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("{test}: REGCRED_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A number from the environment (for longer runs than CI's), else `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What the store and the secret store hold, read the way regcred reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    next_id: u64,
    /// id → username, from registries.toml.
    metadata: BTreeMap<u64, String>,
    /// id → secret, from the secret store.
    secrets: BTreeMap<u64, String>,
}

impl State {
    fn read(t: &TestEnv, kind: SecretStoreKind) -> State {
        let registries = regcred::testing::store(&t.config_dir())
            .load()
            .unwrap_or_else(|e| panic!("the store does not load: {e} ({:?})", e.hint()));
        let secrets = regcred::testing::secrets(kind, &t.config_dir());
        let ids = secrets.ids(&registries.store_id).unwrap_or_else(|e| panic!("secret store unreadable: {e}"));
        let mut found = BTreeMap::new();
        for id in ids {
            let key = SecretKey { store_id: &registries.store_id, id, environment: "", address: "", username: "" };
            if let Some(secret) = secrets.get(&key).unwrap_or_else(|e| panic!("secret {id} unreadable: {e}")) {
                found.insert(id, secret.expose().to_owned());
            }
        }
        State {
            next_id: registries.next_id,
            // A big store's bulk (see `big_store`) keeps no secret: its secrets come from a
            // variable.
            metadata: registries
                .credentials
                .iter()
                .filter(|c| c.secret_env.is_none())
                .map(|c| (c.id, c.username.clone()))
                .collect(),
            secrets: found,
        }
    }

    /// Credentials whose metadata and secret are both present.
    fn credentials(&self) -> BTreeMap<u64, (String, String)> {
        self.metadata
            .iter()
            .filter_map(|(id, user)| Some((*id, (user.clone(), self.secrets.get(id)?.clone()))))
            .collect()
    }

    fn metadata_without_secret(&self) -> Vec<u64> {
        self.metadata.keys().filter(|id| !self.secrets.contains_key(id)).copied().collect()
    }

    fn secret_without_metadata(&self) -> Vec<u64> {
        self.secrets.keys().filter(|id| !self.metadata.contains_key(id)).copied().collect()
    }
}

fn wait(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("wait for regcred");
    // Killed by a signal: minus its number (-9 for SIGKILL).
    let code = out.status.code().or(out.status.signal().map(|s| -s)).unwrap_or(i32::MIN);
    (code, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn spawn(t: &TestEnv, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = t.command(&regcred_bin(), args);
    cmd.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("start regcred")
}

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

/// `WRITERS` processes add at once (each blocks reading its password until all have
/// started, then all are released together) while this thread keeps reading the store
/// file and the secrets file raw. Returns the new credentials, id → (username, secret).
fn concurrent_adds(t: &TestEnv, kind: SecretStoreKind) -> BTreeMap<u64, (String, String)> {
    let first_id = State::read(t, kind).next_id;
    let mut children = Vec::new();
    for i in 0..WRITERS {
        let address = format!("r{}.example.com", i % 4);
        let user = format!("user{i}");
        let mut cmd = t.command(&regcred_bin(), &["add", &address, "-u", &user, "--password-stdin"]);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        children.push((user, cmd.spawn().expect("start regcred")));
    }
    let mut expected = BTreeMap::new();
    for (i, (user, child)) in children.iter_mut().enumerate() {
        let secret = format!("concurrent-secret-{i}-{:x}", i * 7919);
        child.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
        expected.insert(user.clone(), secret);
    }

    // doctor, run while the writers run, must see the store and the secrets agree.
    let doctors: Vec<Child> = (0..DOCTORS).map(|_| spawn(t, &["doctor", "-o", "plain"], &[])).collect();

    // A reader never sees a torn file: every read while the writers run must parse.
    let (mut reads, mut states, mut seen) = (0, 0, 0);
    let mut running: Vec<(String, Child)> = children;
    let mut finished = Vec::new();
    while !running.is_empty() {
        // The store, the file store's files as they are now (not the writers' temporary
        // `.ID.toml.XXXXXX.tmp`, which no reader opens), and an older store's secrets.toml.
        let mut files = vec![t.store_file(), t.secrets_file()];
        // (A big store's journal is not TOML; the loads below read it.)
        files.extend(
            std::fs::read_dir(t.secrets_dir())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path()),
        );
        for path in &files {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    reads += 1;
                    if let Err(e) = toml::from_str::<toml::Table>(&text) {
                        panic!("a reader saw a torn {}: {e}\n{text}", path.display());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("cannot read {}: {e}", path.display()),
            }
        }
        if t.store_file().exists() {
            // Adds only: a reading with fewer credentials than an earlier one went back in
            // time (a big store's reader that missed the journal during a compaction).
            let count = State::read(t, kind).metadata.len();
            assert!(count >= seen, "a reading saw {count} credentials after one saw {seen}");
            seen = count;
            states += 1;
        }
        let mut i = 0;
        while i < running.len() {
            if running[i].1.try_wait().expect("poll regcred").is_some() {
                finished.push(running.swap_remove(i));
            } else {
                i += 1;
            }
        }
    }
    let mut ids = BTreeMap::new();
    for (user, child) in finished {
        let (code, stdout, stderr) = wait(child);
        assert_eq!(code, 0, "add for {user} failed:\n{stderr}");
        let id: u64 = stdout.trim().parse().unwrap_or_else(|_| panic!("no id printed: {stdout:?}"));
        assert!(ids.insert(id, user.clone()).is_none(), "id {id} handed out twice");
    }
    for doctor in doctors {
        let (code, stdout, stderr) = wait(doctor);
        assert_eq!(code, 0, "doctor during the writes saw a problem:\n{stdout}{stderr}");
    }
    eprintln!(
        "concurrent adds ({kind}): {WRITERS} writers at once; {reads} raw reads, {states} loads and {DOCTORS} doctor runs \
         during the writes, none torn or disagreeing"
    );

    let state = State::read(t, kind);
    let got = state.credentials();
    assert_eq!(state.metadata.len(), WRITERS, "lost updates: {state:#?}");
    assert_eq!(got.len(), WRITERS, "lost secrets: {state:#?}");
    assert_eq!(state.next_id, first_id + WRITERS as u64);
    for (id, (user, secret)) in &got {
        assert_eq!(ids.get(id), Some(user), "credential {id}");
        assert_eq!(Some(secret), expected.get(user), "the secret of {user}");
    }
    got
}

#[test]
fn thirty_two_concurrent_adds_lose_nothing_and_readers_never_see_a_torn_file() {
    let t = TestEnv::new();
    concurrent_adds(&t, SecretStoreKind::File);
    t.run(&["doctor"]).ok();
}

#[test]
fn thirty_two_concurrent_adds_to_a_big_store_with_a_journal_lose_nothing() {
    let t = TestEnv::new();
    t.big_store(1);
    concurrent_adds(&t, SecretStoreKind::File);
    let journal = std::fs::read_to_string(t.config_dir().join("registries.journal")).unwrap();
    assert_eq!(journal.lines().count(), 2 + WRITERS, "one record per add after the first:\n{journal}");
    t.run(&["doctor"]).ok();
}

/// The same with the journal 8 records from full: the adds cross a compaction while this
/// thread keeps reading without the lock.
#[test]
fn concurrent_adds_across_a_compaction_lose_nothing_and_no_reading_goes_back() {
    let t = TestEnv::new();
    t.big_store(regcred::testing::MAX_RECORDS - 8);
    concurrent_adds(&t, SecretStoreKind::File);
    let text = std::fs::read_to_string(t.store_file()).unwrap();
    assert!(text.contains("\njournal = 2\n"), "no compaction happened");
    t.run(&["doctor"]).ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn thirty_two_concurrent_adds_lose_nothing_in_the_keyring() {
    let Some(t) = TestEnv::keyring("thirty_two_concurrent_adds_lose_nothing_in_the_keyring") else { return };
    concurrent_adds(&t, SecretStoreKind::Keyring);
    t.run(&["doctor"]).ok();
}

/// 32 workers at once, each owning one credential: it deactivates and activates its own
/// and resolves and lists in between, ending on a random state. A lost update would leave
/// some credential in a state its owner did not set last; every read must be whole.
#[test]
fn thirty_two_processes_toggling_and_resolving_leave_a_consistent_store() {
    let t = TestEnv::new();
    let credentials = concurrent_adds(&t, SecretStoreKind::File);
    let mut rng = Rng::new("toggling");
    let finals: BTreeMap<u64, bool> = credentials.keys().map(|id| (*id, rng.below(2) == 0)).collect();
    let images: Vec<String> = (0..4).map(|i| format!("r{i}.example.com/team/app")).collect();
    let started = Instant::now();
    let processes = std::thread::scope(|scope| {
        let workers: Vec<_> = finals
            .iter()
            .map(|(&id, &last)| {
                let (t, images) = (&t, &images);
                scope.spawn(move || {
                    let id = id.to_string();
                    let last = if last { "activate" } else { "deactivate" };
                    let mut resolve = vec!["resolve", "-o", "json"];
                    resolve.extend(images.iter().map(String::as_str));
                    let steps: [Vec<&str>; 6] = [
                        vec!["deactivate", &id],
                        resolve.clone(),
                        vec!["activate", &id],
                        vec!["list", "-o", "json"],
                        vec![last, &id],
                        resolve.clone(),
                    ];
                    for step in &steps {
                        let run = t.run(step);
                        assert!(run.code == 0 || (step[0] == "resolve" && run.code == 3), "{step:?}: {run:?}");
                        if step[0] == "resolve" {
                            for line in run.json_lines() {
                                if let Some(chosen) = line["credential"]["id"].as_u64() {
                                    let address = line["credential"]["address"].as_str().unwrap();
                                    assert!(line["image"].as_str().unwrap().starts_with(address), "{line}");
                                    assert!(chosen <= WRITERS as u64);
                                }
                            }
                        } else if step[0] == "list" {
                            assert_eq!(run.json().as_array().map(Vec::len), Some(WRITERS));
                        }
                    }
                    steps.len()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum::<usize>()
    });
    eprintln!("toggling: {WRITERS} workers at once, {processes} processes in {:.1} s", started.elapsed().as_secs_f64());

    let list = t.list();
    assert_eq!(list.len(), WRITERS);
    for c in &list {
        let id = c["id"].as_u64().unwrap();
        let inactive = c["status"] == "inactive";
        assert_eq!(!inactive, finals[&id], "credential {id} is not in the state its owner set last: {c}");
    }
    // The selection rule over the final state: the newest active credential per address.
    for (i, image) in images.iter().enumerate() {
        let address = format!("r{i}.example.com");
        let want = list
            .iter()
            .filter(|c| c["address"] == address.as_str() && c["status"] != "inactive")
            .map(|c| c["id"].as_u64().unwrap())
            .max();
        assert_eq!(t.resolve(image), want, "{image}");
    }
    let state = State::read(&t, SecretStoreKind::File);
    assert_eq!(state.credentials(), credentials, "toggling changed a username or secret");
    t.run(&["doctor"]).ok();
}

// ---------------------------------------------------------------------------------------
// Crash safety
// ---------------------------------------------------------------------------------------

/// One command of the crash test and the states it may leave.
enum Op {
    Add { user: String, secret: String },
    Edit { id: u64, user: String, secret: String },
    Delete { id: u64 },
}

impl Op {
    fn kind(&self) -> usize {
        match self {
            Op::Add { .. } => 0,
            Op::Edit { .. } => 1,
            Op::Delete { .. } => 2,
        }
    }

    fn spawn(&self, t: &TestEnv, n: u64) -> Child {
        match self {
            Op::Add { user, secret } => {
                let address = format!("r{}.example.com", n % 3);
                spawn(t, &["add", &address, "-u", user, "--password-env", "PW"], &[("PW", secret)])
            }
            Op::Edit { id, user, secret } => {
                spawn(t, &["edit", &id.to_string(), "-u", user, "--password-env", "PW"], &[("PW", secret)])
            }
            Op::Delete { id } => spawn(t, &["delete", &id.to_string(), "--yes"], &[]),
        }
    }

    /// The credentials once the command has taken effect.
    fn after(&self, before: &BTreeMap<u64, (String, String)>, next_id: u64) -> BTreeMap<u64, (String, String)> {
        let mut after = before.clone();
        match self {
            Op::Add { user, secret } => {
                after.insert(next_id, (user.clone(), secret.clone()));
            }
            Op::Edit { id, user, secret } => {
                after.insert(*id, (user.clone(), secret.clone()));
            }
            Op::Delete { id } => {
                after.remove(id);
            }
        }
        after
    }

    /// An edit killed between its two writes (secret first, then metadata) leaves the new
    /// secret under the old metadata; it was never committed, and doctor cannot tell.
    fn between(&self, before: &BTreeMap<u64, (String, String)>) -> Option<BTreeMap<u64, (String, String)>> {
        let Op::Edit { id, secret, .. } = self else { return None };
        let mut between = before.clone();
        between.get_mut(id)?.1 = secret.clone();
        Some(between)
    }
}

/// Figures of one crash run.
#[derive(Default, Debug)]
struct CrashFigures {
    commands: usize,
    kills: usize,
    /// Kills after which nothing had changed / the change was complete / the secret was
    /// written but not the metadata (or, for delete, the metadata removed but not the secret).
    before: usize,
    after: usize,
    between: usize,
    doctor_repairs: usize,
}

/// Runs add/edit/delete one at a time and SIGKILLs most of them after a random delay
/// within the time such a command takes. After every command: the store must load, no
/// credential may have metadata without its secret (the write ordering), `doctor --fix`
/// must bring both sides into agreement, and the credentials must be exactly those of
/// before or after the command — or, for a killed edit, the new secret under the old
/// username. Whatever finished is never lost.
fn crash_run(t: &TestEnv, kind: SecretStoreKind, kills_wanted: usize, test: &str) -> CrashFigures {
    let mut rng = Rng::new(test);
    let mut figures = CrashFigures::default();
    // Typical durations per command kind, measured on unkilled commands first.
    let mut typical = [Duration::ZERO; 3];
    let mut model: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut retired_secrets: Vec<String> = Vec::new();
    // Under load many commands finish before their kill; allow for that.
    let limit = kills_wanted * 6 + 20;
    let started = Instant::now();
    for n in 0..limit as u64 {
        if figures.kills >= kills_wanted {
            break;
        }
        let before_state = State::read(t, kind);
        assert_eq!(before_state.credentials(), model, "state drifted before command {n}");
        let secret = format!("crash-secret-{n}-{:08x}", rng.next() as u32);
        let ids: Vec<u64> = model.keys().copied().collect();
        let pick = |rng: &mut Rng| ids[rng.below(ids.len() as u64) as usize];
        let op = match rng.below(10) {
            _ if model.len() < 3 => Op::Add { user: format!("u{n}"), secret },
            _ if model.len() > 8 => Op::Delete { id: pick(&mut rng) },
            0..=3 => Op::Add { user: format!("u{n}"), secret },
            4..=6 => Op::Edit { id: pick(&mut rng), user: format!("e{n}"), secret },
            _ => Op::Delete { id: pick(&mut rng) },
        };
        let after_model = op.after(&model, before_state.next_id);

        let calibrating = typical[op.kind()].is_zero();
        let begun = Instant::now();
        let mut child = op.spawn(t, n);
        let killed = if calibrating {
            false
        } else {
            let window = typical[op.kind()].as_micros() as u64 * 3 / 2;
            std::thread::sleep(Duration::from_micros(rng.below(window)));
            child.kill().is_ok()
        };
        let (code, _, stderr) = wait(child);
        let signalled = code == -9;
        if calibrating {
            typical[op.kind()] = begun.elapsed();
        }
        figures.commands += 1;
        if killed && signalled {
            figures.kills += 1;
        } else {
            assert_eq!(code, 0, "command {n} failed without being killed:\n{stderr}");
        }

        let state = State::read(t, kind);
        assert!(
            state.metadata_without_secret().is_empty(),
            "command {n}: metadata without a secret: the write ordering broke: {state:#?}"
        );
        let half_done = !state.secret_without_metadata().is_empty();
        if half_done {
            let run = t.run(&["doctor", "--fix"]);
            assert_eq!(run.code, 0, "doctor --fix after command {n}: {run:?}");
            figures.doctor_repairs += 1;
        }
        let state = if half_done { State::read(t, kind) } else { state };
        assert!(state.secret_without_metadata().is_empty() && state.metadata_without_secret().is_empty());
        let now = state.credentials();
        if !(killed && signalled) {
            assert_eq!(now, after_model, "command {n} finished, but its result is not all there");
        } else if now == model && !half_done {
            figures.before += 1;
        } else if now == after_model && !half_done {
            figures.after += 1;
        } else if now == model || now == after_model || Some(&now) == op.between(&model).as_ref() {
            figures.between += 1;
        } else {
            panic!(
                "command {n} was killed and left neither the old nor the new state:\nold {model:?}\nnew {after_model:?}\ngot {now:?}"
            );
        }
        for (id, (_, secret)) in &model {
            if now.get(id).map(|c| &c.1) != Some(secret) {
                retired_secrets.push(secret.clone());
            }
        }
        model = now;
    }
    // The last kill may have left a temporary file: doctor names it, --fix removes it.
    let run = t.run(&["doctor", "-o", "plain"]);
    assert!(run.code == 0 || run.stdout.contains("interrupted write"), "doctor after the crash run: {run:?}");
    t.run(&["doctor", "--fix"]).ok();
    t.run(&["doctor"]).ok();
    // Nothing of a replaced or deleted secret survives anywhere in the config dir, and no
    // temporary file of a killed writer is left behind.
    let mut names = Vec::new();
    let inner = std::fs::read_dir(t.secrets_dir()).into_iter().flatten().flatten();
    for entry in std::fs::read_dir(t.config_dir()).unwrap().flatten().chain(inner) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().parent() == Some(t.secrets_dir().as_path()) {
            // A killed writer's temporary file there is a leftover; the secrets' files are not.
            assert!(!name.starts_with('.'), "leftover {} in secrets.d", entry.path().display());
        } else {
            names.push(name);
        }
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &retired_secrets {
            assert!(!text.contains(secret.as_str()), "{} still holds the retired {secret}", entry.path().display());
        }
    }
    // A big store's journal may be there or not, as the last write left it.
    names.retain(|n| n != "registries.journal");
    names.sort();
    let expected: &[&str] = match kind {
        SecretStoreKind::File => &["registries.lock", "registries.toml", "secrets.d"],
        SecretStoreKind::Keyring | SecretStoreKind::Keyutils | SecretStoreKind::Pass => {
            &["registries.lock", "registries.toml"]
        }
    };
    assert_eq!(names, expected, "leftover files in the config dir");
    assert!(figures.kills >= kills_wanted, "only {} of {kills_wanted} kills landed: {figures:?}", figures.kills);
    eprintln!(
        "{test}: {} commands, {} SIGKILLed and survived ({} before any write, {} between the writes, {} after both); \
         doctor --fix repaired {} half-done command(s); {:.1} s",
        figures.commands,
        figures.kills,
        figures.before,
        figures.between,
        figures.after,
        figures.doctor_repairs,
        started.elapsed().as_secs_f64()
    );
    figures
}

#[test]
fn sigkilled_add_edit_delete_lose_nothing_committed() {
    let t = TestEnv::new();
    crash_run(&t, SecretStoreKind::File, setting("REGCRED_TEST_KILLS", 200), "crash (file store)");
}

/// The same on a big store whose journal is full: the run crosses a compaction (registries.toml written whole with the next generation, the journal removed)
/// and kills land on appends, on the whole write and between it and the removal.
#[test]
fn sigkilled_writes_to_a_big_store_with_a_journal_lose_nothing_committed() {
    let t = TestEnv::new();
    // Full: the first command (never killed: it measures how long one takes) compacts.
    t.big_store(regcred::testing::MAX_RECORDS);
    crash_run(&t, SecretStoreKind::File, setting("REGCRED_TEST_BIG_KILLS", 40), "crash (big store)");
    let text = std::fs::read_to_string(t.store_file()).unwrap();
    assert!(text.contains("\njournal = 2\n") || text.contains("\njournal = 3\n"), "no compaction happened");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn sigkilled_add_edit_delete_lose_nothing_committed_in_the_keyring() {
    let Some(t) = TestEnv::keyring("sigkilled_add_edit_delete_lose_nothing_committed_in_the_keyring") else { return };
    crash_run(&t, SecretStoreKind::Keyring, setting("REGCRED_TEST_KEYRING_KILLS", 50), "crash (keyring)");
}

// ---------------------------------------------------------------------------------------
// Secret hygiene
// ---------------------------------------------------------------------------------------

/// Every place a secret must not be: stdout and stderr of `run`.
#[track_caller]
fn assert_no_secret(what: &str, run: &crate::util::Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.stdout.contains(secret), "{what}: stdout shows {secret}:\n{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{what}: stderr shows {secret}:\n{}", run.stderr);
    }
}

/// Runs every command that handles a secret, successful and failing, with logging and
/// backtraces turned all the way up, and looks for the secret in everything printed and
/// in the store file.
fn no_secret_leaks(t: &mut TestEnv) {
    t.env("RUST_LOG", "trace").env("RUST_BACKTRACE", "full").env("DBUS_VERBOSE", "1");
    let s1 = "hygiene-secret-1-5b7f";
    let s2 = "hygiene-secret-2-c3d9";
    let s3 = "4815162342";
    let helper = std::path::PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"));
    let all = [s1, s2, s3];
    let run = |what: &str, args: &[&str], stdin: &str| {
        let run = t.run_with_stdin(args, stdin);
        assert_no_secret(what, &run, &all);
        run
    };
    run("add", &["add", "quay.io", "-u", "alice", "--name", "qa", "--password-stdin"], &format!("{s1}\n")).ok();
    run("list", &["list", "-o", "json"], "").ok();
    run("show", &["show", "qa", "-o", "json"], "").ok();
    run("resolve", &["resolve", "quay.io/a/b", "--explain", "-o", "json"], "").ok();
    run("edit", &["edit", "qa", "-u", "alice2", "--password-stdin"], &format!("{s2}\n")).ok();
    run("deactivate", &["deactivate", "qa"], "").ok();
    run("activate", &["activate", "qa"], "").ok();
    run("doctor", &["doctor", "-o", "json"], "").ok();
    run("bad address", &["add", "https://quay.io", "-u", "a", "--password-stdin"], &format!("{s3}\n")).code(2);
    run("bad user", &["add", "quay.io", "-u", "a:b", "--password-stdin"], &format!("{s3}\n")).code(2);
    run("name taken", &["add", "quay.io", "-u", "b", "--name", "qa", "--password-stdin"], &format!("{s3}\n")).code(2);
    run("unknown selector", &["edit", "nope", "--password-stdin"], &format!("{s3}\n")).code(2);
    run("unknown env", &["add", "quay.io", "-u", "b", "-e", "x", "--password-stdin"], &format!("{s3}\n")).code(2);
    run("delete", &["delete", "qa"], "").code(4);
    for (what, input) in [
        ("helper store: number", format!(r#"{{"ServerURL":"quay.io","Username":"a","Secret":{s3}}}"#)),
        ("helper store: bare string", format!(r#""{s1}""#)),
        ("helper store: bad url", format!(r#"{{"ServerURL":"bad host","Username":"a","Secret":"{s1}"}}"#)),
        ("helper store: bad user", format!(r#"{{"ServerURL":"quay.io","Username":"a:b","Secret":"{s1}"}}"#)),
        ("helper store: truncated", format!(r#"{{"ServerURL":"quay.io","Username":"a","Secret":"{s1}"#)),
    ] {
        let out = t.run_bin(&helper, &["store"], &input);
        assert_eq!(out.code, 1, "{what}: {out:?}");
        assert_no_secret(what, &out, &all);
    }
    let out = t.run_bin(&helper, &["list"], "");
    assert_no_secret("helper list", &out.ok(), &all);
    // Where showing it is the point, it is shown: proof the secret was really there.
    let shown = t.run(&["resolve", "quay.io/a/b", "--show-secret", "-o", "json"]).ok();
    assert!(shown.stdout.contains(s2), "{shown:?}");
    let store = std::fs::read_to_string(t.store_file()).unwrap();
    for secret in all {
        assert!(!store.contains(secret), "registries.toml holds a secret:\n{store}");
    }
    t.run(&["delete", "qa", "--yes"]).ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn no_secret_in_output_errors_logs_or_the_store_file() {
    no_secret_leaks(&mut TestEnv::new());
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn no_secret_in_output_errors_logs_or_the_store_file_with_the_keyring() {
    let Some(mut t) = TestEnv::keyring("no_secret_in_output_errors_logs_or_the_store_file_with_the_keyring") else {
        return;
    };
    no_secret_leaks(&mut t);
}

/// `import` is the one command that starts other programs (other credential helpers). A
/// fake helper on PATH records its argv and environment: no secret may be in either, and
/// a helper's malformed answer is reported without the value it carried.
#[test]
fn no_secret_in_the_argv_or_environment_of_a_helper_regcred_starts() {
    let mut t = TestEnv::new();
    let bin = t.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = t.root().join("helper.log");
    let script = format!(
        r#"#!/bin/sh
{{ echo "argv: $0 $*"; env | sed 's/^/env: /'; }} >> '{log}'
case "$1" in
  list) echo '{{"https://reg.example.com":"bob","https://num.example.com":"carol"}}' ;;
  get) read server
       case "$server" in
         *num*) echo '{{"ServerURL":"x","Username":"carol","Secret":31415926535}}' ;;
         *) echo '{{"ServerURL":"'"$server"'","Username":"bob","Secret":"helper-secret-71d2"}}' ;;
       esac ;;
esac
"#,
        log = log.display()
    );
    let path = bin.join("docker-credential-fake");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = t.root().join("config.json");
    std::fs::write(
        &config,
        r#"{"credsStore":"fake","auths":{
            "quay.io":{"auth":"YWxpY2U6YXV0aHMtc2VjcmV0LTc3"},
            "ghcr.io":{"username":"dave","password":2718281828}}}"#,
    )
    .unwrap();
    let path_var = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    t.env("PATH", &path_var);
    let run = t.run(&["import", "docker-config", config.to_str().unwrap(), "-o", "plain"]).ok();
    let secrets = ["helper-secret-71d2", "auths-secret-77", "31415926535", "2718281828"];
    assert_no_secret("import", &run, &secrets);
    let log = std::fs::read_to_string(&log).unwrap();
    let argv: Vec<&str> = log.lines().filter(|l| l.starts_with("argv: ")).collect();
    assert_eq!(argv.len(), 3, "list and two gets:\n{log}");
    for secret in secrets {
        assert!(!log.contains(secret), "a helper regcred started saw {secret}:\n{log}");
    }
    assert!(run.stdout.contains("reg.example.com") && run.stdout.contains("quay.io"), "{}", run.stdout);
    let shown = t.run(&["resolve", "reg.example.com/x", "quay.io/y", "--show-secret", "-o", "json"]).ok();
    assert!(shown.stdout.contains("helper-secret-71d2") && shown.stdout.contains("auths-secret-77"));
}

/// Readable by others: used, with a warning naming the fix. Writable by others: refused.
#[test]
fn store_and_secrets_file_warn_when_readable_and_refuse_when_writable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEnv::new();
    t.add("quay.io", "bob", "pw-perm-8e1");
    let chmod = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    for (path, mode) in [(t.store_file(), 0o640), (t.store_file(), 0o604), (t.secret_file(1), 0o644)] {
        chmod(&path, mode);
        let run = t.run(&["resolve", "quay.io/a/b", "--show-secret", "-o", "json"]).ok();
        let warning = format!("warning: {} is readable by other users (mode {mode:04o})", path.display());
        assert!(run.stderr.contains(&warning), "{mode:o} {}: {}", path.display(), run.stderr);
        assert!(run.stderr.contains(&format!("chmod 600 {}", path.display())), "{}", run.stderr);
        assert_eq!(run.stderr.matches("warning:").count(), 1, "warned once: {}", run.stderr);
        chmod(&path, 0o600);
    }
    for (path, mode) in [(t.store_file(), 0o620), (t.store_file(), 0o602), (t.secret_file(1), 0o660)] {
        chmod(&path, mode);
        let before = t.snapshot();
        let run = t.run(&["resolve", "quay.io/a/b", "--show-secret"]).code(1);
        assert!(run.stderr.contains("error:") && run.stderr.contains("chmod 600"), "{}", run.stderr);
        assert!(!run.stdout.contains("pw-perm-8e1"));
        assert_eq!(t.snapshot(), before);
        chmod(&path, 0o600);
    }
}

/// Whatever the umask, every file regcred creates is 0600 and its directory 0700.
#[test]
fn files_are_created_0600_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    for umask in ["000", "002", "077"] {
        let t = TestEnv::new();
        let script = format!(
            "umask {umask} && printf 'pw\\n' | \"$0\" add quay.io -u a --password-stdin >/dev/null && \
             printf '{{\"ServerURL\":\"ghcr.io\",\"Username\":\"b\",\"Secret\":\"c\"}}' | \"$0\" credential-helper store"
        );
        let cmd = t.command(&regcred_bin(), &[]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(cmd.get_program())
            .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
            .output()
            .unwrap();
        assert!(out.status.success(), "umask {umask}: {}", String::from_utf8_lossy(&out.stderr));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&t.config_dir()), 0o700, "umask {umask}");
        for entry in std::fs::read_dir(t.config_dir()).unwrap().flatten() {
            let wanted = if entry.path().is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&entry.path()), wanted, "umask {umask}: {}", entry.path().display());
        }
        assert_eq!(std::fs::read_dir(t.config_dir()).unwrap().count(), 3, "store, lock and secrets.d");
        let secrets: Vec<_> = std::fs::read_dir(t.secrets_dir()).unwrap().flatten().collect();
        assert_eq!(secrets.len(), 2, "one file per secret");
        for entry in secrets {
            assert_eq!(mode(&entry.path()), 0o600, "umask {umask}: {}", entry.path().display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Waits: each has a bound and says what it waits for
// ---------------------------------------------------------------------------------------

/// Runs `bin ARGS` with REGCRED_TIMEOUT=2 and returns (exit code, stdout, stderr, time).
fn timed(t: &TestEnv, bin: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let mut cmd = t.command(bin, args);
    cmd.env("REGCRED_TIMEOUT", "2").envs(env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let (code, stdout, stderr) = wait(child);
    (code, stdout, stderr, started.elapsed())
}

/// A lock held by another process (here: this test) makes a writer say, after a second,
/// whose lock it waits for, and give up after REGCRED_TIMEOUT with exit 1; the store is
/// unchanged, and the next write after the holder lets go succeeds.
#[test]
fn a_held_lock_is_waited_for_with_a_word_and_a_bound() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    let lock = std::fs::OpenOptions::new().read(true).write(true).open(t.config_dir().join("registries.lock")).unwrap();
    lock.lock().unwrap();
    let before = t.snapshot();
    let add = ["add", "ghcr.io", "-u", "b", "--password-stdin"];
    let (code, _, stderr, took) = timed(&t, &regcred_bin(), &add, "pw\n", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("waiting for the lock held by pid {}", std::process::id())), "{stderr}");
    assert!(stderr.contains("gave up after 2 s waiting for the lock"), "{stderr}");
    assert!(stderr.contains("REGCRED_TIMEOUT"), "{stderr}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "{took:?}");
    assert_eq!(t.snapshot(), before);
    // The credential helper too (podman login went silent here).
    let helper = crate::util::bin_dir().join("docker-credential-regcred");
    let request = r#"{"ServerURL":"ghcr.io","Username":"b","Secret":"pw"}"#;
    let (code, stdout, stderr, _) = timed(&t, &helper, &["store"], request, &[]);
    assert_eq!(code, 1);
    assert!(stdout.contains("gave up after 2 s"), "{stdout}");
    assert!(stderr.contains("waiting for the lock held by pid"), "{stderr}");
    lock.unlock().unwrap();
    t.run_with_stdin(&add, "pw\n").ok();
}

/// A D-Bus socket that accepts connections and never answers (a hung session bus): the
/// keyring store says after a second that it waits for the Secret Service and gives up
/// after REGCRED_TIMEOUT with exit 1, for `add` and for the helper's `get`.
#[test]
fn a_secret_service_that_never_answers_is_waited_for_with_a_word_and_a_bound() {
    let t = TestEnv::new();
    t.add("quay.io", "a", "pw");
    // The credential's secret is said to be in the keyring (as if added with it).
    let text = std::fs::read_to_string(t.store_file())
        .unwrap()
        .replace("secret_store = \"file\"", "secret_store = \"keyring\"");
    std::fs::write(t.store_file(), text).unwrap();
    let socket = t.root().join("silent-bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // Held open, never read from nor written to.
            keep.lock().unwrap().push(stream);
        }
    });
    let bus = format!("unix:path={}", socket.display());
    let env = [("DBUS_SESSION_BUS_ADDRESS", bus.as_str())];
    let add = ["--secret-store", "keyring", "add", "ghcr.io", "-u", "b", "--password-stdin"];
    let before = t.snapshot();
    let (code, _, stderr, took) = timed(&t, &regcred_bin(), &add, "pw\n", &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("waiting for the Secret Service to answer"), "{stderr}");
    assert!(stderr.contains("gave up after 2 s waiting for the Secret Service"), "{stderr}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "{took:?}");
    assert_eq!(t.snapshot(), before);
    let helper = crate::util::bin_dir().join("docker-credential-regcred");
    let (code, stdout, stderr, took) = timed(&t, &helper, &["get"], "quay.io", &env);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("gave up after 2 s waiting for the Secret Service"), "{stdout}");
    assert!(stderr.contains("waiting for the Secret Service"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!accepted.lock().unwrap().is_empty(), "regcred never connected to the silent bus");
}

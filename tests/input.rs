//! Bad input: each wrong input gets its exit code and an `error:` line (or, for the
//! credential helper, its message on stdout), and leaves the store byte-identical.
//!
//! The tables of docs/RELIABILITY.md are what these tests saw: each test renders its table
//! from the real runs and fails when the document differs. `REGCRED_BLESS=1` rewrites the
//! document instead (then review the diff).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::util::{Run, TestEnv, regcred_bin};

/// One bad input and what it must get.
struct Case {
    area: &'static str,
    /// What is wrong, in words, for the document.
    input: String,
    helper: bool,
    args: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<(&'static str, String)>,
    code: i32,
    /// A piece of the message that must be there.
    needle: String,
}

fn case(area: &'static str, input: &str, args: &[&str], stdin: &str, code: i32, needle: &str) -> Case {
    Case {
        area,
        input: input.to_owned(),
        helper: false,
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: stdin.as_bytes().to_vec(),
        env: Vec::new(),
        code,
        needle: needle.to_owned(),
    }
}

fn helper_case(input: &str, action: &str, stdin: &str, needle: &str) -> Case {
    Case { helper: true, ..case("helper stdin", input, &[action], stdin, 1, needle) }
}

impl Case {
    fn stdin_bytes(mut self, stdin: Vec<u8>) -> Case {
        self.stdin = stdin;
        self
    }

    fn env(mut self, key: &'static str, value: &str) -> Case {
        self.env.push((key, value.to_owned()));
        self
    }

    fn run(&self, t: &TestEnv) -> Run {
        let bin = if self.helper { helper_bin() } else { regcred_bin() };
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        if self.env.is_empty() {
            return t.run_bin_bytes(&bin, &args, &self.stdin);
        }
        let mut cmd = t.command(&bin, &args);
        cmd.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        run_command(cmd, &self.stdin)
    }

    /// The command as a person would type it, long arguments shortened.
    fn shown(&self) -> String {
        let program = if self.helper { "docker-credential-regcred" } else { "regcred" };
        let mut words = vec![program.to_owned()];
        for arg in &self.args {
            let shown = if arg.len() > 40 {
                format!("{}…({} chars)", &arg[..12], arg.len())
            } else if arg.is_empty() || arg.contains(' ') {
                format!("{arg:?}")
            } else {
                arg.clone()
            };
            words.push(shown);
        }
        for (key, value) in &self.env {
            let value = if value.len() > 40 { format!("…({} chars)", value.len()) } else { value.clone() };
            words.insert(0, format!("{key}={value}"));
        }
        words.join(" ")
    }
}

fn helper_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"))
}

fn run_command(mut cmd: std::process::Command, stdin: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Everything in the config dir: names, kinds, modes and bytes, links and their targets.
fn fingerprint(dir: &Path) -> Vec<(String, String, u32, Vec<u8>)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "registries.lock" {
            continue;
        }
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let kind = if meta.file_type().is_symlink() {
            format!("link to {}", fs::read_link(entry.path()).unwrap().display())
        } else if meta.is_dir() {
            "dir".to_owned()
        } else {
            "file".to_owned()
        };
        // Never open a FIFO: the read would block.
        let bytes = if meta.is_file() || meta.file_type().is_symlink() {
            fs::read(entry.path()).unwrap_or_default()
        } else {
            Vec::new()
        };
        if meta.is_dir() {
            // `secrets.d/`: the files in it, by their path under the config dir.
            found.extend(
                fingerprint(&entry.path()).into_iter().map(|(inner, k, m, b)| (format!("{name}/{inner}"), k, m, b)),
            );
        }
        found.push((name, kind, meta.permissions().mode() & 0o7777, bytes));
    }
    found.sort();
    found
}

/// The line of the message the document shows: the `error:` line (stdout for the
/// helper), with the test's paths replaced.
fn message(run: &Run, helper: bool, t: &TestEnv) -> String {
    let text = if helper && !run.stdout.is_empty() { &run.stdout } else { &run.stderr };
    let line = text
        .lines()
        .find(|l| l.starts_with("error:") || l.starts_with("warning:"))
        .or_else(|| text.lines().next())
        .unwrap_or("")
        .replace(&t.config_dir().display().to_string(), "$CONFIG")
        .replace(&t.root().display().to_string(), "$TMP");
    // Temporary file names are random.
    let line = match line.find(".tmp\"") {
        Some(at) if at >= 7 && line.is_char_boundary(at - 6) && line[..at - 6].ends_with('.') => {
            format!("{}XXXXXX{}", &line[..at - 6], &line[at..])
        }
        _ => line,
    };
    let line =
        if line.chars().count() > 150 { format!("{}…", line.chars().take(150).collect::<String>()) } else { line };
    line.replace('|', "\\|")
}

/// Runs the cases, checks each, and returns the rows for the document.
fn check_cases(t: &TestEnv, cases: &[Case], failures: &mut Vec<String>) -> Vec<String> {
    let mut rows = Vec::new();
    for c in cases {
        let before = fingerprint(&t.config_dir());
        let run = c.run(t);
        let mut problems = Vec::new();
        if run.code != c.code {
            problems.push(format!("exit {} instead of {}", run.code, c.code));
        }
        let text = if c.helper { &run.stdout } else { &run.stderr };
        if !text.contains(&c.needle) {
            problems.push(format!("message lacks {:?}", c.needle));
        }
        if c.code != 0 && !c.helper && !run.stderr.starts_with("error: ") {
            problems.push("no `error:` line".to_owned());
        }
        if fingerprint(&t.config_dir()) != before {
            problems.push("the store changed".to_owned());
        }
        if run.stderr.contains("panicked") {
            problems.push("panic".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}): {}\n  stdout: {}\n  stderr: {}",
                c.shown(),
                c.input,
                problems.join(", "),
                run.stdout.trim(),
                run.stderr.trim()
            ));
        }
        let shown = c.shown().replace(&t.root().display().to_string(), "$TMP");
        rows.push(row(c.area, &c.input, &shown, run.code, &message(&run, c.helper, t)));
    }
    rows
}

fn row(area: &str, input: &str, command: &str, code: i32, message: &str) -> String {
    format!("| {area} | {} | `{}` | {code} | {message} |", input.replace('|', "\\|"), command.replace('`', "'"))
}

static DOC_LOCK: Mutex<()> = Mutex::new(());

/// Compares the rows with the table between `<!-- matrix:NAME -->` and
/// `<!-- /matrix:NAME -->` in docs/RELIABILITY.md, or writes them there under REGCRED_BLESS=1.
fn check_document(name: &str, rows: &[String]) {
    let _guard = DOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/RELIABILITY.md");
    let doc = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (open, close) = (format!("<!-- matrix:{name} -->\n"), format!("<!-- /matrix:{name} -->"));
    let start = doc.find(&open).unwrap_or_else(|| panic!("docs/RELIABILITY.md lacks {open}")) + open.len();
    let end = doc[start..].find(&close).unwrap_or_else(|| panic!("docs/RELIABILITY.md lacks {close}")) + start;
    let mut table = String::from("| area | bad input | command | exit | message |\n|---|---|---|---|---|\n");
    for row in rows {
        table.push_str(row);
        table.push('\n');
    }
    if doc[start..end] == table {
        return;
    }
    if std::env::var("REGCRED_BLESS").as_deref() == Ok("1") {
        let updated = format!("{}{table}{}", &doc[..start], &doc[end..]);
        fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the {name} table of docs/RELIABILITY.md is stale; rerun with REGCRED_BLESS=1 and review the diff.\nexpected:\n{table}"
    );
}

/// A certificate authority that expired on 2021-01-01, whose CN holds a newline and
/// `ESC[8m` (made once with `openssl ca -startdate/-enddate`; certificates are public).
const EXPIRED_HOSTILE_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBHDCBz6ADAgECAgEBMAUGAytlcDAWMRQwEgYDVQQDDAtldmlsChtbOG1DQTAe\nFw0yMDAxMDEwMDAwMDBaFw0yMTAxMDEwMDAwMDBaMBYxFDASBgNVBAMMC2V2aWwK\nG1s4bUNBMCowBQYDK2VwAyEAR782bynq6bRnVvJwgWn13O6ILHRGQGL6tqj4ex6k\ndY+jQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQW\nBBS47GFBbYerb6nypM4c218U13VbjzAFBgMrZXADQQCqSRNFQPqvof4V+jOdm5+6\nHGcx2YAXYAo1RoGIBZM5n6y5/OxXSZHpirJN7j9ig93BMdLX0PFCfNCcDa85xD8J\n-----END CERTIFICATE-----\n";

/// A certificate authority valid from 2090-01-01.
const FUTURE_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBHDCBz6ADAgECAgECMAUGAytlcDAUMRIwEAYDVQQDDAlmdXR1cmUgQ0EwIhgP\nMjA5MDAxMDEwMDAwMDBaGA8yMDk5MDEwMTAwMDAwMFowFDESMBAGA1UEAwwJZnV0\ndXJlIENBMCowBQYDK2VwAyEAR782bynq6bRnVvJwgWn13O6ILHRGQGL6tqj4ex6k\ndY+jQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQW\nBBS47GFBbYerb6nypM4c218U13VbjzAFBgMrZXADQQC9HF6+KfylzXs3H6dZ5DLz\nN0fcatW8l4NNNknLVLspztkWO4d5t0ka/32Max2dDNJv5O0aI3sC33/CkyKnwWUI\n-----END CERTIFICATE-----\n";

/// The CA files of the bad-input matrix, in `$TMP/ca`.
fn ca_files(t: &TestEnv) -> PathBuf {
    let dir = t.root().join("ca");
    fs::create_dir_all(&dir).unwrap();
    let block = |label: &str| format!("-----BEGIN {label}-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END {label}-----\n");
    let files = [
        ("key.pem", block("PRIVATE KEY")),
        ("enc.pem", format!("{FUTURE_CA}{}", block("ENCRYPTED PRIVATE KEY"))),
        ("ssh.pem", block("OPENSSH PRIVATE KEY")),
        ("text.pem", "hello\n".to_owned()),
        ("junk.pem", block("CERTIFICATE")),
        ("old.pem", EXPIRED_HOSTILE_CA.to_owned()),
        ("new.pem", FUTURE_CA.to_owned()),
    ];
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// A store with something in it, so "unchanged" means something.
fn populated() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(&["quay.io", "-u", "alice", "--name", "quay-alice"], "pw1");
    t.add("ghcr.io/acme", "bob", "pw2");
    t.run(&["env", "create", "staging"]).ok();
    t
}

#[test]
fn bad_command_line_input_gets_its_exit_code_and_changes_nothing() {
    let t = populated();
    let megabyte = "x".repeat(1024 * 1024);
    let over_limit = "x".repeat(64 * 1024 + 1);
    let long_name = "a".repeat(300);
    let long_scope = format!("ghcr.io/{}", "a".repeat(260));
    let long_path_with_host = format!("example.com/{}:1", "a".repeat(256));
    let hex_name = "a".repeat(64);
    let long_tag = format!("nginx:{}", "t".repeat(129));
    let long_env = "e".repeat(64);
    let long_line = format!("nginx\n{}\n", "a".repeat(5000));
    let pw = "pw\n";
    let add_args = |address: &str| ["add", address, "-u", "a", "--password-stdin"].map(str::to_owned).to_vec();
    let with = |area, input, args: Vec<String>, stdin, code, needle| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        case(area, input, &args, stdin, code, needle)
    };
    let ca = ca_files(&t);
    let ca_file = |name: &str| ca.join(name).display().to_string();
    let tls_set = |file: &str| {
        vec!["tls".to_owned(), "set".to_owned(), "registry.lan:5000".to_owned(), "--ca-cert".to_owned(), ca_file(file)]
    };
    let mut add_ca = add_args("registry.lan:5000");
    add_ca.extend(["--ca-cert".to_owned(), ca_file("old.pem")]);
    let cases: Vec<Case> = vec![
        // Hostile and wrong CA certificate files.
        with("CA file", "a private key", tls_set("key.pem"), "", 2, "private key"),
        with(
            "CA file",
            "an ENCRYPTED PRIVATE KEY beside a certificate",
            tls_set("enc.pem"),
            "",
            2,
            "ENCRYPTED PRIVATE KEY",
        ),
        with("CA file", "an OPENSSH PRIVATE KEY", tls_set("ssh.pem"), "", 2, "OPENSSH PRIVATE KEY"),
        with("CA file", "no certificate", tls_set("text.pem"), "", 2, "no certificate"),
        with("CA file", "a certificate block that is not X.509", tls_set("junk.pem"), "", 2, "does not parse"),
        with(
            "CA file",
            "expired CA, CN with newline and ESC",
            tls_set("old.pem"),
            "",
            2,
            r"(CN=evil\n\x1b[8mCA) expired on 2021-01-01",
        ),
        with("CA file", "CA not valid until 2090", tls_set("new.pem"), "", 2, "not valid before 2090-01-01"),
        with("CA file", "expired CA (add --ca-cert)", add_ca, pw, 2, "expired on 2021-01-01"),
        with("CA file", "missing file", tls_set("none.pem"), "", 2, "cannot read"),
        // Addresses and scopes.
        with("address", "scheme", add_args("https://quay.io"), pw, 2, "did you mean \"quay.io\""),
        with("address", "trailing slash", add_args("quay.io/"), pw, 2, "quay.io"),
        with("address", "port 0", add_args("host:0"), pw, 2, "port"),
        with("address", "port out of range", add_args("host:99999"), pw, 2, "port"),
        with("address", "empty port", add_args("host:"), pw, 2, "host:"),
        with("address", "upper-case scope", add_args("quay.io/MyOrg"), pw, 2, "MyOrg"),
        with("address", "white space", add_args("bad host"), pw, 2, "bad host"),
        with("address", "unclosed IPv6 bracket", add_args("[fd00::1"), pw, 2, "]"),
        with("address", "IPv6 without brackets", add_args("fd00::1"), pw, 2, "[fd00::1]"),
        with("address", "unsupported scheme", add_args("ftp://quay.io"), pw, 2, "scheme"),
        case(
            "address",
            "label starting with '-'",
            &["add", "-u", "a", "--password-stdin", "--", "-bad.example.com"],
            pw,
            2,
            "-bad",
        ),
        with("address", "empty label", add_args("a..b"), pw, 2, "a..b"),
        with("address", "empty path component", add_args("quay.io/a//b"), pw, 2, "quay.io/a//b"),
        with("address", "scope over 255 characters", add_args(&long_scope), pw, 2, "255"),
        // Usernames, e-mails, names.
        case("username", "empty", &["add", "quay.io", "-u", "", "--password-stdin"], pw, 2, "username"),
        case("username", "contains ':'", &["add", "quay.io", "-u", "a:b", "--password-stdin"], pw, 2, "':'"),
        case("username", "surrounding space", &["add", "quay.io", "-u", " a", "--password-stdin"], pw, 2, "spaces"),
        case(
            "e-mail",
            "no '@'",
            &["add", "quay.io", "-u", "a", "--email", "nobody", "--password-stdin"],
            pw,
            2,
            "e-mail",
        ),
        case(
            "name",
            "upper case and '_'",
            &["add", "quay.io", "-u", "a", "--name", "Bad_Name", "--password-stdin"],
            pw,
            2,
            "Bad_Name",
        ),
        case(
            "name",
            "already used",
            &["add", "quay.io", "-u", "a", "--name", "quay-alice", "--password-stdin"],
            pw,
            2,
            "already used",
        ),
        case("name", "starts with '-'", &["edit", "1", "--name=-bad", "--password-stdin"], pw, 2, "-bad"),
        case(
            "name",
            "digits only (reads as an id), add",
            &["add", "quay.io", "-u", "a", "--name", "2", "--password-stdin"],
            pw,
            2,
            "would read as a credential id",
        ),
        case(
            "name",
            "digits only (reads as an id), edit",
            &["edit", "quay-alice", "--name", "007", "--password-stdin"],
            pw,
            2,
            "would read as a credential id",
        ),
        // Passwords.
        case("password", "empty stdin", &["add", "quay.io", "-u", "a", "--password-stdin"], "", 2, "empty"),
        case("password", "only a newline", &["add", "quay.io", "-u", "a", "--password-stdin"], "\n", 2, "empty"),
        case("password", "only CR LF", &["add", "quay.io", "-u", "a", "--password-stdin"], "\r\n", 2, "empty"),
        case(
            "password",
            "1 MiB on stdin",
            &["add", "quay.io", "-u", "a", "--password-stdin"],
            &format!("{megabyte}\n"),
            2,
            "longer than 65536 bytes",
        ),
        case(
            "password",
            "1 MiB without a newline",
            &["add", "quay.io", "-u", "a", "--password-stdin"],
            &megabyte,
            2,
            "longer than 65536 bytes",
        ),
        case(
            "password",
            "64 KiB + 1 in a variable",
            &["add", "quay.io", "-u", "a", "--password-env", "PW"],
            "",
            2,
            "longer than 65536 bytes",
        )
        .env("PW", &over_limit),
        case("password", "not UTF-8", &["add", "quay.io", "-u", "a", "--password-stdin"], "", 2, "not UTF-8")
            .stdin_bytes(b"\xff\xfepw\n".to_vec()),
        case(
            "password",
            "variable not set",
            &["add", "quay.io", "-u", "a", "--password-env", "REGCRED_TEST_UNSET_VAR"],
            "",
            2,
            "REGCRED_TEST_UNSET_VAR",
        ),
        case("password", "empty variable", &["add", "quay.io", "-u", "a", "--password-env", "PW"], "", 2, "empty")
            .env("PW", ""),
        case("password", "none, and stdin is no terminal", &["add", "quay.io", "-u", "a"], "", 2, "not a terminal"),
        case(
            "password",
            "given as an argument",
            &["add", "quay.io", "-u", "a", "--password", "pw"],
            "",
            2,
            "--password",
        ),
        case("password", "edit without one", &["edit", "1", "--password-stdin"], "", 2, "empty"),
        // Selectors.
        case("selector", "unknown id", &["show", "42"], "", 2, "42"),
        case("selector", "id beyond u64", &["show", "99999999999999999999999"], "", 2, "99999999999999999999999"),
        case("selector", "misspelt name", &["show", "quay-alise"], "", 2, "did you mean"),
        case("selector", "address without a credential", &["show", "docker.io"], "", 2, "docker.io"),
        case("selector", "empty", &["show", ""], "", 2, "no credential"),
        case(
            "selector",
            "id from another environment",
            &["show", "1", "-e", "staging"],
            "",
            2,
            "environment \"default\"",
        ),
        case("selector", "unknown name", &["edit", "nope", "--password-stdin"], pw, 2, "nope"),
        case("selector", "unknown id", &["activate", "7"], "", 2, "7"),
        // http(s):// server URLs are selectors now (as the helper takes them); other schemes are not.
        case("selector", "address with another scheme", &["deactivate", "ftp://quay.io"], "", 2, "ftp://quay.io"),
        case("selector", "unknown, with --yes", &["delete", "nope", "--yes"], "", 2, "nope"),
        case("confirmation", "delete without --yes, no terminal", &["delete", "1"], "", 4, "--yes"),
        case("confirmation", "env delete without --yes", &["env", "delete", "staging"], "", 4, "--yes"),
        // References.
        case("reference", "upper-case repository", &["resolve", "docker/Docker"], "", 2, "lowercase"),
        case("reference", "empty tag", &["resolve", "nginx:"], "", 2, "tag"),
        case("reference", "tag over 128 characters", &["resolve", &long_tag], "", 2, "tag"),
        case("reference", "name over 255 characters", &["resolve", &long_name], "", 2, "255"),
        case(
            "reference",
            "path over 255 characters after a host",
            &["resolve", &long_path_with_host],
            "",
            2,
            "256 characters",
        ),
        case("reference", "64-hex name (an image id)", &["resolve", &hex_name], "", 2, "64"),
        case("reference", "short digest", &["resolve", "nginx@sha256:abc"], "", 2, "64 hex digits"),
        case("reference", "no name", &["resolve", ":latest"], "", 2, "no repository name"),
        case("reference", "empty path component", &["resolve", "a//b"], "", 2, "empty path component"),
        case("reference", "empty", &["resolve", ""], "", 2, "empty"),
        case("reference", "registry port out of range", &["resolve", "localhost:99999/app"], "", 2, "out of range"),
        case("reference", "bad line on --stdin", &["resolve", "--stdin"], "nginx\nBad Image\n", 2, "Bad Image"),
        case(
            "reference",
            "line not UTF-8 on --stdin",
            &["resolve", "--stdin"],
            "",
            2,
            "stdin line 2: the line is not UTF-8",
        )
        .stdin_bytes(b"nginx\n\xff\xfe\n".to_vec()),
        case(
            "reference",
            "line over 4096 characters on --stdin",
            &["resolve", "--stdin"],
            &long_line,
            2,
            "longer than 4096",
        ),
        case("client", "unknown client", &["resolve", "nginx", "--client", "crane"], "", 2, "invalid value 'crane'"),
        // Environments.
        case("environment", "upper case", &["env", "create", "Staging"], "", 2, "Staging"),
        case("environment", "empty", &["env", "create", ""], "", 2, "empty"),
        case("environment", "64 characters", &["env", "create", &long_env], "", 2, "63"),
        case("environment", "contains '/'", &["env", "create", "a/b"], "", 2, "a/b"),
        case("environment", "not ASCII", &["env", "create", "prød"], "", 2, "prød"),
        case("environment", "exists already", &["env", "create", "staging"], "", 2, "already exists"),
        case("environment", "unknown (use)", &["env", "use", "prod"], "", 2, "does not exist"),
        case("environment", "current one (delete)", &["env", "delete", "default", "--yes"], "", 2, "current"),
        case(
            "environment",
            "unknown (-e)",
            &["add", "quay.io", "-u", "a", "--password-stdin", "-e", "nope"],
            pw,
            2,
            "does not exist",
        ),
        case(
            "environment",
            "misspelt (-e)",
            &["add", "quay.io", "-u", "a", "--password-stdin", "-e", "stagign"],
            pw,
            2,
            "did you mean \"staging\"",
        ),
        case("environment", "unknown ($REGCRED_ENV)", &["list"], "", 2, "does not exist").env("REGCRED_ENV", "nope"),
        case("environment", "REGCRED_TIMEOUT not a number", &["list"], "", 2, "not a number of seconds")
            .env("REGCRED_TIMEOUT", "soon"),
        case(
            "environment",
            "unknown (setup -e)",
            &["setup", "docker", "-e", "nope", "--dry-run"],
            "",
            2,
            "does not exist",
        ),
        case(
            "setup",
            "--undo with --registry",
            &["setup", "podman", "--undo", "--registry", "quay.io"],
            "",
            2,
            "--undo",
        ),
        // Usage.
        case("usage", "unknown secret store", &["--secret-store", "vault", "list"], "", 2, "vault"),
        case("usage", "unknown output format", &["list", "-o", "yaml"], "", 2, "yaml"),
        case("usage", "unknown command", &["frobnicate"], "", 2, "frobnicate"),
    ];
    let mut failures = Vec::new();
    let rows = check_cases(&t, &cases, &mut failures);
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    check_document("cli", &rows);
}

#[test]
fn credential_names_of_digits_only_are_refused_because_digits_select_an_id() {
    let t = TestEnv::new();
    let alice = t.add_with(&["quay.io", "-u", "alice", "--name", "quay-alice"], "pw1");
    let bob = t.add("ghcr.io", "bob", "pw2");
    let before = t.snapshot();
    for name in ["2", "1", "007", "99"] {
        let add = ["add", "docker.io", "-u", "carol", "--name", name, "--password-stdin"];
        t.run_with_stdin(&add, "pw\n").code(2).stderr_has(&format!(
            "error: invalid credential name {name:?}: a name of digits only would read as a credential id"
        ));
        t.run_with_stdin(&["edit", "quay-alice", "--name", name, "--password-stdin"], "pw\n")
            .code(2)
            .stderr_has("would read as a credential id");
        assert_eq!(t.snapshot(), before, "a refused name {name:?} changed the store");
    }
    // So `2` keeps selecting credential 2, which `delete 2 --yes` would hit.
    assert_eq!(t.run(&["show", "2", "-o", "json"]).ok().json()["id"], bob);
    // A digit with a letter or '-' is a name.
    t.run_with_stdin(&["edit", "quay-alice", "--name", "2a", "--password-stdin"], "pw\n").ok();
    t.run_with_stdin(&["add", "docker.io", "-u", "carol", "--name", "2-3", "--password-stdin"], "pw\n").ok();
    assert_eq!(t.run(&["show", "2a", "-o", "json"]).ok().json()["id"], alice);
    // Environments are selected only by name, so digits stay allowed there.
    t.run(&["env", "create", "2024"]).ok();
    // import reads docker's and the containers' files, which carry no names: nothing it
    // adds has one, so none can be digits.
    let config = serde_json::json!({"auths": {"registry.example.com:5000": {"username": "dave", "password": "pw"}}});
    let path = t.root().join("config.json");
    fs::write(&path, config.to_string()).unwrap();
    t.run(&["import", "docker-config", path.to_str().unwrap()]).ok();
    let imported = t.list().into_iter().find(|c| c["username"] == "dave").expect("dave imported");
    assert_eq!(imported["name"], serde_json::Value::Null);
}

#[test]
fn bad_credential_helper_input_gets_its_message_and_changes_nothing() {
    let t = TestEnv::new();
    let body = serde_json::json!({"ServerURL": "quay.io", "Username": "bob", "Secret": "pw"}).to_string();
    t.run_bin(&helper_bin(), &["store"], &body).ok();
    let huge = "x".repeat(200 * 1024);
    let cases = vec![
        helper_case("empty", "store", "", "not a credential-helper store request"),
        helper_case("not JSON", "store", "not json", "not a credential-helper store request"),
        helper_case("200 KiB", "store", &huge, "larger than 65536 bytes"),
        helper_case("no Username", "store", r#"{"ServerURL":"quay.io"}"#, "missing field `Username`"),
        helper_case(
            "Secret not a string",
            "store",
            r#"{"ServerURL":"quay.io","Username":"a","Secret":12345}"#,
            "wrong type",
        ),
        helper_case("a bare JSON string", "store", r#""just-a-string""#, "wrong type"),
        helper_case("empty ServerURL", "store", r#"{"ServerURL":"","Username":"a","Secret":"b"}"#, "no server URL"),
        helper_case(
            "empty Secret",
            "store",
            r#"{"ServerURL":"quay.io","Username":"a","Secret":""}"#,
            "secret is empty",
        ),
        helper_case(
            "bad server",
            "store",
            r#"{"ServerURL":"bad host!","Username":"a","Secret":"b"}"#,
            "bad server URL",
        ),
        helper_case("username with ':'", "store", r#"{"ServerURL":"quay.io","Username":"a:b","Secret":"c"}"#, "':'"),
        helper_case("empty", "get", "", "no server URL"),
        helper_case("unsupported scheme", "get", "ftp://quay.io\n", "scheme"),
        helper_case("200 KiB", "get", &huge, "larger than 65536 bytes"),
        helper_case("nothing stored there", "get", "ghcr.io\n", "credentials not found in native keychain"),
        helper_case("empty", "erase", "", "no server URL"),
        // Erasing what is not there succeeds (podman treats a failure as fatal): not a bad input.
        helper_case("unsupported scheme", "erase", "ftp://quay.io\n", "scheme"),
        Case { code: 2, ..helper_case("unknown action", "frobnicate", "", "") },
    ];
    let mut failures = Vec::new();
    let rows = check_cases(&t, &cases, &mut failures);
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    check_document("helper", &rows);
}

/// A bad state of the files or of the keyring, made before the command runs.
struct State {
    area: &'static str,
    input: &'static str,
    setup: fn(&TestEnv),
    args: &'static [&'static str],
    stdin: &'static str,
    env: &'static [(&'static str, &'static str)],
    unset: &'static [&'static str],
    /// Run as another user (as root: nobody, through setpriv), for permissions to bite.
    other_user: bool,
    code: i32,
    needle: &'static str,
}

const STATE: State = State {
    area: "",
    input: "",
    setup: |_| {},
    args: &[],
    stdin: "",
    env: &[],
    unset: &[],
    other_user: false,
    code: 1,
    needle: "",
};

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn rewrite(path: &Path, edit: impl FnOnce(String) -> String) {
    let text = fs::read_to_string(path).unwrap();
    fs::write(path, edit(text)).unwrap();
}

fn is_root() -> bool {
    let probe = tempfile::tempfile().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.metadata().unwrap()) == 0
}

fn file_states() -> Vec<State> {
    const LIST: &[&str] = &["list"];
    const ADD: &[&str] = &["add", "docker.io", "-u", "new", "--password-stdin"];
    const SHOW_SECRET: &[&str] = &["resolve", "quay.io/x", "--show-secret", "-o", "json"];
    const EDIT: &[&str] = &["edit", "1", "--password-stdin"];
    vec![
        State {
            area: "store file",
            input: "syntax error",
            setup: |t| rewrite(&t.store_file(), |s| s + "\n[[credentials]\nbroken = \n"),
            args: LIST,
            needle: "column",
            ..STATE
        },
        State {
            area: "store file",
            input: "truncated to half",
            setup: |t| rewrite(&t.store_file(), |s| s[..s.len() / 2].to_owned()),
            args: LIST,
            needle: "cannot parse",
            ..STATE
        },
        State {
            area: "store file",
            input: "empty (0 bytes)",
            setup: |t| fs::write(t.store_file(), "").unwrap(),
            args: LIST,
            needle: "missing field",
            ..STATE
        },
        State {
            area: "store file",
            input: "not UTF-8",
            setup: |t| fs::write(t.store_file(), b"version = 1\n\xff\xfe\n").unwrap(),
            args: LIST,
            needle: "cannot read",
            ..STATE
        },
        State {
            area: "store file",
            input: "future schema version",
            setup: |t| rewrite(&t.store_file(), |s| s.replace("version = 2", "version = 5\nnew_field = true")),
            args: ADD,
            stdin: "pw\n",
            needle: "version 5",
            ..STATE
        },
        State {
            area: "store journal",
            input: "a line damaged before a whole one",
            setup: |t| {
                t.big_store(2);
                let mut bytes = fs::read(t.journal_file()).unwrap();
                let in_second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 30;
                bytes[in_second_line] ^= 1;
                fs::write(t.journal_file(), bytes).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "line 2 is damaged",
            ..STATE
        },
        State {
            area: "store journal",
            input: "a whole line that is no record",
            setup: |t| {
                t.big_store(1);
                let json = br#"{"next_id":5,"put":"nothing"}"#;
                let mut line = format!("{:08x} ", crc32fast::hash(json)).into_bytes();
                line.extend_from_slice(json);
                line.push(b'\n');
                let mut bytes = fs::read(t.journal_file()).unwrap();
                bytes.extend(line);
                fs::write(t.journal_file(), bytes).unwrap();
            },
            args: LIST,
            needle: "line 3: invalid type",
            ..STATE
        },
        State {
            area: "store journal",
            input: "its last record torn by a crash: ignored",
            setup: |t| {
                t.big_store(1);
                let mut bytes = fs::read(t.journal_file()).unwrap();
                bytes.extend_from_slice(b"0badc0de {\"next_id\":");
                fs::write(t.journal_file(), bytes).unwrap();
            },
            args: LIST,
            code: 0,
            needle: "",
            ..STATE
        },
        State {
            area: "store journal",
            input: "a symbolic link",
            setup: |t| {
                t.big_store(1);
                let elsewhere = t.root().join("journal-elsewhere");
                fs::rename(t.journal_file(), &elsewhere).unwrap();
                std::os::unix::fs::symlink(&elsewhere, t.journal_file()).unwrap();
            },
            args: LIST,
            needle: "is a symbolic link",
            ..STATE
        },
        State {
            area: "store journal",
            input: "group-writable (0660)",
            setup: |t| {
                t.big_store(1);
                chmod(&t.journal_file(), 0o660);
            },
            args: LIST,
            needle: "is writable by other users (mode 0660); refusing to use it",
            ..STATE
        },
        State {
            area: "store file",
            input: "unknown field",
            setup: |t| rewrite(&t.store_file(), |s| s.replace("next_id", "nextid = 1\nnext_id")),
            args: LIST,
            needle: "unknown field",
            ..STATE
        },
        State {
            area: "store file",
            input: "two credentials with one id",
            setup: |t| rewrite(&t.store_file(), |s| s.replace("id = 2\n", "id = 1\n")),
            args: LIST,
            needle: "credential id 1 appears twice",
            ..STATE
        },
        State {
            area: "store file",
            input: "next_id not above every id",
            setup: |t| rewrite(&t.store_file(), |s| s.replace("next_id = 3", "next_id = 2")),
            args: ADD,
            stdin: "pw\n",
            needle: "next_id",
            ..STATE
        },
        State {
            area: "store file",
            input: "credential of a missing environment",
            setup: |t| {
                rewrite(&t.store_file(), |s| s.replacen("\nenvironment = \"default\"", "\nenvironment = \"gone\"", 1))
            },
            args: LIST,
            needle: "\"gone\"",
            ..STATE
        },
        State {
            area: "store file",
            input: "current environment not listed",
            setup: |t| {
                rewrite(&t.store_file(), |s| {
                    s.replace("current_environment = \"default\"", "current_environment = \"gone\"")
                })
            },
            args: LIST,
            needle: "current environment \"gone\"",
            ..STATE
        },
        State {
            area: "store file",
            input: "address edited to a URL",
            setup: |t| {
                rewrite(&t.store_file(), |s| s.replace("address = \"quay.io\"", "address = \"https://quay.io\""))
            },
            args: LIST,
            needle: "bad address",
            ..STATE
        },
        State {
            area: "store file",
            input: "group-writable (0620)",
            setup: |t| chmod(&t.store_file(), 0o620),
            args: LIST,
            needle: "writable by other users",
            ..STATE
        },
        State {
            area: "store file",
            input: "world-readable (0644): used, with a warning",
            setup: |t| chmod(&t.store_file(), 0o644),
            args: LIST,
            code: 0,
            needle: "warning: ",
            ..STATE
        },
        State {
            area: "store file",
            input: "read-only (0400)",
            setup: |t| chmod(&t.store_file(), 0o400),
            args: ADD,
            stdin: "pw\n",
            needle: "read-only",
            ..STATE
        },
        State {
            area: "store file",
            input: "a symbolic link",
            setup: |t| {
                fs::rename(t.store_file(), t.root().join("elsewhere.toml")).unwrap();
                std::os::unix::fs::symlink(t.root().join("elsewhere.toml"), t.store_file()).unwrap();
            },
            args: LIST,
            needle: "symbolic link",
            ..STATE
        },
        State {
            area: "store file",
            input: "a dangling symbolic link",
            setup: |t| {
                fs::remove_file(t.store_file()).unwrap();
                std::os::unix::fs::symlink(t.root().join("nowhere.toml"), t.store_file()).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "symbolic link",
            ..STATE
        },
        State {
            area: "store file",
            input: "a directory in its place",
            setup: |t| {
                fs::remove_file(t.store_file()).unwrap();
                fs::create_dir(t.store_file()).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "is a directory",
            ..STATE
        },
        State {
            area: "store file",
            input: "a FIFO in its place",
            setup: |t| {
                fs::remove_file(t.store_file()).unwrap();
                let made = std::process::Command::new("mkfifo").arg(t.store_file()).status().unwrap();
                assert!(made.success());
            },
            args: LIST,
            needle: "not a regular file",
            ..STATE
        },
        State {
            area: "config dir",
            input: "not writable",
            setup: |t| chmod(&t.config_dir(), 0o500),
            args: ADD,
            stdin: "pw\n",
            other_user: true,
            needle: "Permission denied",
            ..STATE
        },
        State {
            area: "config dir",
            input: "not writable: reading still works",
            setup: |t| chmod(&t.config_dir(), 0o500),
            args: LIST,
            other_user: true,
            code: 0,
            needle: "",
            ..STATE
        },
        State {
            area: "config dir",
            input: "writable by others (0777)",
            setup: |t| chmod(&t.config_dir(), 0o777),
            args: LIST,
            needle: "writable by other users",
            ..STATE
        },
        State {
            area: "config dir",
            input: "lock file writable by others (0666)",
            setup: |t| chmod(&t.config_dir().join("registries.lock"), 0o666),
            args: ADD,
            stdin: "pw\n",
            needle: "lock file",
            ..STATE
        },
        State {
            area: "config dir",
            input: "lock file a symbolic link",
            setup: |t| {
                fs::remove_file(t.config_dir().join("registries.lock")).unwrap();
                std::os::unix::fs::symlink(t.root().join("planted"), t.config_dir().join("registries.lock")).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "symbolic link",
            ..STATE
        },
        State {
            area: "config dir",
            input: "lock file is a directory",
            setup: |t| {
                fs::remove_file(t.config_dir().join("registries.lock")).unwrap();
                fs::create_dir(t.config_dir().join("registries.lock")).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "lock file",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "a FIFO in place of a secret's file",
            setup: |t| {
                fs::remove_file(t.secret_file(1)).unwrap();
                let made = std::process::Command::new("mkfifo").arg(t.secret_file(1)).status().unwrap();
                assert!(made.success());
            },
            args: SHOW_SECRET,
            needle: "not a regular file",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "syntax error",
            setup: |t| rewrite(&t.secret_file(1), |s| s + "\n[secret.9\n"),
            args: SHOW_SECRET,
            needle: "is not valid (line",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "future format version",
            setup: |t| rewrite(&t.secret_file(1), |s| s.replace("version = 1", "version = 2")),
            args: SHOW_SECRET,
            needle: "format version 2",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "group-writable (0660)",
            setup: |t| chmod(&t.secret_file(1), 0o660),
            args: SHOW_SECRET,
            needle: "lets other users change it",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "world-readable (0644): used, with a warning",
            setup: |t| chmod(&t.secret_file(1), 0o644),
            args: SHOW_SECRET,
            code: 0,
            needle: "warning: ",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "read-only (0400)",
            setup: |t| chmod(&t.secret_file(1), 0o400),
            args: EDIT,
            stdin: "pw\n",
            needle: "read-only",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "a symbolic link",
            setup: |t| {
                fs::rename(t.secret_file(1), t.root().join("elsewhere-secret.toml")).unwrap();
                std::os::unix::fs::symlink(t.root().join("elsewhere-secret.toml"), t.secret_file(1)).unwrap();
            },
            args: SHOW_SECRET,
            needle: "symbolic link",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "a directory in its place",
            setup: |t| {
                fs::remove_file(t.secret_file(1)).unwrap();
                fs::create_dir(t.secret_file(1)).unwrap();
            },
            args: EDIT,
            stdin: "pw\n",
            needle: "is a directory",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "a credential's secret removed by hand",
            setup: |t| fs::remove_file(t.secret_file(1)).unwrap(),
            args: SHOW_SECRET,
            needle: "missing",
            ..STATE
        },
        State {
            area: "secrets dir",
            input: "a file in place of secrets.d",
            setup: |t| {
                fs::remove_dir_all(t.secrets_dir()).unwrap();
                fs::write(t.secrets_dir(), "x").unwrap();
                chmod(&t.secrets_dir(), 0o600);
            },
            args: ADD,
            stdin: "pw\n",
            needle: "not a directory",
            ..STATE
        },
        State {
            area: "secrets dir",
            input: "a symbolic link",
            setup: |t| {
                fs::rename(t.secrets_dir(), t.root().join("elsewhere-secrets.d")).unwrap();
                std::os::unix::fs::symlink(t.root().join("elsewhere-secrets.d"), t.secrets_dir()).unwrap();
            },
            args: ADD,
            stdin: "pw\n",
            needle: "symbolic link",
            ..STATE
        },
        State {
            area: "secrets dir",
            input: "group-writable (0770)",
            setup: |t| chmod(&t.secrets_dir(), 0o770),
            args: SHOW_SECRET,
            needle: "lets other users change it",
            ..STATE
        },
        State {
            area: "secrets file",
            input: "an older regcred's secrets.toml with a syntax error",
            setup: |t| {
                fs::write(t.secrets_file(), "version = 1\n[secret.1\n").unwrap();
                chmod(&t.secrets_file(), 0o600);
            },
            args: SHOW_SECRET,
            needle: "secrets.toml is not valid (line 2",
            ..STATE
        },
        State {
            area: "keyring",
            input: "no D-Bus session bus",
            args: &["--secret-store", "keyring", "add", "docker.io", "-u", "new", "--password-stdin"],
            stdin: "pw\n",
            unset: &["DBUS_SESSION_BUS_ADDRESS"],
            needle: "no D-Bus session bus",
            ..STATE
        },
        State {
            area: "keyring",
            input: "session bus address dead",
            args: &["--secret-store", "keyring", "add", "docker.io", "-u", "new", "--password-stdin"],
            stdin: "pw\n",
            env: &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/regcred-bus")],
            needle: "cannot connect to the D-Bus session bus",
            ..STATE
        },
        State {
            area: "keyring",
            input: "unreachable, for a keyring credential",
            args: &["resolve", "docker.io/x", "--show-secret"],
            setup: |t| {
                rewrite(&t.store_file(), |s| {
                    s.replace("secret_store = \"file\"", "secret_store = \"keyring\"")
                        .replace("address = \"quay.io\"", "address = \"docker.io\"")
                });
            },
            env: &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/regcred-bus")],
            needle: "cannot reach the OS keyring",
            ..STATE
        },
    ]
}

impl State {
    fn shown(&self) -> String {
        let mut words: Vec<String> = self.unset.iter().map(|k| format!("env -u {k}")).collect();
        words.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        words.push("regcred".to_owned());
        words.extend(self.args.iter().map(|a| a.to_string()));
        if !self.stdin.is_empty() {
            words.push(format!("<<< {:?}", self.stdin.trim_end()));
        }
        words.join(" ")
    }
}

fn run_state(state: &State) -> (TestEnv, Run) {
    let t = populated();
    (state.setup)(&t);
    let mut cmd = t.command(&regcred_bin(), state.args);
    cmd.envs(state.env.iter().copied());
    for key in state.unset {
        cmd.env_remove(key);
    }
    if state.other_user && is_root() {
        // Permissions do not bind root: run as nobody, who then owns the config dir.
        use std::os::unix::fs::chown;
        chmod(t.root(), 0o711);
        chown(t.config_dir(), Some(65534), Some(65534)).unwrap();
        for entry in
            fs::read_dir(t.config_dir()).unwrap().flatten().chain(fs::read_dir(t.secrets_dir()).unwrap().flatten())
        {
            chown(entry.path(), Some(65534), Some(65534)).unwrap();
        }
        let mut wrapped = std::process::Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        cmd = wrapped;
    }
    let before = fingerprint(&t.config_dir());
    let mut run = run_command(cmd, state.stdin.as_bytes());
    if fingerprint(&t.config_dir()) != before {
        run.stderr.push_str("\n(TEST: the store changed)");
    }
    (t, run)
}

#[test]
fn bad_files_and_keyring_states_get_their_exit_code_and_change_nothing() {
    let states = file_states();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for state in &states {
        let (t, run) = run_state(state);
        let mut problems = Vec::new();
        if run.code != state.code {
            problems.push(format!("exit {} instead of {}", run.code, state.code));
        }
        if !run.stderr.contains(state.needle) {
            problems.push(format!("stderr lacks {:?}", state.needle));
        }
        if state.code != 0 && !run.stderr.starts_with("error: ") {
            problems.push("no `error:` line".to_owned());
        }
        if run.stderr.contains("(TEST: the store changed)") {
            problems.push("the store changed".to_owned());
        }
        if run.stderr.contains("panicked") {
            problems.push("panic".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} / {}: {}\n  stderr: {}",
                state.area,
                state.input,
                problems.join(", "),
                run.stderr.trim()
            ));
        }
        rows.push(row(state.area, state.input, &state.shown(), run.code, &message(&run, false, &t)));
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad states misbehaved:\n{}",
        failures.len(),
        states.len(),
        failures.join("\n")
    );
    check_document("files", &rows);
}

/// A locked keyring needs a Secret Service of its own to lock: a second private session
/// (scripts/with-keyring, nested), locked over D-Bus before regcred runs in it.
#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_locked_keyring_is_reported_with_both_remedies_and_changes_nothing() {
    let missing: Vec<&str> = ["dbus-run-session", "gnome-keyring-daemon", "dbus-send"]
        .into_iter()
        .filter(|tool| {
            !std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    // `#[ignore]`d unless asked for; asked for, a missing tool fails the test.
    assert!(missing.is_empty(), "missing {missing:?} (scripts/test installs them)");
    let t = populated();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring");
    let lock_then_run = r#"dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null &&
        exec "$@""#;
    let before = fingerprint(&t.config_dir());
    let mut cmd = t.command(Path::new("bash"), &[]);
    cmd.arg(&script).args(["bash", "-c", lock_then_run, "regcred"]).arg(regcred_bin()).args([
        "--secret-store",
        "keyring",
        "add",
        "docker.io",
        "-u",
        "new",
        "--password-stdin",
    ]);
    let run = run_command(cmd, b"pw\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("error: the keyring is locked"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: unlock the keyring") && run.stderr.contains("--secret-store file"),
        "{}",
        run.stderr
    );
    assert_eq!(fingerprint(&t.config_dir()), before, "the store changed");
    let state = State {
        area: "keyring",
        input: "locked",
        args: &["--secret-store", "keyring", "add", "docker.io", "-u", "new", "--password-stdin"],
        stdin: "pw\n",
        ..STATE
    };
    check_document(
        "keyring-locked",
        &[row(state.area, state.input, &state.shown(), run.code, &message(&run, false, &t))],
    );
}

/// Headless secret stores, secrets from variables and `exec`: bad setups and inputs.
#[test]
fn bad_store_variable_and_exec_input_gets_its_exit_code_and_changes_nothing() {
    let t = TestEnv::new();
    t.add("quay.io", "alice", "pw1");
    t.run(&["add", "registry.example.com:5000", "-u", "ci", "--secret-from-env", "CI_TOKEN"]).ok();
    let root = t.root().display().to_string();
    // A GnuPG home with no key, and password stores: none, and one for a key nobody has.
    let gnupg = format!("{root}/gnupg-empty");
    fs::create_dir_all(&gnupg).unwrap();
    fs::set_permissions(&gnupg, fs::Permissions::from_mode(0o700)).unwrap();
    let foreign = format!("{root}/foreign-store");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(format!("{foreign}/.gpg-id"), "0123456789ABCDEF0123456789ABCDEF01234567\n").unwrap();
    let pw = "pw\n";
    let add = |store: &str| -> Vec<String> {
        ["--secret-store", store, "add", "ghcr.io", "-u", "bob", "--password-stdin"].map(str::to_owned).to_vec()
    };
    let pass_add = add("pass");
    let pass_add: Vec<&str> = pass_add.iter().map(String::as_str).collect();
    let keyring_add = add("keyring");
    let keyring_add: Vec<&str> = keyring_add.iter().map(String::as_str).collect();
    let cases = vec![
        // --secret-from-env names
        case(
            "secret variable",
            "empty name",
            &["add", "ghcr.io", "-u", "b", "--secret-from-env", ""],
            "",
            2,
            "is empty",
        ),
        case(
            "secret variable",
            "name starts with a digit",
            &["add", "ghcr.io", "-u", "b", "--secret-from-env", "1TOKEN"],
            "",
            2,
            "not an environment variable name",
        ),
        case(
            "secret variable",
            "name with '-'",
            &["add", "ghcr.io", "-u", "b", "--secret-from-env", "MY-TOKEN"],
            "",
            2,
            "not an environment variable name",
        ),
        case(
            "secret variable",
            "name with '='",
            &["add", "ghcr.io", "-u", "b", "--secret-from-env", "A=B"],
            "",
            2,
            "not an environment variable name",
        ),
        case(
            "secret variable",
            "name with a space",
            &["edit", "1", "--secret-from-env", "A B"],
            "",
            2,
            "not an environment variable name",
        ),
        case(
            "secret variable",
            "with --password-stdin",
            &["add", "ghcr.io", "-u", "b", "--secret-from-env", "X", "--password-stdin"],
            pw,
            2,
            "cannot be used with",
        ),
        case(
            "secret variable",
            "unset, resolve --show-secret",
            &["resolve", "registry.example.com:5000/app", "--show-secret"],
            "",
            1,
            "CI_TOKEN, which is not set",
        ),
        case(
            "secret variable",
            "empty, resolve --show-secret",
            &["resolve", "registry.example.com:5000/app", "--show-secret"],
            "",
            1,
            "CI_TOKEN, which is empty",
        )
        .env("CI_TOKEN", ""),
        case("secret variable", "unset, export", &["export", "auth-json"], "", 1, "CI_TOKEN, which is not set"),
        case("secret variable", "unset, doctor warns only", &["doctor"], "", 0, "warning: credential 2")
            .env("CI_TOKEN", ""),
        Case {
            helper: true,
            ..case(
                "secret variable",
                "unset, helper get",
                &["get"],
                "registry.example.com:5000\n",
                1,
                "CI_TOKEN, which is not set",
            )
        },
        // secret stores
        case("secret store", "misspelt (keyutil)", &["--secret-store", "keyutil", "list"], "", 2, "keyutil"),
        case("secret store", "pass: store not initialised", &pass_add, pw, 1, "is not initialised")
            .env("PASSWORD_STORE_DIR", &format!("{root}/no-store"))
            .env("GNUPGHOME", &gnupg),
        case("secret store", "pass: GPG key missing", &pass_add, pw, 1, "no usable public key")
            .env("PASSWORD_STORE_DIR", &foreign)
            .env("GNUPGHOME", &gnupg),
        case("secret store", "pass: not installed", &pass_add, pw, 1, "`pass` program is not installed")
            .env("PATH", &format!("{root}/no-bin"))
            .env("PASSWORD_STORE_DIR", &foreign),
        case(
            "secret store",
            "keyring unreachable: every remedy named",
            &keyring_add,
            pw,
            1,
            "cannot reach the OS keyring",
        )
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/regcred-bus"),
        // exec
        case("exec", "no command", &["exec"], "", 2, "COMMAND"),
        case("exec", "nothing after --", &["exec", "--"], "", 2, "COMMAND"),
        case("exec", "command not found", &["exec", "--", "no-such-program-regcred"], "", 127, "command not found"),
        case("exec", "not executable (a directory)", &["exec", "--", "/"], "", 126, "cannot run it"),
        case("exec", "bad --image", &["exec", "--image", "Bad Image", "--", "true"], "", 2, "invalid image reference"),
        case("exec", "unknown environment", &["-e", "nope", "exec", "--", "true"], "", 2, "does not exist"),
        case("exec", "command without --", &["exec", "true"], "", 2, "unexpected argument"),
        Case {
            helper: true,
            ..case("exec", "bad selection variable", &["get"], "quay.io\n", 1, "not a list of credential ids")
        }
        .env("REGCRED_EXEC_SELECTION", "one,two"),
    ];
    let mut failures = Vec::new();
    let rows = check_cases(&t, &cases, &mut failures);
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    check_document("stores", &rows);
}

/// `regcred kube` and the node exports: bad manifests, bad FILEs and bad target
/// directories. Nothing is printed on stdout and nothing is written.
#[test]
fn bad_manifests_and_node_files_get_their_exit_code_and_change_nothing() {
    let t = populated();
    let dir = t.root().join("in");
    fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &[u8]| -> String {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: a, image: {image:?}}}]\n"
        )
    };
    let block_pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: {image}\n"
        )
    };
    let deployment_without_template = file(
        "no-template.yaml",
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n",
    );
    let twice = file("twice.yaml", format!("{}---\n{}", pod("quay.io/a"), pod("quay.io/b")).as_bytes());
    let latin1 = file("latin1.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n");
    let dir_arg = dir.display().to_string();
    let missing = dir.join("missing.yaml").display().to_string();
    let bomb = {
        let mut text = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for level in 1..8 {
            let previous = format!("*l{}", level - 1);
            text.push_str(&format!("l{level}: &l{level} [{}]\n", vec![previous; 10].join(", ")));
        }
        text
    };
    let under_file = format!("{latin1}/certs.d");
    let hosts = dir.join("hosts");
    fs::create_dir_all(hosts.join("quay.io")).unwrap();
    fs::write(hosts.join("quay.io/hosts.toml"), "server = \"https://mirror.example.com\"\n").unwrap();
    let hosts_arg = hosts.display().to_string();
    // A hosts.toml planted as a link: never followed, not even with --force.
    let linked = dir.join("linked");
    fs::create_dir_all(linked.join("quay.io")).unwrap();
    std::os::unix::fs::symlink(&latin1, linked.join("quay.io/hosts.toml")).unwrap();
    let linked_arg = linked.display().to_string();
    let kube = |input: &str, stdin: &str, needle: &str| case("kube", input, &["kube", "-"], stdin, 2, needle);
    let cases: Vec<Case> = vec![
        kube("not Kubernetes YAML (no apiVersion)", "name: web\nimage: nginx\n", "no `apiVersion`"),
        kube("a YAML list, not an object", "- nginx\n- redis\n", "not a Kubernetes object"),
        kube("YAML syntax error", "apiVersion: v1\nkind: [Pod\n", "not valid YAML"),
        kube("JSON syntax error", "{\"apiVersion\": \"v1\", ", "not valid JSON"),
        case(
            "kube",
            "a Deployment without a template",
            &["kube", &deployment_without_template],
            "",
            2,
            "spec.template is missing",
        ),
        kube(
            "a container without an image",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n",
            "image is missing",
        ),
        kube("an image that is not a reference", &pod("Quay.io/Acme/App"), "is not an image reference"),
        kube("an image with a space", &pod("quay.io/acme app"), "is not an image reference"),
        case("kube", "duplicate documents", &["kube", &twice], "", 2, "are the same object"),
        case("kube", "a directory as FILE", &["kube", &dir_arg], "", 2, "is a directory"),
        case("kube", "a missing FILE", &["kube", &missing], "", 2, "no such file"),
        case("kube", "not UTF-8", &["kube", &latin1], "", 2, "not UTF-8"),
        kube(
            "containers is not a list",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: quay.io/a}\n",
            "is not a list",
        ),
        kube(
            "imagePullSecrets is not a list",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: regcred\n  containers: [{name: a, image: quay.io/a}]\n",
            "imagePullSecrets is not a list",
        ),
        kube("a List without items", "apiVersion: v1\nkind: List\nmetadata: {}\n", "items"),
        kube("a duplicate key", "apiVersion: v1\nkind: Pod\nkind: Pod\n", "duplicate key"),
        kube("aliases that expand to millions of values", &bomb, "too many values"),
        kube(
            "a number JSON cannot hold",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: .inf\n",
            "JSON can hold",
        ),
        kube(
            "an Opaque Secret of the name regcred makes",
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: quay-alice}}\ntype: Opaque\n---\n{}",
                pod("quay.io/a")
            ),
            "not a docker-registry Secret",
        ),
        // The same in the block style the fast path copies: its errors are the full path's.
        kube(
            "a block-style image that is not a reference",
            &block_pod("Quay.io/Acme/App"),
            "is not an image reference",
        ),
        kube(
            "a block-style container without an image",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n",
            "image is missing",
        ),
        kube(
            "block-style duplicate documents",
            &format!("{}---\n{}", block_pod("quay.io/a"), block_pod("quay.io/b")),
            "stdin, document 1 and stdin, document 2 are the same object",
        ),
        kube(
            "a YAML syntax error after a copied document",
            &format!("{}---\napiVersion: v1\nkind: Pod\nmetadata: [p\n", block_pod("quay.io/a")),
            "not valid YAML: line 13",
        ),
        case("kube", "bad --namespace", &["kube", "-", "-n", "Bad_NS"], &pod("quay.io/a"), 2, "Bad_NS"),
        case("kube", "no FILE", &["kube"], "", 2, "FILE"),
        // Node files.
        case(
            "nodes",
            "--dir is a file",
            &["export", "containerd-hosts", "--dir", &latin1],
            "",
            2,
            "is not a directory",
        ),
        case(
            "nodes",
            "unwritable --dir (under a file)",
            &["export", "containerd-hosts", "--dir", &under_file],
            "",
            1,
            "cannot",
        ),
        case(
            "nodes",
            "a hosts.toml regcred did not write",
            &["export", "containerd-hosts", "--dir", &hosts_arg],
            "",
            2,
            "regcred did not write it",
        ),
        case(
            "nodes",
            "--registry with a scheme",
            &["export", "containerd-hosts", "--dir", &hosts_arg, "--registry", "https://quay.io"],
            "",
            2,
            "quay.io",
        ),
        case(
            "nodes",
            "a hosts.toml that is a symbolic link, with --force",
            &["export", "containerd-hosts", "--dir", &linked_arg, "--force"],
            "",
            1,
            "is a symbolic link",
        ),
        case("nodes", "no --dir", &["export", "containerd-hosts"], "", 2, "--dir"),
        case(
            "nodes",
            "--ca-dir is a file",
            &["export", "registries-yaml", "--ca-dir", &latin1],
            "",
            2,
            "is not a directory",
        ),
        case(
            "nodes",
            "--output-file is a directory",
            &["export", "registries-yaml", "--output-file", &dir_arg],
            "",
            2,
            "is a directory",
        ),
        case(
            "nodes",
            "an existing --output-file without --force",
            &["export", "registries-yaml", "--output-file", &latin1],
            "",
            2,
            "regcred does not replace it without being told",
        ),
    ];
    let mut failures = Vec::new();
    let root = t.root().display().to_string();
    let rows: Vec<String> =
        check_cases(&t, &cases, &mut failures).into_iter().map(|row| row.replace(&root, "$TMP")).collect();
    for c in &cases {
        let run = c.run(&t);
        if !run.stdout.is_empty() {
            failures.push(format!("{}: printed on stdout: {}", c.shown(), run.stdout));
        }
    }
    // Nothing half-written: ghcr.io (sorted before quay.io) got no directory.
    if hosts.join("ghcr.io").exists() {
        failures.push("containerd-hosts wrote ghcr.io before refusing quay.io".to_owned());
    }
    assert_eq!(
        fs::read_to_string(hosts.join("quay.io/hosts.toml")).unwrap(),
        "server = \"https://mirror.example.com\"\n"
    );
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    check_document("kube", &rows);
}

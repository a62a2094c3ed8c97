//! What regcred prints and where: stdout is data and `-q` never touches it, a failed write
//! is an error and a closed pipe a quiet exit, a bad image does not stop a `resolve` batch,
//! and values from outside are escaped.

use std::fs::File;
use std::io::Read;
use std::process::Stdio;

use crate::util::{TestEnv, regcred_bin};

fn helper_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-regcred"))
}

#[test]
fn quiet_silences_messages_but_never_data() {
    let t = TestEnv::new();
    let added = t.run_with_stdin(&["add", "quay.io", "-u", "alice", "-q", "--password-stdin"], "pw\n").ok();
    assert_eq!(added.stdout, "1\n", "id=$(regcred add … -q) must get the id");
    assert_eq!(added.stderr, "");
    let secret = t.run(&["-q", "export", "k8s-secret", "--name", "pull"]).ok();
    assert!(secret.stdout.contains("kind: Secret") && secret.stdout.contains(".dockerconfigjson"), "{secret:?}");
    assert_eq!(secret.stderr, "");
    let listed = t.run(&["-q", "list", "-o", "json"]).ok();
    assert_eq!(listed.json()[0]["username"], "alice");
    // Messages and warnings go; errors stay.
    let warned = t.run(&["-q", "export", "docker-config", "--registry", "ghcr.io"]).ok();
    assert_eq!(warned.stderr, "", "a warning under -q");
    t.run(&["-q", "show", "9"]).code(2).stderr_has("error: no credential with id 9");
}

#[test]
fn a_failed_write_to_stdout_is_an_error() {
    let t = TestEnv::new();
    t.add("quay.io", "alice", "pw");
    let cases = [
        (regcred_bin(), &["export", "docker-config"][..], "cannot write to stdout"),
        (regcred_bin(), &["list", "-o", "json"], "cannot write to stdout"),
        (regcred_bin(), &["resolve", "quay.io/app"], "cannot write to stdout"),
        (regcred_bin(), &["add", "ghcr.io", "-u", "bob", "--password-stdin"], "credential 2 was added, but"),
        (helper_bin(), &["list"], "cannot write to stdout"),
        (helper_bin(), &["get"], "cannot write to stdout"),
    ];
    for (bin, args, message) in cases {
        let full = File::options().write(true).open("/dev/full").expect("/dev/full");
        let mut child = t
            .command(&bin, args)
            .stdin(Stdio::piped())
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start regcred");
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(if args == ["get"] { b"quay.io\n" } else { b"pw\n" });
        }
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?} > /dev/full: {stderr}");
        assert!(stderr.contains(&format!("error: {message}")), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let t = TestEnv::new();
    // Enough rows that the output cannot fit the pipe buffer of a reader that went away.
    let images: String = (0..20_000).map(|n| format!("quay.io/team/app-{n}\n")).collect();
    let mut child = t
        .command(&regcred_bin(), &["resolve", "--stdin", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start regcred");
    // Like `| head -c 100`: read a little, then close the pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let writer = {
        let mut stdin = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(images.as_bytes());
        })
    };
    let mut head = [0u8; 100];
    stdout.read_exact(&mut head).expect("the first bytes");
    drop(stdout);
    let _ = writer.join();
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "a closed pipe is not an error:\n{stderr}");
}

#[test]
fn one_bad_image_does_not_stop_a_resolve_batch() {
    let t = TestEnv::new();
    t.add("quay.io", "alice", "pw");
    let run = t.run_with_stdin(&["resolve", "--stdin", "-o", "json"], "nginx\nNGINX\n\nquay.io/x\nbad image\n").code(2);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert_eq!(lines[0]["image"], "nginx");
    assert!(lines[0]["credential"].is_null());
    assert_eq!(lines[1]["image"], "NGINX");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().unwrap_or_default().contains("lowercase"), "{}", lines[1]);
    assert_eq!(lines[2]["credential"]["username"], "alice");
    assert_eq!(lines[3]["line"], 5);
    assert!(lines[3].get("reference").is_none());

    // Images as arguments: the same, with their position.
    let run = t.run(&["resolve", "quay.io/x", "Bad", "-o", "json"]).code(2);
    let lines = run.json_lines();
    assert_eq!(lines[0]["credential"]["username"], "alice");
    assert_eq!(lines[1]["argument"], 2);

    // Table and plain: the good ones on stdout, each bad one on stderr with its line.
    for format in ["plain", "table"] {
        let run = t.run_with_stdin(&["resolve", "--stdin", "-o", format], "quay.io/x\nNGINX\nquay.io/y\n").code(2);
        assert!(run.stdout.contains("quay.io/x") && run.stdout.contains("quay.io/y"), "{run:?}");
        assert!(!run.stdout.contains("NGINX"), "{run:?}");
        assert!(run.stderr.contains("error: stdin line 2: invalid image reference \"NGINX\""), "{run:?}");
    }
    // 2 wins over 3: an unresolved image and a bad one.
    let run = t.run_with_stdin(&["resolve", "--stdin", "-o", "plain"], "ghcr.io/a\nNGINX\n").code(2);
    assert!(run.stdout.starts_with("ghcr.io/a\t"), "{run:?}");
}

/// Values a hostile `docker-config` import can bring: they must never reach a terminal raw.
#[test]
fn values_from_outside_are_escaped_in_every_format() {
    let mut t = TestEnv::new();
    let secret = "pw\tforged\nrow";
    t.env("PW", secret);
    t.run(&["add", "quay.io", "-u", "alice", "--password-env", "PW"]).ok();
    let plain = t.run(&["resolve", "quay.io/app", "--show-secret", "-o", "plain"]).ok();
    assert_eq!(plain.stdout.lines().count(), 1, "{plain:?}");
    assert_eq!(plain.stdout.trim_end().split('\t').next_back(), Some(r"pw\tforged\nrow"), "{plain:?}");
    let json = t.run(&["resolve", "quay.io/app", "--show-secret", "-o", "json"]).ok();
    assert_eq!(json.json_lines()[0]["credential"]["password"], secret);

    // A hostile environment name echoed in an error: one line, escaped.
    let mut t = TestEnv::new();
    t.env("REGCRED_ENV", "x\u{1b}[2J\nhint: run rm -rf ~\u{202e}");
    let run = t.run(&["list"]).code(2);
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{202e}'), "{run:?}");
    assert!(!run.stderr.lines().any(|l| l.starts_with("hint: run rm")), "a forged line:\n{}", run.stderr);
    assert!(run.stderr.contains(r"\x1b[2J\nhint: run rm -rf ~\u{202e}"), "{}", run.stderr);

    // A path in an I/O error: the config dir under a regular file cannot be created.
    let t = TestEnv::new();
    let file = t.root().join("a-file");
    std::fs::write(&file, "").expect("write a file");
    let dir = file.join("evil\u{1b}[2J\nhint: forged");
    let run = t.run(&["--config-dir", dir.to_str().expect("UTF-8"), "env", "create", "x"]).code(1);
    assert!(!run.stderr.contains('\u{1b}'), "{run:?}");
    assert!(!run.stderr.lines().any(|l| l.starts_with("hint: forged")), "a forged line:\n{}", run.stderr);
    assert!(run.stderr.contains(r"evil\x1b[2J\nhint: forged"), "{}", run.stderr);
}

/// An imported file is outside text: its keys and usernames reach the report escaped, in
/// the table and in `-o plain`, and cannot forge a row.
#[test]
fn an_import_report_escapes_the_keys_and_usernames_it_quotes() {
    let mut t = TestEnv::new();
    t.env("COLUMNS", "200");
    let auth = |user: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"))
    };
    let config = serde_json::json!({"auths": {
        "evil\u{1b}[2J\nimported\tquay.io\u{202e}": {"auth": auth("bob")},
        "ghcr.io": {"auth": auth("eve\u{1b}]8;;x\u{7}\tcredential 9")},
    }});
    let path = t.root().join("config.json");
    std::fs::write(&path, config.to_string()).expect("write config.json");
    let path = path.to_str().expect("UTF-8 path");
    for format in ["plain", "table"] {
        let run = t.run(&["import", "docker-config", path, "--dry-run", "--no-helpers", "-o", format]).ok();
        let out = format!("{}{}", run.stdout, run.stderr);
        assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}') && !out.contains('\u{7}'), "{format}: {out:?}");
        assert_eq!(run.stdout.lines().filter(|l| l.contains("evil")).count(), 1, "{format}: {}", run.stdout);
        assert!(run.stdout.contains(r"evil\x1b[2J\nimported\tquay.io\u{202e}"), "{format}: {}", run.stdout);
        assert!(!run.stdout.lines().any(|l| l.starts_with("imported\tquay.io")), "a forged row: {}", run.stdout);
    }
}

//! Bad input: each wrong input of the exit-code table gets its code, an `error:` line, and
//! leaves the store byte-identical.

use crate::util::TestEnv;

/// A store with something in it, so "unchanged" means something.
fn populated() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(&["quay.io", "-u", "alice", "--name", "quay-alice"], "pw1");
    t.add("ghcr.io/acme", "bob", "pw2");
    t.run(&["env", "create", "staging"]).ok();
    t
}

#[test]
fn bad_input_gets_its_exit_code_and_changes_nothing() {
    let t = populated();
    let long_password = "x".repeat(1024 * 1024);
    let long_name = "a".repeat(300);
    // (arguments, stdin, exit code, a piece of the error message)
    let cases: Vec<(Vec<&str>, &str, i32, &str)> = vec![
        (vec!["add", "https://quay.io", "-u", "a", "--password-stdin"], "pw\n", 2, "did you mean \"quay.io\""),
        (vec!["add", "quay.io/", "-u", "a", "--password-stdin"], "pw\n", 2, "quay.io"),
        (vec!["add", "host:0", "-u", "a", "--password-stdin"], "pw\n", 2, "port"),
        (vec!["add", "host:99999", "-u", "a", "--password-stdin"], "pw\n", 2, "port"),
        (vec!["add", "quay.io/MyOrg", "-u", "a", "--password-stdin"], "pw\n", 2, "MyOrg"),
        (vec!["add", "bad host", "-u", "a", "--password-stdin"], "pw\n", 2, "bad host"),
        (vec!["add", "quay.io", "-u", "", "--password-stdin"], "pw\n", 2, "username"),
        (vec!["add", "quay.io", "-u", "a:b", "--password-stdin"], "pw\n", 2, "':'"),
        (vec!["add", "quay.io", "-u", "a", "--email", "not-an-email", "--password-stdin"], "pw\n", 2, "e-mail"),
        (vec!["add", "quay.io", "-u", "a", "--name", "Bad_Name", "--password-stdin"], "pw\n", 2, "Bad_Name"),
        (vec!["add", "quay.io", "-u", "a", "--name", "quay-alice", "--password-stdin"], "pw\n", 2, "already used"),
        (vec!["add", "quay.io", "-u", "a", "--password-stdin"], "", 2, "empty"),
        (vec!["add", "quay.io", "-u", "a", "--password-stdin"], "\n", 2, "empty"),
        (
            vec!["add", "quay.io", "-u", "a", "--password-env", "REGCRED_TEST_UNSET_VAR"],
            "",
            2,
            "REGCRED_TEST_UNSET_VAR",
        ),
        (vec!["add", "quay.io", "-u", "a"], "", 2, "not a terminal"),
        (vec!["add", "quay.io", "-u", "a", "--password", "pw"], "", 2, "--password"),
        (vec!["add", "quay.io", "-u", "a", "--password-stdin", "-e", "nope"], "pw\n", 2, "does not exist"),
        (vec!["add", "quay.io", "-u", "a", "--password-stdin", "-e", "stagign"], "pw\n", 2, "did you mean \"staging\""),
        (vec!["show", "42"], "", 2, "42"),
        (vec!["show", "quay-alise"], "", 2, "did you mean"),
        (vec!["show", "docker.io"], "", 2, "docker.io"),
        (vec!["edit", "nope", "--password-stdin"], "pw\n", 2, "nope"),
        (vec!["edit", "1", "--name=-bad", "--password-stdin"], "pw\n", 2, "-bad"),
        (vec!["edit", "1", "--password-stdin"], "", 2, "empty"),
        (vec!["activate", "7"], "", 2, "7"),
        (vec!["deactivate", "http://quay.io"], "", 2, "http://quay.io"),
        (vec!["delete", "1"], "", 4, "--yes"),
        (vec!["delete", "nope", "--yes"], "", 2, "nope"),
        (vec!["resolve", "docker/Docker"], "", 2, "lowercase"),
        (vec!["resolve", "nginx:"], "", 2, "tag"),
        (vec!["resolve", &long_name], "", 2, "255"),
        (vec!["resolve", "--stdin"], "nginx\nBad Image\n", 2, "Bad Image"),
        (vec!["env", "create", "Staging"], "", 2, "Staging"),
        (vec!["env", "create", "staging"], "", 2, "already exists"),
        (vec!["env", "use", "prod"], "", 2, "does not exist"),
        (vec!["env", "delete", "default", "--yes"], "", 2, "current"),
        (vec!["env", "delete", "staging"], "", 4, "--yes"),
        (vec!["--secret-store", "vault", "list"], "", 2, "vault"),
        (vec!["list", "-o", "yaml"], "", 2, "yaml"),
        (vec!["frobnicate"], "", 2, "frobnicate"),
    ];
    let mut failures = Vec::new();
    let long_case = vec!["add", "quay.io", "-u", "big", "--password-stdin"];
    let snapshot = t.snapshot();
    for (args, stdin, code, needle) in &cases {
        let run = t.run_with_stdin(args, stdin);
        let mut problems = Vec::new();
        if run.code != *code {
            problems.push(format!("exit {} instead of {code}", run.code));
        }
        if !run.stderr.contains("error") || !run.stderr.contains(needle) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
        if t.snapshot() != snapshot {
            problems.push("the store changed".to_owned());
        }
        if run.stderr.contains("panicked") {
            problems.push("panic".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!("regcred {args:?}: {}\n  stderr: {}", problems.join(", "), run.stderr.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // A 1 MiB password is not "bad", but it must not break anything either.
    let run = t.run_with_stdin(&long_case, &format!("{long_password}\n"));
    assert!(run.code == 0 || run.code == 2, "{run:?}");
}

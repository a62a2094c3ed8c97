//! regcred in a real terminal (tmux): the password prompt does not echo, delete asks y/N,
//! tables fit the window (and `$COLUMNS`, at every width cutting values only by the README's
//! rule), colour marks status only on a terminal, `-q` silences messages.
//! The screens are printed, so `cargo test terminal -- --nocapture` shows what a person sees.

use crate::util::{TestEnv, Tmux, tool_available};

const SHELL: &str = "bash --norc --noprofile";

fn terminal(t: &TestEnv, width: u16, height: u16, extra: &[&str]) -> Tmux {
    let tmux = Tmux::start(t, width, height, SHELL, &[&["PS1=$ "], extra].concat());
    tmux.wait_for("$ ");
    tmux
}

fn show(title: &str, screen: &str) {
    eprintln!("--- {title} ---\n{}\n---", screen.trim_end());
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn password_prompt_does_not_echo() {
    if !tool_available("password_prompt_does_not_echo", "tmux") {
        return;
    }
    let t = TestEnv::new();
    let tmux = terminal(&t, 80, 24, &[]);
    tmux.line("regcred add registry.example.com:5000 -u alice");
    tmux.wait_for("Password for alice @ registry.example.com:5000: ");
    tmux.type_text("hunter2-secret");
    tmux.press(&["Enter"]);
    let screen = tmux.wait_for("Added credential 1");
    show("password prompt", &screen);
    assert!(!screen.contains("hunter2"), "the password was echoed:\n{screen}");
    let stored = t.run(&["resolve", "registry.example.com:5000/app", "--show-secret", "-o", "json"]).ok();
    assert_eq!(stored.json_lines()[0]["credential"]["password"], "hunter2-secret");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn delete_asks_and_only_yes_deletes() {
    if !tool_available("delete_asks_and_only_yes_deletes", "tmux") {
        return;
    }
    let t = TestEnv::new();
    t.add("quay.io", "alice", "pw");
    let tmux = terminal(&t, 80, 24, &[]);
    let mut screens = Vec::new();
    for (i, (answer, confirmed)) in [("n", false), ("", false), ("nope", false), ("Y", true)].into_iter().enumerate() {
        tmux.reset();
        tmux.line(&format!("regcred delete quay.io; echo \"[status-{i}\"\"=$?]\""));
        tmux.wait_for("Delete credential 1 (alice @ quay.io) and its secret? [y/N] ");
        tmux.line(answer);
        let marker = format!("[status-{i}=");
        let screen = tmux.wait_for(&marker);
        let code = screen.rsplit(&marker).next().and_then(|r| r.split(']').next()).unwrap_or("");
        if confirmed {
            assert_eq!(code, "0", "{screen}");
            assert!(screen.contains("Deleted credential 1 (alice @ quay.io) and its secret."), "{screen}");
        } else {
            assert_eq!(code, "4", "answer {answer:?} must refuse with exit 4:\n{screen}");
            assert!(screen.contains("error: not confirmed; nothing was changed"), "{screen}");
            assert_eq!(t.list().len(), 1, "answer {answer:?} deleted the credential");
        }
        screens.push(screen);
    }
    show("delete confirmation, answered n", &screens[0]);
    show("delete confirmation, answered Y", &screens[3]);
    assert!(t.list().is_empty());
}

/// Credentials whose addresses and e-mails do not fit 80 columns side by side.
fn wide_store() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(
        &[
            "registry.internal.example-corporation.com:5000/platform",
            "-u",
            "ci-robot",
            "--email",
            "platform-team@example-corporation.com",
        ],
        "pw",
    );
    t.add_with(&["quay.io/myorg", "-u", "myorg+deploy", "--name", "quay-deploy"], "pw");
    t.add_with(
        &["registry.internal.example-corporation.com:5000/platform", "-u", "alice", "--email", "alice@example.com"],
        "pw",
    );
    t.add("docker.io", "bob", "pw");
    t.run(&["deactivate", "4"]).ok();
    t
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn tables_fit_80_columns_and_use_the_width_of_wider_terminals() {
    if !tool_available("tables_fit_80_columns_and_use_the_width_of_wider_terminals", "tmux") {
        return;
    }
    let t = wide_store();
    let narrow = terminal(&t, 80, 24, &[]);
    let (screen, code) = narrow.run("regcred list");
    show("regcred list at 80 columns", &screen);
    assert_eq!(code, 0, "{screen}");
    for line in screen.lines() {
        assert!(line.trim_end().chars().count() <= 80, "line wider than 80 columns:\n{line}\nin:\n{screen}");
    }
    assert!(screen.contains("quay.io/myorg"), "{screen}");
    assert!(screen.contains("overridden") && screen.contains("inactive"), "{screen}");

    let (screen, _) = narrow.run("regcred");
    show("regcred (overview) at 80 columns", &screen);
    assert!(screen.contains("environment  default (current)"), "{screen}");
    assert!(screen.contains("credentials  4 (2 active, 1 overridden, 1 inactive)"), "{screen}");

    // On a wide terminal every credential is one line and addresses are whole.
    let wide = terminal(&t, 200, 24, &[]);
    let (screen, _) = wide.run("regcred list");
    let rows: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), 5, "a header and four rows, unwrapped:\n{screen}");
    assert!(screen.contains("registry.internal.example-corporation.com:5000/platform"), "{screen}");
    assert!(screen.contains("platform-team@example-corporation.com"), "{screen}");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn colour_marks_status_only_on_a_terminal() {
    if !tool_available("colour_marks_status_only_on_a_terminal", "tmux") {
        return;
    }
    let t = wide_store();
    let tmux = terminal(&t, 120, 24, &[]);
    let status_line = |screen: &str, word: &str| -> String {
        screen.lines().find(|l| l.contains(word)).unwrap_or_else(|| panic!("no {word} row:\n{screen}")).to_owned()
    };
    // Whether the last SGR sequence before `word` (only blanks between) sets a colour
    // rather than resetting it; tmux re-encodes colours, e.g. `\x1b[38;5;10m`.
    let coloured = |line: &str, word: &str| -> bool {
        let before = &line[..line.find(word).unwrap_or(0)];
        let Some(start) = before.rfind("\x1b[") else { return false };
        let Some(end) = before[start..].find('m') else { return false };
        let sgr = &before[start + 2..start + end];
        before[start + end + 1..].trim().is_empty() && !matches!(sgr, "" | "0" | "39" | "49")
    };

    tmux.run("regcred list");
    let screen = tmux.screen(true);
    for word in ["active", "overridden", "inactive"] {
        let line = status_line(&screen, &format!(" {word} "));
        assert!(coloured(&line, word), "{word} is not coloured on a terminal:\n{line:?}");
    }

    for (how, command) in [
        ("NO_COLOR", "NO_COLOR=1 regcred list"),
        ("--color never", "regcred --color never list"),
        ("a pipe", "regcred list -o table | cat"),
    ] {
        tmux.run(command);
        let screen = tmux.screen(true);
        let table: String = screen.lines().filter(|l| l.contains("inactive") || l.contains("USERNAME")).collect();
        assert!(!table.contains('\x1b'), "colour with {how}:\n{screen:?}");
        assert!(table.contains("USERNAME"), "{screen}");
    }

    // --color always colours even a pipe.
    tmux.run("regcred --color always list -o table | cat");
    let line = status_line(&tmux.screen(true), " inactive");
    assert!(coloured(&line, "inactive"), "--color always in a pipe:\n{line:?}");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn quiet_silences_messages_on_a_terminal_but_never_data() {
    if !tool_available("quiet_silences_messages_on_a_terminal_but_never_data", "tmux") {
        return;
    }
    let t = TestEnv::new();
    let tmux = terminal(&t, 80, 24, &[]);
    // Messages on stderr go; what a script captures stays.
    for (command, data) in [
        ("echo pw | regcred -q add quay.io -u alice --password-stdin 2>&1", "1"),
        ("regcred -q env create staging 2>&1", ""),
        ("regcred -q deactivate 1 2>&1", ""),
        ("regcred -q resolve quay.io/app -o plain 2>&1", "quay.io/app\tquay.io/app:latest\t-\t-\t-"),
        ("regcred -q delete 1 --yes 2>&1", ""),
    ] {
        tmux.reset();
        let (screen, code) = tmux.run(command);
        assert!(code == 0 || code == 3, "{command}:\n{screen}");
        let words = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&screen), words(data), "{command} printed:\n{screen}");
    }
    let (screen, code) = tmux.run("regcred -q show 7");
    assert_eq!(code, 2);
    assert!(screen.contains("error: no credential with id 7"), "{screen}");
}

#[test]
fn tables_fit_the_columns_variable_without_a_terminal() {
    let mut t = wide_store();
    t.env("COLUMNS", "80");
    let narrow = t.run(&["list", "-o", "table"]).ok().stdout;
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "wider than 80 columns:\n{narrow}");
    assert!(narrow.contains("ADDED") && !narrow.contains("EMAIL"), "{narrow}");
    let image = "registry.internal.example-corporation.com:5000/platform/very-long-service-name:2024.11.23-build.1234";
    let resolved = t.run(&["resolve", "-o", "table", image, "nginx"]).code(3).stdout;
    assert!(resolved.lines().all(|l| l.chars().count() <= 80), "wider than 80 columns:\n{resolved}");

    let mut t = wide_store();
    t.env("COLUMNS", "200");
    let wide = t.run(&["list", "-o", "table"]).ok().stdout;
    assert_eq!(wide.lines().count(), 5, "one line per credential:\n{wide}");
    let first = wide.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains("registry.internal.example-corporation.com:5000/platform")
            && first.contains("platform-team@example-corporation.com"),
        "{wide}"
    );
}

/// The README's example store (README "List and show") plus the names a first-time operator
/// tripped over.
fn readme_store() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(&["registry.example.com:5000", "-u", "alice", "--email", "alice@example.com"], "pw");
    t.add("registry.example.com:5000", "bob", "pw");
    t.add_with(&["docker.io", "-u", "carol", "--name", "hub-carol"], "pw");
    t.add("quay.io/myorg", "myorg+robot", "pw");
    t.add("localhost:5443/team", "alice", "pw");
    t
}

/// Whether `shown` is `value` as the rule allows: whole, or cut with `…` (names), or broken
/// after a `.`, `/` or `:` (addresses, images).
fn shown_by_the_rule(value: &str, pieces: &[&str]) -> bool {
    let joined: String = pieces.concat();
    if joined == value {
        return pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(['.', '/', ':']));
    }
    pieces.len() == 1 && pieces[0].ends_with('…') && value.starts_with(pieces[0].trim_end_matches('…'))
}

#[test]
fn tables_cut_no_value_except_by_the_rule_at_every_width() {
    let mut t = readme_store();
    let values = t.run(&["list", "-o", "json"]).ok().json();
    let credentials = values.as_array().cloned().unwrap_or_default();
    for width in 40..=120 {
        t.env("COLUMNS", &width.to_string());
        let table = t.run(&["list", "-o", "table"]).ok().stdout;
        let rows = rows_by_id(&table);
        assert_eq!(rows.len(), credentials.len(), "at {width} columns:\n{table}");
        let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
        for (c, cells) in credentials.iter().zip(&rows) {
            for (column, key) in
                [("NAME", "name"), ("ADDRESS", "address"), ("USERNAME", "username"), ("EMAIL", "email")]
            {
                let Some(index) = header.iter().position(|h| *h == column) else { continue };
                let value = c[key].as_str().unwrap_or("-");
                let pieces: Vec<&str> = cells
                    .iter()
                    .filter_map(|line| line.get(index).map(String::as_str))
                    .filter(|p| !p.is_empty())
                    .collect();
                assert!(
                    shown_by_the_rule(value, &pieces),
                    "{column} {value:?} shown as {pieces:?} at {width} columns:\n{table}"
                );
            }
            let added = c["added"].as_str().unwrap_or_default();
            let index = header.iter().position(|h| *h == "ADDED").expect("ADDED");
            let date = cells[0].get(index).map(String::as_str).unwrap_or_default();
            let (day, time) = (&added[..10], &added[11..16]);
            assert!(date == day || date == format!("{day} {time}"), "ADDED {date:?} at {width} columns:\n{table}");
        }
        // Where the rule can make the table fit, it does: from 57 columns (ID 2, NAME cut to
        // 6, `localhost:` 10, USERNAME 8, STATUS 10, the date 10, and their padding).
        if width >= 57 {
            assert!(table.lines().all(|l| l.chars().count() <= width), "wider than {width} columns:\n{table}");
        }
    }
}

/// The table's rows as cells per line, grouped by credential (a row continues on the lines
/// whose first column, the ID, is empty). Cells are found by the header's column starts.
fn rows_by_id(table: &str) -> Vec<Vec<Vec<String>>> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let starts: Vec<usize> = header
        .char_indices()
        .filter(|&(i, c)| c != ' ' && (i == 0 || header[..i].ends_with(' ')))
        .map(|(i, _)| header[..i].chars().count())
        .collect();
    let mut rows: Vec<Vec<Vec<String>>> = Vec::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        let cells: Vec<String> = starts
            .iter()
            .enumerate()
            .map(|(n, &start)| {
                let end = starts.get(n + 1).copied().unwrap_or(chars.len()).min(chars.len());
                chars
                    .get(start.min(end)..end)
                    .map(|s| s.iter().collect::<String>().trim().to_owned())
                    .unwrap_or_default()
            })
            .collect();
        if cells[0].is_empty() {
            if let Some(row) = rows.last_mut() {
                row.push(cells);
            }
        } else {
            rows.push(vec![cells]);
        }
    }
    rows
}

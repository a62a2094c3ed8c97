//! The generated files and the help text: completions/ and man/ match the clap definition,
//! every command's help ends with examples that really parse, every option is documented,
//! and the man pages render.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, Parser};
use regcred::cli::Cli;

use crate::util::{TestEnv, tool_available};

fn source_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| PathBuf::from(e.file_name())).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn committed_completions_and_man_pages_are_up_to_date() {
    let t = TestEnv::new();
    let fresh = t.root().join("tree");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("Cargo.toml"), "").unwrap();
    t.run(&["generate-assets", fresh.to_str().unwrap()]).ok();

    let mut stale = Vec::new();
    for dir in ["completions", "man"] {
        let (committed, generated) = (source_tree().join(dir), fresh.join(dir));
        let mut names = files(&committed);
        names.extend(files(&generated));
        names.sort();
        names.dedup();
        for name in names {
            let (old, new) = (std::fs::read(committed.join(&name)).ok(), std::fs::read(generated.join(&name)).ok());
            match (old, new) {
                (Some(old), Some(new)) if old == new => {}
                (Some(_), Some(_)) => stale.push(format!("{dir}/{} differs", name.display())),
                (None, _) => stale.push(format!("{dir}/{} is missing", name.display())),
                (_, None) => stale.push(format!("{dir}/{} is no longer generated", name.display())),
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the committed completions and man pages are stale:\n  {}\nrefresh them with `{}` and commit the result",
        stale.join("\n  "),
        regcred::assets::REFRESH_COMMAND
    );
}

/// Every visible command, as its path of names (`[]` is `regcred` itself).
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            let mut path = path.clone();
            path.push(sub.get_name().to_owned());
            walk(sub, path, out);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, Vec::new(), &mut out);
    out
}

/// Splits a shell line into words, with unquoted operators (`|`, `<`, `>`, `;`, `(`, `)`,
/// `#`) as words of their own.
fn shell_words(line: &str) -> Vec<(String, bool)> {
    let mut words = Vec::new();
    let (mut word, mut quote, mut started) = (String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    words.push((std::mem::take(&mut word), false));
                }
                started = false;
            }
            (None, '|' | '<' | '>' | ';' | '(' | ')' | '#') => {
                if started || !word.is_empty() {
                    words.push((std::mem::take(&mut word), false));
                }
                started = false;
                words.push((c.to_string(), true));
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        words.push((word, false));
    }
    words
}

/// The arguments of the `regcred` invocation in an example line.
fn invocation(line: &str) -> Option<Vec<String>> {
    let words = shell_words(line);
    let start = words.iter().position(|(w, op)| !op && w == "regcred")?;
    Some(words[start..].iter().take_while(|(_, op)| !op).map(|(w, _)| w.clone()).collect())
}

#[test]
fn every_help_ends_with_examples_that_parse() {
    for (path, cmd) in commands() {
        let name = format!("regcred {}", path.join(" ")).trim_end().to_owned();
        let after = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        let last = after.split("\n\n").last().unwrap_or_default();
        let Some(examples) = last.strip_prefix("EXAMPLES:") else {
            panic!("`{name} --help` does not end with an EXAMPLES section:\n{after}");
        };
        let help = cmd.clone().render_long_help().to_string();
        assert!(help.trim_end().ends_with(examples.trim_end()), "`{name} --help` does not end with its examples");
        let mut uses_it = false;
        for line in examples.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let args = invocation(line).unwrap_or_else(|| panic!("{name}: example without regcred: {line}"));
            if let Err(e) = Cli::try_parse_from(&args) {
                panic!("{name}: the example `{line}` does not parse:\n{e}");
            }
            uses_it |= path.is_empty() || args.windows(path.len()).any(|w| w == path.as_slice());
        }
        assert!(uses_it, "{name}: no example runs {name}");
    }
}

#[test]
fn every_command_and_option_is_documented() {
    for (path, cmd) in commands() {
        let name = format!("regcred {}", path.join(" "));
        assert!(cmd.get_about().is_some(), "{name} has no about line");
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            assert!(
                arg.get_help().is_some_and(|h| !h.to_string().trim().is_empty()),
                "{name}: {} has no help text",
                arg.get_id()
            );
            // Values are described all or none (clap_complete's Shell describes none).
            let values = arg.get_possible_values();
            let described = values.iter().filter(|v| v.get_help().is_some()).count();
            assert!(
                described == 0 || described == values.len(),
                "{name}: some values of {} have no help",
                arg.get_id()
            );
        }
    }
}

#[test]
fn examples_are_split_like_a_shell_would() {
    assert_eq!(invocation("regcred list").unwrap(), ["regcred", "list"]);
    assert_eq!(
        invocation("echo \"$TOKEN\" | regcred add ghcr.io -u bob --password-stdin").unwrap(),
        ["regcred", "add", "ghcr.io", "-u", "bob", "--password-stdin"]
    );
    assert_eq!(
        invocation("regcred export auth-json --output-file \"$XDG_RUNTIME_DIR/containers/auth.json\"").unwrap(),
        ["regcred", "export", "auth-json", "--output-file", "$XDG_RUNTIME_DIR/containers/auth.json"]
    );
    assert_eq!(invocation("regcred add -u bob   # a comment").unwrap(), ["regcred", "add", "-u", "bob"]);
    assert_eq!(invocation("source <(regcred completions bash)").unwrap(), ["regcred", "completions", "bash"]);
    assert_eq!(invocation("regcred edit 3 --email ''").unwrap(), ["regcred", "edit", "3", "--email", ""]);
}

/// Every `REGCRED_*` name in the sources (the test hooks aside).
fn regcred_variables() -> Vec<String> {
    fn scan(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (i, _) in text.match_indices("\"REGCRED_") {
                    let name: String = text[i + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if !name.starts_with("REGCRED_TEST_") && name.len() > "REGCRED_".len() {
                        found.push(name);
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    scan(&source_tree().join("src"), &mut found);
    found.sort();
    found.dedup();
    found
}

#[test]
fn man_page_environment_lists_every_regcred_variable() {
    let page = std::fs::read_to_string(source_tree().join("man/regcred.1")).expect("man/regcred.1");
    let variables = regcred_variables();
    assert!(variables.contains(&"REGCRED_ENV".to_owned()), "{variables:?}");
    let environment = page.split(".SH ENVIRONMENT").nth(1).and_then(|s| s.split(".SH ").next()).unwrap_or("");
    for var in variables {
        assert!(
            environment.contains(&format!("\\fB{var}\\fR")),
            "man/regcred.1 ENVIRONMENT lacks {var}; document it in src/assets.rs (OTHER_VARIABLES) or give \
             its option `env = \"{var}\"`, then run `{}`",
            regcred::assets::REFRESH_COMMAND
        );
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn man_pages_have_their_sections_and_render_cleanly() {
    let dir = source_tree().join("man");
    let pages = files(&dir);
    for page in ["regcred.1", "regcred-add.1", "regcred-env-create.1", "docker-credential-regcred.1"] {
        assert!(pages.contains(&PathBuf::from(page)), "man/{page} is missing");
    }
    for page in &pages {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        for section in
            ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]
        {
            assert!(
                text.contains(&format!(".SH \"{section}\"")) || text.contains(&format!(".SH {section}\n")),
                "man/{} lacks {section}",
                page.display()
            );
        }
        assert!(text.is_ascii(), "man/{} is not ASCII", page.display());
    }

    let test = "man_pages_have_their_sections_and_render_cleanly";
    if !tool_available(test, "groff") || !tool_available(test, "man") {
        return;
    }
    // groff -ww warns about anything questionable; the pages must give no warning at all.
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .args(pages.iter().map(|p| dir.join(p)))
        .output()
        .expect("run groff");
    assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&out.stderr));
    // And `man -l` renders the main page as a person sees it.
    let out = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(dir.join("regcred.1"))
        .env("MANWIDTH", "80")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run man");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "man -l failed: {}", String::from_utf8_lossy(&out.stderr));
    for needle in ["REGCRED_CONFIG_DIR", "registries.toml", "regcred-env(1)", "EXIT STATUS", "regcred list"] {
        assert!(text.contains(needle), "man -l man/regcred.1 lacks {needle}:\n{text}");
    }
    assert!(text.lines().all(|l| l.chars().count() <= 80), "man page wider than MANWIDTH:\n{text}");
}

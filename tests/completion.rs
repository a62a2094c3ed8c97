//! The scripts in completions/ loaded into real shells: bash and zsh in a tmux terminal
//! (TAB pressed, the command line read back), fish through `complete -C`. They complete
//! subcommands and options from the clap definition, and environment names, credential ids,
//! names and addresses from the store.

use std::path::PathBuf;

use crate::util::{TestEnv, Tmux, bin_dir, tool_available};

fn completions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions")
}

const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

/// A store with a named credential on an address with a port, and a second environment.
fn store() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(&["registry.example.com:5000", "-u", "alice", "--name", "alice-reg"], "pw");
    t.add("quay.io/myorg", "bob", "pw");
    t.run(&["env", "create", "staging"]).ok();
    t
}

/// Types `typed`, presses TAB, and waits for the command line to read `expected`.
#[track_caller]
fn completes(tmux: &Tmux, typed: &str, expected: &str) -> String {
    tmux.press(&["C-u"]);
    tmux.reset();
    tmux.type_text(typed);
    tmux.press(&["Tab"]);
    tmux.wait_for(expected)
}

/// The checks every interactive shell must pass: a subcommand, an option, an environment,
/// a credential name and an address with a port.
fn check_shell(tmux: &Tmux, shell: &str) {
    completes(tmux, "regcred sh", "regcred show ");
    completes(tmux, "regcred list --all", "regcred list --all-envs ");
    completes(tmux, "regcred env use st", "regcred env use staging ");
    completes(tmux, "regcred show ali", "regcred show alice-reg ");
    completes(tmux, "regcred show registry.example.com:", "regcred show registry.example.com:5000 ");
    // Several candidates: the second TAB lists them (zsh lists on the first).
    tmux.press(&["C-u"]);
    tmux.reset();
    tmux.type_text("regcred show ");
    tmux.press(&["Tab"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    tmux.press(&["Tab"]);
    let screen = tmux.wait_for("alice-reg");
    eprintln!("--- {shell}: regcred show <TAB><TAB> ---\n{}\n---", screen.trim_end());
    assert!(screen.contains("quay.io/myorg"), "{screen}");
    tmux.press(&["C-u"]);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn bash_completes_commands_options_and_store_values() {
    let test = "bash_completes_commands_options_and_store_values";
    if !tool_available(test, "tmux") || !tool_available(test, "bash") || !tool_available(test, BASH_COMPLETION) {
        return;
    }
    let t = store();
    let script = completions_dir().join("regcred.bash");
    let tmux = Tmux::start(&t, 100, 30, "bash --norc --noprofile", &["PS1=$ "]);
    tmux.line(&format!("source {BASH_COMPLETION}; source {}", script.display()));
    check_shell(&tmux, "bash");
    completes(&tmux, "regcred env u", "regcred env use ");
    completes(&tmux, "regcred -e st", "regcred -e staging ");
    completes(&tmux, "regcred --env=st", "regcred --env=staging ");
    completes(&tmux, "regcred deactivate quay", "regcred deactivate quay.io/myorg ");

    // Without bash-completion the script still works, splitting words as bash does.
    let plain = Tmux::start(&t, 100, 30, "bash --norc --noprofile", &["PS1=$ "]);
    plain.line(&format!("source {}", script.display()));
    completes(&plain, "regcred sh", "regcred show ");
    completes(&plain, "regcred env use st", "regcred env use staging ");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn zsh_completes_commands_options_and_store_values() {
    let test = "zsh_completes_commands_options_and_store_values";
    if !tool_available(test, "tmux") || !tool_available(test, "zsh") {
        return;
    }
    let t = store();
    let tmux = Tmux::start(&t, 100, 30, "zsh -f", &["PS1=% "]);
    // From $fpath, as installed: zsh autoloads _regcred on the first TAB. Only the core
    // completion functions besides, so that compinit takes 0.1 s rather than a second.
    tmux.line(&format!(
        "fpath=({} ${{(M)fpath:#*/Completion}} ${{(M)fpath:#*/Completion/Base}}); autoload -U compinit; compinit -u -D",
        completions_dir().display()
    ));
    check_shell(&tmux, "zsh");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn fish_completes_commands_options_and_store_values() {
    let test = "fish_completes_commands_options_and_store_values";
    if !tool_available(test, "fish") {
        return;
    }
    let t = store();
    let complete = |line: &str| -> String {
        let script = completions_dir().join("regcred.fish");
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        let out = t
            .command(
                std::path::Path::new("fish"),
                &["--no-config", "-c", &format!("source {}; complete -C '{line}'", script.display())],
            )
            .env("PATH", path)
            .output()
            .expect("run fish");
        assert!(out.status.success(), "fish failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let values = |line: &str| -> Vec<String> {
        complete(line).lines().map(|l| l.split('\t').next().unwrap_or_default().to_owned()).collect()
    };
    assert_eq!(values("regcred sh"), ["show"]);
    assert_eq!(values("regcred list --all"), ["--all-envs"]);
    assert!(values("regcred env use ").starts_with(&["default".to_owned(), "staging".to_owned()]));
    let shown = complete("regcred show ");
    assert!(shown.contains("1\talice @ registry.example.com:5000 (active)"), "{shown}");
    assert!(shown.contains("alice-reg\tcredential 1: alice @ registry.example.com:5000 (active)"), "{shown}");
    assert!(shown.contains("quay.io/myorg\tnewest: credential 2 (bob)"), "{shown}");
    assert_eq!(values("regcred show registry.example.com:"), ["registry.example.com:5000"]);
    assert!(complete("regcred ").contains("completions\tPrint a shell completion script"));
    assert!(!complete("regcred ").contains("generate-assets"), "hidden commands are not offered");
}

#[test]
fn completing_reads_only_the_store_file() {
    let t = store();
    let before = t.snapshot();
    // Pointed at an unreachable keyring: completing must not care.
    let out = t
        .command(&crate::util::regcred_bin(), &["--", "regcred", "show", ""])
        .env("REGCRED_COMPLETE", "fish")
        .env("REGCRED_SECRET_STORE", "keyring")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .expect("run regcred");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice-reg"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(t.snapshot(), before);
    // A store that does not exist yet completes to nothing, and is not created.
    let empty = TestEnv::new();
    let out = empty
        .command(&crate::util::regcred_bin(), &["--", "regcred", "env", "use", ""])
        .env("REGCRED_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .output()
        .expect("run regcred");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).split('\n').next(), Some("default"));
    assert!(!empty.config_dir().exists(), "completion created the config dir");
}

#[test]
fn completions_command_prints_the_committed_scripts() {
    let t = TestEnv::new();
    for (shell, file) in [
        ("bash", "regcred.bash"),
        ("zsh", "_regcred"),
        ("fish", "regcred.fish"),
        ("elvish", "regcred.elv"),
        ("powershell", "_regcred.ps1"),
    ] {
        let printed = t.run(&["completions", shell]).ok().stdout;
        let committed = std::fs::read_to_string(completions_dir().join(file)).expect("committed script");
        assert_eq!(printed, committed, "regcred completions {shell} differs from completions/{file}");
    }
}

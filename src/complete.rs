//! Shell completion: the scripts `regcred completions SHELL` prints (and completions/ holds)
//! run `REGCRED_COMPLETE=SHELL regcred -- WORDS…` on every TAB, and clap_complete's dynamic
//! engine answers from the clap definition, so new commands and options complete without
//! regenerating anything. Environment names, credential ids, names and addresses come from
//! registries.toml alone: completing never opens the keyring and never writes.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Arg, CommandFactory};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{EnvCompleter, Shells};
use clap_complete::{CompleteEnv, Shell};

use crate::cli::Cli;
use crate::commands::view::status_word;
use crate::context::EnvCredentials;
use crate::store::{Registries, Store};

/// The variable that turns a run of `regcred` into a completion request.
pub const VAR: &str = "REGCRED_COMPLETE";

const BIN: &str = "regcred";

const SHELLS: Shells<'static> = Shells(&[
    &BashAdapter,
    &clap_complete::env::Elvish,
    &clap_complete::env::Fish,
    &clap_complete::env::Powershell,
    &ZshAdapter,
]);

/// Answers a completion request and exits when `REGCRED_COMPLETE` is set; otherwise returns
/// at once (one environment lookup), so ordinary runs pay nothing.
pub fn answer_if_asked() {
    if std::env::var_os(VAR).is_none() {
        return;
    }
    CompleteEnv::with_factory(command).var(VAR).bin(BIN).completer(BIN).shells(SHELLS).complete();
}

/// The registration script for `shell`: what `regcred completions SHELL` prints and what
/// completions/ holds. It calls `regcred` from `$PATH`.
pub fn script(shell: Shell) -> Vec<u8> {
    let adapter: &dyn EnvCompleter = match shell {
        Shell::Bash => &BashAdapter,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::PowerShell => &clap_complete::env::Powershell,
        Shell::Zsh => &ZshAdapter,
        // `Shell` is non-exhaustive; a shell clap_complete adds later gets bash's script
        // until it gets an adapter here.
        _ => &BashAdapter,
    };
    let mut script = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = adapter.write_registration(VAR, BIN, BIN, BIN, &mut script);
    script
}

/// The clap definition with value completers attached wherever an argument names an
/// environment, a credential or a registry address, found by walking the tree so that
/// commands added later get them too.
pub fn command() -> clap::Command {
    let context = Lookup::from_words(std::env::args_os());
    attach(Cli::command(), &[], &context)
}

fn attach(cmd: clap::Command, path: &[String], lookup: &Lookup) -> clap::Command {
    let cmd = cmd.mut_args(|arg| match kind(path, &arg) {
        Some(kind) => {
            let lookup = lookup.clone();
            arg.add(ArgValueCandidates::new(move || lookup.candidates(kind)))
        }
        None => arg,
    });
    cmd.mut_subcommands(|sub| {
        let mut path = path.to_vec();
        path.push(sub.get_name().to_owned());
        attach(sub, &path, lookup)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An existing environment.
    Environment,
    /// A SELECTOR: credential id, name or address.
    Credential,
    /// A registry address to add a credential for.
    NewAddress,
    /// A registry address the environment has a credential for.
    Address,
}

fn kind(path: &[String], arg: &Arg) -> Option<Kind> {
    let value_name = arg.get_value_names().and_then(|names| names.first()).map(|n| n.as_str());
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match (path.as_slice(), arg.get_id().as_str(), value_name) {
        (_, "env", _) => Some(Kind::Environment),
        (["env", "use" | "delete"], _, Some("NAME")) => Some(Kind::Environment),
        (_, _, Some("SELECTOR")) => Some(Kind::Credential),
        (["add"], _, Some("ADDRESS")) => Some(Kind::NewAddress),
        (_, _, Some("ADDRESS")) => Some(Kind::Address),
        _ => None,
    }
}

/// Where to look: `--config-dir` and `-e` as typed on the line being completed, else their
/// variables, else the defaults.
#[derive(Debug, Clone, Default)]
struct Lookup {
    config_dir: Option<PathBuf>,
    environment: Option<String>,
}

impl Lookup {
    /// Reads the options from the words after `--` (the command line being completed).
    fn from_words(args: impl IntoIterator<Item = OsString>) -> Lookup {
        let words: Vec<String> =
            args.into_iter().map(|a| a.to_string_lossy().into_owned()).skip_while(|w| w != "--").skip(1).collect();
        let mut lookup = Lookup {
            config_dir: std::env::var_os("REGCRED_CONFIG_DIR").filter(|v| !v.is_empty()).map(PathBuf::from),
            environment: std::env::var("REGCRED_ENV").ok().filter(|v| !v.is_empty()),
        };
        let mut words = words.iter().skip(1).peekable();
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let mut value = |long: &str, short: Option<&str>| -> Option<String> {
                if let Some(v) = word.strip_prefix(long).and_then(|rest| rest.strip_prefix('=')) {
                    return Some(v.to_owned());
                }
                if word == long || short.is_some_and(|s| word == s) {
                    return words.peek().map(|v| (*v).clone());
                }
                short.and_then(|s| word.strip_prefix(s)).filter(|v| !v.is_empty()).map(str::to_owned)
            };
            if let Some(dir) = value("--config-dir", None) {
                lookup.config_dir = Some(expand_home(&dir));
            } else if let Some(env) = value("--env", Some("-e")) {
                lookup.environment = Some(env);
            }
        }
        lookup
    }

    /// The store, read without a lock (a completion may see a write half a second late, but
    /// never a torn file: writes are atomic renames).
    fn registries(&self) -> Option<Registries> {
        let store = Store::locate(self.config_dir.clone(), Default::default(), Default::default()).ok()?;
        store.load().ok()
    }

    fn candidates(&self, kind: Kind) -> Vec<CompletionCandidate> {
        let Some(registries) = self.registries() else { return Vec::new() };
        let environment = self.environment.clone().unwrap_or_else(|| registries.current_environment.clone());
        match kind {
            Kind::Environment => environment_candidates(&registries),
            Kind::Credential => credential_candidates(&registries, &environment),
            Kind::Address => address_candidates(&registries, &environment, false),
            Kind::NewAddress => address_candidates(&registries, &environment, true),
        }
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

fn candidate(value: impl Into<OsString>, help: String) -> CompletionCandidate {
    CompletionCandidate::new(value).help(Some(help.into()))
}

fn environment_candidates(registries: &Registries) -> Vec<CompletionCandidate> {
    registries
        .environments
        .iter()
        .map(|e| {
            let count = registries.credentials_in(&e.name).count();
            let current = if e.name == registries.current_environment { "current, " } else { "" };
            candidate(&e.name, format!("{current}{count} credential{}", if count == 1 { "" } else { "s" }))
        })
        .collect()
}

/// Ids, then names, then addresses, each described the way `list` shows it.
fn credential_candidates(registries: &Registries, environment: &str) -> Vec<CompletionCandidate> {
    let Ok(credentials) = EnvCredentials::new(registries, environment) else { return Vec::new() };
    let statuses = credentials.statuses();
    let rows: Vec<_> = credentials.records.iter().zip(&statuses).collect();
    let mut out: Vec<CompletionCandidate> = rows
        .iter()
        .map(|(c, s)| candidate(c.id.to_string(), format!("{} @ {} ({})", c.username, c.address, status_word(**s))))
        .collect();
    out.extend(rows.iter().filter_map(|(c, s)| {
        let name = c.name.as_deref()?;
        Some(candidate(name, format!("credential {}: {} @ {} ({})", c.id, c.username, c.address, status_word(**s))))
    }));
    out.extend(address_candidates(registries, environment, false));
    out
}

/// The environment's addresses, each once, described by the credential an address selector
/// picks (the most recently added); for `add`, also the two well-known registries.
fn address_candidates(registries: &Registries, environment: &str, for_add: bool) -> Vec<CompletionCandidate> {
    let mut newest: Vec<(&str, &crate::store::Credential)> = Vec::new();
    for c in registries.credentials_in(environment) {
        match newest.iter_mut().find(|(address, _)| *address == c.address) {
            Some(slot) if slot.1.sequence < c.sequence => slot.1 = c,
            Some(_) => {}
            None => newest.push((&c.address, c)),
        }
    }
    let mut out: Vec<CompletionCandidate> = newest
        .iter()
        .map(|(address, c)| candidate(*address, format!("newest: credential {} ({})", c.id, c.username)))
        .collect();
    if for_add {
        for (address, help) in [("docker.io", "Docker Hub"), ("quay.io", "Quay.io")] {
            if !newest.iter().any(|(a, _)| *a == address) {
                out.push(candidate(address, help.to_owned()));
            }
        }
    }
    out
}

/// bash, with one change from clap_complete's adapter: the word under the cursor is taken
/// whole across `:` and `=` (bash-completion's `_get_comp_words_by_ref -n =:`), so that
/// `registry.example.com:5000` and `--config-dir=DIR` complete; bash itself would split
/// them.
struct BashAdapter;

impl EnvCompleter for BashAdapter {
    fn name(&self) -> &'static str {
        "bash"
    }

    fn is(&self, name: &str) -> bool {
        name == "bash"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        let function = format!("_{}", name.replace('-', "_"));
        write!(
            buf,
            r#"# bash completion for {bin}; generated by `{bin} completions bash`.
# Each TAB asks `{completer}` itself, so new commands and the current environments and
# credentials complete without regenerating this file.
{function}() {{
    local IFS=$'\013'
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        # bash-completion: keep host:port and --option=value as one word.
        _get_comp_words_by_ref -n =: -c cur -w words -i cword
    else
        cur=${{COMP_WORDS[COMP_CWORD]}}
        words=("${{COMP_WORDS[@]}}")
        cword=$COMP_CWORD
    fi
    words[cword]=$cur
    # bash replaces only the text after the last `:` or `=`; drop what comes before it
    # from the candidates (what bash-completion's __ltrim_colon_completions does).
    local before=""
    if [[ ${{#words[@]}} -ne ${{#COMP_WORDS[@]}} || $cur != "${{COMP_WORDS[COMP_CWORD]}}" ]]; then
        before=${{cur%"${{cur##*[:=]}}"}}
    fi
    local space=true
    if compopt +o nospace 2>/dev/null; then
        space=false
    fi
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$cword" \
        {var}="bash" \
        {completer} -- "${{words[@]}}" 2>/dev/null \
    ) ) || {{ unset COMPREPLY; return; }}
    if [[ -n $before ]]; then
        local i
        for i in "${{!COMPREPLY[@]}}"; do
            COMPREPLY[i]=${{COMPREPLY[i]#"$before"}}
        done
    fi
    if [[ $space == false && ${{#COMPREPLY[@]}} -eq 1 && ${{COMPREPLY[0]}} =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}}
if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F {function} {bin}
else
    complete -o nospace -o bashdefault -F {function} {bin}
fi
"#
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        let index = std::env::var("_CLAP_COMPLETE_INDEX").ok().and_then(|i| i.parse().ok()).unwrap_or_default();
        let ifs = std::env::var("_CLAP_IFS").unwrap_or_else(|_| "\n".to_owned());
        let completions = clap_complete::engine::complete(cmd, args, index, current_dir)?;
        let values: Vec<String> = completions.iter().map(|c| c.get_value().to_string_lossy().into_owned()).collect();
        write!(buf, "{}", values.join(&ifs))
    }
}

/// zsh, as clap_complete writes it, but usable from `$fpath` too: when zsh autoloads the
/// file as the `_regcred` function, it completes at once instead of only registering itself
/// (which would leave the first TAB empty).
struct ZshAdapter;

impl EnvCompleter for ZshAdapter {
    fn name(&self) -> &'static str {
        "zsh"
    }

    fn is(&self, name: &str) -> bool {
        name == "zsh"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        let mut script = Vec::new();
        clap_complete::env::Zsh.write_registration(var, name, bin, completer, &mut script)?;
        let script = String::from_utf8_lossy(&script);
        let function = format!("_clap_dynamic_completer_{}", name.replace('-', "_"));
        let register = format!("compdef {function} {bin}");
        let Some(body) = script.trim_end().strip_suffix(&register) else {
            return Err(std::io::Error::other(format!(
                "clap_complete's zsh script no longer ends with `{register}`; update ZshAdapter"
            )));
        };
        write!(
            buf,
            "{body}if [ \"$funcstack[1]\" = \"_{bin}\" ]; then\n    {function} \"$@\"\nelse\n    {register}\nfi\n"
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_complete(cmd, args, current_dir, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        ["regcred", "--"].iter().chain(line.split(' ').collect::<Vec<_>>().iter()).map(OsString::from).collect()
    }

    #[test]
    fn lookup_reads_config_dir_and_env_from_the_line_being_completed() {
        let l = Lookup::from_words(words("regcred --config-dir /tmp/x -e staging show"));
        assert_eq!(l.config_dir.as_deref(), Some(Path::new("/tmp/x")));
        assert_eq!(l.environment.as_deref(), Some("staging"));
        let l = Lookup::from_words(words("regcred --config-dir=/tmp/y --env=ci show"));
        assert_eq!(l.config_dir.as_deref(), Some(Path::new("/tmp/y")));
        assert_eq!(l.environment.as_deref(), Some("ci"));
        let l = Lookup::from_words(words("regcred -eprod show"));
        assert_eq!(l.environment.as_deref(), Some("prod"));
    }

    #[test]
    fn arguments_naming_environments_credentials_and_addresses_get_completers() {
        let cmd = attach(Cli::command(), &[], &Lookup::default());
        let has = |path: &[&str], id: &str| {
            let mut c = &cmd;
            for name in path {
                c = c.find_subcommand(name).unwrap_or_else(|| panic!("no subcommand {name}"));
            }
            c.get_arguments().find(|a| a.get_id() == id).unwrap().get::<ArgValueCandidates>().is_some()
        };
        assert!(has(&[], "env"));
        assert!(has(&["show"], "selector"));
        assert!(has(&["delete"], "selector"));
        assert!(has(&["env", "use"], "name"));
        assert!(has(&["env", "delete"], "name"));
        assert!(!has(&["env", "create"], "name"));
        assert!(has(&["add"], "address"));
        assert!(!has(&["add"], "username"));
    }
}

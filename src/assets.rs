//! The generated files at the top of the tree: completions/ (one script per shell) and man/
//! (a page for `regcred`, one per subcommand at every depth, and one for
//! `docker-credential-regcred`). Everything is derived from the clap definition, so a
//! command added to src/cli.rs gets its page by running
//! `cargo run --bin regcred -- generate-assets`; the `assets` integration test fails when
//! the committed files differ from what this module produces.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Arg, Command, CommandFactory, ValueEnum};
use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::exit::EXIT_STATUSES;

/// The command that rewrites completions/ and man/; failures name it.
pub const REFRESH_COMMAND: &str = "cargo run --bin regcred -- generate-assets";

pub const COMPLETIONS_DIR: &str = "completions";
pub const MAN_DIR: &str = "man";

/// One generated file: its path under the source tree and its bytes.
pub struct Asset {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Every generated file, in a stable order.
pub fn all() -> Vec<Asset> {
    let mut assets = completions();
    assets.extend(man_pages());
    assets
}

/// Rewrites completions/ and man/ under `root`: writes every asset and removes files there
/// that are no longer generated (a page of a removed command). Returns what it wrote.
pub fn write(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let assets = all();
    for dir in [COMPLETIONS_DIR, MAN_DIR] {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let relative = path.strip_prefix(root).unwrap_or(&path);
            if path.is_file() && !assets.iter().any(|a| a.path == relative) {
                std::fs::remove_file(&path)?;
            }
        }
    }
    let mut written = Vec::new();
    for asset in assets {
        let path = root.join(&asset.path);
        if std::fs::read(&path).ok().as_deref() != Some(asset.bytes.as_slice()) {
            std::fs::File::create(&path)?.write_all(&asset.bytes)?;
        }
        written.push(asset.path);
    }
    Ok(written)
}

/// One script per shell clap_complete knows, under the name that shell's completion
/// directory expects (`regcred.bash`, `_regcred`, `regcred.fish`, `regcred.elv`,
/// `_regcred.ps1`).
fn completions() -> Vec<Asset> {
    Shell::value_variants()
        .iter()
        .map(|&shell| Asset {
            path: Path::new(COMPLETIONS_DIR).join(shell.file_name("regcred")),
            bytes: crate::complete::script(shell),
        })
        .collect()
}

/// `regcred.1`, `regcred-add.1`, …, `regcred-env-create.1`, …, and
/// `docker-credential-regcred.1`.
fn man_pages() -> Vec<Asset> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    collect_pages(&root, &[], &mut pages);
    pages.push(helper_page());
    pages
}

fn collect_pages(cmd: &Command, path: &[&str], pages: &mut Vec<Asset>) {
    pages.push(command_page(cmd, path));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut path = path.to_vec();
        path.push(sub.get_name());
        collect_pages(sub, &path, pages);
    }
}

/// The text of `after_help`, split into notes (paragraphs for DESCRIPTION) and the lines of
/// its EXAMPLES paragraph.
struct AfterHelp {
    notes: Vec<String>,
    examples: Vec<String>,
}

fn after_help(cmd: &Command) -> AfterHelp {
    let text = cmd.get_after_long_help().or_else(|| cmd.get_after_help()).map(|t| t.to_string()).unwrap_or_default();
    let mut parsed = AfterHelp { notes: Vec::new(), examples: Vec::new() };
    for paragraph in text.split("\n\n").map(str::trim_end).filter(|p| !p.trim().is_empty()) {
        match paragraph.strip_prefix("EXAMPLES:") {
            Some(lines) => {
                parsed.examples.extend(lines.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned))
            }
            None => parsed.notes.push(paragraph.split_whitespace().collect::<Vec<_>>().join(" ")),
        }
    }
    parsed
}

fn command_page(cmd: &Command, path: &[&str]) -> Asset {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_owned();
    let man = Man::new(cmd.clone());
    let help = after_help(cmd);

    let mut page = Page::default();
    page.roff(&title(&name));
    page.clap(|w| man.render_name_section(w));

    let mut roff = Roff::new();
    synopsis(&mut roff, cmd);
    roff.control("SH", ["DESCRIPTION"]);
    let about = cmd.get_long_about().or_else(|| cmd.get_about()).map(|a| a.to_string()).unwrap_or_default();
    paragraphs(&mut roff, &about);
    if path.is_empty() {
        paragraphs(&mut roff, ROOT_DESCRIPTION);
    }
    for note in &help.notes {
        roff.control("PP", []);
        roff.text([roman(note)]);
    }
    page.roff(&roff);

    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        page.clap(|w| man.render_options_section(w));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        page.clap(|w| man.render_subcommands_section(w));
    }

    let mut roff = Roff::new();
    exit_status(&mut roff, EXIT_STATUSES.iter().map(|(code, text)| (*code, *text)));
    environment(&mut roff, cmd, path);
    files(&mut roff);
    examples(&mut roff, &help.examples);
    see_also(&mut roff, path);
    page.roff(&roff);

    Asset { path: Path::new(MAN_DIR).join(format!("{name}.1")), bytes: page.finish() }
}

const ROOT_DESCRIPTION: &str = "\
Credentials belong to environments; a fresh store has one, default, which is current. \
The secret of each credential (password or token) is kept in the OS keyring (the Secret \
Service on Linux, the Keychain on macOS, the Credential Manager on Windows), or, when chosen \
with --secret-store file, in 0600 files under secrets.d/; everything else is in registries.toml.

For each address the most recently added active credential is used; older active ones are \
shown as overridden. A deactivated credential is kept with its secret but never used. An \
address may carry a repository scope (quay.io/myorg); the most specific scope that covers an \
image wins.

A SELECTOR is a credential id (as list shows it), a credential name, or a registry address, \
which selects the most recently added credential for exactly that address.

Messages for people go to stderr and data to stdout. Errors are printed as error: lines, \
often followed by a hint: line that says what to do.";

/// `.TH` with no date (so the pages change only when regcred does), the version as the
/// source and the manual's name. clap_mangen's own title drops an empty date and shifts
/// the other fields.
fn title(name: &str) -> Roff {
    let mut roff = Roff::new();
    let source = format!("regcred {}", env!("CARGO_PKG_VERSION"));
    roff.control("TH", [name, "1", "\"\"", &source, "regcred manual"]);
    roff
}

/// The usage line(s) exactly as `--help` shows them, the command in bold.
fn synopsis(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["SYNOPSIS"]);
    let usage = cmd.clone().render_usage().to_string();
    let bin = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let forms = usage.lines().map(|l| l.trim().trim_start_matches("Usage:").trim()).filter(|l| !l.is_empty());
    for (i, form) in forms.enumerate() {
        if i > 0 {
            roff.control("br", []);
        }
        match form.strip_prefix(bin) {
            Some(rest) => roff.text([bold(bin), roman(rest)]),
            None => roff.text([roman(form)]),
        };
    }
}

fn paragraphs(roff: &mut Roff, text: &str) {
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        roff.control("PP", []);
        roff.text([roman(paragraph.split_whitespace().collect::<Vec<_>>().join(" "))]);
    }
}

fn exit_status<'a>(roff: &mut Roff, statuses: impl Iterator<Item = (u8, &'a str)>) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text) in statuses {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(text)]);
    }
}

/// A variable regcred reads directly rather than through a clap option.
struct OtherVariable {
    name: &'static str,
    /// The pages (command paths joined by spaces) it appears on besides regcred(1); `None`
    /// means every page.
    pages: Option<&'static [&'static str]>,
    text: &'static str,
}

const OTHER_VARIABLES: [OtherVariable; 9] = [
    OtherVariable {
        name: "NO_COLOR",
        pages: None,
        text: "When set and not empty, no colour is used (unless --color always is given).",
    },
    OtherVariable {
        name: "COLUMNS",
        pages: None,
        text: "The width tables are fitted to, instead of the terminal's. In a pipe tables are not wrapped unless it is set.",
    },
    OtherVariable {
        name: "DBUS_SESSION_BUS_ADDRESS",
        pages: None,
        text: "The D-Bus session bus through which the Secret Service keyring is reached (Linux and BSD).",
    },
    OtherVariable {
        name: "DOCKER_CONFIG",
        pages: Some(&["import", "import docker-config", "setup", "setup docker", "exec"]),
        text: "The directory holding docker's config.json (default: ~/.docker).",
    },
    OtherVariable {
        name: "REGISTRY_AUTH_FILE",
        pages: Some(&["import", "import auth-json", "setup", "setup podman"]),
        text: "The containers auth.json used by podman, skopeo and buildah.",
    },
    OtherVariable {
        name: "XDG_RUNTIME_DIR",
        pages: Some(&["import", "import auth-json", "setup", "setup podman"]),
        text: "Without REGISTRY_AUTH_FILE, the containers auth.json is $XDG_RUNTIME_DIR/containers/auth.json, \
               else ~/.config/containers/auth.json.",
    },
    OtherVariable {
        name: "REGCRED_TIMEOUT",
        pages: None,
        text: "How many seconds to wait for another regcred holding the store's lock, or for the Secret Service \
               to answer (default 30). After a second regcred says on stderr what it waits for; when the time is \
               up it gives up with exit status 1.",
    },
    OtherVariable {
        name: crate::helper::SELECTION_VAR,
        pages: Some(&["exec"]),
        text: "Set by regcred exec --image for the commands it runs: the ids of the credentials the images resolve to, \
               the only ones docker-credential-regcred then answers with.",
    },
    OtherVariable {
        name: crate::complete::VAR,
        pages: Some(&["completions"]),
        text: "Set by the completion scripts when they ask regcred for completions; not for interactive use.",
    },
];

fn environment(roff: &mut Roff, cmd: &Command, path: &[&str]) {
    roff.control("SH", ["ENVIRONMENT"]);
    let mut seen = Vec::new();
    // The root page lists every variable an option of any command reads.
    let mut args: Vec<&Arg> = cmd.get_arguments().collect();
    if path.is_empty() {
        collect_args(cmd, &mut args);
    }
    for arg in args {
        let Some(var) = arg.get_env().map(|v| v.to_string_lossy().into_owned()) else { continue };
        if seen.contains(&var) {
            continue;
        }
        let option = arg.get_long().map(|l| format!(" (the default of --{l})")).unwrap_or_default();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        roff.control("TP", []);
        roff.text([bold(&var)]);
        roff.text([roman(format!("{help}{option}."))]);
        seen.push(var);
    }
    let page = path.join(" ");
    for var in &OTHER_VARIABLES {
        if path.is_empty() || var.pages.is_none_or(|pages| pages.contains(&page.as_str())) {
            roff.control("TP", []);
            roff.text([bold(var.name)]);
            roff.text([roman(var.text)]);
        }
    }
}

fn collect_args<'a>(cmd: &'a Command, args: &mut Vec<&'a Arg>) {
    for sub in cmd.get_subcommands() {
        args.extend(sub.get_arguments());
        collect_args(sub, args);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    let entries = [
        (
            "registries.toml",
            "The environments and the credentials' metadata, never a secret; mode 0600. It is in --config-dir, \
             else $REGCRED_CONFIG_DIR, else ~/.config/regcred (the directory is mode 0700). Writes are atomic \
             (a temporary file, fsync, rename); a file that does not parse is reported with its line and column \
             and never overwritten.",
        ),
        (
            "secrets.d/",
            "Beside registries.toml: the secrets of the file secret store, one plain-text file per credential \
             (ID.toml), mode 0600, in a 0700 directory. A secrets.toml of older versions is read until the first \
             change moves it there.",
        ),
        ("registries.lock", "Beside registries.toml: the advisory lock that serializes writes between processes."),
        (
            "OS keyring",
            "With the keyring secret store, one item per credential, labelled \"regcred: USER @ ADDRESS (env ENV)\", \
             with the attributes service=regcred, regcred_store, regcred_id, environment, address and username.",
        ),
    ];
    for (file, text) in entries {
        roff.control("TP", []);
        roff.text([italic(file)]);
        roff.text([roman(text)]);
    }
}

fn examples(roff: &mut Roff, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    roff.control("PP", []);
    roff.control("RS", ["4"]);
    roff.control("nf", []);
    let mut after_comment = false;
    for (i, line) in lines.iter().enumerate() {
        // --help aligns comments to the right of a list; a page puts each above its command,
        // set apart by blank lines.
        let split = line.split_once("  #");
        if i > 0 && (split.is_some() || after_comment) {
            roff.text([roman("")]);
        }
        match split {
            Some((command, comment)) => {
                roff.text([roman(format!("#{comment}"))]);
                roff.text([roman(command.trim_end())]);
            }
            None => {
                roff.text([roman(line)]);
            }
        }
        after_comment = split.is_some();
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

fn see_also(roff: &mut Roff, path: &[&str]) {
    roff.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<String> = Vec::new();
    if !path.is_empty() {
        refs.push("regcred(1)".into());
    }
    if path.len() > 1 {
        refs.push(format!("regcred-{}(1)", path[..path.len() - 1].join("-")));
    }
    refs.extend(["docker-credential-regcred(1)".into(), "docker-login(1)".into(), "podman-login(1)".into()]);
    roff.text([roman(refs.join(", "))]);
}

/// `docker-credential-regcred` takes no options; its page is built from the protocol's
/// actions.
fn helper_page() -> Asset {
    let action = Arg::new("action")
        .value_name("ACTION")
        .required(true)
        .value_parser(clap::builder::EnumValueParser::<crate::cli::Action>::new())
        .help("The protocol action; requests are read from stdin as docker sends them");
    let help =
        Arg::new("help").short('h').long("help").action(clap::ArgAction::SetTrue).help("Print the usage and exit");
    let mut cmd = Command::new("docker-credential-regcred")
        .about("the Docker credential helper backed by regcred")
        .disable_version_flag(true)
        .disable_help_flag(true)
        .arg(help)
        .arg(action);
    cmd.build();
    let man = Man::new(cmd);
    let mut page = Page::default();
    page.roff(&title("docker-credential-regcred"));
    page.clap(|w| man.render_name_section(w));

    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text([bold("docker-credential-regcred"), roman(" store|get|erase|list|version")]);
    roff.control("SH", ["DESCRIPTION"]);
    paragraphs(&mut roff, HELPER_DESCRIPTION);
    page.roff(&roff);
    page.clap(|w| man.render_options_section(w));

    let mut roff = Roff::new();
    exit_status(
        &mut roff,
        [
            (0, "Success."),
            (
                1,
                "The action failed; the reason is on stdout, as docker expects. For get, \
                 \"credentials not found in native keychain\" when there is no credential.",
            ),
            (2, "No action, or an unknown one (the usage is printed on stderr)."),
        ]
        .into_iter(),
    );
    roff.control("SH", ["ENVIRONMENT"]);
    for arg in Cli::command().get_arguments() {
        let Some(var) = arg.get_env() else { continue };
        roff.control("TP", []);
        roff.text([bold(var.to_string_lossy())]);
        roff.text([roman(arg.get_help().map(|h| h.to_string()).unwrap_or_default())]);
    }
    files(&mut roff);
    examples(
        &mut roff,
        &[
            "echo registry.example.com:5000 | docker-credential-regcred get".into(),
            "docker-credential-regcred list".into(),
            "REGCRED_ENV=ci docker pull registry.example.com:5000/team/app".into(),
        ],
    );
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("regcred(1), regcred-credential-helper(1), regcred-setup(1), docker-login(1), podman-login(1)")]);
    page.roff(&roff);
    Asset { path: Path::new(MAN_DIR).join("docker-credential-regcred.1"), bytes: page.finish() }
}

const HELPER_DESCRIPTION: &str = "\
docker-credential-regcred speaks the Docker credential-helper protocol that docker, podman, \
skopeo, buildah and kaniko use, over regcred's store: the credentials of the current \
environment, their secrets in the OS keyring or the secrets file. Point docker at it with \
\"credsStore\": \"regcred\" (or credHelpers for some registries) in ~/.docker/config.json; \
regcred setup docker does that.

store reads {\"ServerURL\", \"Username\", \"Secret\"} on stdin and adds the credential; \
a credential with the same address and username is added again (it keeps its id and name, \
takes the newest place in the order of addition and its added time becomes now). get reads a \
server URL on stdin and prints \
{\"ServerURL\", \"Username\", \"Secret\"} of the newest active credential for that registry; \
scoped credentials are never handed out, since docker does not say which repository it \
wants. erase (docker logout, podman logout) reads a server URL on stdin and deletes the \
credential get would have returned; any other active credential for that exact address, \
which would take over, is deactivated, not deleted (its secret is kept: regcred activate \
brings it back); inactive and scoped credentials are untouched. Afterwards get answers not \
found. With nothing to erase it succeeds. list prints {\"ServerURL\": \"Username\"} \
for the credentials in use, Docker Hub as https://index.docker.io/v1/. Server URLs are taken \
in every form docker sends them.

regcred credential-helper ACTION does the same from the main binary.";

/// A man page put together from clap_mangen's sections and our own, with roff's preamble
/// once at the top.
#[derive(Default)]
struct Page {
    text: String,
}

impl Page {
    fn clap(&mut self, render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) {
        let mut buf = Vec::new();
        // Rendering into a Vec cannot fail.
        let _ = render(&mut buf);
        self.push(String::from_utf8_lossy(&buf).into_owned());
    }

    fn roff(&mut self, roff: &Roff) {
        self.push(roff.render());
    }

    /// The page's bytes, plain ASCII: other characters become groff's `\[uXXXX]` escapes, so
    /// the page renders without preconv and in every locale.
    fn finish(self) -> Vec<u8> {
        let mut text = String::with_capacity(self.text.len());
        for c in self.text.chars() {
            if c.is_ascii() {
                text.push(c);
            } else {
                text.push_str(&format!("\\[u{:04X}]", u32::from(c)));
            }
        }
        text.into_bytes()
    }

    fn push(&mut self, text: String) {
        let preamble = Roff::new().render();
        if self.text.is_empty() {
            self.text = text;
        } else {
            self.text.push_str(text.strip_prefix(&preamble).unwrap_or(&text));
        }
    }
}

//! `regcred exec` (PRODUCT.md §8): runs COMMAND with private client configs — docker's
//! `config.json` and the containers `auth.json` in a 0700 temporary directory — that send
//! every credential lookup to `docker-credential-regcred`, passes signals on, and removes the
//! directory whatever happens to COMMAND. No secret is written: the helper answers from the
//! store (or the variables of `--secret-from-env`) when a client asks.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use regcred_core::{Reference, RegistryAddress};
use serde_json::{Map, Value, json};

use crate::cli::ExecArgs;
use crate::commands::import::docker_config_path;
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::store::io_failure;

/// The variable naming the credential ids `exec --image` selected; the helper answers only
/// with these (one per registry), scoped ones included.
pub const SELECTION_VAR: &str = "REGCRED_EXEC_SELECTION";

/// The name docker and containers/image turn into `docker-credential-regcred`.
const HELPER: &str = "regcred";

/// Exit statuses of a shell that cannot run a command.
const NOT_FOUND: u8 = 127;
const NOT_EXECUTABLE: u8 = 126;

pub fn run(args: ExecArgs, ctx: &Context) -> Result<u8, Failure> {
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(input_error!("no command to run").hint("put it after `--`: regcred exec -- docker pull IMAGE"));
    };
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let plan = plan(ctx, &args.images, &credentials)?;

    let user_config = docker_config_path();
    let config = client_config(user_config.as_deref())?;
    let dir = private_dir()?;
    write_configs(dir.path(), user_config.as_deref(), config, &plan.hosts)?;

    let mut command = Command::new(program);
    command
        .args(program_args)
        .env("DOCKER_CONFIG", dir.path())
        .env("REGISTRY_AUTH_FILE", dir.path().join("auth.json"))
        .env("REGCRED_ENV", &environment)
        .env("REGCRED_CONFIG_DIR", absolute(ctx.store.dir()))
        .env("REGCRED_SECRET_STORE", ctx.secret_store.as_str());
    match &plan.selection {
        Some(ids) => command.env(SELECTION_VAR, ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
        None => command.env_remove(SELECTION_VAR),
    };
    if let Some(path) = path_with_helper() {
        command.env("PATH", path);
    }
    let outcome = child::run(command);
    // Removed before regcred exits, whatever COMMAND did; a failure to remove is said.
    let path = dir.path().to_path_buf();
    if let Err(e) = dir.close() {
        ctx.out.warn(format!("cannot remove the temporary directory {}: {e}", path.display()));
    }
    match outcome {
        Ok(code) => Ok(code),
        Err(child::SpawnError::NotFound) => {
            crate::output::report(&Failure::operational(format!("{}: command not found", program.to_string_lossy())));
            Ok(NOT_FOUND)
        }
        Err(child::SpawnError::NotExecutable(e)) => {
            crate::output::report(&Failure::operational(format!("{}: cannot run it: {e}", program.to_string_lossy())));
            Ok(NOT_EXECUTABLE)
        }
        Err(child::SpawnError::Other(e)) => {
            Err(Failure::operational(format!("cannot run {}: {e}", program.to_string_lossy())))
        }
    }
}

/// Which registries the configs name, and which credentials the helper may answer with.
struct Plan {
    hosts: Vec<RegistryAddress>,
    /// `--image`: one credential id per registry.
    selection: Option<Vec<u64>>,
}

fn plan(ctx: &Context, images: &[String], credentials: &EnvCredentials<'_>) -> Result<Plan, Failure> {
    let mut hosts: Vec<RegistryAddress> = Vec::new();
    if images.is_empty() {
        for scope in &credentials.scopes {
            if !hosts.contains(scope.address()) {
                hosts.push(scope.address().clone());
            }
        }
        return Ok(Plan { hosts, selection: None });
    }
    let candidates = credentials.candidates();
    let mut chosen: Vec<(RegistryAddress, u64, &str)> = Vec::new();
    for image in images {
        let reference = Reference::parse(image).map_err(|e| input_error!("invalid image reference {image:?}: {e}"))?;
        let Some(id) = regcred_core::select_chosen(&candidates, &reference) else {
            ctx.out.warn(format!("no credential in use for {image}; it is pulled without one"));
            continue;
        };
        let host = reference.registry_address().clone();
        match chosen.iter().find(|(h, _, _)| *h == host) {
            Some((_, other, first)) if *other != id => ctx.out.warn(format!(
                "{image} resolves to credential {id} but {first} to credential {other}, on the same registry \
                 {host}; clients ask per registry, so credential {other} is used for both"
            )),
            Some(_) => {}
            None => chosen.push((host, id, image)),
        }
    }
    hosts.extend(chosen.iter().map(|(h, _, _)| h.clone()));
    Ok(Plan { hosts, selection: Some(chosen.iter().map(|(_, id, _)| *id).collect()) })
}

/// The user's docker config minus its credentials, sending every registry to regcred and
/// keeping the user's CLI plugins reachable.
fn client_config(user_config: Option<&Path>) -> Result<Map<String, Value>, Failure> {
    let mut config = match user_config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Map::new(),
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) | Err(_) => {
                    return Err(Failure::operational(format!(
                        "{} is not a JSON object; regcred exec keeps your docker settings and so must read it",
                        path.display()
                    ))
                    .hint("fix or move the file, or point DOCKER_CONFIG at another directory"));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(io_failure("cannot read", path, &e)),
        },
        None => Map::new(),
    };
    for key in ["auths", "credsStore", "credHelpers"] {
        config.remove(key);
    }
    config.insert("credsStore".into(), json!(HELPER));
    if let Some(plugins) = user_config.and_then(Path::parent).map(|dir| dir.join("cli-plugins")) {
        let plugins = Value::from(absolute(&plugins).to_string_lossy().into_owned());
        let dirs = config.entry("cliPluginsExtraDirs").or_insert_with(|| json!([]));
        match dirs {
            Value::Array(list) if !list.contains(&plugins) => list.push(plugins),
            Value::Array(_) => {}
            other => *other = json!([plugins]),
        }
    }
    Ok(config)
}

/// Writes `config.json` and `auth.json`, and links the rest of the user's docker dir
/// (contexts, buildx builders) so that docker finds them there.
fn write_configs(
    dir: &Path,
    user_config: Option<&Path>,
    config: Map<String, Value>,
    hosts: &[RegistryAddress],
) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&Value::Object(config)).unwrap_or_default();
    write_private(&dir.join("config.json"), text.as_bytes())?;
    let helpers: Map<String, Value> = hosts.iter().map(|h| (h.as_str().to_owned(), json!(HELPER))).collect();
    let auth = serde_json::to_string_pretty(&json!({ "auths": {}, "credHelpers": helpers })).unwrap_or_default();
    write_private(&dir.join("auth.json"), auth.as_bytes())?;
    #[cfg(unix)]
    if let Some(user_dir) = user_config.and_then(Path::parent)
        && let Ok(entries) = std::fs::read_dir(user_dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let skip = name.to_string_lossy().starts_with("config.json") || name == "cli-plugins";
            if !skip {
                // Best effort: a missing link costs a context or a builder, never a secret.
                let _ = std::os::unix::fs::symlink(entry.path(), dir.join(&name));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = user_config;
    Ok(())
}

/// Writes a new 0600 file in the private directory. Not synced: the directory lives only as
/// long as COMMAND, and an fsync would cost more than all the rest of `exec`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).and_then(|mut file| file.write_all(bytes)).map_err(|e| io_failure("cannot write", path, &e))
}

/// A new 0700 directory under the temporary directory, whatever the umask.
fn private_dir() -> Result<tempfile::TempDir, Failure> {
    let fail = |e: std::io::Error| Failure::operational(format!("cannot create a private temporary directory: {e}"));
    let mut builder = tempfile::Builder::new();
    builder.prefix("regcred-exec-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
        let dir = builder.tempdir().map_err(fail)?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        Ok(dir)
    }
    #[cfg(not(unix))]
    builder.tempdir().map_err(fail)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `$PATH` with regcred's own directory appended, when `docker-credential-regcred` is beside
/// regcred but not on `$PATH` (a binary run from its build directory); else `None`.
fn path_with_helper() -> Option<OsString> {
    let name = format!("docker-credential-regcred{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join(&name).is_file()) {
        return None;
    }
    let own_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    if !own_dir.join(&name).is_file() {
        return None;
    }
    std::env::join_paths(std::env::split_paths(&path).chain([own_dir])).ok()
}

/// Running COMMAND: its exit status, signals passed on.
mod child {
    use std::process::Command;

    pub enum SpawnError {
        NotFound,
        NotExecutable(std::io::Error),
        Other(std::io::Error),
    }

    fn spawn_error(e: std::io::Error) -> SpawnError {
        match e.kind() {
            std::io::ErrorKind::NotFound => SpawnError::NotFound,
            std::io::ErrorKind::PermissionDenied => SpawnError::NotExecutable(e),
            // ENOEXEC (a file that is no program) and EISDIR: what a shell answers 126 to.
            _ if matches!(e.raw_os_error(), Some(8 | 21)) => SpawnError::NotExecutable(e),
            _ => SpawnError::Other(e),
        }
    }

    /// Runs `command` to its end and returns its status as a shell does: the exit code, or
    /// 128 + the signal that killed it.
    ///
    /// SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to regcred by another process go on to
    /// COMMAND; one sent by the kernel (Ctrl-C at the terminal) reached COMMAND too, as the
    /// terminal signals its whole foreground process group, so it is not sent twice. regcred
    /// itself waits for COMMAND rather than die, so that it can clean up.
    #[cfg(unix)]
    pub fn run(mut command: Command) -> Result<u8, SpawnError> {
        use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};
        use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        use signal_hook::iterator::SignalsInfo;
        use signal_hook::iterator::exfiltrator::WithOrigin;
        use signal_hook::low_level::siginfo::Cause;

        // Registered before the spawn, so no signal in between kills regcred and leaves the
        // directory behind, and COMMAND's SIGCHLD cannot come before we listen for it.
        let mut signals =
            SignalsInfo::<WithOrigin>::new([SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT]).map_err(SpawnError::Other)?;
        let mut child = command.spawn().map_err(spawn_error)?;
        let pid = Pid::from_child(&child);
        // Whether COMMAND has exited, without reaping it: until it is reaped, `pid` is still
        // COMMAND's and a signal passed on cannot reach another process.
        let exited = || {
            let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
            !matches!(waitid(WaitId::Pid(pid), options), Ok(None) | Err(rustix::io::Errno::INTR))
        };
        if !exited() {
            'wait: for origin in signals.forever() {
                match origin.signal {
                    SIGCHLD => {
                        if exited() {
                            break 'wait;
                        }
                    }
                    _ if matches!(origin.cause, Cause::Kernel) => {}
                    signal => {
                        let signal = match signal {
                            SIGINT => Signal::INT,
                            SIGTERM => Signal::TERM,
                            SIGHUP => Signal::HUP,
                            _ => Signal::QUIT,
                        };
                        let _ = kill_process(pid, signal);
                    }
                }
            }
        }
        let status = child.wait().map_err(SpawnError::Other)?;
        Ok(shell_status(status))
    }

    #[cfg(not(unix))]
    pub fn run(mut command: Command) -> Result<u8, SpawnError> {
        let status = command.status().map_err(spawn_error)?;
        Ok(shell_status(status))
    }

    fn shell_status(status: std::process::ExitStatus) -> u8 {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(signal) = status.signal() {
                return 128u8.saturating_add(u8::try_from(signal).unwrap_or(127));
            }
        }
        status.code().map_or(1, |code| u8::try_from(code & 0xff).unwrap_or(1))
    }
}

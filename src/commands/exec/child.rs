//! Running `exec`'s COMMAND: its exit status as a shell gives it, signals passed on, and
//! regcred waiting for COMMAND rather than dying so that it can clean up.

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

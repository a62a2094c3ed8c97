//! Talking to the person at the terminal: the password (from a no-echo prompt, stdin or an
//! environment variable) and yes/no confirmations.

use std::io::{BufRead, IsTerminal, Read, Write};

use regcred_core::escape;
use zeroize::Zeroizing;

use crate::cli::PasswordArgs;
use crate::exit::{ExitCode, Failure, input_error};
use crate::secrets::Secret;
use crate::vault::SecretSource;

/// The longest password accepted, in bytes: the vault's bound for every secret.
pub use crate::vault::secrets::MAX_SECRET as MAX_PASSWORD;

/// Gets the password the way the user chose. `label` names what it is for
/// (`bob @ docker.io`). An empty password is refused.
pub fn password(args: &PasswordArgs, label: &str) -> Result<Secret, Failure> {
    let mut value = if args.password_stdin {
        read_stdin_line()?
    } else if let Some(var) = &args.password_env {
        match std::env::var(var) {
            Ok(value) => Zeroizing::new(value),
            Err(std::env::VarError::NotPresent) => {
                return Err(input_error!("environment variable {var} is not set")
                    .hint(format!("export {var} with the password, or use --password-stdin")));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(input_error!("environment variable {var} is not valid UTF-8"));
            }
        }
    } else if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("Password for {}: ", escape(label)))
            .map_err(|e| Failure::operational(format!("cannot read the password from the terminal: {e}")))?;
        Zeroizing::new(typed)
    } else {
        return Err(input_error!("no password given and stdin is not a terminal, so regcred cannot prompt")
            .hint("pipe it with --password-stdin, or name a variable with --password-env VAR"));
    };
    if value.is_empty() {
        return Err(input_error!("the password is empty").hint("give the registry password or access token"));
    }
    if value.len() > MAX_PASSWORD {
        return Err(too_long());
    }
    // Moving the String out keeps a single copy, wiped when the Secret drops.
    Ok(Secret::new(std::mem::take(&mut *value)))
}

/// The secret `--verify` tries before anything is stored: the one given, or, with
/// `--secret-from-env VAR`, VAR's value now (read as `--password-env VAR` would).
pub fn secret_to_verify(source: &SecretSource, label: &str) -> Result<Secret, Failure> {
    match source {
        SecretSource::Given(secret) => Ok(secret.clone()),
        SecretSource::Env(var) => {
            let args = PasswordArgs { password_stdin: false, password_env: Some(var.clone()), secret_from_env: None };
            password(&args, label)
        }
    }
}

/// The first line of stdin, without its line ending (what `docker login --password-stdin`
/// takes). Reads at most a little more than `MAX_PASSWORD`, whatever is piped in.
fn read_stdin_line() -> Result<Zeroizing<String>, Failure> {
    // Sized up front so the buffer is never reallocated (leaving an unwiped copy behind).
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PASSWORD + 3));
    std::io::stdin()
        .lock()
        .take(MAX_PASSWORD as u64 + 3)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| Failure::operational(format!("cannot read the password from stdin: {e}")))?;
    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_PASSWORD {
        return Err(too_long());
    }
    match std::str::from_utf8(line) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(input_error!("the password on stdin is not UTF-8 text")),
    }
}

fn too_long() -> Failure {
    input_error!("the password is longer than {MAX_PASSWORD} bytes")
        .hint("registry passwords and tokens are far shorter; check what --password-stdin or --password-env receives")
}

/// Asks a yes/no question on the terminal; `--yes` skips it. Without a terminal and without
/// `--yes` this fails with exit 4, as does any answer but yes.
pub fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(ExitCode::Confirmation, "confirmation required, and stdin is not a terminal")
            .hint("add --yes to confirm"));
    }
    let mut stderr = std::io::stderr();
    // The question names a credential: escaped like every message.
    let _ = write!(stderr, "{} [y/N] ", escape(question));
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::operational(format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Failure::new(ExitCode::Confirmation, "not confirmed; nothing was changed")),
    }
}

//! Talking to the person at the terminal: the password (from a no-echo prompt, stdin or an
//! environment variable) and yes/no confirmations.

use std::io::{BufRead, IsTerminal, Write};

use zeroize::Zeroizing;

use crate::cli::PasswordArgs;
use crate::exit::{ExitCode, Failure, input_error};
use crate::secrets::Secret;

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
        let typed = rpassword::prompt_password(format!("Password for {label}: "))
            .map_err(|e| Failure::operational(format!("cannot read the password from the terminal: {e}")))?;
        Zeroizing::new(typed)
    } else {
        return Err(input_error!("no password given and stdin is not a terminal, so regcred cannot prompt")
            .hint("pipe it with --password-stdin, or name a variable with --password-env VAR"));
    };
    if value.is_empty() {
        return Err(input_error!("the password is empty").hint("give the registry password or access token"));
    }
    // Moving the String out keeps a single copy, wiped when the Secret drops.
    Ok(Secret::new(std::mem::take(&mut *value)))
}

/// The first line of stdin, without its line ending (what `docker login --password-stdin`
/// takes).
fn read_stdin_line() -> Result<Zeroizing<String>, Failure> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::operational(format!("cannot read the password from stdin: {e}")))?;
    let trimmed = line.trim_end_matches('\n').trim_end_matches('\r').len();
    line.truncate(trimmed);
    Ok(line)
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
    let _ = write!(stderr, "{question} [y/N] ");
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

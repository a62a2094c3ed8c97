//! The `regcred` CLI as a library, so that `regcred` and `docker-credential-regcred` are two
//! thin binaries over the same code.

pub mod assets;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod context;
pub mod exit;
pub mod helper;
pub mod output;
pub mod prompt;
pub mod registry;
pub mod secrets;
pub mod store;

use clap::Parser;

/// Runs `regcred` with the process's arguments and returns its exit status.
pub fn main() -> std::process::ExitCode {
    complete::answer_if_asked();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(failure) => {
            output::report(&failure);
            std::process::ExitCode::from(failure.code as u8)
        }
    }
}

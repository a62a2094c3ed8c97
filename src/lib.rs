//! The `regcred` CLI as a library, so that `regcred` and `docker-credential-regcred` are two
//! thin binaries over the same code.

pub mod assets;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod complete;
pub(crate) mod context;
pub(crate) mod exit;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod helper;
pub(crate) mod kube;
pub(crate) mod prompt;
pub(crate) mod registry;
pub(crate) mod shell;
pub(crate) mod sudo;
pub(crate) mod table;
pub(crate) mod vault;

/// The vault's files under their old paths, for the code above the vault.
pub(crate) use vault::{secrets, store};

/// What the integration tests may use of the vault: reading a store and its secrets the
/// way regcred does, and playing a writer.
#[doc(hidden)]
pub use vault::testing;

use clap::Parser;

/// Runs `regcred` with the process's arguments and returns its exit status.
pub fn main() -> std::process::ExitCode {
    complete::answer_if_asked();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(failure) => {
            shell::report(&failure);
            std::process::ExitCode::from(failure.code as u8)
        }
    }
}

/// `implements_debug!(T)`: whether `T` implements `Debug`, decided at compile time (an
/// inherent constant wins over the blanket trait's). Tests use it to prove that the types
/// holding a secret cannot be printed with `{:?}`.
#[cfg(test)]
macro_rules! implements_debug {
    ($t:ty) => {{
        #[allow(dead_code)]
        trait NotDebug {
            const IS_DEBUG: bool = false;
        }
        impl<T: ?Sized> NotDebug for T {}
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + std::fmt::Debug> Probe<T> {
            const IS_DEBUG: bool = true;
        }
        <Probe<$t>>::IS_DEBUG
    }};
}
#[cfg(test)]
pub(crate) use implements_debug;

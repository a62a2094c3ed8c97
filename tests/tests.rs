//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod assets;
mod completion;
mod helper;
mod input;
mod keyring;
mod rules;
mod store;
mod terminal;

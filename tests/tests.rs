//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod helper;
mod input;
mod keyring;
mod reliability;
mod rules;
mod store;

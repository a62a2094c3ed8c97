//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod assets;
mod clients;
mod completion;
mod exchange;
mod helper;
mod input;
mod keyring;
mod kube;
mod nodes;
mod registry_server;
mod reliability;
mod rules;
mod store;
mod terminal;
mod tls;

//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod assets;
mod client_answers;
mod clients;
mod completion;
mod exchange;
mod helper;
mod input;
mod keyring;
mod kube;
mod logout;
mod nodes;
mod output;
mod podman;
mod registry_server;
mod reliability;
mod rules;
mod setup;
mod store;
mod terminal;
mod tls;
mod unlock;

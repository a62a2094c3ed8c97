//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod assets;
mod client_answers;
mod clients;
mod completion;
mod docker_oracle;
mod exchange;
mod helper;
mod input;
mod keyring;
mod logout;
mod lookups;
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

//! Integration tests: one test binary driving the real `regcred` executables.

mod util;

mod assets;
mod client_answers;
mod clients;
mod completion;
mod docker_oracle;
mod exchange;
mod exec;
mod helper;
mod input;
mod keyring;
mod kube;
mod logout;
mod lookups;
mod nodes;
mod output;
mod podman;
mod registry_server;
mod reliability;
mod rules;
mod secret_env;
mod setup;
mod store;
mod stores;
mod terminal;
mod tls;
mod unlock;

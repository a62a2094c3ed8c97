//! Real clients against a real registry: the `docker` CLI and `skopeo`, configured by
//! `regcred setup` to call `docker-credential-regcred`, against `docker-registry` with
//! htpasswd auth and a self-signed certificate on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::registry_server::{Registry, available, write_oci_layout};
use crate::util::{Run, TestEnv};

/// The directory holding both regcred binaries, to put first on PATH.
fn bin_dir() -> PathBuf {
    crate::util::regcred_bin().parent().expect("bin dir").to_path_buf()
}

struct Clients<'a> {
    t: &'a TestEnv,
    docker_config: PathBuf,
    auth_json: PathBuf,
}

impl<'a> Clients<'a> {
    /// docker and containers configs in the test's temp dir, set up by `regcred setup`.
    fn new(t: &'a TestEnv, registry: &Registry) -> Clients<'a> {
        let docker_config = t.root().join("docker");
        let auth_json = t.root().join("auth.json");
        let config_file = docker_config.join("config.json");
        t.run(&["setup", "docker", "--config", config_file.to_str().unwrap(), "--registry", &registry.address()]).ok();
        t.run(&["setup", "podman", "--config", auth_json.to_str().unwrap(), "--registry", &registry.address()]).ok();
        Clients { t, docker_config, auth_json }
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = self.t.command(Path::new(program), args);
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path).env("DOCKER_CONFIG", &self.docker_config).env("REGISTRY_AUTH_FILE", &self.auth_json);
        cmd
    }

    fn run(&self, program: &str, args: &[&str], stdin: &str) -> Run {
        crate::util::run_with_input(&mut self.command(program, args), stdin.as_bytes())
    }

    fn docker_login(&self, registry: &Registry, password: &str) -> Run {
        self.run(
            "docker",
            &["login", &registry.address(), "-u", &registry.username, "--password-stdin"],
            &format!("{password}\n"),
        )
    }

    /// Pushes a tiny image with skopeo (credentials from regcred through auth.json).
    fn push(&self, registry: &Registry, repository: &str) -> Run {
        let layout = write_oci_layout(self.t.root());
        let source = format!("oci:{}:latest", layout.display());
        let dest = format!("docker://{}/{repository}", registry.address());
        self.run("skopeo", &["copy", "--dest-tls-verify=false", &source, &dest], "")
    }

    fn skopeo_inspect(&self, registry: &Registry, repository: &str) -> Run {
        self.run(
            "skopeo",
            &["inspect", "--tls-verify=false", &format!("docker://{}/{repository}", registry.address())],
            "",
        )
    }

    fn docker_inspect(&self, registry: &Registry, repository: &str) -> Run {
        self.run("docker", &["manifest", "inspect", "--insecure", &format!("{}/{repository}", registry.address())], "")
    }
}

fn tools(test: &str) -> bool {
    available(test, &["docker", "skopeo"])
}

fn docker_login_and_pulls_go_through_regcred(t: &TestEnv, registry: &Registry) {
    let clients = Clients::new(t, registry);
    let run = clients.docker_login(registry, "wrong-password");
    assert_ne!(run.code, 0, "the registry refuses a wrong password: {run:?}");
    assert!(t.list().is_empty(), "a refused login stores nothing");

    clients.docker_login(registry, &registry.password).ok().stdout_has("Login Succeeded");
    let list = t.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["address"], registry.address());
    assert_eq!(list[0]["username"], registry.username);
    let docker_config = std::fs::read_to_string(clients.docker_config.join("config.json")).unwrap();
    assert!(!docker_config.contains(&registry.password), "docker keeps no secret of its own:\n{docker_config}");

    clients.push(registry, "team/app:1").ok();
    clients.skopeo_inspect(registry, "team/app:1").ok().stdout_has("team/app");
    clients.docker_inspect(registry, "team/app:1").ok().stdout_has("schemaVersion");

    // Deactivated in regcred: the clients get no credential and the registry says no.
    let id = list[0]["id"].as_u64().unwrap().to_string();
    t.run(&["deactivate", &id]).ok();
    assert_ne!(clients.docker_inspect(registry, "team/app:1").code, 0);
    assert_ne!(clients.skopeo_inspect(registry, "team/app:1").code, 0);
    t.run(&["activate", &id]).ok();
    clients.docker_inspect(registry, "team/app:1").ok();

    // A newer, wrong credential for the same registry wins, and so fails, until deleted.
    let wrong = t.add(&registry.address(), "someone-else", "bad-password");
    assert_ne!(clients.skopeo_inspect(registry, "team/app:1").code, 0);
    assert_ne!(clients.docker_inspect(registry, "team/app:1").code, 0);
    t.run(&["delete", &wrong.to_string(), "--yes"]).ok();
    clients.skopeo_inspect(registry, "team/app:1").ok();

    clients.run("docker", &["logout", &registry.address()], "").ok();
    assert!(t.list().iter().all(|c| c["address"] != registry.address()), "logout erased the credentials");
    assert_ne!(clients.docker_inspect(registry, "team/app:1").code, 0);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn docker_and_skopeo_use_regcred_with_the_file_store() {
    if !tools("docker_and_skopeo_use_regcred_with_the_file_store") {
        return;
    }
    let Some(registry) = Registry::start("docker_and_skopeo_use_regcred_with_the_file_store") else { return };
    docker_login_and_pulls_go_through_regcred(&TestEnv::new(), &registry);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn docker_and_skopeo_use_regcred_with_the_keyring() {
    let test = "docker_and_skopeo_use_regcred_with_the_keyring";
    let Some(t) = TestEnv::keyring(test) else { return };
    if !tools(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else { return };
    docker_login_and_pulls_go_through_regcred(&t, &registry);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn exported_configs_work_for_docker_and_skopeo() {
    let test = "exported_configs_work_for_docker_and_skopeo";
    if !tools(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    t.add(&registry.address(), &registry.username, &registry.password);
    let clients = Clients::new(&t, &registry);
    clients.push(&registry, "exported/app:1").ok();

    // Plain files, no helper: what a CI job or another machine would get.
    let plain_docker = t.root().join("exported-docker");
    std::fs::create_dir_all(&plain_docker).unwrap();
    let docker_file = plain_docker.join("config.json");
    t.run(&["export", "docker-config", "--output-file", docker_file.to_str().unwrap()]).ok();
    let auth_file = t.root().join("exported-auth.json");
    t.run(&["export", "auth-json", "--output-file", auth_file.to_str().unwrap()]).ok();
    let mut docker = clients
        .command("docker", &["manifest", "inspect", "--insecure", &format!("{}/exported/app:1", registry.address())]);
    docker.env("DOCKER_CONFIG", &plain_docker).env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = docker.output().unwrap();
    assert!(out.status.success(), "docker with the exported config.json: {}", String::from_utf8_lossy(&out.stderr));
    let mut skopeo = clients.command(
        "skopeo",
        &["inspect", "--tls-verify=false", &format!("docker://{}/exported/app:1", registry.address())],
    );
    skopeo.env("REGISTRY_AUTH_FILE", &auth_file).env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = skopeo.output().unwrap();
    assert!(out.status.success(), "skopeo with the exported auth.json: {}", String::from_utf8_lossy(&out.stderr));

    // And back: a config.json written by `docker login` without a helper imports cleanly.
    let other = TestEnv::new();
    let imported = other.run(&["import", "docker-config", docker_file.to_str().unwrap(), "-o", "plain"]).ok();
    assert!(imported.stdout.starts_with("imported"), "{}", imported.stdout);
    let shown =
        other.run(&["resolve", &format!("{}/exported/app", registry.address()), "--show-secret", "-o", "json"]).ok();
    assert_eq!(shown.json_lines()[0]["credential"]["password"], registry.password);
}

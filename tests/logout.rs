//! `docker login` and `docker logout` through regcred with the real docker CLI against the
//! loopback registry: a logout deletes only the credential in use and keeps (deactivated)
//! the ones that would take over; a repeated login is a re-addition.

use std::path::PathBuf;
use std::process::Command;

use crate::registry_server::{Registry, available, free_port};
use crate::util::{Run, TestEnv, bin_dir};

/// docker with its own config dir, set up by `regcred setup docker`, and proxies at a closed
/// loopback port so nothing it might try leaves the machine.
struct Docker<'a> {
    t: &'a TestEnv,
    config: PathBuf,
    proxy: String,
}

impl<'a> Docker<'a> {
    fn new(t: &'a TestEnv, setup: &[&str]) -> Docker<'a> {
        let config = t.root().join("docker");
        let file = config.join("config.json");
        let mut args = vec!["setup", "docker", "--config", file.to_str().unwrap()];
        args.extend_from_slice(setup);
        t.run(&args).ok();
        Docker { t, config, proxy: format!("http://127.0.0.1:{}", free_port()) }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.t.command(std::path::Path::new("docker"), args);
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path).env("DOCKER_CONFIG", &self.config);
        for key in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
            cmd.env(key, &self.proxy);
        }
        // The loopback registry itself is reached directly.
        cmd.env("NO_PROXY", "127.0.0.1").env("no_proxy", "127.0.0.1");
        cmd
    }

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        crate::util::run_with_input(&mut self.command(args), stdin.as_bytes())
    }

    fn login(&self, registry: &Registry) -> Run {
        self.run(
            &["login", &registry.address(), "-u", &registry.username, "--password-stdin"],
            &format!("{}\n", registry.password),
        )
    }
}

fn by_username<'a>(list: &'a [serde_json::Value], username: &str) -> Option<&'a serde_json::Value> {
    list.iter().find(|c| c["username"] == username)
}

fn helper_get(t: &TestEnv, server: &str) -> Run {
    t.run_bin(&bin_dir().join("docker-credential-regcred"), &["get"], &format!("{server}\n"))
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn docker_logout_deletes_the_credential_in_use_and_keeps_the_others() {
    let test = "docker_logout_deletes_the_credential_in_use_and_keeps_the_others";
    if !available(test, &["docker"]) {
        return;
    }
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let docker = Docker::new(&t, &["--registry", &address]);
    // alice (will be overridden), mallory (deactivated), then bob logs in with docker: the
    // registry's own user, so the login is real.
    let alice = t.add(&address, "alice", "alice-pw");
    let mallory = t.add(&address, "mallory", "mallory-pw");
    t.run(&["deactivate", &mallory.to_string()]).ok();
    docker.login(&registry).ok().stdout_has("Login Succeeded");
    let bob = by_username(&t.list(), &registry.username).expect("docker login stored bob")["id"].as_u64().unwrap();
    assert_eq!(
        (t.status(bob), t.status(alice), t.status(mallory)),
        ("active".into(), "overridden".into(), "inactive".into())
    );

    docker.run(&["logout", &address], "").ok();
    let list = t.list();
    assert!(by_username(&list, &registry.username).is_none(), "bob, the one in use, is deleted: {list:?}");
    assert_eq!(t.status(alice), "inactive", "alice would have taken over: deactivated, not deleted");
    assert_eq!(t.status(mallory), "inactive", "mallory is untouched");
    helper_get(&t, &address).code(1).stdout_has("credentials not found in native keychain");
    // Nothing of bob's secret is left behind, and the kept ones still have theirs.
    let secrets = t.secrets_text();
    assert!(!secrets.contains(&registry.password), "bob's secret is gone:\n{secrets}");
    t.run(&["activate", &alice.to_string()]).ok();
    let shown = t.run(&["resolve", &format!("{address}/team/app"), "--show-secret", "-o", "json"]).ok();
    assert_eq!(shown.json_lines()[0]["credential"]["password"], "alice-pw");
    t.run(&["deactivate", &alice.to_string()]).ok();

    // Logging out again, with nothing in use: docker gets a success, not a warning.
    let again = docker.run(&["logout", &address], "").ok();
    assert!(!again.stderr.contains("could not erase"), "{again:?}");
    assert_eq!(t.list().len(), 2, "a logout with nothing in use changes nothing");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn bare_docker_logout_keeps_named_and_inactive_docker_hub_credentials() {
    let test = "bare_docker_logout_keeps_named_and_inactive_docker_hub_credentials";
    if !available(test, &["docker"]) {
        return;
    }
    let t = TestEnv::new();
    let docker = Docker::new(&t, &[]);
    let carol = t.add_with(&["docker.io", "-u", "carol", "--name", "hub-carol"], "carol-pw");
    let frank = t.add("docker.io", "frank", "frank-pw");
    t.run(&["deactivate", &frank.to_string()]).ok();
    let erin = t.add("docker.io", "erin", "erin-pw");
    let elsewhere = t.add("quay.io", "erin", "quay-pw");

    // No registry argument: docker logs out of Docker Hub, asking the helper to erase
    // https://index.docker.io/v1/.
    let run = docker.run(&["logout"], "").ok();
    assert!(!run.stderr.contains("could not erase"), "{run:?}");
    let list = t.list();
    assert!(list.iter().all(|c| c["id"] != erin), "erin, the one in use, is deleted: {list:?}");
    assert_eq!(t.status(carol), "inactive");
    assert_eq!(list.iter().find(|c| c["id"] == carol).unwrap()["name"], "hub-carol");
    assert_eq!(t.status(frank), "inactive");
    assert_eq!(t.status(elsewhere), "active", "another registry is not touched");
    helper_get(&t, "https://index.docker.io/v1/").code(1);
    docker.run(&["logout"], "").ok();
    assert_eq!(t.list().len(), 3);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_second_docker_login_is_a_re_addition() {
    let test = "a_second_docker_login_is_a_re_addition";
    if !available(test, &["docker"]) {
        return;
    }
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let docker = Docker::new(&t, &["--registry", &address]);
    docker.login(&registry).ok();
    let first = by_username(&t.list(), &registry.username).unwrap().clone();
    let bob = first["id"].as_u64().unwrap();
    // The store keeps whole seconds: wait so "added" can move.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let alice = t.add(&address, "alice", "alice-pw");
    assert_eq!(t.status(bob), "overridden");
    std::thread::sleep(std::time::Duration::from_millis(1100));

    docker.login(&registry).ok();
    let list = t.list();
    let again = by_username(&list, &registry.username).unwrap();
    let alice_json = list.iter().find(|c| c["id"] == alice).unwrap();
    assert_eq!(again["id"], bob, "the same credential, added again");
    assert_eq!(t.status(bob), "active");
    assert_eq!(t.status(alice), "overridden");
    let added = |c: &serde_json::Value| c["added"].as_str().unwrap().to_owned();
    assert!(added(again) > added(alice_json), "list says bob was added after alice: {list:?}");
    assert!(added(again) > added(&first), "the re-login moved bob's added time");
    let explained =
        t.run(&["resolve", &format!("{address}/app"), "--explain", "-o", "json"]).ok().json_lines()[0].clone();
    assert_eq!(explained["credential"]["id"], bob);
    assert_eq!(explained["credential"]["added"], again["added"]);
    let text = t.run(&["resolve", &format!("{address}/app"), "--explain", "-o", "plain"]).ok();
    assert!(text.stdout.contains("added later"), "{}", text.stdout);
}

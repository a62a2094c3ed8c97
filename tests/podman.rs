//! podman and buildah (Debian's) through `regcred setup podman` against the loopback
//! registry: `podman login`, `--get-login`, `podman pull`, `buildah push`, `podman logout`
//! and `logout --all`, all answered by docker-credential-regcred.
//!
//! Each run has its own storage (vfs driver, temporary `--root`/`--runroot`), its own
//! containers.conf, registries.conf and storage.conf (through `CONTAINERS_CONF`,
//! `CONTAINERS_REGISTRIES_CONF`, `CONTAINERS_STORAGE_CONF`) and its own `XDG_RUNTIME_DIR`,
//! so nothing of the machine's podman is read or changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::registry_server::{Registry, available};
use crate::util::{Run, TestEnv, bin_dir};

struct Podman<'a> {
    t: &'a TestEnv,
    root: PathBuf,
    runroot: PathBuf,
    runtime_dir: PathBuf,
    dir: PathBuf,
}

impl<'a> Podman<'a> {
    fn new(t: &'a TestEnv) -> Podman<'a> {
        let dir = t.root().join("podman");
        let (root, runroot, runtime_dir) = (dir.join("root"), dir.join("runroot"), dir.join("xdg-runtime"));
        for d in [&root, &runroot, &runtime_dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::set_permissions(&runtime_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        std::fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
                runroot.display(),
                root.display()
            ),
        )
        .unwrap();
        // No search registries: every name in the test is fully qualified, and nothing is
        // looked up anywhere else.
        std::fs::write(dir.join("registries.conf"), "unqualified-search-registries = []\n").unwrap();
        // cgroupfs and no event log: no systemd or journald needed in a container or CI.
        std::fs::write(
            dir.join("containers.conf"),
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n",
        )
        .unwrap();
        Podman { t, root, runroot, runtime_dir, dir }
    }

    /// The auth file podman uses here: `$XDG_RUNTIME_DIR/containers/auth.json`.
    fn auth_file(&self) -> PathBuf {
        self.runtime_dir.join("containers").join("auth.json")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = self.t.command(Path::new(program), &[]);
        cmd.args(["--root", self.root.to_str().unwrap(), "--runroot", self.runroot.to_str().unwrap()])
            .args(["--storage-driver", "vfs"])
            .args(args);
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", self.dir.join("registries.conf"))
            .env("REGISTRIES_CONFIG_PATH", self.dir.join("registries.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .env_remove("XDG_CONFIG_HOME");
        cmd
    }

    fn run(&self, program: &str, args: &[&str], stdin: &str) -> Run {
        crate::util::run_with_input(&mut self.command(program, args), stdin.as_bytes())
    }

    fn podman(&self, args: &[&str]) -> Run {
        self.run("podman", args, "")
    }

    fn buildah(&self, args: &[&str]) -> Run {
        self.run("buildah", args, "")
    }

    /// `regcred setup podman` as podman's user would run it: same XDG_RUNTIME_DIR, no
    /// `--config`, so regcred must find the file podman uses.
    fn setup(&self, args: &[&str]) -> Run {
        let mut cmd = self.t.command(&crate::util::regcred_bin(), &["setup", "podman"]);
        cmd.args(args).env("XDG_RUNTIME_DIR", &self.runtime_dir).env_remove("REGISTRY_AUTH_FILE");
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn podman_and_buildah_log_in_pull_push_and_log_out_through_regcred() {
    let test = "podman_and_buildah_log_in_pull_push_and_log_out_through_regcred";
    if !available(test, &["podman", "buildah"]) {
        return;
    }
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let p = Podman::new(&t);
    let address = registry.address();
    let image = format!("{address}/team/app:1");

    // setup writes the file podman reads, and says so.
    p.setup(&["--registry", &address]).ok().stderr_has(&format!("podman's auth file is {}", p.auth_file().display()));

    let wrong = p.run(
        "podman",
        &["login", "--tls-verify=false", "-u", &registry.username, "--password-stdin", &address],
        "nope\n",
    );
    assert_ne!(wrong.code, 0, "the registry refuses a wrong password: {wrong:?}");
    assert!(t.list().is_empty(), "a refused login stores nothing");
    let login = p.run(
        "podman",
        &["login", "--tls-verify=false", "-u", &registry.username, "--password-stdin", &address],
        &format!("{}\n", registry.password),
    );
    let login = login.ok();
    assert!(login.stdout.contains("Login Succeeded"), "{login:?}");
    let list = t.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["username"], registry.username);
    let auth = std::fs::read_to_string(p.auth_file()).unwrap();
    assert!(!auth.contains(&registry.password), "podman wrote no secret of its own:\n{auth}");
    let got = p.podman(&["login", "--get-login", &address]).ok();
    assert_eq!(got.stdout.trim(), registry.username);

    // buildah makes an image and pushes it; podman pulls it back: both ask regcred.
    let container = p.buildah(&["from", "scratch"]).ok().stdout.trim().to_owned();
    p.buildah(&["commit", &container, &image]).ok();
    p.buildah(&["push", "--tls-verify=false", &image]).ok();
    p.podman(&["rmi", "--force", &image]).ok();
    p.podman(&["pull", "--tls-verify=false", &image]).ok();

    // podman asks per registry only: a scoped credential (wrong, here) is not what it gets,
    // as `resolve --client docker` says, while the full rule would choose it.
    let scoped = t.add(&format!("{address}/team"), "scoped-user", "wrong-pw");
    let answer = |client: &str| {
        t.run(&["resolve", &image, "--client", client, "-o", "json"]).ok().json_lines()[0]["credential"]["username"]
            .clone()
    };
    assert_eq!(answer("docker"), registry.username.as_str());
    assert_eq!(answer("containers"), "scoped-user");
    p.podman(&["rmi", "--force", &image]).ok();
    p.podman(&["pull", "--tls-verify=false", &image]).ok();
    t.run(&["delete", &scoped.to_string(), "--yes"]).ok();

    // Deactivated in regcred: podman gets nothing and the registry says no.
    let id = list[0]["id"].as_u64().unwrap().to_string();
    t.run(&["deactivate", &id]).ok();
    p.podman(&["rmi", "--force", &image]).ok();
    assert_ne!(p.podman(&["pull", "--tls-verify=false", &image]).code, 0);
    assert_ne!(p.podman(&["login", "--get-login", &address]).code, 0);
    t.run(&["activate", &id]).ok();

    // Logout: the credential in use goes, and a second logout with nothing there succeeds
    // (podman treats a failed erase as fatal).
    p.podman(&["logout", &address]).ok();
    assert!(t.list().is_empty(), "{:?}", t.list());
    assert_ne!(p.podman(&["pull", "--tls-verify=false", &image]).code, 0);
    let again = p.podman(&["logout", &address]);
    assert_eq!(again.code, 0, "podman logout with nothing stored: {}", head(&again.stderr));

    // logout --all reaches every registry the file sends to regcred.
    p.run(
        "podman",
        &["login", "--tls-verify=false", "-u", &registry.username, "--password-stdin", &address],
        &format!("{}\n", registry.password),
    )
    .ok();
    t.add("quay.io", "robot", "quay-pw");
    p.setup(&[]).ok();
    assert_eq!(t.list().len(), 2);
    let all = p.podman(&["logout", "--all"]);
    assert_eq!(all.code, 0, "podman logout --all: {}", head(&all.stderr));
    assert!(t.list().is_empty(), "logout --all erased every registry in the file: {:?}", t.list());
}

/// The start of a Go crash dump, enough to say what it was.
fn head(text: &str) -> &str {
    &text[..text.char_indices().nth(400).map_or(text.len(), |(i, _)| i)]
}

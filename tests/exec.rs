//! `regcred exec`: the private configs it writes, what it passes down, exit statuses, signals,
//! the temporary directory gone in every case, `--image`, and real docker and skopeo against
//! the real registry with no login and no auth file of the user's touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry_server::{Registry, available, write_oci_layout};
use crate::util::{Run, TestEnv, bin_dir};

/// Runs `regcred exec ARGS` with `regcred` and the helper on PATH.
fn exec(t: &TestEnv, args: &[&str]) -> Run {
    let mut all = vec!["exec"];
    all.extend(args);
    let output = exec_command(t, &all).stdin(Stdio::null()).output().expect("run regcred exec");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn exec_command(t: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = t.command(&crate::util::regcred_bin(), args);
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path).env_remove("DOCKER_CONFIG").env_remove("REGISTRY_AUTH_FILE");
    cmd
}

/// A user docker config with credentials and other settings, in the test's HOME.
fn user_docker_config(t: &TestEnv) -> PathBuf {
    let dir = t.root().join(".docker");
    std::fs::create_dir_all(dir.join("contexts")).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"auths":{"old.example.com":{"auth":"dXNlcjpvbGQtc2VjcmV0"}},"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"},"detachKeys":"ctrl-x","cliPluginsExtraDirs":["/opt/plugins"]}"#,
    )
    .unwrap();
    config
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn exec_writes_private_configs_without_secrets_and_passes_the_store_down() {
    let t = TestEnv::new();
    t.run(&["env", "create", "ci"]).ok();
    t.add("registry.example.com:5000", "bob", "pw-of-bob-1234");
    t.add("quay.io/myorg", "robot", "pw-of-robot-5678");
    t.add_with(&["-e", "ci", "ghcr.io", "-u", "other"], "pw-elsewhere-9");
    let user_config = user_docker_config(&t);
    let before = std::fs::read(&user_config).unwrap();
    let out = t.root().join("seen");
    let script = format!(
        "d=\"$DOCKER_CONFIG\"; {{ stat -c %a \"$d\"; cat \"$d/config.json\"; echo; cat \"$REGISTRY_AUTH_FILE\"; echo; \
         echo \"ENV=$REGCRED_ENV CONFIG=$REGCRED_CONFIG_DIR AUTH=$REGISTRY_AUTH_FILE D=$d\"; ls \"$d\"; \
         grep -r -l -e pw-of -e old-secret \"$d\" ; echo grep=$?; }} > {}",
        out.display()
    );
    exec(&t, &["--", "sh", "-c", &script]).ok();
    let seen = std::fs::read_to_string(&out).unwrap();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("700"), "{seen}");
    let json_end = seen.find("\n}").unwrap() + 2;
    let config: serde_json::Value = serde_json::from_str(&seen[4..json_end]).unwrap();
    assert_eq!(config["credsStore"], "regcred");
    assert_eq!(config["detachKeys"], "ctrl-x", "other settings are kept");
    assert!(config.get("auths").is_none() && config.get("credHelpers").is_none(), "{config}");
    let plugins = t.root().join(".docker/cli-plugins").display().to_string();
    assert_eq!(config["cliPluginsExtraDirs"], serde_json::json!(["/opt/plugins", plugins]));
    let rest = &seen[json_end..];
    let auth_end = rest.find("\n}").unwrap() + 2;
    let auth: serde_json::Value = serde_json::from_str(&rest[..auth_end]).unwrap();
    assert_eq!(
        auth["credHelpers"],
        serde_json::json!({"registry.example.com:5000": "regcred", "quay.io": "regcred"}),
        "every registry of the environment, none of another"
    );
    assert!(seen.contains(&format!("ENV=default CONFIG={}", t.config_dir().display())), "{seen}");
    assert!(seen.contains("contexts"), "the user's contexts are reachable: {seen}");
    assert!(seen.contains("grep=1"), "no secret in the directory: {seen}");
    let dir = seen.lines().find_map(|l| l.split(" D=").nth(1)).unwrap().to_owned();
    assert!(!Path::new(&dir).exists(), "{dir} is removed");
    assert_eq!(std::fs::read(&user_config).unwrap(), before, "the user's config is untouched");

    // The environment given to exec is the one the helper answers from.
    let run = exec(&t, &["--", "sh", "-c", "echo registry.example.com:5000 | docker-credential-regcred get"]).ok();
    assert!(run.stdout.contains("pw-of-bob-1234"), "{run:?}");
    let run = exec(&t, &["--", "sh", "-c", "echo ghcr.io | docker-credential-regcred get"]).code(1);
    assert!(run.stdout.contains("credentials not found"), "{run:?}");
    let mut ci =
        exec_command(&t, &["-e", "ci", "exec", "--", "sh", "-c", "echo ghcr.io | docker-credential-regcred get"]);
    let output = ci.output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("pw-elsewhere-9"));
}

#[test]
fn exec_passes_the_exit_status_through_like_a_shell() {
    let t = TestEnv::new();
    exec(&t, &["--", "true"]).ok();
    exec(&t, &["--", "sh", "-c", "exit 7"]).code(7);
    exec(&t, &["--", "sh", "-c", "kill -9 $$"]).code(137);
    let run = exec(&t, &["--", "no-such-command-regcred"]).code(127);
    assert!(run.stderr.contains("error: no-such-command-regcred: command not found"), "{run:?}");
    let file = t.root().join("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let run = exec(&t, &["--", file.to_str().unwrap()]).code(126);
    assert!(run.stderr.contains("cannot run it"), "{run:?}");
    exec(&t, &["--", "/"]).code(126);
    // No command at all is a usage error.
    exec(&t, &[]).code(2);
    exec(&t, &["--"]).code(2);
    // stdout and arguments go through untouched.
    let run = exec(&t, &["--", "printf", "%s|", "a b", "--flag", ""]).ok();
    assert_eq!(run.stdout, "a b|--flag||");
}

/// Starts `regcred exec -- sh -c SCRIPT` that reports its directory in `seen` and sleeps.
fn start_sleeper(t: &TestEnv, seen: &Path, trap: &str) -> (std::process::Child, PathBuf) {
    let script = format!("{trap} echo \"$DOCKER_CONFIG\" > {}; sleep 30 & wait $!", seen.display());
    let child = exec_command(t, &["exec", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the command to start", || std::fs::read_to_string(seen).is_ok_and(|s| s.ends_with('\n')));
    let dir = PathBuf::from(std::fs::read_to_string(seen).unwrap().trim());
    assert!(dir.is_dir());
    (child, dir)
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args(["-s", name, &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn exec_passes_signals_on_and_removes_its_directory_in_every_case() {
    let t = TestEnv::new();
    // SIGTERM to regcred goes on to COMMAND; regcred waits, cleans up, and exits as COMMAND.
    let seen = t.root().join("seen-term");
    let (mut child, dir) = start_sleeper(&t, &seen, "trap 'kill $! 2>/dev/null; exit 42' TERM;");
    signal(child.id(), "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));
    assert!(!dir.exists(), "{} left behind after SIGTERM", dir.display());

    // SIGINT from another process likewise (a terminal's Ctrl-C reaches COMMAND by itself).
    let seen = t.root().join("seen-int");
    let (mut child, dir) = start_sleeper(&t, &seen, "trap 'kill $! 2>/dev/null; exit 43' INT;");
    signal(child.id(), "INT");
    assert_eq!(child.wait().unwrap().code(), Some(43));
    assert!(!dir.exists());

    // COMMAND killed outright: regcred reports 128 + 9 and still cleans up.
    let seen = t.root().join("seen-kill");
    let (mut child, dir) = start_sleeper(&t, &seen, "");
    let shell = Command::new("pgrep").args(["-P", &child.id().to_string()]).output().unwrap();
    let shell_pid: u32 = String::from_utf8_lossy(&shell.stdout).trim().parse().expect("COMMAND's pid");
    signal(shell_pid, "KILL");
    assert_eq!(child.wait().unwrap().code(), Some(137));
    assert!(!dir.exists(), "{} left behind after COMMAND was killed", dir.display());
}

#[test]
fn exec_image_limits_the_helper_to_what_the_images_resolve_to() {
    let t = TestEnv::new();
    t.add("quay.io", "whole", "pw-whole");
    t.add("quay.io/team", "scoped", "pw-scoped");
    t.add("ghcr.io", "gh", "pw-gh");
    let get = "for r in quay.io ghcr.io; do echo $r | docker-credential-regcred get; echo; done";
    // Without --image, docker gets the whole-registry credential, never a scoped one.
    let run = exec(&t, &["--", "sh", "-c", get]).ok();
    assert!(run.stdout.contains("pw-whole") && run.stdout.contains("pw-gh"), "{run:?}");
    // An image that resolves to the scoped credential makes it the one docker gets; ghcr.io,
    // which no image needs, gets nothing.
    let run = exec(&t, &["--image", "quay.io/team/app:1", "--", "sh", "-c", get]).ok();
    assert!(run.stdout.contains("\"Username\":\"scoped\""), "{run:?}");
    assert!(!run.stdout.contains("pw-whole") && !run.stdout.contains("pw-gh"), "{run:?}");
    let run = exec(&t, &["--image", "quay.io/other/app", "--", "sh", "-c", "cat \"$REGISTRY_AUTH_FILE\""]).ok();
    assert!(run.stdout.contains("quay.io") && !run.stdout.contains("ghcr.io"), "{run:?}");
    // A bad image is refused before anything runs.
    let run = exec(&t, &["--image", "Not A Ref", "--", "sh", "-c", "echo ran"]).code(2);
    assert!(!run.stdout.contains("ran"));
    // An image with no credential is said, and the command runs all the same.
    let run = exec(&t, &["--image", "docker.io/library/alpine", "--", "true"]).ok();
    assert!(run.stderr.contains("no credential in use for docker.io/library/alpine"), "{run:?}");
}

fn skopeo_and_docker(test: &str) -> bool {
    available(test, &["docker", "skopeo"])
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn exec_serves_docker_and_skopeo_against_a_real_registry() {
    let Some(registry) = Registry::start("exec_serves_docker_and_skopeo_against_a_real_registry") else { return };
    if !skopeo_and_docker("exec_serves_docker_and_skopeo_against_a_real_registry") {
        return;
    }
    let t = TestEnv::new();
    t.add(&registry.address(), &registry.username, &registry.password);
    let user_config = user_docker_config(&t);
    let before = std::fs::read(&user_config).unwrap();
    let layout = write_oci_layout(t.root());
    let source = format!("oci:{}:latest", layout.display());
    let image = format!("{}/team/app:1", registry.address());
    exec(&t, &["--", "skopeo", "copy", "--dest-tls-verify=false", &source, &format!("docker://{image}")]).ok();
    exec(&t, &["--", "docker", "manifest", "inspect", "--insecure", &image]).ok().stdout_has("schemaVersion");
    exec(&t, &["--image", &image, "--", "skopeo", "inspect", "--tls-verify=false", &format!("docker://{image}")])
        .ok()
        .stdout_has("team/app");
    // Without exec, the same clients have no credential.
    let bare = t
        .command(Path::new("skopeo"), &["inspect", "--tls-verify=false", &format!("docker://{image}")])
        .env("REGISTRY_AUTH_FILE", t.root().join("empty-auth.json"))
        .output()
        .unwrap();
    assert!(!bare.status.success());
    // A failing command's status comes through.
    let run = exec(
        &t,
        &["--", "docker", "manifest", "inspect", "--insecure", &format!("{}/team/missing:1", registry.address())],
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&user_config).unwrap(), before, "no auth file of the user's is touched");
    assert!(!t.root().join(".config/containers/auth.json").exists());
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_committed_store_with_secrets_from_ci_variables_drives_skopeo() {
    let Some(registry) = Registry::start("a_committed_store_with_secrets_from_ci_variables_drives_skopeo") else {
        return;
    };
    if !skopeo_and_docker("a_committed_store_with_secrets_from_ci_variables_drives_skopeo") {
        return;
    }
    // The repository's store: two environments, the secrets named, not kept.
    let t = TestEnv::new();
    t.run(&["env", "create", "staging"]).ok();
    t.run(&["add", &registry.address(), "-u", &registry.username, "--secret-from-env", "PROD_REGISTRY_TOKEN"]).ok();
    t.run(&["-e", "staging", "add", &registry.address(), "-u", "staging-bot", "--secret-from-env", "STAGING_TOKEN"])
        .ok();
    let mut files: Vec<String> = std::fs::read_dir(t.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    files.sort();
    assert_eq!(files, ["registries.toml"], "a committed store holds one file and no secret");
    let layout = write_oci_layout(t.root());
    let source = format!("oci:{}:latest", layout.display());
    let image = format!("docker://{}/team/app:1", registry.address());

    let mut ci = TestEnv::new();
    std::fs::create_dir_all(ci.config_dir()).unwrap();
    std::fs::copy(t.store_file(), ci.store_file()).unwrap();
    // Without the variable: a clear error through the client, and no empty password tried.
    let run = exec(&ci, &["--", "skopeo", "copy", "--dest-tls-verify=false", &source, &image]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("PROD_REGISTRY_TOKEN, which is not set"), "{run:?}");
    ci.env("PROD_REGISTRY_TOKEN", &registry.password);
    exec(&ci, &["--", "skopeo", "copy", "--dest-tls-verify=false", &source, &image]).ok();
    exec(&ci, &["--", "skopeo", "inspect", "--tls-verify=false", &image]).ok().stdout_has("team/app");
    // The other environment uses its own variable (set to a wrong token here: refused).
    ci.env("STAGING_TOKEN", "wrong");
    let run = exec(&ci, &["-e", "staging", "--", "skopeo", "inspect", "--tls-verify=false", &image]);
    assert_ne!(run.code, 0, "{run:?}");
}

#[test]
fn exec_puts_its_directory_in_tmpdir_else_in_a_private_xdg_runtime_dir() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEnv::new();
    t.add("registry.example.com", "bob", "pw-of-bob-1234");
    let runtime = t.root().join("runtime");
    let tmp = t.root().join("tmp");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let where_is = |tmpdir: Option<&Path>, runtime_mode: u32| {
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(runtime_mode)).unwrap();
        let mut cmd = exec_command(&t, &["exec", "--", "sh", "-c", "printf %s \"$DOCKER_CONFIG\""]);
        cmd.env("XDG_RUNTIME_DIR", &runtime);
        match tmpdir {
            Some(dir) => cmd.env("TMPDIR", dir),
            None => cmd.env_remove("TMPDIR"),
        };
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        PathBuf::from(String::from_utf8(output.stdout).unwrap())
    };
    let dir = where_is(None, 0o700);
    assert_eq!(dir.parent(), Some(runtime.as_path()), "a private runtime dir is used when TMPDIR is unset");
    assert!(!dir.exists(), "{} is removed", dir.display());
    assert_eq!(where_is(Some(&tmp), 0o700).parent(), Some(tmp.as_path()), "TMPDIR, when set, wins");
    let shared = where_is(None, 0o755);
    assert_ne!(shared.parent(), Some(runtime.as_path()), "a runtime dir others may enter is not used");
    assert_eq!(shared.parent(), Some(std::env::temp_dir().as_path()));
}

/// Why exec writes two files, docker's `config.json` and the containers `auth.json`, and not
/// one for both: skopeo/podman rewrite their auth file on login and logout, keeping only
/// what they know, which would drop docker's other settings for the rest of COMMAND.
#[test]
fn a_containers_login_or_logout_inside_exec_leaves_dockers_config_alone() {
    if !available("a_containers_login_or_logout_inside_exec_leaves_dockers_config_alone", &["skopeo"]) {
        return;
    }
    let t = TestEnv::new();
    t.add("registry.example.com", "bob", "pw-of-bob-1234");
    user_docker_config(&t);
    // `logout --all` rewrites the containers auth file (and erases through the helper what
    // it names there); docker's file must come through with its settings.
    let script = "skopeo logout --all >/dev/null && cat \"$DOCKER_CONFIG/config.json\"";
    let run = exec(&t, &["--", "sh", "-c", script]).ok();
    let config: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(config["credsStore"], "regcred", "{run:?}");
    assert_eq!(config["detachKeys"], "ctrl-x", "{run:?}");
}

//! export, import and setup: the files other tools read and write.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::util::TestEnv;

fn b64(text: &str) -> String {
    BASE64.encode(text)
}

fn populated() -> TestEnv {
    let t = TestEnv::new();
    t.add_with(&["-u", "bob", "--email", "bob@example.com"], "hub-pw");
    t.add("registry.example.com:5000", "alice", "reg-pw");
    t.add("quay.io/myorg", "myorg+robot", "quay-token");
    let old = t.add("ghcr.io", "old", "old-pw");
    t.add("ghcr.io", "new", "new-pw");
    let inactive = t.add("gcr.io", "gone", "gone-pw");
    t.run(&["deactivate", &inactive.to_string()]).ok();
    assert_eq!(t.status(old), "overridden");
    t
}

#[test]
fn docker_config_export_carries_what_docker_reads() {
    let t = populated();
    let run = t.run(&["export", "docker-config"]).ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let expected = serde_json::json!({"auths": {
        "https://index.docker.io/v1/": {"username": "bob", "password": "hub-pw", "email": "bob@example.com", "auth": b64("bob:hub-pw")},
        "registry.example.com:5000": {"username": "alice", "password": "reg-pw", "auth": b64("alice:reg-pw")},
        "ghcr.io": {"username": "new", "password": "new-pw", "auth": b64("new:new-pw")},
    }});
    assert_eq!(value, expected, "only credentials in use; no overridden, inactive or scoped ones");
    assert!(run.stderr.contains("quay.io/myorg"), "the skipped scoped credential is named: {}", run.stderr);
    let filtered = t.run(&["export", "docker-config", "--registry", "ghcr.io"]).ok();
    let value: serde_json::Value = serde_json::from_str(&filtered.stdout).unwrap();
    assert_eq!(value["auths"].as_object().unwrap().len(), 1);
}

#[test]
fn auth_json_export_keeps_scopes() {
    let t = populated();
    let value: serde_json::Value = serde_json::from_str(&t.run(&["export", "auth-json"]).ok().stdout).unwrap();
    let auths = value["auths"].as_object().unwrap();
    let mut keys: Vec<&str> = auths.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["docker.io", "ghcr.io", "quay.io/myorg", "registry.example.com:5000"]);
    assert_eq!(auths["quay.io/myorg"]["auth"], b64("myorg+robot:quay-token"));
}

#[test]
fn k8s_secret_matches_kubectl() {
    let t = TestEnv::new();
    t.add_with(&["registry.example.com:5000", "-u", "alice", "--email", "a@example.com"], "pw");
    // What `kubectl create secret docker-registry regcred --docker-server=registry.example.com:5000
    // --docker-username=alice --docker-password=pw --docker-email=a@example.com -n ci --dry-run=client -o yaml` prints.
    let config = r#"{"auths":{"registry.example.com:5000":{"username":"alice","password":"pw","email":"a@example.com","auth":"YWxpY2U6cHc="}}}"#;
    let expected = format!(
        "apiVersion: v1\ndata:\n  .dockerconfigjson: {}\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: regcred\n  namespace: ci\ntype: kubernetes.io/dockerconfigjson\n",
        b64(config)
    );
    let yaml = t.run(&["export", "k8s-secret", "--name", "regcred", "--namespace", "ci"]).ok();
    assert_eq!(yaml.stdout, expected);
    let json = t.run(&["export", "k8s-secret", "--name", "regcred", "-o", "json"]).ok().json();
    assert_eq!(json["kind"], "Secret");
    assert_eq!(json["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(json["metadata"]["name"], "regcred");
    assert_eq!(BASE64.decode(json["data"][".dockerconfigjson"].as_str().unwrap()).unwrap(), config.as_bytes());
    t.run(&["export", "k8s-secret", "--name", "Bad_Name"]).code(2);
}

#[test]
fn export_to_a_file_is_private() {
    let t = populated();
    let path = t.root().join("out").join("config.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let run = t.run(&["export", "docker-config", "--output-file", path.to_str().unwrap()]).ok();
    assert_eq!(run.stdout, "");
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(fs::read_to_string(&path).unwrap().contains("hub-pw"));
}

#[test]
fn import_reads_every_kind_of_entry_and_says_what_it_skipped() {
    let t = TestEnv::new();
    t.add("quay.io", "already", "pw");
    let config = serde_json::json!({"auths": {
        "https://index.docker.io/v1/": {"auth": b64("bob:hub-pw"), "email": "bob@example.com"},
        "registry.example.com:5000": {"username": "alice", "password": "reg-pw"},
        "myregistry.azurecr.io": {"identitytoken": "refresh-token"},
        "quay.io": {"auth": b64("already:pw")},
        "quay.io/myorg": {"auth": b64("robot:org-pw")},
        "broken.example.com": {"auth": "!!!not base64"},
        "empty.example.com": {},
        "https://bad host": {"auth": b64("x:y")},
    }});
    let path = t.root().join("config.json");
    fs::write(&path, config.to_string()).unwrap();
    let before = t.snapshot();
    let dry = t.run(&["import", "docker-config", path.to_str().unwrap(), "--dry-run", "-o", "plain"]).ok();
    assert_eq!(t.snapshot(), before, "a dry run changes nothing");
    assert_eq!(dry.stdout.lines().filter(|l| l.starts_with("imported")).count(), 4, "{}", dry.stdout);
    let run = t.run(&["import", "docker-config", path.to_str().unwrap(), "-o", "json"]).ok();
    let rows = run.json();
    let outcome = |address: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(outcome("docker.io").as_deref(), Some("imported"));
    assert_eq!(outcome("quay.io/myorg").as_deref(), Some("imported"));
    assert_eq!(outcome("quay.io").as_deref(), Some("skipped"));
    let skipped = rows.as_array().unwrap().iter().filter(|r| r["outcome"] == "skipped").count();
    assert_eq!(skipped, 4, "{rows}");
    let list = t.list();
    assert_eq!(list.len(), 5);
    let hub = list.iter().find(|c| c["address"] == "docker.io").unwrap();
    assert_eq!(hub["username"], "bob");
    assert_eq!(hub["email"], "bob@example.com");
    let token = t.run(&["resolve", "myregistry.azurecr.io/app", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(token[0]["credential"]["username"], "<token>");
    assert_eq!(token[0]["credential"]["password"], "refresh-token");
    // Importing again adds nothing.
    let again = t.run(&["import", "docker-config", path.to_str().unwrap(), "-o", "plain"]).ok();
    assert!(!again.stdout.lines().any(|l| l.starts_with("imported")), "{}", again.stdout);
    assert_eq!(t.list().len(), 5);
}

#[test]
fn import_asks_other_credential_helpers() {
    let t = TestEnv::new();
    let bin = t.root().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fake");
    fs::write(
        &helper,
        "#!/bin/sh\nread -r server\ncase \"$1\" in\n\
         list) echo '{\"https://index.docker.io/v1/\":\"hubuser\",\"ghcr.io\":\"gh\"}' ;;\n\
         get) case \"$server\" in\n\
           https://index.docker.io/v1/) echo '{\"ServerURL\":\"x\",\"Username\":\"hubuser\",\"Secret\":\"hub-secret\"}' ;;\n\
           ghcr.io) echo '{\"ServerURL\":\"ghcr.io\",\"Username\":\"gh\",\"Secret\":\"gh-secret\"}' ;;\n\
           quay.io) echo '{\"ServerURL\":\"quay.io\",\"Username\":\"q\",\"Secret\":\"quay-secret\"}' ;;\n\
           *) echo 'credentials not found in native keychain'; exit 1 ;;\n\
         esac ;;\n\
         esac\n",
    )
    .unwrap();
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let config = t.root().join("config.json");
    fs::write(
        &config,
        r#"{"auths":{},"credsStore":"fake","credHelpers":{"quay.io":"fake","gone.example.com":"missing"}}"#,
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut t = t;
    t.env("PATH", &path);
    let skipped = t.run(&["import", "docker-config", config.to_str().unwrap(), "--no-helpers", "-o", "plain"]).ok();
    assert!(skipped.stdout.contains("--no-helpers"), "{}", skipped.stdout);
    assert!(t.list().is_empty());
    let run = t.run(&["import", "docker-config", config.to_str().unwrap(), "-o", "plain"]).ok();
    assert!(run.stdout.contains("docker-credential-missing"), "a helper that cannot run is reported: {}", run.stdout);
    let mut users: Vec<String> = t.list().iter().map(|c| c["username"].as_str().unwrap().to_owned()).collect();
    users.sort();
    assert_eq!(users, ["gh", "hubuser", "q"]);
    let shown = t.run(&["resolve", "quay.io/a/b", "--show-secret", "-o", "json"]).ok().json_lines();
    assert_eq!(shown[0]["credential"]["password"], "quay-secret");
}

#[test]
fn setup_docker_keeps_other_keys_and_backs_up() {
    let t = TestEnv::new();
    let path = t.root().join("docker").join("config.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = r#"{"auths":{"x.example.com":{}},"credsStore":"desktop","psFormat":"table {{.ID}}"}"#;
    fs::write(&path, original).unwrap();
    let p = path.to_str().unwrap();
    let dry = t.run(&["setup", "docker", "--config", p, "--dry-run"]).ok();
    assert!(dry.stdout.contains("credsStore: \"desktop\" → \"regcred\""), "{}", dry.stdout);
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    t.run(&["setup", "docker", "--config", p]).ok();
    let value: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(value["credsStore"], "regcred");
    assert_eq!(value["psFormat"], "table {{.ID}}");
    assert!(value["auths"]["x.example.com"].is_object());
    assert_eq!(fs::read_to_string(format!("{p}.regcred-backup")).unwrap(), original);
    t.run(&["setup", "docker", "--config", p, "--registry", "dockerhub", "--registry", "ghcr.io"]).ok();
    let value: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        value["credHelpers"],
        serde_json::json!({"https://index.docker.io/v1/": "regcred", "ghcr.io": "regcred"})
    );
    let again = t.run(&["setup", "docker", "--config", p, "--registry", "ghcr.io"]).ok();
    assert!(again.stderr.contains("nothing to change"), "{}", again.stderr);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn setup_podman_covers_the_environments_registries() {
    let t = TestEnv::new();
    let path = t.root().join("auth.json");
    let p = path.to_str().unwrap();
    t.run(&["setup", "podman", "--config", p]).code(2).stderr_has("--registry");
    t.add("quay.io/myorg", "robot", "pw");
    t.add_with(&["-u", "bob"], "pw");
    // podman asks the helper per registry only: quay.io, with only a scoped credential, is
    // left out, with a warning naming the ways that honour scopes.
    t.run(&["setup", "podman", "--config", p])
        .ok()
        .stderr_has("quay.io has scoped credentials (quay.io/myorg)")
        .stderr_has("export auth-json");
    let value: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(value, serde_json::json!({"credHelpers": {"docker.io": "regcred"}}));
    fs::write(&path, "{not json").unwrap();
    t.run(&["setup", "podman", "--config", p]).code(1).stderr_has("line 1");
    assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn k8s_secret_is_what_kubectl_creates() {
    if !crate::registry_server::available("k8s_secret_is_what_kubectl_creates", &["kubectl"]) {
        return;
    }
    let t = TestEnv::new();
    t.add_with(&["-u", "bob", "--email", "bob@example.com"], "hub-pw");
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .args(["create", "secret", "docker-registry", "pull-secret", "--dry-run=client"])
            .args(args)
            .env("KUBECONFIG", "/dev/null")
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let common = ["--docker-username=bob", "--docker-password=hub-pw", "--docker-email=bob@example.com"];
    let expected = kubectl(&[&common[..], &["-o", "json"]].concat());
    let ours = t.run(&["export", "k8s-secret", "--name", "pull-secret", "-o", "json"]).ok();
    assert_eq!(ours.stdout, expected);
    let expected = kubectl(&[&common[..], &["-n", "ci", "-o", "yaml"]].concat());
    let ours = t.run(&["export", "k8s-secret", "--name", "pull-secret", "--namespace", "ci"]).ok();
    assert_eq!(ours.stdout, expected);
}

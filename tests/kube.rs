//! `regcred kube` over real-world manifests (tests/data/kube): a Helm-rendered chart, a
//! CronJob, a v1 List, a multi-document file with a ConfigMap and comments, a Pod with an
//! ephemeral container. Each output is compared with its golden file, re-parsed by an
//! independent YAML 1.1 reader (PyYAML, as kubectl's go-yaml reads) and compared field by
//! field with the input; its Secrets are compared byte for byte with kubectl's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};

use crate::registry_server::available;
use crate::util::TestEnv;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kube").join(name)
}

/// address, username, password, e-mail, name.
type Fixture = (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>);

/// The credentials of every fixture.
const CREDENTIALS: [Fixture; 4] = [
    ("quay.io", "robot", "quay-pw", None, Some("quay-robot")),
    ("ghcr.io/acme", "acme-bot", "ghcr-pw", None, None),
    ("registry.example.com:5000", "ci", "reg-pw", Some("ci@example.com"), None),
    ("docker.io", "bob", "hub-pw", Some("bob@example.com"), None),
];

fn store(with_docker_hub: bool) -> TestEnv {
    let t = TestEnv::new();
    for (address, user, password, email, name) in CREDENTIALS {
        if address == "docker.io" && !with_docker_hub {
            continue;
        }
        let mut args = vec![address, "-u", user];
        if let Some(email) = email {
            args.extend(["--email", email]);
        }
        if let Some(name) = name {
            args.extend(["--name", name]);
        }
        t.add_with(&args, password);
    }
    t
}

/// The documents of a YAML (or JSON) stream as PyYAML reads them, empty ones dropped.
fn pyyaml(text: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML cannot read:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// What `kubectl create secret docker-registry` prints for one credential.
fn kubectl_secret(name: &str, namespace: &str, credential: usize, format: &str) -> String {
    let (address, user, password, email, _) = CREDENTIALS[credential];
    let server = if address == "docker.io" { "https://index.docker.io/v1/" } else { address };
    let mut cmd = Command::new("kubectl");
    cmd.args(["create", "secret", "docker-registry", name, "-n", namespace, "--dry-run=client", "-o", format])
        .arg(format!("--docker-server={server}"))
        .arg(format!("--docker-username={user}"))
        .arg(format!("--docker-password={password}"))
        .env("KUBECONFIG", "/dev/null");
    if let Some(email) = email {
        cmd.arg(format!("--docker-email={email}"));
    }
    let out = cmd.output().expect("kubectl");
    assert!(out.status.success(), "kubectl: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A template's place (document, List item, path) and its imagePullSecrets afterwards.
type Template = (usize, Option<usize>, &'static [&'static str], Vec<&'static str>);

/// One fixture: the Secrets expected first (name, namespace, index into CREDENTIALS) and,
/// per template (document, List item, path), its imagePullSecrets afterwards.
struct Golden {
    file: &'static str,
    args: &'static [&'static str],
    secrets: Vec<(&'static str, &'static str, usize)>,
    templates: Vec<Template>,
}

const TEMPLATE: &[&str] = &["spec", "template", "spec"];
const POD: &[&str] = &["spec"];
const CRON: &[&str] = &["spec", "jobTemplate", "spec", "template", "spec"];

fn goldens() -> Vec<Golden> {
    vec![
        Golden {
            file: "helm-chart.yaml",
            args: &["-n", "shop"],
            secrets: vec![
                ("quay-robot", "shop", 0),
                ("regcred-ghcr-io-acme", "shop", 1),
                ("regcred-docker-io", "shop", 3),
            ],
            templates: vec![
                (2, None, TEMPLATE, vec!["legacy-pull", "quay-robot", "regcred-ghcr-io-acme"]),
                (3, None, POD, vec!["regcred-docker-io"]),
            ],
        },
        Golden {
            file: "cronjob.yaml",
            args: &[],
            secrets: vec![("regcred-registry-example-com-5000", "reports", 2), ("quay-robot", "reports", 0)],
            templates: vec![(0, None, CRON, vec!["regcred-registry-example-com-5000", "quay-robot"])],
        },
        Golden {
            file: "list.json",
            args: &[],
            secrets: vec![
                ("regcred-registry-example-com-5000", "data", 2),
                ("regcred-ghcr-io-acme", "data", 1),
                ("regcred-docker-io", "data", 3),
            ],
            templates: vec![
                (0, Some(0), TEMPLATE, vec!["regcred-registry-example-com-5000"]),
                (0, Some(2), TEMPLATE, vec!["regcred-ghcr-io-acme", "regcred-docker-io"]),
            ],
        },
        Golden {
            file: "multi.yaml",
            args: &[],
            secrets: vec![("quay-robot", "monitoring", 0), ("regcred-docker-io", "monitoring", 3)],
            templates: vec![
                (1, None, TEMPLATE, vec!["quay-robot"]),
                (2, None, TEMPLATE, vec!["regcred-docker-io"]),
                (3, None, TEMPLATE, vec!["quay-robot"]),
            ],
        },
        Golden {
            file: "pod-ephemeral.yaml",
            args: &[],
            secrets: vec![("quay-robot", "shop", 0), ("regcred-ghcr-io-acme", "shop", 1)],
            templates: vec![(0, None, POD, vec!["quay-robot", "regcred-ghcr-io-acme"])],
        },
    ]
}

fn at<'a>(value: &'a mut Value, item: Option<usize>, path: &[&str]) -> &'a mut Value {
    let mut here = match item {
        Some(i) => &mut value["items"][i],
        None => value,
    };
    for step in path {
        here = &mut here[*step];
    }
    here
}

/// The YAML documents of a stream, as text, split at `---` lines.
fn chunks(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line == "---\n" {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push_str(line);
        }
    }
    parts
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn golden_manifests_get_their_pull_secrets_and_nothing_else_changes() {
    if !available("golden_manifests_get_their_pull_secrets_and_nothing_else_changes", &["kubectl", "python3"]) {
        return;
    }
    let t = store(true);
    for golden in goldens() {
        let input = data(golden.file);
        let mut args = vec!["kube", input.to_str().unwrap()];
        args.extend(golden.args);
        let run = t.run(&args).ok();

        // The golden file, byte for byte (REGCRED_BLESS=1 rewrites it).
        let golden_path = data(&format!("golden/{}.out.yaml", golden.file));
        if std::env::var("REGCRED_BLESS").as_deref() == Ok("1") {
            std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
            std::fs::write(&golden_path, &run.stdout).unwrap();
        }
        let expected = std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|e| panic!("{}: {e} (REGCRED_BLESS=1 writes it)", golden_path.display()));
        assert_eq!(run.stdout, expected, "{} differs from its golden file", golden.file);

        // The Secrets first, each what kubectl makes.
        let texts = chunks(&run.stdout);
        for (i, (name, namespace, credential)) in golden.secrets.iter().enumerate() {
            assert_eq!(texts[i], kubectl_secret(name, namespace, *credential, "yaml"), "{}: Secret {i}", golden.file);
        }

        // The objects after them: the input's, field by field, but for the added secrets.
        let mut output = pyyaml(&run.stdout);
        let mut original = pyyaml(&std::fs::read_to_string(&input).unwrap());
        let objects = output.split_off(golden.secrets.len());
        assert_eq!(objects.len(), original.len(), "{}: object count", golden.file);
        for (document, item, path, names) in &golden.templates {
            let mut after = objects[*document].clone();
            let template = at(&mut after, *item, path);
            let expected: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
            assert_eq!(template["imagePullSecrets"], Value::Array(expected), "{}: document {document}", golden.file);
            let before = at(&mut original[*document], *item, path);
            before["imagePullSecrets"] = template["imagePullSecrets"].clone();
        }
        assert_eq!(objects, original, "{}: something besides imagePullSecrets changed", golden.file);

        // Its own output changes nothing.
        let again = t
            .run_with_stdin(
                &[
                    "kube",
                    "-",
                    golden.args.first().copied().unwrap_or("-n"),
                    golden.args.get(1).copied().unwrap_or("default"),
                ],
                &run.stdout,
            )
            .ok();
        assert_eq!(again.stdout, run.stdout, "{}: not idempotent", golden.file);
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn json_output_is_kubectls_json_and_idempotent() {
    if !available("json_output_is_kubectls_json_and_idempotent", &["kubectl"]) {
        return;
    }
    let t = store(true);
    let input = data("list.json");
    let run = t.run(&["kube", "-o", "json", input.to_str().unwrap()]).ok();
    let secrets: String =
        [("regcred-registry-example-com-5000", 2), ("regcred-ghcr-io-acme", 1), ("regcred-docker-io", 3)]
            .iter()
            .map(|(name, credential)| kubectl_secret(name, "data", *credential, "json"))
            .collect();
    assert!(run.stdout.starts_with(&secrets), "the Secrets are not kubectl's:\n{}", run.stdout);
    let values: Vec<Value> =
        serde_json::Deserializer::from_str(&run.stdout).into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(values.len(), 4);
    assert_eq!(values[3]["kind"], "List");
    let again = t.run_with_stdin(&["kube", "-o", "json", "-"], &run.stdout).ok();
    assert_eq!(again.stdout, run.stdout);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn the_secret_holds_the_credential_that_resolve_chooses() {
    if !available("the_secret_holds_the_credential_that_resolve_chooses", &["python3"]) {
        return;
    }
    let t = store(true);
    let run = t.run(&["kube", data("cronjob.yaml").to_str().unwrap()]).ok();
    let docs = pyyaml(&run.stdout);
    let config = docs[0]["data"][".dockerconfigjson"].as_str().unwrap();
    let config: Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(config).unwrap()).unwrap();
    assert_eq!(config["auths"]["registry.example.com:5000"]["username"], "ci");
    assert_eq!(config["auths"]["registry.example.com:5000"]["password"], "reg-pw");
    assert_eq!(config["auths"].as_object().unwrap().len(), 1);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn an_image_without_a_credential_is_reported_and_its_template_left_alone() {
    if !available("an_image_without_a_credential_is_reported_and_its_template_left_alone", &["python3"]) {
        return;
    }
    let t = store(false);
    let input = data("helm-chart.yaml");
    let run = t.run(&["kube", input.to_str().unwrap()]).code(3).stderr_has("no credential for busybox");
    assert!(run.stderr.contains("spec.containers[0].image"), "{}", run.stderr);
    let docs = pyyaml(&run.stdout);
    // quay-robot and the ghcr.io/acme Secret, in namespace default; the test Pod unchanged.
    assert_eq!(docs[0]["metadata"]["namespace"], "default");
    assert_eq!(docs.len(), 2 + 4);
    assert!(docs[5]["spec"].get("imagePullSecrets").is_none(), "{}", run.stdout);
    assert_eq!(docs[4]["spec"]["template"]["spec"]["imagePullSecrets"].as_array().unwrap().len(), 3);
}

#[test]
fn a_stale_secret_in_the_input_is_replaced_and_a_foreign_one_refused() {
    let t = store(true);
    let pod = std::fs::read_to_string(data("pod-ephemeral.yaml")).unwrap();
    let stale = "apiVersion: v1\nkind: Secret\nmetadata: {name: quay-robot, namespace: shop}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: e30=}\n---\n";
    let run = t.run_with_stdin(&["kube", "-"], &format!("{stale}{pod}")).ok();
    assert!(!run.stdout.contains("e30="), "the stale Secret is still there:\n{}", run.stdout);
    assert_eq!(run.stdout.matches("name: quay-robot\n").count(), 1 + 1, "{}", run.stdout);
    let foreign = stale.replace("kubernetes.io/dockerconfigjson", "Opaque");
    t.run_with_stdin(&["kube", "-"], &format!("{foreign}{pod}")).code(2).stderr_has("not a docker-registry Secret");
}

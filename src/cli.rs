//! What the user may say: clap types only. Their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::secrets::SecretStoreKind;

/// Manage container registry credentials: keep them per environment with secrets in the
/// OS keyring, and answer which credential a pull of an image would use, and why.
#[derive(Debug, Parser)]
#[command(name = "regcred", version, max_term_width = 100)]
#[command(after_help = "Run `regcred` alone for an overview of the current environment, \
    `regcred COMMAND --help` for a command's options and examples.\n\n\
    EXAMPLES:\n  \
    regcred add registry.example.com:5000 -u alice       # prompts for the password\n  \
    regcred list\n  \
    regcred resolve nginx quay.io/myorg/app --explain\n  \
    regcred -e staging list")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Environment to work in [default: the store's current environment]
    #[arg(short = 'e', long = "env", global = true, env = "REGCRED_ENV", value_name = "NAME")]
    pub env: Option<String>,

    /// Directory holding registries.toml [default: ~/.config/regcred]
    #[arg(long, global = true, env = "REGCRED_CONFIG_DIR", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub config_dir: Option<PathBuf>,

    /// Where new secrets go: the OS keyring; on servers and in CI the kernel keyring
    /// (keyutils), the pass password store, or 0600 files under secrets.d/
    #[arg(long, global = true, env = "REGCRED_SECRET_STORE", value_name = "STORE", default_value = "keyring", value_parser = parse_secret_store)]
    pub secret_store: SecretStoreKind,

    /// When to use colour (NO_COLOR is honoured under `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Silence messages on stderr (errors stay); data on stdout is never silenced
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The global settings from `REGCRED_*` variables alone, for `docker-credential-regcred`,
    /// which takes no options.
    pub fn from_env() -> Result<GlobalArgs, String> {
        #[derive(Parser)]
        struct EnvOnly {
            #[command(flatten)]
            global: GlobalArgs,
        }
        EnvOnly::try_parse_from(["docker-credential-regcred"]).map(|e| e.global).map_err(|e| {
            let text = e.to_string();
            text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned()
        })
    }
}

fn parse_secret_store(word: &str) -> Result<SecretStoreKind, String> {
    word.parse().map_err(|_| format!("unknown secret store {word:?}; use `keyring`, `keyutils`, `pass` or `file`"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Output formats of read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table for people
    Table,
    /// JSON for programs
    Json,
    /// Tab-separated lines for `cut` and `awk`
    Plain,
}

/// `-o/--output`: table on a terminal, plain otherwise.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, plain otherwise]
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
}

/// How the password arrives. Without either option regcred prompts (no echo) when stdin
/// is a terminal. There is deliberately no option that takes the password itself.
#[derive(Debug, Args, Clone)]
#[group(multiple = false)]
pub struct PasswordArgs {
    /// Read the password (or token) from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,

    /// Read the password (or token) from this environment variable
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,

    /// Keep no secret: read it from this environment variable each time it is used (CI
    /// secret variables; registries.toml can then be committed)
    #[arg(long, value_name = "VAR")]
    pub secret_from_env: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a credential; the newest active credential for an address wins
    #[command(after_help = "EXAMPLES:\n  \
        regcred add -u bob                                  # Docker Hub, prompts for the password\n  \
        regcred add quay.io/myorg -u robot --password-env QUAY_TOKEN\n  \
        echo \"$TOKEN\" | regcred add ghcr.io -u bob --password-stdin --name ghcr-bob\n  \
        regcred add registry.lan:5000 -u ci --ca-cert ./ca.crt --verify --password-env REG_PW")]
    Add(AddArgs),

    /// List credentials with their status (active, overridden, inactive)
    #[command(
        visible_alias = "ls",
        after_help = "On a terminal narrower than the table, ADDED shows the date only, EMAIL is left out, names are \
        cut with … and long addresses wrap after a '.', '/' or ':'; `regcred show`, -o plain and -o json always have every field.\n\n\
        EXAMPLES:\n  regcred list\n  regcred list --all-envs -o json"
    )]
    List(ListArgs),

    /// Show one credential in full, without its secret
    #[command(
        after_help = "EXAMPLES:\n  regcred show 3\n  regcred show ghcr-bob -o json\n  regcred show quay.io/myorg"
    )]
    Show(ShowArgs),

    /// Change username, e-mail or name; always asks for the password again
    #[command(after_help = "The address never changes: add a new credential instead.\n\n\
        EXAMPLES:\n  regcred edit 3 -u alice\n  regcred edit ghcr-bob --email bob@example.com --password-env GHCR_TOKEN")]
    Edit(EditArgs),

    /// Make a deactivated credential usable again, without re-entering its password
    #[command(after_help = "EXAMPLES:\n  regcred activate 3")]
    Activate(SelectorArgs),

    /// Keep a credential (and its secret) but never use it
    #[command(after_help = "EXAMPLES:\n  regcred deactivate 3\n  regcred deactivate quay.io/myorg")]
    Deactivate(SelectorArgs),

    /// Delete a credential and its secret
    #[command(visible_alias = "rm", after_help = "EXAMPLES:\n  regcred delete 3\n  regcred delete ghcr-bob --yes")]
    Delete(DeleteArgs),

    /// Say which credential a pull of each image would use, and why
    #[command(after_help = "Exit status 3 means at least one image has no credential (the output is still printed).\n\
        A bad reference does not stop the others: it is an {\"image\",\"line\",\"error\"} object in -o json \
        (\"argument\" for an IMAGE argument), else an error line on stderr, and the exit status is 2.\n\n\
        EXAMPLES:\n  regcred resolve nginx\n  regcred resolve quay.io/myorg/app:1.2 --explain\n  \
        regcred resolve -o json --stdin < images.txt")]
    Resolve(ResolveArgs),

    /// Check a credential against its registry, as `docker login` does, without the daemon
    #[command(
        after_help = "A SELECTOR checks that credential; an IMAGE checks the credential a pull of it would use,\n\
        with a token scoped to pulling that repository.\n\
        Exit status 0: valid; 5: the registry rejected it; 1: unreachable, or TLS failed.\n\n\
        EXAMPLES:\n  regcred verify 3\n  regcred verify registry.example.com:5000\n  \
        regcred verify quay.io/myorg/app:1.2 -o json"
    )]
    Verify(VerifyArgs),

    /// Create, switch, list and delete environments
    #[command(
        subcommand,
        after_help = "EXAMPLES:\n  regcred env create staging\n  regcred env use staging\n  regcred env list\n  \
        regcred env delete staging --yes"
    )]
    Env(EnvCommand),

    /// Insecure registries and trusted (self-signed) certificates, per environment
    #[command(
        subcommand,
        after_help = "EXAMPLES:\n  regcred tls fetch registry.lan:5000            # show the certificate, confirm, pin it\n  \
        regcred tls set registry.lan:5000 --ca-cert ./ca.crt\n  \
        regcred tls set 10.0.0.7:5000 --insecure\n  \
        regcred tls show\n  \
        sudo regcred tls install --certs-dir /etc/docker/certs.d"
    )]
    Tls(TlsCommand),

    /// Check the store, permissions, the keyring, and that metadata and secrets agree
    #[command(after_help = "EXAMPLES:\n  regcred doctor\n  regcred doctor --fix")]
    Doctor(DoctorArgs),

    /// Write credentials for docker, podman and Kubernetes, or the host's insecure-registry settings
    #[command(
        subcommand,
        after_help = "EXAMPLES:\n  regcred export docker-config --output-file ./config.json\n  \
        regcred export k8s-secret --name pull-secret | kubectl apply -f -\n  \
        regcred export docker-daemon --merge /etc/docker/daemon.json"
    )]
    Export(ExportFormat),

    /// Add the imagePullSecrets Kubernetes workloads need, printing those Secrets first
    #[command(after_help = "Reads Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs (also\n\
        inside a v1 List), resolves every container, init container and ephemeral container image\n\
        in the environment, and adds one Secret per credential to each pod template's\n\
        imagePullSecrets (those already there are kept). The Secrets are what `kubectl create secret\n\
        docker-registry` makes, named after the credential (else regcred-<address>), in each\n\
        workload's namespace. Other objects and fields come out unchanged, in their order;\n\
        comments are not kept. An image with no credential is reported on stderr, its template\n\
        is left as it was, and the exit status is 3.\n\n\
        EXAMPLES:\n  regcred kube deploy.yaml | kubectl apply -f -\n  \
        helm template ./chart | regcred -e prod kube - -n shop | kubectl apply -f -\n  \
        regcred kube -o json list.json > with-secrets.json")]
    Kube(KubeArgs),

    /// Import credentials from docker's config.json or the containers auth.json
    #[command(
        subcommand,
        after_help = "EXAMPLES:\n  regcred import docker-config --dry-run\n  regcred import auth-json"
    )]
    Import(ImportSource),

    /// Point docker or podman/skopeo/buildah at docker-credential-regcred
    #[command(subcommand, after_help = "EXAMPLES:\n  regcred setup docker --dry-run\n  regcred setup podman")]
    Setup(SetupTarget),

    /// Run a command whose docker, podman, skopeo, buildah and crane get credentials from regcred
    #[command(after_help = "COMMAND runs with DOCKER_CONFIG and REGISTRY_AUTH_FILE pointing at a private \
        temporary directory (0700; in $TMPDIR when set, else in $XDG_RUNTIME_DIR when it is a private \
        directory of yours, else in /tmp) whose config.json and auth.json send every registry of the environment to \
        docker-credential-regcred; the rest of your docker config and your CLI plugins are kept. No secret is \
        written to disk, REGCRED_ENV and REGCRED_CONFIG_DIR are passed down, SIGINT and SIGTERM are passed on, \
        the directory is removed afterwards, and the exit status is COMMAND's (127: not found, 126: not \
        executable).\n\n\
        EXAMPLES:\n  \
        regcred exec -- docker build -t registry.example.com/app .\n  \
        regcred -e ci exec -- skopeo copy docker://quay.io/org/app:1 docker://registry.lan/app:1\n  \
        regcred exec --image ghcr.io/acme/app:1 -- docker pull ghcr.io/acme/app:1")]
    Exec(ExecArgs),

    /// Speak the Docker credential-helper protocol (what docker-credential-regcred does)
    #[command(
        after_help = "EXAMPLES:\n  echo quay.io | regcred credential-helper get\n  regcred credential-helper list"
    )]
    CredentialHelper(CredentialHelperArgs),

    /// Regenerate completions/ and man/ from this definition (for maintainers)
    #[command(hide = true)]
    GenerateAssets(GenerateAssetsArgs),

    /// Print a shell completion script; it asks regcred for environment names and credentials
    #[command(after_help = "EXAMPLES:\n  \
        regcred completions bash > ~/.local/share/bash-completion/completions/regcred\n  \
        regcred completions zsh > ~/.zfunc/_regcred      # with fpath=(~/.zfunc $fpath) in ~/.zshrc\n  \
        regcred completions fish > ~/.config/fish/completions/regcred.fish\n  \
        source <(regcred completions bash)               # this shell only")]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Registry address, optionally with a repository scope: docker.io (default), quay.io,
    /// registry.example.com:5000, quay.io/myorg
    #[arg(value_name = "ADDRESS")]
    pub address: Option<String>,

    /// Username (use `<token>` for identity tokens)
    #[arg(short, long, value_name = "USER")]
    pub username: String,

    /// E-mail address, stored and shown in exports
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,

    /// A unique name for the credential (lower-case letters, digits, '-')
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Also mark the registry insecure (as `regcred tls set ADDRESS --insecure`)
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,

    /// Also trust this CA certificate (PEM) for the registry (as `regcred tls set --ca-cert`)
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Check the credential with the registry first; store nothing if it is rejected
    #[arg(long)]
    pub verify: bool,

    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the credentials of every environment
    #[arg(long)]
    pub all_envs: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Credential id, name, or address
    #[arg(value_name = "SELECTOR")]
    pub selector: String,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Credential id, name, or address
    #[arg(value_name = "SELECTOR")]
    pub selector: String,

    /// New username
    #[arg(short, long, value_name = "USER")]
    pub username: Option<String>,

    /// New e-mail address (`--email ""` removes it)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,

    /// New name (`--name ""` removes it)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Check the changed credential with the registry first; change nothing if it is rejected
    #[arg(long)]
    pub verify: bool,

    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Args)]
pub struct SelectorArgs {
    /// Credential id, name, or address
    #[arg(value_name = "SELECTOR")]
    pub selector: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Credential id, name, or address
    #[arg(value_name = "SELECTOR")]
    pub selector: String,

    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Image references as `docker pull` takes them
    #[arg(value_name = "IMAGE", required_unless_present = "stdin")]
    pub images: Vec<String>,

    /// Also read images from stdin, one per line (blank lines and `#` comments skipped)
    #[arg(long)]
    pub stdin: bool,

    /// Include the password or token of the chosen credential
    #[arg(long)]
    pub show_secret: bool,

    /// List every credential of the image's registry and why it was or was not chosen, and
    /// say when the other kind of client would use another credential
    #[arg(long)]
    pub explain: bool,

    /// Answer as this kind of client would: docker (and anything asking the credential
    /// helper) asks per registry only, so scoped credentials do not apply to it
    #[arg(long, value_enum, value_name = "CLIENT", default_value_t = Client::Containers)]
    pub client: Client,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which client's answer `resolve` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// docker, and every client asking docker-credential-regcred: the newest active
    /// credential for the whole registry
    Docker,
    /// podman, skopeo and buildah with regcred's exported auth.json, and `regcred exec
    /// --image`: the full rule, scoped credentials included
    Containers,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A credential (id, name or address), or an image whose pull credential to check
    #[arg(value_name = "SELECTOR|IMAGE")]
    pub target: String,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List environments and how many credentials each holds
    #[command(visible_alias = "ls", after_help = "EXAMPLES:\n  regcred env list\n  regcred env list -o json")]
    List(OutputArgs),
    /// Create an empty environment
    #[command(after_help = "EXAMPLES:\n  regcred env create staging\n  regcred -e staging add quay.io -u robot")]
    Create(EnvNameArgs),
    /// Make an environment the current one
    #[command(after_help = "-e NAME or REGCRED_ENV=NAME choose an environment for one command without switching.\n\n\
        EXAMPLES:\n  regcred env use staging")]
    Use(EnvNameArgs),
    /// Delete an environment with all its credentials and their secrets
    #[command(
        visible_alias = "rm",
        after_help = "The current environment cannot be deleted.\n\n\
        EXAMPLES:\n  regcred env delete staging\n  regcred env delete ci --yes"
    )]
    Delete(EnvDeleteArgs),
}

#[derive(Debug, Args)]
pub struct EnvNameArgs {
    /// Environment name (lower-case letters, digits, '-')
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct EnvDeleteArgs {
    /// Environment name
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Mark a registry insecure, or trust a CA certificate for it
    #[command(
        after_help = "--insecure is docker's insecure registry: HTTPS without checking the certificate, then plain\nHTTP. --ca-cert trusts the certificate(s) in FILE for this registry besides the system's.\n\nEXAMPLES:\n  regcred tls set registry.lan:5000 --ca-cert ./ca.crt\n  regcred tls set 10.0.0.7:5000 --insecure"
    )]
    Set(TlsSetArgs),

    /// Forget a registry's TLS setting: verify it against the system's CA certificates again
    #[command(after_help = "EXAMPLES:\n  regcred tls unset registry.lan:5000")]
    Unset(TlsAddressArgs),

    /// Show the TLS settings of the environment, or of one registry in full
    #[command(after_help = "EXAMPLES:\n  regcred tls show\n  regcred tls show registry.lan:5000 -o json")]
    Show(TlsShowArgs),

    /// Show the certificate chain a registry presents and, once confirmed, pin it as its CA
    #[command(
        after_help = "Compare the SHA-256 fingerprint with the one the registry's administrator gives you\n(`openssl x509 -noout -fingerprint -sha256 -in cert.pem` on the server) before confirming.\n\nEXAMPLES:\n  regcred tls fetch registry.lan:5000\n  regcred tls fetch 10.0.0.7:5000 --yes"
    )]
    Fetch(TlsFetchArgs),

    /// Write DIR/<host[:port]>/ca.crt for each trusted CA: the layout of docker's and containers' certs.d
    #[command(after_help = "EXAMPLES:\n  sudo regcred tls install --certs-dir /etc/docker/certs.d\n  \
        sudo regcred tls install --certs-dir /etc/containers/certs.d\n  \
        regcred tls install --certs-dir ~/.config/containers/certs.d --registry registry.lan:5000")]
    Install(TlsInstallArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["insecure", "ca_cert"])))]
pub struct TlsSetArgs {
    /// Registry address: host[:port]
    #[arg(value_name = "ADDRESS")]
    pub address: String,

    /// Use HTTPS without verifying the certificate, then plain HTTP
    #[arg(long)]
    pub insecure: bool,

    /// Trust the certificate(s) in this PEM file for the registry
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TlsAddressArgs {
    /// Registry address: host[:port]
    #[arg(value_name = "ADDRESS")]
    pub address: String,
}

#[derive(Debug, Args)]
pub struct TlsShowArgs {
    /// Only this registry, with its certificates in full
    #[arg(value_name = "ADDRESS")]
    pub address: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TlsFetchArgs {
    /// Registry address: host[:port]
    #[arg(value_name = "ADDRESS")]
    pub address: String,

    /// Pin without asking (needed when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TlsInstallArgs {
    /// The certs.d directory, e.g. /etc/docker/certs.d or /etc/containers/certs.d
    #[arg(long, value_name = "DIR")]
    pub certs_dir: PathBuf,

    /// Only this registry (repeatable)
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Answer only with the credentials these images resolve to (repeatable); a scoped
    /// credential is then what docker gets for its registry
    #[arg(long = "image", value_name = "IMAGE")]
    pub images: Vec<String>,

    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND", value_hint = clap::ValueHint::CommandWithArguments)]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Repair what can be repaired: remove orphaned secrets, drop metadata whose secret is gone,
    /// tighten permissions
    #[arg(long)]
    pub fix: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExportFormat {
    /// docker's config.json: {"auths": {…}} with username, password, email and auth
    #[command(
        after_help = "Scoped credentials (quay.io/myorg) cannot be expressed in config.json and are skipped with a warning.\n\n\
        EXAMPLES:\n  regcred export docker-config --output-file ./config.json\n  \
        regcred export docker-config --registry ghcr.io > \"$DOCKER_CONFIG/config.json\""
    )]
    DockerConfig(ExportArgs),

    /// The containers auth.json (podman, skopeo, buildah); scoped credentials become registry/namespace keys
    #[command(
        after_help = "EXAMPLES:\n  regcred export auth-json --output-file \"$XDG_RUNTIME_DIR/containers/auth.json\""
    )]
    AuthJson(ExportArgs),

    /// A kubernetes.io/dockerconfigjson Secret, as `kubectl create secret docker-registry` makes it
    #[command(
        after_help = "EXAMPLES:\n  regcred export k8s-secret --name regcred --namespace ci | kubectl apply -f -\n  \
        regcred export k8s-secret --name pull-secret --registry ghcr.io -o json"
    )]
    K8sSecret(K8sSecretArgs),

    /// A daemon.json with "insecure-registries" for the registries marked insecure
    #[command(
        after_help = "--merge keeps every other setting and insecure registry of the file. dockerd reads\ndaemon.json when it starts: restart it afterwards. Trusted CAs go to certs.d instead:\nsee `regcred tls install`.\n\nEXAMPLES:\n  regcred export docker-daemon\n  regcred export docker-daemon --merge /etc/docker/daemon.json > daemon.json"
    )]
    DockerDaemon(DockerDaemonArgs),

    /// containers-registries.conf [[registry]] entries with `insecure = true` (podman, skopeo, buildah)
    #[command(
        after_help = "EXAMPLES:\n  regcred export registries-conf > /etc/containers/registries.conf.d/50-regcred.conf\n  \
        regcred export registries-conf --output-file ~/.config/containers/registries.conf.d/r.conf"
    )]
    RegistriesConf(HostConfigArgs),

    /// k3s/RKE2 registries.yaml: configs."<host>".auth and .tls for the environment's registries
    #[command(after_help = "auth holds the username and password of each credential in use (scoped credentials\n\
        are skipped with a warning); tls holds ca_file (the trusted or pinned certificate, in\n\
        --ca-dir, default /etc/rancher/certs) and insecure_skip_verify for insecure registries.\n\
        With --ca-dir the certificates are written there too. Mirrors are left to you.\n\n\
        EXAMPLES:\n  \
        sudo regcred export registries-yaml --output-file /etc/rancher/k3s/registries.yaml\n  \
        sudo regcred export registries-yaml --ca-dir /etc/rancher/certs > registries.yaml\n  \
        regcred -e prod export registries-yaml --registry registry.lan:5000")]
    RegistriesYaml(RegistriesYamlArgs),

    /// containerd hosts.toml per registry: DIR/<host[:port]>/hosts.toml, with its CA beside it
    #[command(
        after_help = "For containerd's config_path (containerd 1.5 and later; `ctr --hosts-dir`). Each registry\n\
        with a credential in use or a TLS setting gets a hosts.toml able to pull and resolve:\n\
        ca = \"ca.crt\" for a trusted or pinned certificate, skip_verify and then plain http:// for\n\
        an insecure registry. Credentials are not written: the kubelet passes imagePullSecrets.\n\
        A hosts.toml regcred did not write is left alone unless --force.\n\n\
        EXAMPLES:\n  sudo regcred export containerd-hosts --dir /etc/containerd/certs.d\n  \
        regcred export containerd-hosts --dir ./certs.d --registry registry.lan:5000"
    )]
    ContainerdHosts(ContainerdHostsArgs),
}

#[derive(Debug, Args)]
pub struct RegistriesYamlArgs {
    /// Where ca_file points, and where the certificates are written when given [default: /etc/rancher/certs, not written]
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub ca_dir: Option<PathBuf>,

    /// Only this registry (repeatable)
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,

    /// Write to this file (mode 0600) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Replace the --output-file if it exists (otherwise an existing file is refused)
    #[arg(long, requires = "output_file")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ContainerdHostsArgs {
    /// containerd's config_path, e.g. /etc/containerd/certs.d
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,

    /// Replace hosts.toml files regcred did not write
    #[arg(long)]
    pub force: bool,

    /// Only this registry (repeatable)
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only credentials for this address (repeatable); a plain address includes its scoped credentials
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,

    /// Write to this file (mode 0600) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Replace the --output-file if it exists (otherwise an existing file is refused)
    #[arg(long, requires = "output_file")]
    pub force: bool,
}

/// Where host configuration (no secrets in it) goes.
#[derive(Debug, Args)]
pub struct HostConfigArgs {
    /// Only this registry (repeatable)
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,

    /// Write to this file (mode 0644) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Replace the --output-file if it exists (otherwise an existing file is refused)
    #[arg(long, requires = "output_file")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DockerDaemonArgs {
    /// An existing daemon.json to merge into: its settings are kept, our registries added
    #[arg(long, value_name = "FILE")]
    pub merge: Option<PathBuf>,

    #[command(flatten)]
    pub target: HostConfigArgs,
}

/// Formats of a Kubernetes object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct K8sSecretArgs {
    /// The Secret's name
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// The Secret's namespace [default: none, so kubectl's current namespace]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Manifest format
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml, value_name = "FORMAT")]
    pub output: ManifestFormat,

    #[command(flatten)]
    pub export: ExportArgs,
}

#[derive(Debug, Args)]
pub struct KubeArgs {
    /// Manifests: YAML documents, JSON, or a v1 List; `-` reads stdin
    #[arg(value_name = "FILE", required = true, value_hint = clap::ValueHint::FilePath)]
    pub files: Vec<PathBuf>,

    /// Namespace of the workloads that name none [default: default]
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Manifest format
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml, value_name = "FORMAT")]
    pub output: ManifestFormat,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// docker's config.json [default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json]
    #[command(
        after_help = "EXAMPLES:\n  regcred import docker-config --dry-run\n  regcred import docker-config ./config.json --no-helpers"
    )]
    DockerConfig(ImportArgs),

    /// The containers auth.json [default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json,
    /// else ~/.config/containers/auth.json]
    #[command(after_help = "EXAMPLES:\n  regcred import auth-json\n  regcred -e ci import auth-json ./auth.json")]
    AuthJson(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Do not ask credential helpers named by credsStore/credHelpers for their credentials
    #[arg(long)]
    pub no_helpers: bool,

    /// Show what would be imported without changing anything
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum SetupTarget {
    /// Set credsStore (or credHelpers for --registry) in docker's config.json
    #[command(
        after_help = "EXAMPLES:\n  regcred setup docker\n  regcred setup docker --registry ghcr.io --registry quay.io --dry-run\n  \
        regcred setup docker --undo"
    )]
    Docker(SetupArgs),

    /// Set credHelpers in the containers auth.json used by podman, skopeo and buildah
    #[command(
        after_help = "EXAMPLES:\n  regcred setup podman                      # every registry with a registry-wide credential\n  \
        regcred setup podman --registry quay.io --config ~/.config/containers/auth.json"
    )]
    Podman(SetupArgs),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Use regcred only for this registry (repeatable); podman's default is every registry the
    /// environment has a registry-wide credential for (podman asks per registry only)
    #[arg(long = "registry", value_name = "ADDRESS")]
    pub registries: Vec<String>,

    /// The file to change [default: where docker or podman looks]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Show the change without writing it
    #[arg(long)]
    pub dry_run: bool,

    /// Undo setup: every entry naming regcred goes back to what the backup had there (or is
    /// removed); the rest of the file stays as it is now
    #[arg(long, conflicts_with = "registries")]
    pub undo: bool,
}

#[derive(Debug, Args)]
pub struct CredentialHelperArgs {
    /// The protocol action; requests are read from stdin as docker sends them
    #[arg(value_enum, value_name = "ACTION")]
    pub action: Action,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct GenerateAssetsArgs {
    /// The source tree whose completions/ and man/ to rewrite
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The credential-helper protocol's actions (`docker-credential-regcred ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Read {"ServerURL","Username","Secret"} on stdin and keep it
    Store,
    /// Read a server URL on stdin and print its credential
    Get,
    /// Read a server URL on stdin and log out: delete the credential in use, deactivate the others
    Erase,
    /// Print {"ServerURL": "Username", …} for the credentials in use
    List,
    /// Print the version
    Version,
}

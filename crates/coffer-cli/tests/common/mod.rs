//! Helpers shared by the black-box tests of the `coffer` binary: a vault in
//! a temp dir, running commands (optionally with `--json`), file trees.
//!
//! Every test gets its own [`TestVault`] (its own temp dir); nothing here
//! touches the user's real vault or environment variables.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The passphrase every test vault is created with.
pub const PASS: &str = "correct horse battery staple";

/// Exit codes (crates/coffer-cli/src/exit.rs).
pub mod code {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const WRONG_CREDENTIAL: i32 = 3;
    pub const INTEGRITY: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const IO: i32 = 6;
    pub const IN_USE: i32 = 7;
}

/// The cheapest Argon2id parameters the CLI accepts (OWASP floor), so that
/// tests do not spend 0.5 s and 256 MiB per unlock.
pub const FAST_KDF: [&str; 6] = ["--kdf-memory", "19", "--kdf-time", "2", "--kdf-lanes", "1"];

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_coffer"))
}

/// A bare `coffer` command with no inherited Coffer configuration.
pub fn coffer() -> Command {
    let mut c = Command::new(bin());
    for var in [
        "COFFER_VAULT",
        "COFFER_PASSPHRASE",
        "COFFER_NEW_PASSPHRASE",
        "COFFER_RECOVERY_KEY",
        "COFFER_POLICY_FILE",
    ] {
        c.env_remove(var);
    }
    c.env("RUST_BACKTRACE", "0");
    c.stdin(Stdio::null());
    c
}

/// What one command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    fn from_output(o: Output) -> Self {
        Run {
            code: exit_code(o.status),
            stdout: o.stdout,
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Every JSON document on stdout (one per line in practice).
    pub fn json_values(&self) -> Vec<Value> {
        serde_json::Deserializer::from_slice(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout_str()))
    }

    /// The single JSON document on stdout.
    pub fn json(&self) -> Value {
        let mut v = self.json_values();
        assert_eq!(
            v.len(),
            1,
            "expected exactly one JSON document on stdout, got: {}",
            self.stdout_str()
        );
        v.pop().expect("one")
    }

    /// The `{"error": ...}` document a failing `--json` command prints
    /// (the last one on stdout), checked for its shape.
    pub fn json_error(&self) -> Value {
        let v = self
            .json_values()
            .pop()
            .unwrap_or_else(|| panic!("no JSON on stdout; stderr: {}", self.stderr));
        let e = v
            .get("error")
            .unwrap_or_else(|| panic!("not an error document: {v}"))
            .clone();
        assert_eq!(
            e["exit_code"].as_i64(),
            Some(i64::from(self.code)),
            "exit_code in JSON matches the process exit code: {v}"
        );
        assert!(e["kind"].is_string(), "{v}");
        assert!(e["message"].is_string(), "{v}");
        e
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "unexpected exit code\nstdout: {}\nstderr: {}",
            self.stdout_str(),
            self.stderr
        );
        self
    }

    pub fn assert_ok(&self) -> &Self {
        self.assert_code(code::OK)
    }
}

/// The process exit code, or 128 + signal.
pub fn exit_code(s: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code()
        .unwrap_or_else(|| 128 + s.signal().expect("exit code or signal"))
}

/// Runs a prepared command and captures everything.
pub fn run_cmd(c: &mut Command) -> Run {
    Run::from_output(c.output().expect("spawn coffer"))
}

/// Runs a prepared command with `input` on stdin.
pub fn run_with_stdin(c: &mut Command, input: &[u8]) -> Run {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn coffer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    Run::from_output(child.wait_with_output().expect("wait coffer"))
}

/// A test's own temp dir with a vault at `<root>/vault`.
pub struct TestVault {
    pub tmp: TempDir,
    pub vault: PathBuf,
    /// The recovery key `init` printed (empty until [`TestVault::init`]).
    pub recovery_key: String,
    /// The passphrase currently set (for [`TestVault::cmd`]).
    pub pass: String,
}

impl TestVault {
    /// A temp dir with no vault yet.
    pub fn empty() -> Self {
        Self::empty_in(None)
    }

    /// Like [`TestVault::empty`], with the temp dir under `parent`.
    pub fn empty_in(parent: Option<&Path>) -> Self {
        let tmp = match parent {
            Some(p) => tempfile::Builder::new()
                .prefix("coffer-test-")
                .tempdir_in(p)
                .expect("temp dir"),
            None => tempfile::Builder::new()
                .prefix("coffer-test-")
                .tempdir()
                .expect("temp dir"),
        };
        let vault = tmp.path().join("vault");
        TestVault {
            tmp,
            vault,
            recovery_key: String::new(),
            pass: PASS.to_owned(),
        }
    }

    /// A temp dir with a freshly created vault (fast KDF).
    pub fn new() -> Self {
        let mut v = Self::empty();
        v.init(&[]);
        v
    }

    /// Runs `init --json` with the fast KDF and `extra` arguments; records
    /// and returns the recovery key.
    pub fn init(&mut self, extra: &[&str]) -> Value {
        let mut args = vec!["init"];
        args.extend_from_slice(&FAST_KDF);
        args.extend_from_slice(extra);
        let r = self.json_ok(&args);
        self.recovery_key = r["recovery_key"]
            .as_str()
            .expect("init --json has recovery_key")
            .to_owned();
        r
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// A path under the temp dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `coffer --vault DIR` with the passphrase in the environment.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = coffer();
        c.arg("--vault").arg(&self.vault);
        c.env("COFFER_PASSPHRASE", &self.pass);
        c.current_dir(self.tmp.path());
        c.args(args);
        c
    }

    /// `coffer --vault DIR` with no credential at all.
    pub fn cmd_nopass<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.cmd(args);
        c.env_remove("COFFER_PASSPHRASE");
        c
    }

    /// `ls --json` unlocked with the recovery key `key` alone.
    pub fn ls_with_recovery(&self, key: &str) -> Run {
        let mut c = self.cmd_nopass(["--json", "--recovery-key", "ls"]);
        c.env("COFFER_RECOVERY_KEY", key);
        run_cmd(&mut c)
    }

    /// Runs a command (human output).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        run_cmd(&mut self.cmd(args))
    }

    /// Runs a command with `--json`.
    pub fn run_json<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        let mut c = self.cmd(["--json"]);
        c.args(args);
        run_cmd(&mut c)
    }

    /// Runs a command with `--json`, asserts exit 0 and returns its JSON.
    pub fn json_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Value {
        let r = self.run_json(args);
        r.assert_ok();
        r.json()
    }

    /// Runs with `--json`, asserts the exit code and returns the error object.
    pub fn json_err<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> Value {
        let r = self.run_json(args);
        r.assert_code(code);
        r.json_error()
    }

    /// Vault paths (latest versions) with their `ls --json` records.
    pub fn ls(&self) -> BTreeMap<String, Value> {
        let v = self.json_ok(&["ls"]);
        v["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| (f["path"].as_str().expect("path").to_owned(), f.clone()))
            .collect()
    }

    /// `cat` of a vault path, asserting success.
    pub fn cat(&self, path: &str) -> Vec<u8> {
        let r = self.run(&["cat", path]);
        r.assert_ok();
        r.stdout
    }

    /// The object files in the vault, by id.
    pub fn object_files(&self) -> BTreeMap<String, PathBuf> {
        let mut out = BTreeMap::new();
        for p in walk(&self.vault.join("objects")) {
            if p.extension() == Some(OsStr::new("obj")) {
                let id = p.file_stem().unwrap().to_string_lossy().into_owned();
                out.insert(id, p);
            }
        }
        out
    }
}

/// Writes `files` (relative path, contents) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (rel, bytes) in files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, bytes).expect("write file");
    }
}

/// Every regular file under `root` (symlinks not followed), relative path
/// with `/` separators -> contents.
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .filter(|p| {
            fs::symlink_metadata(p)
                .map(|m| m.is_file())
                .unwrap_or(false)
        })
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let bytes = fs::read(&p).expect("read file");
            (rel, bytes)
        })
        .collect()
}

/// Every entry (files, links, dirs excluded) below `root`, recursively,
/// without following symlinks. Missing root -> empty.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                _ => out.push(p),
            }
        }
    }
    out.sort();
    out
}

/// Files under `root` whose name ends with `.tmp` (Coffer's temp suffix).
pub fn tmp_files(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Deterministic pseudo-random bytes.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` to exit, killing it after `timeout`.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// Whether a recovery key looks like the CLI prints it: groups of 8
/// base32 characters joined by dashes.
pub fn looks_like_recovery_key(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() >= 4
        && groups.iter().all(|g| {
            g.len() == 8
                && g.chars()
                    .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        })
}

/// Flips one bit of the file at `offset`.
pub fn flip_byte(path: &Path, offset: usize) {
    let mut b = fs::read(path).expect("read");
    b[offset] ^= 0x01;
    fs::write(path, b).expect("write");
}

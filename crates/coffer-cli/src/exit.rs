//! Exit codes and the human (or JSON) face of errors. docs/CLI.md lists
//! the codes; scripts rely on them, so they never change meaning.

use std::sync::atomic::{AtomicBool, Ordering};

use coffer_core::Error;
use serde_json::json;

/// Set once a command has printed its one JSON document, error included;
/// the failure is then not printed a second time.
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Success.
pub const OK: i32 = 0;
/// Something failed that has no more specific code.
pub const FAILURE: i32 = 1;
/// The command line or request is not usable.
pub const USAGE: i32 = 2;
/// Wrong passphrase, recovery key, keychain secret or escrow key.
pub const WRONG_CREDENTIAL: i32 = 3;
/// Tampered or corrupt data.
pub const INTEGRITY: i32 = 4;
/// No such vault, file, version or slot.
pub const NOT_FOUND: i32 = 5;
/// The operating system refused (disk full, permission denied, ...).
pub const IO: i32 = 6;
/// Another process is writing to the vault.
pub const IN_USE: i32 = 7;

/// A failure on its way out of the CLI: what happened, what to do, how to exit.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub kind: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        Failure {
            code: USAGE,
            kind: "usage",
            message: message.into(),
            hint: hint.map(str::to_owned),
        }
    }

    /// The `error` object of the JSON contract.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "kind": self.kind, "exit_code": self.code,
            "message": self.message, "hint": self.hint,
        })
    }

    /// Prints `document` with this failure as its `error` member, as the
    /// command's only JSON output, and returns the failure to exit with.
    pub fn with_json_report(self, mut document: serde_json::Value) -> Self {
        document["error"] = self.to_json();
        println!("{document}");
        JSON_PRINTED.store(true, Ordering::Relaxed);
        self
    }

    pub fn print(&self, as_json: bool) {
        if as_json {
            if JSON_PRINTED.load(Ordering::Relaxed) {
                return;
            }
            println!("{}", json!({ "error": self.to_json() }));
        } else {
            eprintln!("coffer: {}", self.message);
            if let Some(h) = &self.hint {
                eprintln!("hint: {h}");
            }
        }
    }
}

fn io_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull => "the disk is full: free some space and try again (nothing was lost)",
        PermissionDenied => {
            "permission denied: check that you own the file or folder, or run as its owner"
        }
        NotFound => "a file or folder disappeared while Coffer was working: try again",
        ReadOnlyFilesystem => "the disk is read-only: choose a writable location",
        _ => "check the disk and try again; nothing was lost",
    }
}

/// What to do when a key rotation stops at objects it cannot read.
const ROTATION_BLOCKED_HINT: &str = "no key version was destroyed; run `coffer verify` to see \
    the damaged objects, restore them from a backup, or set them aside with \
    `coffer verify --quarantine`, then run `coffer rotate` again to finish";

/// Classifies a core error (code, kind, hint).
pub fn classify(e: &Error) -> (i32, &'static str, Option<String>) {
    match e {
        Error::WrongCredential => (
            WRONG_CREDENTIAL,
            "wrong_credential",
            Some(
                "try again; if you forgot the passphrase, run `coffer recover` with your recovery key"
                    .into(),
            ),
        ),
        Error::Corrupt { what: "policy", .. } => (
            USAGE,
            "policy",
            Some(format!(
                "the organisation policy ({}) is not valid, so Coffer will not run under it: tell IT; \
                 `coffer policy validate FILE` says what is wrong",
                coffer_core::policy::system_path().display()
            )),
        ),
        Error::DecryptionFailed | Error::Corrupt { .. } => (
            INTEGRITY,
            "integrity",
            Some("the vault data is damaged or was tampered with: run `coffer verify` to see what is affected, and restore it from a backup".into()),
        ),
        Error::RotationBlocked { .. } => (
            INTEGRITY,
            "rotation_blocked",
            Some(ROTATION_BLOCKED_HINT.into()),
        ),
        Error::UnsupportedVersion { .. } => (
            INTEGRITY,
            "unsupported_version",
            Some("this vault was written by a newer Coffer: upgrade Coffer".into()),
        ),
        Error::NotFound(what) if what == "vault" => (
            NOT_FOUND,
            "not_found",
            Some("create one with `coffer init`, or point to it with --vault DIR or COFFER_VAULT".into()),
        ),
        Error::NotFound(what) if what == "protected folder" => (
            NOT_FOUND,
            "not_found",
            Some("`coffer status` lists the protected folders".into()),
        ),
        Error::NotFound(_) => (NOT_FOUND, "not_found", Some("check the name with `coffer ls`".into())),
        Error::Io { source, .. } => (IO, "io", Some(io_hint(source).into())),
        Error::InUse { .. } => (
            IN_USE,
            "in_use",
            Some("another Coffer process is writing to the vault: wait for it to finish and try again".into()),
        ),
        Error::Locked => (FAILURE, "locked", Some("unlock the vault first".into())),
        Error::KdfParams(_) => (USAGE, "kdf_params", None),
        Error::AlreadyExists => (
            USAGE,
            "already_exists",
            Some("use that vault, or choose another folder with --vault DIR".into()),
        ),
        Error::Invalid(_) => (USAGE, "invalid", None),
        Error::UnsafeFolder { .. } => (
            USAGE,
            "unsafe_folder",
            Some("protect a folder that holds only documents, such as ~/Documents/Patients; Coffer's own folders are never protected".into()),
        ),
        _ => (FAILURE, "failure", None),
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (code, kind, hint) = classify(&e);
        let message = match &e {
            Error::WrongCredential => "wrong passphrase or key".to_owned(),
            Error::NotFound(what) if what == "vault" => "no vault here".to_owned(),
            // The hint says what to do; the command lists the objects.
            Error::RotationBlocked { objects } => format!(
                "key rotation stopped at {} stored object{} it cannot read or unwrap",
                objects.len(),
                if objects.len() == 1 { "" } else { "s" }
            ),
            other => other.to_string(),
        };
        Failure {
            code,
            kind,
            message,
            hint,
        }
    }
}

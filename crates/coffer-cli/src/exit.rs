//! Exit codes and the human (or JSON) face of errors. docs/CLI.md lists
//! the codes; scripts rely on them, so they never change meaning.

use std::sync::atomic::{AtomicBool, Ordering};

use coffer_core::{Error, ErrorKind};
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
/// The KMS or HSM could not be used: server down, TLS failure, PKCS#11
/// module or token missing.
pub const KMS_UNAVAILABLE: i32 = 8;

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

fn io_hint(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind::*;
    match kind {
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

/// Classifies a core error (code, kind, hint) by its [`ErrorKind`].
pub fn classify(e: &Error) -> (i32, &'static str, Option<String>) {
    match e.kind() {
        ErrorKind::WrongCredential => (
            WRONG_CREDENTIAL,
            "wrong_credential",
            Some(
                "try again; if you forgot the passphrase, run `coffer recover` with your recovery key"
                    .into(),
            ),
        ),
        ErrorKind::PolicyInvalid => (
            USAGE,
            "policy",
            Some(format!(
                "the organisation policy ({}) is not valid, so Coffer will not run under it: tell IT; \
                 `coffer policy validate FILE` says what is wrong",
                coffer_core::policy::system_path().display()
            )),
        ),
        ErrorKind::DecryptionFailed | ErrorKind::Corrupt => (
            INTEGRITY,
            "integrity",
            Some("the vault data is damaged or was tampered with: run `coffer verify` to see what is affected, and restore it from a backup".into()),
        ),
        ErrorKind::RotationBlocked => (
            INTEGRITY,
            "rotation_blocked",
            Some(ROTATION_BLOCKED_HINT.into()),
        ),
        ErrorKind::UnsupportedVersion => (
            INTEGRITY,
            "unsupported_version",
            Some("this vault was written by a newer Coffer: upgrade Coffer".into()),
        ),
        ErrorKind::VaultNotFound => (
            NOT_FOUND,
            "not_found",
            Some("create one with `coffer init`, or point to it with --vault DIR or COFFER_VAULT".into()),
        ),
        ErrorKind::FolderNotProtected => (
            NOT_FOUND,
            "not_found",
            Some("`coffer status` lists the protected folders".into()),
        ),
        ErrorKind::NotFound => (NOT_FOUND, "not_found", Some("check the name with `coffer ls`".into())),
        ErrorKind::Io => {
            let os = match e {
                Error::Io { source, .. } => source.kind(),
                _ => std::io::ErrorKind::Other,
            };
            (IO, "io", Some(io_hint(os).into()))
        }
        ErrorKind::InUse => (
            IN_USE,
            "in_use",
            Some("another Coffer process is writing to the vault: wait for it to finish and try again".into()),
        ),
        ErrorKind::Locked => (FAILURE, "locked", Some("unlock the vault first".into())),
        ErrorKind::Tampered => (
            INTEGRITY,
            "tampered",
            Some("someone without the vault's keys changed the vault folder: `coffer verify` names what changed; restore the vault folder from a backup or ask IT".into()),
        ),
        ErrorKind::WriterKeyUnavailable => (
            FAILURE,
            "writer_key_unavailable",
            Some("unlock the vault once on this computer (for example `coffer ls`) while the OS keychain is running and unlocked (gnome-keyring on Linux); after that, files can be added while it is locked".into()),
        ),
        ErrorKind::KdfParams | ErrorKind::KdfBelowPolicy => (USAGE, "kdf_params", None),
        ErrorKind::AlreadyExists => (
            USAGE,
            "already_exists",
            Some("use that vault, or choose another folder with --vault DIR".into()),
        ),
        ErrorKind::Invalid | ErrorKind::PolicyForbids | ErrorKind::PolicyUntrusted => {
            (USAGE, "invalid", None)
        }
        ErrorKind::UnsafeFolder => (
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
            Error::VaultNotFound => "no vault here".to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind) -> Error {
        Error::Io {
            context: "x",
            source: kind.into(),
        }
    }

    /// Every kind keeps the exit code and JSON kind docs/CLI.md lists.
    #[test]
    fn each_kind_keeps_its_code_and_name() {
        let s = || "x".to_owned();
        for (e, code, kind, hinted) in [
            (
                Error::WrongCredential,
                WRONG_CREDENTIAL,
                "wrong_credential",
                true,
            ),
            (Error::PolicyInvalid { why: s() }, USAGE, "policy", true),
            (Error::DecryptionFailed, INTEGRITY, "integrity", true),
            (
                Error::Corrupt {
                    what: "x",
                    why: s(),
                },
                INTEGRITY,
                "integrity",
                true,
            ),
            (
                Error::RotationBlocked { objects: vec![] },
                INTEGRITY,
                "rotation_blocked",
                true,
            ),
            (
                Error::UnsupportedVersion {
                    what: "x",
                    version: 9,
                },
                INTEGRITY,
                "unsupported_version",
                true,
            ),
            (Error::VaultNotFound, NOT_FOUND, "not_found", true),
            (Error::FolderNotProtected, NOT_FOUND, "not_found", true),
            (Error::NotFound(s()), NOT_FOUND, "not_found", true),
            (io(std::io::ErrorKind::StorageFull), IO, "io", true),
            (Error::InUse { pid: Some(1) }, IN_USE, "in_use", true),
            (Error::Locked, FAILURE, "locked", true),
            (Error::KdfParams(s()), USAGE, "kdf_params", false),
            (Error::KdfBelowPolicy(s()), USAGE, "kdf_params", false),
            (Error::AlreadyExists, USAGE, "already_exists", true),
            (Error::Invalid(s()), USAGE, "invalid", false),
            (Error::PolicyForbids(s()), USAGE, "invalid", false),
            (
                Error::PolicyUntrusted { path: "/p".into() },
                USAGE,
                "invalid",
                false,
            ),
            (
                Error::UnsafeFolder {
                    relation: coffer_core::own_folders::Relation::Is,
                    what: coffer_core::own_folders::OwnKind::Vault,
                },
                USAGE,
                "unsafe_folder",
                true,
            ),
            (Error::Cancelled, FAILURE, "failure", false),
        ] {
            let (c, k, h) = classify(&e);
            assert_eq!((c, k, h.is_some()), (code, kind, hinted), "{e:?}");
        }
    }

    #[test]
    fn hints_and_messages_follow_the_error() {
        let (_, _, h) = classify(&Error::VaultNotFound);
        assert!(h.unwrap().contains("coffer init"));
        let (_, _, h) = classify(&Error::FolderNotProtected);
        assert!(h.unwrap().contains("coffer status"));
        let (_, _, h) = classify(&io(std::io::ErrorKind::StorageFull));
        assert!(h.unwrap().contains("disk is full"));
        assert_eq!(Failure::from(Error::VaultNotFound).message, "no vault here");
        assert_eq!(
            Failure::from(Error::WrongCredential).message,
            "wrong passphrase or key"
        );
    }
}

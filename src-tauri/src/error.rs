//! Errors as the UI sees them: `{code, message}` with a small, stable set
//! of codes (docs/IPC.md). Messages never carry a secret or a file name.

use coffer_core::{Error, ErrorKind};
use serde::Serialize;

/// A failed command.
#[derive(Debug, Serialize)]
pub struct UiError {
    /// Stable code the UI switches on.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
}

impl UiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for UiError {
    fn from(e: Error) -> Self {
        let (code, message) = match e.kind() {
            ErrorKind::WrongCredential => {
                ("wrong_credential", "Wrong passphrase or key.".to_owned())
            }
            ErrorKind::Locked => ("locked", "The vault is locked.".to_owned()),
            ErrorKind::PolicyInvalid => {
                let why = match &e {
                    Error::PolicyInvalid { why } => why.as_str(),
                    _ => "",
                };
                (
                    "policy",
                    format!(
                        "Your organisation's Coffer policy is not valid ({why}), so Coffer will not run under it. Tell IT."
                    ),
                )
            }
            ErrorKind::DecryptionFailed | ErrorKind::Corrupt | ErrorKind::UnsupportedVersion => (
                "integrity",
                format!("{e}. Run a check from Settings; restore damaged files from a backup."),
            ),
            ErrorKind::RotationBlocked => {
                let n = match &e {
                    Error::RotationBlocked { objects } => objects.len(),
                    _ => 0,
                };
                let (files, them) = match n {
                    1 => ("1 stored file can't".to_owned(), "it"),
                    n => (format!("{n} stored files can't"), "them"),
                };
                (
                    "integrity",
                    format!(
                        "Key rotation stopped: {files} be read, so no key was destroyed. Run a check \
                         from Settings to see which, restore {them} from a backup or ask IT to set \
                         {them} aside (`coffer verify --quarantine`), then rotate again to finish."
                    ),
                )
            }
            ErrorKind::NotFound | ErrorKind::VaultNotFound | ErrorKind::FolderNotProtected => {
                ("not_found", e.to_string())
            }
            ErrorKind::Io => (
                "io",
                match &e {
                    Error::Io { source, .. }
                        if source.kind() == std::io::ErrorKind::StorageFull =>
                    {
                        "The disk is full. Free some space and try again; nothing was lost.".into()
                    }
                    Error::Io { source, .. }
                        if source.kind() == std::io::ErrorKind::PermissionDenied =>
                    {
                        "Permission denied. Check that you own the file or folder.".into()
                    }
                    _ => format!("{e}. Nothing was lost; try again."),
                },
            ),
            ErrorKind::InUse => (
                "in_use",
                "Another Coffer process is writing to the vault. Try again in a moment.".to_owned(),
            ),
            // What the policy refuses, or a policy file that cannot be trusted.
            ErrorKind::PolicyForbids | ErrorKind::KdfBelowPolicy | ErrorKind::PolicyUntrusted => {
                ("policy", policy_or_plain_message(&e))
            }
            ErrorKind::Invalid | ErrorKind::KdfParams => ("invalid", policy_or_plain_message(&e)),
            ErrorKind::AlreadyExists => ("invalid", "A vault already exists here.".to_owned()),
            ErrorKind::UnsafeFolder => match &e {
                Error::UnsafeFolder { relation, what } => (
                    "unsafe_folder",
                    format!(
                        "Coffer can't protect this folder: it {} {}, and protecting it would encrypt the vault into itself. Choose a folder that holds only documents, such as Documents/Patients.",
                        relation.describe(),
                        what.describe()
                    ),
                ),
                _ => ("unsafe_folder", e.to_string()),
            },
            _ => ("internal", e.to_string()),
        };
        UiError { code, message }
    }
}

/// The message of a refusal as the core wrote it, without the
/// "key derivation parameters rejected" prefix a KDF refusal's display adds.
fn policy_or_plain_message(e: &Error) -> String {
    match e {
        Error::Invalid(m)
        | Error::KdfParams(m)
        | Error::PolicyForbids(m)
        | Error::KdfBelowPolicy(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Result of a command.
pub type CmdResult<T> = Result<T, UiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind keeps the UI code docs/IPC.md lists.
    #[test]
    fn each_kind_keeps_its_code() {
        let s = || "x".to_owned();
        for (e, code) in [
            (Error::WrongCredential, "wrong_credential"),
            (Error::Locked, "locked"),
            (Error::PolicyInvalid { why: s() }, "policy"),
            (Error::DecryptionFailed, "integrity"),
            (
                Error::Corrupt {
                    what: "x",
                    why: s(),
                },
                "integrity",
            ),
            (
                Error::UnsupportedVersion {
                    what: "x",
                    version: 9,
                },
                "integrity",
            ),
            (Error::RotationBlocked { objects: vec![] }, "integrity"),
            (Error::NotFound(s()), "not_found"),
            (Error::VaultNotFound, "not_found"),
            (Error::FolderNotProtected, "not_found"),
            (
                Error::Io {
                    context: "x",
                    source: std::io::ErrorKind::StorageFull.into(),
                },
                "io",
            ),
            (Error::InUse { pid: None }, "in_use"),
            (Error::PolicyForbids(s()), "policy"),
            (Error::KdfBelowPolicy(s()), "policy"),
            (Error::PolicyUntrusted { path: "/p".into() }, "policy"),
            (Error::Invalid(s()), "invalid"),
            (Error::KdfParams(s()), "invalid"),
            (Error::AlreadyExists, "invalid"),
            (
                Error::UnsafeFolder {
                    relation: coffer_core::own_folders::Relation::Is,
                    what: coffer_core::own_folders::OwnKind::Vault,
                },
                "unsafe_folder",
            ),
            (Error::Cancelled, "internal"),
        ] {
            assert_eq!(UiError::from(e).code, code);
        }
        let m = UiError::from(Error::PolicyInvalid { why: "bad".into() }).message;
        assert!(m.contains("(bad)"), "{m}");
        let m = UiError::from(Error::KdfBelowPolicy("m=1 MiB".into())).message;
        assert_eq!(m, "m=1 MiB");
    }
}

//! Errors as the UI sees them: `{code, message}` with a small, stable set
//! of codes (docs/IPC.md). Messages never carry a secret or a file name.

use coffer_core::Error;
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
        let (code, message) = match &e {
            Error::WrongCredential => ("wrong_credential", "Wrong passphrase or key.".to_owned()),
            Error::Locked => ("locked", "The vault is locked.".to_owned()),
            Error::Corrupt {
                what: "policy",
                why,
            } => (
                "policy",
                format!(
                    "Your organisation's Coffer policy is not valid ({why}), so Coffer will not run under it. Tell IT."
                ),
            ),
            Error::DecryptionFailed | Error::Corrupt { .. } | Error::UnsupportedVersion { .. } => (
                "integrity",
                format!("{e}. Run a check from Settings; restore damaged files from a backup."),
            ),
            Error::RotationBlocked { objects } => {
                let (files, them) = match objects.len() {
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
            Error::NotFound(_) => ("not_found", e.to_string()),
            Error::Io { source, .. } => (
                "io",
                match source.kind() {
                    std::io::ErrorKind::StorageFull => {
                        "The disk is full. Free some space and try again; nothing was lost.".into()
                    }
                    std::io::ErrorKind::PermissionDenied => {
                        "Permission denied. Check that you own the file or folder.".into()
                    }
                    _ => format!("{e}. Nothing was lost; try again."),
                },
            ),
            Error::InUse { .. } => (
                "in_use",
                "Another Coffer process is writing to the vault. Try again in a moment.".to_owned(),
            ),
            Error::Invalid(m) | Error::KdfParams(m) if m.contains("policy") => {
                ("policy", m.clone())
            }
            Error::Invalid(m) | Error::KdfParams(m) => ("invalid", m.clone()),
            Error::AlreadyExists => ("invalid", "A vault already exists here.".to_owned()),
            Error::UnsafeFolder { relation, what } => (
                "unsafe_folder",
                format!(
                    "Coffer can't protect this folder: it {} {}, and protecting it would encrypt the vault into itself. Choose a folder that holds only documents, such as Documents/Patients.",
                    relation.describe(),
                    what.describe()
                ),
            ),
            _ => ("internal", e.to_string()),
        };
        UiError { code, message }
    }
}

/// Result of a command.
pub type CmdResult<T> = Result<T, UiError>;

//! The one error type of coffer-core.
//!
//! Messages never carry a secret, plaintext, or the name or path of a
//! protected file: callers at the edges (CLI, app) add what the user needs.

use std::io;

/// Everything that can go wrong in coffer-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed: the data was tampered with, is corrupt, or
    /// belongs to another key. Deliberately says no more than that.
    #[error("decryption failed: the data is corrupt or has been tampered with")]
    DecryptionFailed,

    /// The passphrase, recovery key, keychain secret or escrow key opens no slot.
    #[error("wrong credential")]
    WrongCredential,

    /// Bytes that do not parse as what they claim to be.
    #[error("corrupt {what}: {why}")]
    Corrupt {
        /// Which structure (e.g. "object header").
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },

    /// A format version this build cannot read.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// The version found.
        version: u32,
    },

    /// Argon2id parameters outside what we accept (too weak, or so large a
    /// hostile config could exhaust memory).
    #[error("key derivation parameters rejected: {0}")]
    KdfParams(String),

    /// The vault is locked and the operation needs its secret.
    #[error("the vault is locked")]
    Locked,

    /// Another process holds the vault's writer lock.
    #[error("the vault is in use by another process{}", pid.map(|p| format!(" (PID {p})")).unwrap_or_default())]
    InUse {
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },

    /// No file, version, object or slot of that name (the string names
    /// what was looked for).
    #[error("{0} not found")]
    NotFound(String),

    /// No vault at the given place.
    #[error("vault not found")]
    VaultNotFound,

    /// The folder is not one of the vault's protected folders.
    #[error("protected folder not found")]
    FolderNotProtected,

    /// A vault already exists where one was to be created.
    #[error("a vault already exists there")]
    AlreadyExists,

    /// A request that makes no sense (bad path, removing the last slot, ...).
    #[error("{0}")]
    Invalid(String),

    /// The organisation policy file does not parse or breaks a rule of
    /// its schema; Coffer does not run under it.
    #[error("corrupt policy: {why}")]
    PolicyInvalid {
        /// What is wrong with it.
        why: String,
    },

    /// The organisation policy file (or its folder) could be changed by
    /// someone other than the administrator, so it is not trusted.
    #[error("the policy file {} (or a folder above it) is not owned by root or is writable by others; Coffer refuses it — ask IT to reinstall it with `install -o root -m 0644`", path.display())]
    PolicyUntrusted {
        /// The refused file.
        path: std::path::PathBuf,
    },

    /// The policy in force does not allow the request; the message says
    /// what and whose policy.
    #[error("{0}")]
    PolicyForbids(String),

    /// Argon2id parameters below the floor the organisation policy sets.
    #[error("key derivation parameters rejected: {0}")]
    KdfBelowPolicy(String),

    /// A folder that is, holds or lies inside one of Coffer's own folders
    /// (the vault, its data, settings or cache, the working area, an audit
    /// sink): protecting it would encrypt the vault into itself.
    #[error("this folder {} {}; protecting it would encrypt Coffer's own files and destroy the vault", relation.describe(), what.describe())]
    UnsafeFolder {
        /// How the folder stands to Coffer's.
        relation: crate::own_kind::Relation,
        /// Which of Coffer's folders.
        what: crate::own_kind::OwnKind,
    },

    /// The caller asked a long operation to stop; what it finished stays
    /// done and the rest continues when it is run again.
    #[error("stopped before the end; run it again to continue where it stopped")]
    Cancelled,

    /// A key rotation found objects it cannot read or unwrap, so it stopped
    /// before destroying any key version (one of them may still be the only
    /// key to such an object). A rotation that had started stays recorded
    /// and finishes when run again once the objects are restored from a
    /// backup or quarantined (`Vault::quarantine`).
    #[error(
        "key rotation stopped: {} stored object{} cannot be read or unwrapped ({}); \
         no key version was destroyed. Restore {} from a backup or quarantine {}, \
         then run the rotation again",
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        blocked_ids(objects),
        if objects.len() == 1 { "it" } else { "them" },
        if objects.len() == 1 { "it" } else { "them" }
    )]
    RotationBlocked {
        /// Each object's id (32 hex digits) and why it cannot be read,
        /// without names or paths.
        objects: Vec<(String, String)>,
    },

    /// Part of the vault was changed by someone who does not hold its
    /// keys: its config, manifest or endorsement journal fails its MAC, or
    /// objects were added, replaced, deleted or rolled back behind its back
    /// (docs/FORMAT.md §17). Nothing was done on the strength of it.
    #[error(
        "the vault's {what} was changed by someone who does not hold its keys; \
         nothing was done. Restore the vault folder from a backup, or ask IT"
    )]
    Tampered {
        /// Which part ("config", "manifest", "objects", ...).
        what: &'static str,
    },

    /// A process working while the vault is locked found no key it can
    /// trust the vault's public key with: the writer key is kept in the OS
    /// keychain after the first unlock on this device.
    #[error(
        "files cannot be added while the vault is locked until it has been unlocked once on \
         this device (the key that proves the vault's settings genuine is kept in the OS \
         keychain); unlock it once, then try again"
    )]
    WriterKeyUnavailable,

    /// An operating-system I/O failure, with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, without naming protected files.
        context: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// What kind of failure an [`Error`] is: what the CLI's exit codes and the
/// app's error codes are chosen by, so no caller has to read a message.
/// One kind per [`Error`] variant; new kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::DecryptionFailed`].
    DecryptionFailed,
    /// [`Error::WrongCredential`].
    WrongCredential,
    /// [`Error::Corrupt`].
    Corrupt,
    /// [`Error::UnsupportedVersion`].
    UnsupportedVersion,
    /// [`Error::KdfParams`].
    KdfParams,
    /// [`Error::KdfBelowPolicy`].
    KdfBelowPolicy,
    /// [`Error::Locked`].
    Locked,
    /// [`Error::InUse`].
    InUse,
    /// [`Error::NotFound`].
    NotFound,
    /// [`Error::VaultNotFound`].
    VaultNotFound,
    /// [`Error::FolderNotProtected`].
    FolderNotProtected,
    /// [`Error::AlreadyExists`].
    AlreadyExists,
    /// [`Error::Invalid`].
    Invalid,
    /// [`Error::PolicyInvalid`].
    PolicyInvalid,
    /// [`Error::PolicyUntrusted`].
    PolicyUntrusted,
    /// [`Error::PolicyForbids`].
    PolicyForbids,
    /// [`Error::UnsafeFolder`].
    UnsafeFolder,
    /// [`Error::Cancelled`].
    Cancelled,
    /// [`Error::RotationBlocked`].
    RotationBlocked,
    /// [`Error::Tampered`].
    Tampered,
    /// [`Error::WriterKeyUnavailable`].
    WriterKeyUnavailable,
    /// [`Error::Io`].
    Io,
}

impl Error {
    /// The kind of failure, for callers that choose what to do by it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::DecryptionFailed => ErrorKind::DecryptionFailed,
            Error::WrongCredential => ErrorKind::WrongCredential,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::UnsupportedVersion { .. } => ErrorKind::UnsupportedVersion,
            Error::KdfParams(_) => ErrorKind::KdfParams,
            Error::KdfBelowPolicy(_) => ErrorKind::KdfBelowPolicy,
            Error::Locked => ErrorKind::Locked,
            Error::InUse { .. } => ErrorKind::InUse,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::VaultNotFound => ErrorKind::VaultNotFound,
            Error::FolderNotProtected => ErrorKind::FolderNotProtected,
            Error::AlreadyExists => ErrorKind::AlreadyExists,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::PolicyInvalid { .. } => ErrorKind::PolicyInvalid,
            Error::PolicyUntrusted { .. } => ErrorKind::PolicyUntrusted,
            Error::PolicyForbids(_) => ErrorKind::PolicyForbids,
            Error::UnsafeFolder { .. } => ErrorKind::UnsafeFolder,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::RotationBlocked { .. } => ErrorKind::RotationBlocked,
            Error::Tampered { .. } => ErrorKind::Tampered,
            Error::WriterKeyUnavailable => ErrorKind::WriterKeyUnavailable,
            Error::Io { .. } => ErrorKind::Io,
        }
    }

    pub(crate) fn policy_invalid(why: impl Into<String>) -> Self {
        Error::PolicyInvalid { why: why.into() }
    }

    pub(crate) fn corrupt(what: &'static str, why: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            why: why.into(),
        }
    }
}

/// The first few ids of blocked objects, for a message of bounded length.
fn blocked_ids(objects: &[(String, String)]) -> String {
    const SHOWN: usize = 5;
    let mut s = objects
        .iter()
        .take(SHOWN)
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > SHOWN {
        s.push_str(&format!(" and {} more", objects.len() - SHOWN));
    }
    s
}

/// Attach a path-free description to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Io { context, source })
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_kind() {
        let io = || io::Error::other("x");
        for (e, k) in [
            (Error::DecryptionFailed, ErrorKind::DecryptionFailed),
            (Error::WrongCredential, ErrorKind::WrongCredential),
            (Error::corrupt("x", "y"), ErrorKind::Corrupt),
            (
                Error::UnsupportedVersion {
                    what: "x",
                    version: 9,
                },
                ErrorKind::UnsupportedVersion,
            ),
            (Error::KdfParams("x".into()), ErrorKind::KdfParams),
            (Error::KdfBelowPolicy("x".into()), ErrorKind::KdfBelowPolicy),
            (Error::Locked, ErrorKind::Locked),
            (Error::InUse { pid: None }, ErrorKind::InUse),
            (Error::NotFound("x".into()), ErrorKind::NotFound),
            (Error::VaultNotFound, ErrorKind::VaultNotFound),
            (Error::FolderNotProtected, ErrorKind::FolderNotProtected),
            (Error::AlreadyExists, ErrorKind::AlreadyExists),
            (Error::Invalid("x".into()), ErrorKind::Invalid),
            (Error::policy_invalid("x"), ErrorKind::PolicyInvalid),
            (
                Error::PolicyUntrusted { path: "/p".into() },
                ErrorKind::PolicyUntrusted,
            ),
            (Error::PolicyForbids("x".into()), ErrorKind::PolicyForbids),
            (
                Error::UnsafeFolder {
                    relation: crate::own_kind::Relation::Is,
                    what: crate::own_kind::OwnKind::Vault,
                },
                ErrorKind::UnsafeFolder,
            ),
            (Error::Cancelled, ErrorKind::Cancelled),
            (
                Error::RotationBlocked { objects: vec![] },
                ErrorKind::RotationBlocked,
            ),
            (
                Error::Io {
                    context: "x",
                    source: io(),
                },
                ErrorKind::Io,
            ),
        ] {
            assert_eq!(e.kind(), k, "{e:?}");
        }
    }

    #[test]
    fn policy_and_lookup_messages_read_as_before() {
        assert_eq!(Error::VaultNotFound.to_string(), "vault not found");
        assert_eq!(
            Error::FolderNotProtected.to_string(),
            "protected folder not found"
        );
        assert_eq!(
            Error::policy_invalid("bad").to_string(),
            "corrupt policy: bad"
        );
        assert_eq!(
            Error::KdfBelowPolicy("low".into()).to_string(),
            "key derivation parameters rejected: low"
        );
    }
}

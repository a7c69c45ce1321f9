//! Errors as the UI sees them: `{code, message, details?}` with a small,
//! stable set of codes (docs/IPC.md). `message` is a plain sentence for
//! people (what happened, what to do); `details` is the technical text for
//! IT, behind the UI's "Details". Neither carries a secret, a file name or a
//! path: paths in technical text are replaced by [`redact_paths`].

use coffer_core::{Error, ErrorKind};
use serde::Serialize;

/// A failed command.
#[derive(Debug, Serialize)]
pub struct UiError {
    /// Stable code the UI switches on.
    pub code: &'static str,
    /// What happened and what to do, for people.
    pub message: String,
    /// Technical detail for IT (paths redacted), shown only on request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl UiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// With technical text for "Details"; paths in it are redacted.
    pub fn with_details(code: &'static str, message: impl Into<String>, details: &str) -> Self {
        UiError {
            code,
            message: message.into(),
            details: Some(redact_paths(details)),
        }
    }
}

/// `details` with every path-like word (absolute Unix or Windows path,
/// `~/…`, quoted or not) replaced by "[path]": technical text from the OS or
/// a plugin can name the working area's plaintext copy, which must not
/// reach the screen, a screenshot or a support ticket.
pub fn redact_paths(details: &str) -> String {
    fn is_path(w: &str) -> bool {
        let b = w.as_bytes();
        w.starts_with('/')
            || w.starts_with("~/")
            || w.starts_with("\\\\")
            || (b.len() > 2
                && b[0].is_ascii_alphabetic()
                && b[1] == b':'
                && (b[2] == b'\\' || b[2] == b'/'))
            || w.starts_with("file:")
    }
    let mut out = String::with_capacity(details.len());
    let mut rest = details;
    while !rest.is_empty() {
        let quote = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'));
        let (token, end) = match quote {
            // A quoted word may hold spaces: up to the closing quote.
            Some(q) => match rest[1..].find(q) {
                Some(i) => (&rest[1..=i], i + 2),
                None => (&rest[1..], rest.len()),
            },
            None => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&rest[..end], end)
            }
        };
        if end == 0 {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if is_path(token.trim_start_matches(['(', '['])) {
            match quote {
                Some(q) => {
                    out.push(q);
                    out.push_str("[path]");
                    out.push(q);
                }
                None => out.push_str("[path]"),
            }
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out
}

impl From<Error> for UiError {
    fn from(e: Error) -> Self {
        let (code, message) = match e.kind() {
            ErrorKind::WrongCredential => {
                ("wrong_credential", "Wrong passphrase or key.".to_owned())
            }
            ErrorKind::Locked => ("locked", "The vault is locked.".to_owned()),
            ErrorKind::WriterKeyUnavailable => (
                "locked",
                "Unlock the vault once on this computer: Coffer then keeps the key that lets it encrypt new files while the vault is locked.".to_owned(),
            ),
            ErrorKind::Tampered => {
                return UiError::with_details(
                    "integrity",
                    "The vault's files were changed by someone who does not have its keys, so Coffer did nothing with them. Tell IT; restoring the vault folder from a backup may be needed.",
                    &e.to_string(),
                );
            }
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
            ErrorKind::DecryptionFailed | ErrorKind::Corrupt | ErrorKind::UnsupportedVersion => {
                return UiError::with_details(
                    "integrity",
                    "Some of the vault's data could not be read: it may be damaged or changed outside Coffer. Run a check from Settings and restore damaged files from a backup.",
                    &e.to_string(),
                );
            }
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
            ErrorKind::VaultNotFound => {
                return UiError::with_details(
                    "not_found",
                    "Coffer found no vault on this computer. Set one up, or ask IT where yours is.",
                    &e.to_string(),
                );
            }
            ErrorKind::FolderNotProtected => (
                "not_found",
                "That folder is not protected by Coffer any more. Refresh the list.".to_owned(),
            ),
            ErrorKind::NotFound => {
                return UiError::with_details(
                    "not_found",
                    "That item is no longer in the vault: it may have been removed meanwhile. Refresh the list.",
                    &e.to_string(),
                );
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
                        "Coffer was not allowed to read or write a file here. Check that you own the folder, or ask IT.".into()
                    }
                    _ => {
                        return UiError::with_details(
                            "io",
                            "Coffer couldn't read or write a file on this computer. Nothing was lost; try again.",
                            &e.to_string(),
                        );
                    }
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
            _ => {
                return UiError::with_details(
                    "internal",
                    "Something went wrong inside Coffer. Try again; if it keeps happening, tell IT and show them the details.",
                    &e.to_string(),
                );
            }
        };
        UiError::new(code, message)
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

    /// Every message a kind can produce is a sentence for people: it ends
    /// with a full stop, says something beyond the code, and names no path
    /// even when the technical text did.
    #[test]
    fn messages_are_plain_sentences_without_paths() {
        let s = || "/tmp/coffer-work-1/letter.txt".to_owned();
        for e in [
            Error::DecryptionFailed,
            Error::Corrupt {
                what: "manifest",
                why: s(),
            },
            Error::NotFound(s()),
            Error::VaultNotFound,
            Error::FolderNotProtected,
            Error::Io {
                context: "reading",
                source: std::io::Error::other(s()),
            },
            Error::Io {
                context: "x",
                source: std::io::ErrorKind::PermissionDenied.into(),
            },
            Error::InUse { pid: None },
            Error::Cancelled,
        ] {
            let u = UiError::from(e);
            assert!(
                u.message.ends_with('.') && u.message.len() > 25,
                "{}",
                u.message
            );
            assert!(!u.message.contains("/tmp"), "{}", u.message);
            if let Some(d) = &u.details {
                assert!(!d.contains("/tmp"), "{d}");
            }
        }
    }

    #[test]
    fn redact_paths_hides_every_path_form() {
        let raw = r#"Launcher "gio" "open" "/tmp/coffer-work-ab/letter 1.txt" failed with ExitStatus(unix_wait_status(512))"#;
        let r = redact_paths(raw);
        assert_eq!(
            r,
            r#"Launcher "gio" "open" "[path]" failed with ExitStatus(unix_wait_status(512))"#
        );
        assert_eq!(
            redact_paths(r"open C:\Users\a\x.txt now"),
            "open [path] now"
        );
        assert_eq!(redact_paths("at ~/Patients/a.txt"), "at [path]");
        assert_eq!(
            redact_paths("no paths here: 3/4 done"),
            "no paths here: 3/4 done"
        );
        assert_eq!(
            redact_paths("unterminated \"/home/a b"),
            "unterminated \"[path]\""
        );
    }
}

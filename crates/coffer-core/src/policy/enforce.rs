//! Enforcement: what the policy in force refuses, and what an unlock must
//! change to bring a vault up to it. The vault asks; this room decides.

use std::path::{Path, PathBuf};

use super::settings::expand;
use super::{Effective, Policy};
use crate::config::{Slot, SlotKind};
use crate::crypto::kdf::Argon2Params;
use crate::crypto::wrap::PublicKey;
use crate::error::{Error, Result};

impl Effective {
    /// The refusal of something this policy does not allow: `what` says
    /// what ("a keychain slot is not allowed"), the message adds whose rule.
    pub fn forbids(&self, what: impl std::fmt::Display) -> Error {
        Error::PolicyForbids(format!("{what} by {}", self.by()))
    }

    /// Refuses Argon2id parameters below the floor. Below Coffer's own
    /// floor it is a parameter error; below an organisation's, the
    /// organisation's policy refuses them.
    pub fn check_kdf(&self, k: &Argon2Params) -> Result<()> {
        let floor = self.policy.kdf_floor();
        if k.at_least(&floor) {
            return Ok(());
        }
        let why = format!(
            "m={} MiB, t={}, p={} are below the minimum of m={} MiB, t={}, p={} set by {}",
            k.m_kib / 1024,
            k.t,
            k.p,
            floor.m_kib / 1024,
            floor.t,
            floor.p,
            self.by()
        );
        Err(match self.source {
            Some(_) => Error::KdfBelowPolicy(why),
            None => Error::KdfParams(why),
        })
    }

    /// Refuses unlocking with a kind of slot the policy does not allow.
    pub fn check_unlock(&self, kind: SlotKind) -> Result<()> {
        if self.policy.allows(kind) {
            Ok(())
        } else {
            Err(self.forbids(format_args!(
                "unlocking with the {} is not allowed",
                kind.as_str()
            )))
        }
    }

    /// Refuses enrolling the computer's keychain when a vault is created
    /// where the policy does not allow it.
    pub fn check_keychain_at_create(&self) -> Result<()> {
        if self.policy.allows(SlotKind::Keychain) {
            Ok(())
        } else {
            Err(self.forbids("unlocking with the computer's keychain is not allowed"))
        }
    }

    /// Refuses a new slot of a kind the policy does not allow, or a
    /// passphrase slot derived below the floor.
    pub fn check_new_slot(&self, kind: SlotKind, kdf: Option<&Argon2Params>) -> Result<()> {
        if !self.policy.allows(kind) {
            return Err(self.forbids(format_args!("a {} slot is not allowed", kind.as_str())));
        }
        if let Some(k) = kdf {
            self.check_kdf(k)?;
        }
        Ok(())
    }

    /// Refuses removing the escrow slot the policy requires.
    pub fn check_slot_removal(&self, kind: SlotKind) -> Result<()> {
        if kind == SlotKind::Escrow && self.policy.requires_escrow() {
            return Err(self.forbids("the organisation escrow slot is required"));
        }
        Ok(())
    }

    /// Refuses an extraction destination the policy rules out (see
    /// [`Policy::check_extract`]).
    pub fn check_extract_to(&self, dest: &Path, home: &Path) -> Result<()> {
        self.policy
            .check_extract(dest, home)
            .map_err(|why| self.forbids(why))
    }
}

impl Policy {
    /// Refuses an extraction destination the policy rules out. `dest` and
    /// the policy's folders are judged by where they really are (see
    /// [`resolve`]): a `..` or a symlinked folder cannot carry a file out
    /// of an allowed folder or into a forbidden one.
    pub fn check_extract(&self, dest: &Path, home: &Path) -> std::result::Result<(), String> {
        let ex = &self.extract;
        if ex.forbidden_destinations.is_empty() && ex.allowed_destinations.is_empty() {
            return Ok(());
        }
        // The message names no part of `dest`: it ends in a protected file's name.
        let dest =
            resolve(dest).map_err(|e| format!("the destination folder cannot be checked ({e})"))?;
        let folder = |f: &str| {
            let raw = expand(f, home);
            resolve(&raw).unwrap_or(raw)
        };
        for f in &ex.forbidden_destinations {
            if dest.starts_with(folder(f)) {
                return Err(format!("extracting below {f} is not allowed"));
            }
        }
        let allowed = &ex.allowed_destinations;
        if !allowed.is_empty() && !allowed.iter().any(|a| dest.starts_with(folder(a))) {
            return Err(format!(
                "files may only be extracted below {}",
                allowed.join(", ")
            ));
        }
        Ok(())
    }

    /// Whether every vault must carry the organisation escrow slot.
    pub fn requires_escrow(&self) -> bool {
        self.escrow.as_ref().is_some_and(|e| e.required)
    }

    /// Whether a passphrase slot is derived below the KDF floor.
    pub fn has_weak_passphrase(&self, slots: &[Slot]) -> bool {
        let floor = self.kdf_floor();
        slots
            .iter()
            .any(|s| matches!(s, Slot::Passphrase { kdf, .. } if !kdf.at_least(&floor)))
    }

    /// The escrow key to enrol: the policy requires one, names a usable
    /// key, and `slots` hold no escrow slot yet.
    pub fn missing_escrow(&self, slots: &[Slot]) -> Option<PublicKey> {
        if self.requires_escrow() && !slots.iter().any(|s| matches!(s, Slot::Escrow { .. })) {
            self.escrow_key()
        } else {
            None
        }
    }

    /// The X25519 escrow slots whose organisation key is not the one the
    /// policy publishes now: the organisation changed its key, and these
    /// go once a slot for the new one is in place.
    pub fn outdated_escrow<'a>(&self, slots: &'a [Slot]) -> Vec<&'a Slot> {
        let Some(current) = self.escrow_key() else {
            return Vec::new();
        };
        slots
            .iter()
            .filter(|s| matches!(s, Slot::Escrow { org_public_key, .. } if org_public_key.0 != current.0))
            .collect()
    }

    /// The slots of kinds the policy does not allow.
    pub fn forbidden_slots<'a>(&'a self, slots: &'a [Slot]) -> impl Iterator<Item = &'a Slot> {
        slots.iter().filter(|s| !self.allows(s.kind()))
    }
}

/// Where `path` is, or would be once created: made absolute, its longest
/// existing ancestor canonicalized (symlinks followed, `..` resolved as
/// the OS does), and the part that does not exist yet appended with its
/// `.` and `..` applied lexically (there is nothing on disk for them to
/// pass through; folders created for it are real folders). An ancestor
/// that exists but cannot be resolved (a dangling symlink, a folder that
/// cannot be read) is an error.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(path)?;
    for ancestor in abs.ancestors() {
        match std::fs::canonicalize(ancestor) {
            Ok(mut real) => {
                let rest = abs.strip_prefix(ancestor).expect("an ancestor of abs");
                for c in rest.components() {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(ancestor).is_ok() {
                    // It exists, so it is a symlink to nothing.
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "a folder on the way is a symlink to nothing",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no folder on the way exists",
    ))
}

//! Opening a slot (docs/FORMAT.md §4.4): which slots are tried, in what
//! order, at what cost, and how each commits to its key.
//!
//! AES-GCM is not key-committing: a ciphertext can be made to open under
//! several keys. Someone who can write `vault.json` could plant a slot that
//! opens under the KEKs of many guessed passphrases, and learn from the
//! user's next unlock whether theirs was among them (a partitioning
//! oracle: "tampered" when a guess was right, "wrong passphrase" when
//! not). So every passphrase, keychain and recovery slot carries
//! `commit = HKDF(salt = slot id, ikm = KEK, info = "coffer/v2/slot-commitment")`,
//! checked before the slot's ciphertext is tried: a slot then opens under
//! one KEK only, one guess per slot and unlock attempt, as online guessing
//! would give anyway. Slots written before commitments are committed
//! the first time they open; a device that has seen every slot of a vault
//! committed refuses an uncommitted one, before any KDF runs.

use super::{
    B64, Credential, INFO_ESCROW, LABEL_KEYCHAIN, LABEL_RECOVERY, Slot, SlotKind, VaultConfig,
    slot_aad,
};
use crate::crypto::kdf::{Argon2Params, argon2id};
use crate::crypto::primitives::{self, ct_eq, hkdf32};
use crate::crypto::secret::Key32;
use crate::crypto::wrap;
use crate::error::{Error, Result};

const LABEL_SLOT_COMMIT: &[u8] = b"coffer/v2/slot-commitment";

/// The most Argon2id work (memory in KiB × passes) one unlock may spend
/// over all the passphrase slots it could try: 8 GiB·passes, about 10 s
/// on a 2-core laptop (the default costs 0.75 GiB·passes). A config over
/// it is refused before any KDF runs, so an edited config cannot make an
/// unlock take minutes by piling up slots.
pub const MAX_UNLOCK_WORK_KIB: u64 = 8 * 1024 * 1024;

/// A commitment to add to the slot that opened (it had none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitToAdd {
    /// The slot's id.
    pub slot_id: [u8; 16],
    /// Its commitment.
    pub commit: [u8; 32],
}

/// What opening a slot yields.
pub(crate) struct Opened {
    pub(super) master: Key32,
    pub(super) index: usize,
    pub(super) commit_to_add: Option<CommitToAdd>,
}

/// The commitment of a slot with id `slot_id` to its `kek`.
pub(super) fn commitment(kek: &Key32, slot_id: &[u8; 16]) -> [u8; 32] {
    *hkdf32(slot_id, kek.expose(), &[LABEL_SLOT_COMMIT]).expose()
}

impl Slot {
    /// The slot's commitment, for the kinds that carry one.
    pub fn commit(&self) -> Option<&B64<32>> {
        match self {
            Slot::Passphrase { commit, .. }
            | Slot::Keychain { commit, .. }
            | Slot::Recovery { commit, .. } => commit.as_ref(),
            Slot::Escrow { .. } | Slot::KmsEscrow(_) => None,
        }
    }

    /// Whether the slot is of a kind that commits and lacks its commitment.
    pub fn is_uncommitted(&self) -> bool {
        matches!(
            self,
            Slot::Passphrase { commit: None, .. }
                | Slot::Keychain { commit: None, .. }
                | Slot::Recovery { commit: None, .. }
        )
    }

    /// Sets the commitment of a slot that lacked one.
    pub(crate) fn set_commit(&mut self, value: [u8; 32]) {
        if let Slot::Passphrase { commit, .. }
        | Slot::Keychain { commit, .. }
        | Slot::Recovery { commit, .. } = self
        {
            *commit = Some(B64(value));
        }
    }
}

impl VaultConfig {
    /// The Argon2id work an unlock with a passphrase could spend: every
    /// passphrase slot's memory × passes.
    pub fn unlock_work_kib(&self) -> u64 {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Passphrase { kdf, .. } => Some(u64::from(kdf.m_kib) * u64::from(kdf.t)),
                _ => None,
            })
            .sum()
    }

    /// Checks the work budget (§4.2 rule 6).
    pub(super) fn check_unlock_work(&self) -> Result<()> {
        let work = self.unlock_work_kib();
        if work > MAX_UNLOCK_WORK_KIB {
            return Err(Error::KdfParams(format!(
                "the passphrase slots would cost {} GiB·passes of Argon2id to try, over the \
                 limit of {} (an edited config?); unlock with the recovery key and set a new \
                 passphrase",
                work >> 20,
                MAX_UNLOCK_WORK_KIB >> 20
            )));
        }
        Ok(())
    }

    /// Tries `cred` against the slots of its kind, in array order (the
    /// documented order, FORMAT.md §4.4); the first that opens yields the
    /// master key.
    pub(crate) fn open_master(
        &self,
        cred: &Credential<'_>,
        require_commit: bool,
    ) -> Result<Opened> {
        let vid = self.vault_id.0;
        let kind = cred.kind();
        if require_commit
            && self
                .slots
                .iter()
                .any(|s| s.kind() == kind && s.is_uncommitted())
        {
            return Err(Error::Tampered { what: "config" });
        }
        if kind == SlotKind::Passphrase {
            self.check_unlock_work()?;
        }
        let mut tried = false;
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.kind() != kind {
                continue;
            }
            tried = true;
            let aad = slot_aad(&vid, &slot.id().0, kind);
            // The KEK of a slot of a committing kind, and its ciphertext.
            let kek_and_wrap = match (slot, cred) {
                (
                    Slot::Passphrase {
                        salt,
                        kdf,
                        nonce,
                        wrapped,
                        ..
                    },
                    Credential::Passphrase(p),
                ) => {
                    kdf.check(&Argon2Params::FLOOR)?;
                    Some((argon2id(p, &salt.0, kdf)?, nonce, wrapped))
                }
                (
                    Slot::Keychain {
                        salt,
                        nonce,
                        wrapped,
                        ..
                    },
                    Credential::Keychain(s),
                ) => Some((
                    hkdf32(&salt.0, s.expose(), &[LABEL_KEYCHAIN]),
                    nonce,
                    wrapped,
                )),
                (
                    Slot::Recovery {
                        salt,
                        nonce,
                        wrapped,
                        ..
                    },
                    Credential::Recovery(rk),
                ) => Some((
                    hkdf32(&salt.0, rk.expose(), &[LABEL_RECOVERY]),
                    nonce,
                    wrapped,
                )),
                _ => None,
            };
            let mut commit_to_add = None;
            let opened = match kek_and_wrap {
                Some((kek, nonce, wrapped)) => {
                    let c = commitment(&kek, &slot.id().0);
                    match slot.commit() {
                        Some(want) if !ct_eq(&want.0, &c) => continue,
                        Some(_) => {}
                        None => {
                            commit_to_add = Some(CommitToAdd {
                                slot_id: slot.id().0,
                                commit: c,
                            })
                        }
                    }
                    primitives::open(&kek, &nonce.0, &aad, &wrapped.0)
                }
                None => match (slot, cred) {
                    (Slot::KmsEscrow(k), Credential::KmsEscrow(key)) => k.open(&vid, key),
                    (Slot::Escrow { enc, wrapped, .. }, Credential::Escrow(sk)) => wrap::open(
                        sk,
                        &enc.0,
                        &[INFO_ESCROW, &vid[..]].concat(),
                        &aad,
                        &wrapped.0,
                    ),
                    _ => continue,
                },
            };
            if let Ok(m) = opened {
                return Ok(Opened {
                    master: Key32::from_slice(&m).expect("wrapped 32 bytes"),
                    index: i,
                    commit_to_add,
                });
            }
        }
        if !tried {
            return Err(Error::NotFound(format!("{} slot", kind.as_str())));
        }
        Err(Error::WrongCredential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NewSlot;
    use crate::crypto::secret::Passphrase;

    fn fast() -> Argon2Params {
        Argon2Params::FLOOR
    }

    #[test]
    fn new_slots_commit_and_a_wrong_commitment_is_never_tried() {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("pw");
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, fast()))
            .unwrap();
        assert!(cfg.slots.iter().all(|s| s.commit().is_some()));
        cfg.authenticate(&keys);
        cfg.unlock(&Credential::Passphrase(&pass)).unwrap();
        // A slot whose ciphertext opens under the KEK but whose commitment
        // names another key is skipped: it cannot open under two keys.
        let mut bad = cfg.clone();
        bad.slots[0].set_commit([0; 32]);
        assert!(matches!(
            bad.unlock(&Credential::Passphrase(&pass)),
            Err(Error::WrongCredential)
        ));
    }

    #[test]
    fn an_uncommitted_slot_opens_and_names_its_commitment_unless_required() {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("pw");
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, fast()))
            .unwrap();
        let want = cfg.slots[0].commit().unwrap().0;
        if let Slot::Passphrase { commit, .. } = &mut cfg.slots[0] {
            *commit = None;
        }
        cfg.authenticate(&keys);
        let (k, _) = cfg.unlock(&Credential::Passphrase(&pass)).unwrap();
        assert_eq!(k.commit_to_add.unwrap().commit, want);
        assert!(matches!(
            cfg.unlock_committed(&Credential::Passphrase(&pass), true),
            Err(Error::Tampered { .. })
        ));
    }

    #[test]
    fn piled_up_passphrase_slots_are_refused_before_any_kdf() {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("pw");
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, fast()))
            .unwrap();
        let heavy = Argon2Params {
            m_kib: 2 * 1024 * 1024,
            t: 2,
            p: 1,
        };
        let mut slot = cfg.slots[0].clone();
        if let Slot::Passphrase { kdf, .. } = &mut slot {
            *kdf = heavy;
        }
        for _ in 0..3 {
            cfg.slots.push(slot.clone());
        }
        let t = std::time::Instant::now();
        assert!(matches!(
            cfg.unlock(&Credential::Passphrase(&pass)),
            Err(Error::KdfParams(_))
        ));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}

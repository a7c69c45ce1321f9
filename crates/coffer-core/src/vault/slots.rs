//! Enrolling, replacing and removing credentials (key slots), each
//! checked against the policy first.

use super::Vault;
use crate::audit::AuditEvent;
use crate::config::{CommitToAdd, NewSlot, Slot, SlotKind};
use crate::error::{Error, Result};

impl Vault {
    /// Enrols a new slot (needs unlock). Returns its short id.
    pub fn add_slot(&mut self, new: NewSlot<'_>) -> Result<String> {
        self.check_new_slot(&new)?;
        let _w = self.writer()?;
        self.reload_config()?;
        let keys = self.keys.as_ref().ok_or(Error::Locked)?;
        let i = self.config.add_slot(keys, new)?;
        self.save_config()?;
        let kind = self.config.slots[i].kind();
        self.audit.append(&[AuditEvent::SlotAdded {
            kind: kind.as_str().into(),
        }])?;
        Ok(self.config.slots[i].id_hex())
    }

    /// Removes the slot whose short id is `id` (needs unlock).
    pub fn remove_slot(&mut self, id: &str) -> Result<SlotKind> {
        self.keys()?;
        let _w = self.writer()?;
        self.reload_config()?;
        let i = self
            .config
            .slots
            .iter()
            .position(|s| s.id_hex() == id)
            .ok_or_else(|| Error::NotFound(format!("slot {id}")))?;
        self.policy
            .check_slot_removal(self.config.slots[i].kind())?;
        let removed = self.config.remove_slot(i)?;
        self.save_config()?;
        self.audit.append(&[AuditEvent::SlotRemoved {
            kind: removed.kind().as_str().into(),
        }])?;
        Ok(removed.kind())
    }

    /// Replaces every slot of `kind` by one for the new credential, in one
    /// atomic config write: the old credential stops working at once.
    pub fn replace_slots(&mut self, kind: SlotKind, new: NewSlot<'_>) -> Result<String> {
        self.check_new_slot(&new)?;
        let _w = self.writer()?;
        self.reload_config()?;
        let keys = self.keys.as_ref().ok_or(Error::Locked)?;
        let mut cfg = self.config.clone();
        // KMS escrow slots follow the policy only (enrol_kms_escrow).
        let replaced = |s: &Slot| s.kind() == kind && !matches!(s, Slot::KmsEscrow(_));
        cfg.slots.retain(|s| !replaced(s));
        let i = cfg.add_slot(keys, new)?;
        let id = cfg.slots[i].id_hex();
        let removed = self.config.slots.iter().filter(|s| replaced(s)).count();
        self.config = cfg;
        self.save_config()?;
        let mut events: Vec<AuditEvent> = (0..removed)
            .map(|_| AuditEvent::SlotRemoved {
                kind: kind.as_str().into(),
            })
            .collect();
        events.push(AuditEvent::SlotAdded {
            kind: kind.as_str().into(),
        });
        self.audit.append(&events)?;
        Ok(id)
    }

    /// Enrols the vault to the policy's KMS/HSM key when it is not yet
    /// enrolled to that key and version (needs unlock; offline: only the
    /// public key is used). Once the new slot is on disk, slots for other
    /// versions or keys are removed in a second write, so a crash between
    /// the two leaves both, never neither; keeping them would keep an old
    /// key version in use at the KMS. Returns whether anything changed.
    pub(super) fn enrol_kms_escrow(&mut self) -> Result<bool> {
        let Some(org) = self.policy.policy.kms_escrow_key() else {
            return Ok(false);
        };
        let enrolled = |s: &Slot| matches!(s, Slot::KmsEscrow(k) if k.is_for(&org));
        let stale = |s: &Slot| matches!(s, Slot::KmsEscrow(k) if !k.is_for(&org));
        if self.config.slots.iter().any(enrolled) && !self.config.slots.iter().any(stale) {
            return Ok(false);
        }
        self.check_new_slot(&NewSlot::KmsEscrow(&org))?;
        let _w = self.writer()?;
        self.reload_config()?;
        let keys = self.keys.as_ref().ok_or(Error::Locked)?;
        let mut changed = false;
        if !self.config.slots.iter().any(enrolled) {
            self.config.add_slot(keys, NewSlot::KmsEscrow(&org))?;
            self.save_config()?;
            self.audit.append(&[AuditEvent::SlotAdded {
                kind: SlotKind::Escrow.as_str().into(),
            }])?;
            changed = true;
        }
        let removed = self.config.slots.iter().filter(|s| stale(s)).count();
        if removed > 0 {
            self.config.slots.retain(|s| !stale(s));
            self.save_config()?;
            let events: Vec<AuditEvent> = (0..removed)
                .map(|_| AuditEvent::SlotRemoved {
                    kind: SlotKind::Escrow.as_str().into(),
                })
                .collect();
            self.audit.append(&events)?;
            changed = true;
        }
        Ok(changed)
    }

    /// Replaces the KMS escrow slot `id` by a fresh one for the same key
    /// (needs unlock), in one config write: after a recovery, the slot key
    /// that passed through IT's machine no longer opens anything.
    pub fn reseal_kms_slot(
        &mut self,
        id: &[u8; 16],
        org: &crate::format::escrow_key::kms::OrgKmsKey,
    ) -> Result<String> {
        let _w = self.writer()?;
        self.reload_config()?;
        let keys = self.keys.as_ref().ok_or(Error::Locked)?;
        let old = |s: &Slot| matches!(s, Slot::KmsEscrow(k) if k.id == *id);
        if !self.config.slots.iter().any(old) {
            return Err(Error::NotFound("KMS escrow slot".into()));
        }
        let mut cfg = self.config.clone();
        cfg.slots.retain(|s| !old(s));
        let i = cfg.add_slot(keys, NewSlot::KmsEscrow(org))?;
        let new_id = cfg.slots[i].id_hex();
        self.config = cfg;
        self.save_config()?;
        let kind = SlotKind::Escrow.as_str();
        self.audit.append(&[
            AuditEvent::SlotRemoved { kind: kind.into() },
            AuditEvent::SlotAdded { kind: kind.into() },
        ])?;
        Ok(new_id)
    }

    /// Adds the commitment the slot that just opened lacked (FORMAT.md
    /// §3.1), and once every slot of the vault commits, remembers on this
    /// device that it does: from then on an uncommitted slot is refused.
    pub(super) fn commit_slots(&mut self, commit: Option<CommitToAdd>) -> Result<()> {
        if let Some(c) = commit
            && self.config.is_authenticated()
        {
            let _w = self.writer()?;
            self.reload_config()?;
            if let Some(slot) = self
                .config
                .slots
                .iter_mut()
                .find(|s| s.id().0 == c.slot_id && s.is_uncommitted())
            {
                slot.set_commit(c.commit);
                self.save_config()?;
            }
        }
        if self.config.is_authenticated() && !self.config.slots.iter().any(|s| s.is_uncommitted()) {
            self.remember_slots_committed();
        }
        Ok(())
    }

    pub(super) fn check_new_slot(&self, new: &NewSlot<'_>) -> Result<()> {
        let (kind, kdf) = match new {
            NewSlot::Passphrase(_, k) => (SlotKind::Passphrase, Some(*k)),
            NewSlot::Keychain(_) => (SlotKind::Keychain, None),
            NewSlot::Recovery(_) => (SlotKind::Recovery, None),
            NewSlot::Escrow(_) | NewSlot::KmsEscrow(_) => (SlotKind::Escrow, None),
        };
        self.policy.check_new_slot(kind, kdf.as_ref())
    }
}

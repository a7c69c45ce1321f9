//! Creating, opening and unlocking a vault, and bringing it up to the
//! organisation policy right after an unlock.

use std::path::Path;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{CONFIG_FILE, LOCK_FILE, OBJECTS_DIR, Vault, create_private_dir, read_config};
use crate::audit::{AuditEvent, AuditLog, Identity};
use crate::config::{Credential, NewSlot, SlotKind, VaultConfig};
use crate::crypto::kdf::Argon2Params;
use crate::crypto::secret::{Key32, Passphrase};
use crate::crypto::wrap::PublicKey;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, WriterLock};

/// Options of [`Vault::create`].
pub struct CreateOptions<'a> {
    /// The first passphrase.
    pub passphrase: &'a Passphrase,
    /// Its Argon2id parameters.
    pub kdf: Argon2Params,
    /// A keychain secret to enrol, if any.
    pub keychain_secret: Option<&'a Key32>,
    /// An organisation escrow key to enrol, if any.
    pub escrow: Option<PublicKey>,
}

/// A newly created vault and the recovery key to show once.
pub struct Created {
    /// The vault, unlocked.
    pub vault: Vault,
    /// The recovery key, formatted for humans.
    pub recovery_key: Zeroizing<String>,
}

impl Vault {
    /// Creates a vault in `dir` (which must not hold one), with a
    /// passphrase slot, a recovery slot, and the optional keychain and
    /// escrow slots.
    pub fn create(dir: &Path, opts: CreateOptions<'_>) -> Result<Created> {
        // Absolute, so that Coffer always recognises its own vault: a
        // relative path would slip past every check that keeps a walk out.
        let dir = &std::path::absolute(dir).ctx("finding the vault folder")?;
        if dir.join(CONFIG_FILE).exists() {
            return Err(Error::AlreadyExists);
        }
        let policy = crate::policy::load()?;
        policy.check_kdf(&opts.kdf)?;
        if opts.keychain_secret.is_some() {
            policy.check_keychain_at_create()?;
        }
        let escrow = opts.escrow.or_else(|| policy.policy.escrow_key());
        create_private_dir(dir)?;
        create_private_dir(&dir.join(OBJECTS_DIR))?;
        let (mut config, keys) = VaultConfig::create();
        config.add_slot(&keys, NewSlot::Passphrase(opts.passphrase, opts.kdf))?;
        let rk = Key32::random();
        config.add_slot(&keys, NewSlot::Recovery(&rk))?;
        if let Some(s) = opts.keychain_secret {
            config.add_slot(&keys, NewSlot::Keychain(s))?;
        }
        if let Some(pk) = &escrow {
            config.add_slot(&keys, NewSlot::Escrow(pk))?;
        }
        if let Some(org) = policy.policy.kms_escrow_key() {
            config.add_slot(&keys, NewSlot::KmsEscrow(&org))?;
        }
        config.authenticate(&keys);
        let vault = Vault {
            dir: dir.to_path_buf(),
            audit: AuditLog::new(dir, Identity::current(config.vault_id()))
                .with_sinks(policy.policy.audit.sinks.clone())
                .with_key_recipient(escrow.or_else(|| policy.policy.escrow_key())),
            config,
            keys: Some(keys),
            policy,
            writer: None,
            writer_source: None,
            integrity: None,
        };
        {
            let _w = vault.writer()?;
            // The manifest first: a config without one would read as a
            // vault whose manifest was deleted.
            let generation = vault.write_first_manifest()?;
            fsutil::atomic_write(&vault.dir.join(CONFIG_FILE), &vault.config.to_bytes())?;
            vault.save_anchor(generation);
        }
        vault
            .audit
            .append(&[AuditEvent::VaultCreated, vault.status_event()?])?;
        Ok(Created {
            vault,
            recovery_key: crate::format::recovery::encode(&rk),
        })
    }

    /// Opens the vault in `dir`, locked. Leftover temporary files from a
    /// crash are removed if no other writer is active.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_under(dir, crate::policy::load)
    }

    /// [`Vault::open`] under a policy the caller already holds (the app
    /// reads the policy once and re-reads it only when its file changes),
    /// so opening does not read the policy file again.
    pub fn open_with_policy(dir: &Path, policy: crate::policy::Effective) -> Result<Self> {
        Self::open_under(dir, || Ok(policy))
    }

    fn open_under(
        dir: &Path,
        policy: impl FnOnce() -> Result<crate::policy::Effective>,
    ) -> Result<Self> {
        let dir = &std::path::absolute(dir).ctx("finding the vault folder")?;
        let bytes = match read_config(dir) {
            Err(e) if fsutil::is_not_found(&e) => return Err(Error::VaultNotFound),
            r => r?,
        };
        let config = VaultConfig::parse(&bytes)?;
        // After the config, so that a missing or damaged vault is what a
        // user hears about first.
        let policy = policy()?;
        let vault = Vault {
            dir: dir.to_path_buf(),
            audit: AuditLog::new(dir, Identity::current(config.vault_id()))
                .with_sinks(policy.policy.audit.sinks.clone())
                .with_key_recipient(policy.policy.escrow_key()),
            config,
            keys: None,
            policy,
            writer: None,
            writer_source: None,
            integrity: None,
        };
        if let Ok(_w) = WriterLock::acquire(&vault.dir.join(LOCK_FILE), Duration::ZERO) {
            vault.clean_leftovers()?;
        }
        Ok(vault)
    }

    /// Unlocks with a credential; returns the kind of slot that opened.
    /// Every attempt is audited; recovery and escrow unlocks are recorded
    /// as recoveries.
    pub fn unlock(&mut self, cred: &Credential<'_>) -> Result<SlotKind> {
        // A KMS/HSM recovery is named as such in the audit trail.
        let method = match cred {
            Credential::KmsEscrow(_) => "kms_escrow".to_owned(),
            _ => cred.kind().as_str().to_owned(),
        };
        self.policy.check_unlock(cred.kind())?;
        match self
            .config
            .unlock_committed(cred, self.slots_committed_here())
        {
            Ok((mut keys, i)) => {
                let commit = keys.commit_to_add.take();
                self.keys = Some(keys);
                let kind = self.config.slots[i].kind();
                let ev = match kind {
                    SlotKind::Recovery | SlotKind::Escrow => AuditEvent::Recovered { method },
                    _ => AuditEvent::Unlocked { method },
                };
                self.audit.append(&[ev])?;
                self.upgrade_config(false)?;
                self.commit_slots(commit)?;
                self.enforce_policy(cred)?;
                self.integrity = Some(self.integrity_now()?);
                Ok(kind)
            }
            Err(e) => {
                match &e {
                    Error::WrongCredential => {
                        self.audit.append(&[AuditEvent::UnlockFailed { method }])?;
                    }
                    Error::Tampered { what } => {
                        self.audit.append(&[AuditEvent::VaultIntegrity {
                            problem: format!("{what}_tampered"),
                            ids: Vec::new(),
                        }])?;
                    }
                    _ => {}
                }
                Err(e)
            }
        }
    }

    /// What the unlock found when it compared the vault with its manifest.
    pub fn integrity_at_unlock(&self) -> Option<&super::IntegrityReport> {
        self.integrity.as_ref()
    }

    /// Upgrades a version-1 config right after an unlock: the writer key
    /// and the config's MAC, and the first manifest, which endorses every
    /// object there now. The manifest is written first, so a crash in
    /// between leaves a version-1 config that is upgraded again at the
    /// next unlock (a new writer key, a new manifest).
    pub(super) fn upgrade_config(&mut self, accepted: bool) -> Result<()> {
        if self.config.is_authenticated() {
            return Ok(());
        }
        // A device that knew this vault authenticated does not take a
        // version-1 config on trust: someone may have put it there to have
        // planted objects endorsed. It stays as it is, reported, until
        // someone who unlocked accepts it (`repair --accept-as-is`).
        if !accepted && self.known_authenticated_here() {
            return self.audit.append(&[AuditEvent::VaultIntegrity {
                problem: super::ProblemKind::ConfigDowngraded.as_str().into(),
                ids: Vec::new(),
            }]);
        }
        let _w = self.writer()?;
        self.reload_config()?;
        if self.config.is_authenticated() {
            // Another process upgraded it meanwhile: unlock again to read
            // its writer key.
            return Err(Error::InUse { pid: None });
        }
        let mut keys = self.keys.take().ok_or(Error::Locked)?;
        let mut config = self.config.clone();
        config.upgrade(&mut keys);
        self.keys = Some(keys);
        self.config = config;
        let generation = self.write_first_manifest()?;
        // The list a version-1 vault kept had no MAC: endorsed as it is,
        // like the objects (trust on first use, recorded below).
        let folders = self.unauthenticated_protected_folders()?;
        if !folders.is_empty() {
            self.save_protected(folders)?;
        }
        self.save_config()?;
        self.save_anchor(generation);
        self.audit.append(&[AuditEvent::PolicyApplied {
            source: "format upgrade (authenticated config and manifest)".into(),
        }])
    }

    /// Folds what writers endorsed while the vault was locked into the
    /// manifest, and names and records every difference. When another
    /// writer is busy (a long protect), it only compares: an unlock or a
    /// listing must not wait for it.
    /// What [`Vault::reconcile_if_free`] finds; for an unlocked vault
    /// whose config stayed at version 1 (a downgrade, see
    /// [`Vault::upgrade_config`]), that one problem.
    pub(super) fn integrity_now(&self) -> Result<super::IntegrityReport> {
        if self.keys.is_some() && !self.config.is_authenticated() {
            return Ok(super::IntegrityReport {
                problems: vec![super::Problem {
                    kind: super::ProblemKind::ConfigDowngraded,
                    ids: Vec::new(),
                    generations: None,
                }],
                ..Default::default()
            });
        }
        self.reconcile_if_free()
    }

    pub(super) fn reconcile_if_free(&self) -> Result<super::IntegrityReport> {
        match WriterLock::acquire(&self.dir.join(LOCK_FILE), Duration::ZERO) {
            Ok(lock) => {
                let _w = self.audit.ship_on_release(lock);
                // A full disk (or a read-only vault) must not stop reading:
                // the comparison still names every problem, and the fold
                // happens at the next unlock that can write.
                self.reconcile_locked().or_else(|e| match e {
                    Error::Io { .. } => self.check_integrity(),
                    other => Err(other),
                })
            }
            Err(Error::InUse { .. }) => self.check_integrity(),
            Err(e) => Err(e),
        }
    }

    /// Forgets the keys (they are zeroized on drop) and records why
    /// ("manual", "auto", "suspend", ...). Nothing happens if locked.
    pub fn lock(&mut self, reason: &str) {
        if self.keys.take().is_some() {
            let _ = self.audit.append(&[AuditEvent::Locked {
                reason: reason.into(),
            }]);
        }
    }

    /// Brings the vault up to the policy right after an unlock: a
    /// passphrase slot below the KDF minimum is re-derived with the
    /// minimum (the passphrase was just typed), a required escrow slot is
    /// added, slots of forbidden kinds are removed (never the last way in).
    pub(super) fn enforce_policy(&mut self, cred: &Credential<'_>) -> Result<()> {
        let pol = self.policy.policy.clone();
        if self.policy.source.is_none() {
            return Ok(());
        }
        let mut changed = Vec::new();
        if let Credential::Passphrase(p) = cred
            && pol.has_weak_passphrase(&self.config.slots)
        {
            let kdf = pol.kdf_default();
            self.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(p, kdf))?;
            changed.push("kdf");
        }
        if let Some(pk) = pol.missing_escrow(&self.config.slots) {
            self.add_slot(NewSlot::Escrow(&pk))?;
            changed.push("escrow");
        }
        // Escrow follows the policy: when the organisation publishes a new
        // key, the vault is enrolled to it (new slot first), then the slots
        // for the old key go.
        let outdated: Vec<String> = pol
            .outdated_escrow(&self.config.slots)
            .into_iter()
            .map(|s| s.id_hex())
            .collect();
        if !outdated.is_empty() {
            if let Some(pk) = pol.escrow_key()
                && !self.config.slots.iter().any(
                    |s| matches!(s, crate::config::Slot::Escrow { org_public_key, .. } if org_public_key.0 == pk.0),
                )
            {
                self.add_slot(NewSlot::Escrow(&pk))?;
            }
            // Not `remove_slot`: the policy forbids removing *the* required
            // escrow slot, and a slot for the current key is now in place.
            let _w = self.writer()?;
            self.reload_config()?;
            for id in &outdated {
                if let Some(i) = self.config.slots.iter().position(|s| s.id_hex() == *id) {
                    let removed = self.config.remove_slot(i)?;
                    self.audit.append(&[AuditEvent::SlotRemoved {
                        kind: removed.kind().as_str().into(),
                    }])?;
                }
            }
            self.save_config()?;
            changed.push("escrow key changed");
        }
        if self.enrol_kms_escrow()? {
            changed.push("kms escrow");
        }
        let forbidden: Vec<String> = pol
            .forbidden_slots(&self.config.slots)
            .map(|s| s.id_hex())
            .collect();
        for id in forbidden {
            if self.remove_slot(&id).is_ok() {
                changed.push("unlock methods");
            }
        }
        if !changed.is_empty() {
            self.audit.append(&[AuditEvent::PolicyApplied {
                source: format!("{} ({})", self.policy.by(), changed.join(", ")),
            }])?;
        }
        Ok(())
    }
}

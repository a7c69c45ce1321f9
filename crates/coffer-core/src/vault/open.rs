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
        let vault = Vault {
            dir: dir.to_path_buf(),
            audit: AuditLog::new(dir, Identity::current(config.vault_id()))
                .with_sinks(policy.policy.audit.sinks.clone())
                .with_key_recipient(escrow.or_else(|| policy.policy.escrow_key())),
            config,
            keys: Some(keys),
            policy,
        };
        {
            let _w = vault.writer()?;
            fsutil::atomic_write(&vault.dir.join(CONFIG_FILE), &vault.config.to_bytes())?;
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
        let method = cred.kind().as_str().to_owned();
        self.policy.check_unlock(cred.kind())?;
        match self.config.unlock(cred) {
            Ok((keys, i)) => {
                self.keys = Some(keys);
                let kind = self.config.slots[i].kind();
                let ev = match kind {
                    SlotKind::Recovery | SlotKind::Escrow => AuditEvent::Recovered { method },
                    _ => AuditEvent::Unlocked { method },
                };
                self.audit.append(&[ev])?;
                self.enforce_policy(cred)?;
                Ok(kind)
            }
            Err(e) => {
                if matches!(e, Error::WrongCredential) {
                    self.audit.append(&[AuditEvent::UnlockFailed { method }])?;
                }
                Err(e)
            }
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

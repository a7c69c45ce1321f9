//! Starting a rotation: the one atomic config write that adds the new key
//! version and, for the responses to an exposed credential or a
//! compromise, replaces the master key, the writer key and every
//! credential (docs/FORMAT.md §3, "what each response revokes").

use super::{Reenrol, kind_name};
use crate::audit::AuditEvent;
use crate::config::{NewSlot, RotationKind, RotationState, SlotKind, VaultConfig, WriterKey};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};
use crate::format::manifest::Manifest;
use crate::fsutil;
use crate::vault::{CONFIG_FILE, INDEX_FILE, Vault, now_ns, remove_if_exists};

/// The new secrets a rotation that replaced the credentials hands out,
/// as soon as its first config write is durable: the caller shows the
/// recovery key and keeps the keychain secret and the writer key before
/// the long part of the rotation begins, so a crash after this point
/// loses none of them.
#[derive(Default)]
pub struct NewCredentials {
    /// The new recovery key (the old one no longer works).
    pub recovery_key: Option<zeroize::Zeroizing<String>>,
    /// The new keychain secret, if the vault had a keychain slot.
    pub keychain_secret: Option<Key32>,
}

impl Vault {
    /// Starts a rotation of `kind` (needs unlock) unless one is under way;
    /// returns the rotation in force and the new credentials, if it
    /// replaced them. A depth-3 (`Reencrypt`) or `Rekey` start needs
    /// `reenrol`.
    ///
    /// `Reencrypt` and `Rekey` replace, in one atomic write of
    /// `vault.json`: the master key, the writer key, every slot (the new
    /// passphrase, a new recovery key, a new keychain secret if there was
    /// a keychain slot, the escrow keys of the policy — never those of the
    /// config, which whoever held the old writer key could have signed),
    /// and add a key version. The manifest is re-signed under the new
    /// writer key through `manifest.next` (FORMAT.md §17.4).
    ///
    /// Like [`Vault::rotate`], it is not started while an object cannot be
    /// read (or, replacing the credentials, unwrapped): the caller can
    /// then show the new credentials before running [`Vault::rotate`] to
    /// move every object.
    pub fn begin_rotation(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
    ) -> Result<(RotationState, NewCredentials)> {
        self.begin_rotation_staging(kind, reenrol, &mut |_| {})
    }

    /// [`Vault::begin_rotation`] that hands a new writer key to `stage`
    /// before the config that holds it is written, so that the device's
    /// trust anchor (the OS keychain) can offer it to processes working
    /// while locked from the instant the config changes.
    pub fn begin_rotation_staging(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
        stage: &mut dyn FnMut(&WriterKey),
    ) -> Result<(RotationState, NewCredentials)> {
        self.keys()?;
        self.reload_config()?;
        if self.config.rotation.is_none() {
            let scan = self.scan(None, kind != RotationKind::Rewrap)?;
            if !scan.blocked.is_empty() {
                return Err(self.blocked(scan.blocked.into_iter().collect()));
            }
        }
        self.begin_rotation_scanned(kind, reenrol, stage)
    }

    /// [`Vault::begin_rotation_staging`] after the caller's own scan.
    pub(super) fn begin_rotation_scanned(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
        stage: &mut dyn FnMut(&WriterKey),
    ) -> Result<(RotationState, NewCredentials)> {
        self.keys()?;
        let _w = self.writer()?;
        self.reload_config()?;
        if let Some(s) = &self.config.rotation {
            return Ok((s.clone(), NewCredentials::default()));
        }
        let replaces_credentials = kind != RotationKind::Rewrap;
        let mut cfg = self.config.clone();
        let mut keys = self.keys()?.try_clone()?;
        let mut creds = NewCredentials::default();
        let mut manifest = None;
        if replaces_credentials {
            let r = reenrol.ok_or_else(|| {
                Error::Invalid("replacing the vault's keys needs the new passphrase".into())
            })?;
            self.check_new_slot(&NewSlot::Passphrase(r.passphrase, r.kdf))?;
            if !r.keep_passphrase && opens_a_passphrase_slot(&self.config, r.passphrase) {
                return Err(Error::Invalid(
                    "the new passphrase is the one in use now, which may be known to someone \
                     else: choose a different one (or say that it was not exposed)"
                        .into(),
                ));
            }
            manifest = Some(self.manifest_to_carry_over()?);
            let had_keychain = cfg.slots.iter().any(|s| s.kind() == SlotKind::Keychain);
            cfg.replace_master(&mut keys);
            cfg.add_slot(&keys, NewSlot::Passphrase(r.passphrase, r.kdf))?;
            let rk = Key32::random();
            cfg.add_slot(&keys, NewSlot::Recovery(&rk))?;
            creds.recovery_key = Some(crate::format::recovery::encode(&rk));
            if had_keychain {
                let k = Key32::random();
                cfg.add_slot(&keys, NewSlot::Keychain(&k))?;
                creds.keychain_secret = Some(k);
            }
            if let Some(pk) = self.policy.policy.escrow_key() {
                cfg.add_slot(&keys, NewSlot::Escrow(&pk))?;
            }
            // A KMS slot's public key is the policy's, never stored.
            if let Some(org) = self.policy.policy.kms_escrow_key() {
                cfg.add_slot(&keys, NewSlot::KmsEscrow(&org))?;
            }
        }
        let target_version = cfg.add_key_version(&mut keys);
        let state = RotationState {
            kind,
            started: now_ns() / 1_000_000_000,
            target_version,
        };
        cfg.rotation = Some(state.clone());
        cfg.authenticate(&keys);
        if let Some(m) = &manifest {
            self.stage_manifest(m, &keys)?;
            self.stage_protected(&keys)?;
            if let Some(w) = keys.writer_key() {
                stage(w);
            }
            // The listing cache is sealed under the old master key. It goes
            // first: left behind by a crash after the new config, it would
            // fail to open and be reported as tampered. (A cache may be
            // deleted at any time, and none is rebuilt while this holds the
            // writer lock.)
            remove_if_exists(&self.dir.join(INDEX_FILE))?;
        }
        fsutil::atomic_write(&self.dir.join(CONFIG_FILE), &cfg.to_bytes())?;
        // Durable: from here on only the new keys open the new config.
        self.config = cfg;
        self.keys = Some(keys);
        let mut events = vec![AuditEvent::RotationStarted {
            kind: kind_name(kind).into(),
            key_version: target_version,
        }];
        if let Some(m) = &manifest {
            self.settle_manifest()?;
            self.save_anchor(m.generation);
            events.push(self.manifest_updated(m.generation));
        }
        self.audit.append(&events)?;
        Ok((state, creds))
    }

    /// The manifest as it stands, every endorsement folded, to be signed
    /// again under a new writer key (one generation on). Refused while the
    /// comparison cannot be folded cleanly: re-signing would turn what the
    /// old key vouched for, or failed to, into something else.
    pub(in crate::vault) fn manifest_to_carry_over(&self) -> Result<Manifest> {
        self.fold_endorsements()?;
        let (report, manifest, _) = self.compare()?;
        let unsettled = report.problems.iter().any(|p| {
            matches!(
                p.kind,
                super::super::ProblemKind::ManifestTampered
                    | super::super::ProblemKind::ForgedEndorsement
            )
        }) || !report.added_while_locked.is_empty()
            || self.endorsements_path().exists();
        if unsettled {
            return Err(Error::Invalid(
                "the vault's list of what it holds has problems that replacing its keys would \
                 hide: run `coffer verify`, and once they are understood `coffer repair \
                 --accept-as-is`, then try again"
                    .into(),
            ));
        }
        Ok(Manifest {
            generation: super::super::integrity::next_generation(manifest.generation)?,
            ..manifest
        })
    }
}

/// Whether `pass` opens one of the config's passphrase slots (one Argon2id
/// run per passphrase slot).
fn opens_a_passphrase_slot(cfg: &VaultConfig, pass: &crate::crypto::secret::Passphrase) -> bool {
    cfg.open_master(&crate::config::Credential::Passphrase(pass), false)
        .is_ok()
}

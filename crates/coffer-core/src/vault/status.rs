//! The vault summed up: its public status, the status record written to
//! the audit trail, and how it measures up to the organisation policy.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use super::{ProtectedFolder, Vault, home_dir, now_ns};
use crate::audit::AuditEvent;
use crate::config::SlotKind;
use crate::crypto::kdf::Argon2Params;
use crate::error::{IoContext, Result};
use crate::plaintext::Census;
use crate::policy::{ComplianceCheck, Facts, Shipping};

/// Public summary of a vault.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Vault id (hex).
    pub vault_id: String,
    /// Whether unlocked in this process.
    pub unlocked: bool,
    /// Objects (file versions) stored.
    pub objects: u64,
    /// Bytes of ciphertext stored.
    pub stored_bytes: u64,
    /// Current key version.
    pub key_version: u32,
    /// Its creation time (seconds since epoch).
    pub key_version_created: i64,
    /// Key versions still held.
    pub key_versions: Vec<u32>,
    /// The slots, without secrets.
    pub slots: Vec<SlotInfo>,
    /// Protected folders.
    pub protected: Vec<ProtectedFolder>,
    /// Plaintext files still in them, and why each kind waits.
    pub plaintext: Census,
    /// An unfinished key rotation, if any.
    pub rotation: Option<crate::config::RotationState>,
}

/// A slot as listed.
#[derive(Clone, Debug, Serialize)]
pub struct SlotInfo {
    /// Short id users name it by.
    pub id: String,
    /// Its kind.
    pub kind: SlotKind,
    /// Creation time.
    pub created: i64,
    /// Argon2id parameters, for passphrase slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kdf: Option<Argon2Params>,
    /// For a KMS/HSM escrow slot: the key, its version and where it lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms: Option<crate::format::escrow_key::kms::KmsKeyInfo>,
}

impl Vault {
    /// The public summary (works locked).
    pub fn status(&self) -> Result<Status> {
        let mut objects = 0;
        let mut stored = 0;
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let e = e.ctx("listing the vault")?;
                if e.file_name().to_string_lossy().ends_with(".obj") {
                    objects += 1;
                    stored += e.metadata().map(|m| m.len()).unwrap_or(0);
                }
            }
        }
        let cur = self.config.current_key();
        Ok(Status {
            vault_id: data_encoding::HEXLOWER.encode(self.config.vault_id()),
            unlocked: self.is_unlocked(),
            objects,
            stored_bytes: stored,
            key_version: cur.version,
            key_version_created: cur.created,
            key_versions: self.config.key_versions.iter().map(|v| v.version).collect(),
            slots: self
                .config
                .slots
                .iter()
                .map(|s| SlotInfo {
                    id: s.id_hex(),
                    kind: s.kind(),
                    created: s.created(),
                    kdf: match s {
                        crate::config::Slot::Passphrase { kdf, .. } => Some(*kdf),
                        _ => None,
                    },
                    kms: match s {
                        crate::config::Slot::KmsEscrow(k) => Some(k.info()),
                        _ => None,
                    },
                })
                .collect(),
            protected: self.protected_folders()?,
            plaintext: self.plaintext_census()?,
            rotation: self.config.rotation.clone(),
        })
    }

    /// Records the vault's and device's state in the audit trail (for
    /// incident reports and fleet views).
    pub fn record_status(&self) -> Result<()> {
        self.audit.append(&[self.status_event()?])
    }

    /// The status record: the vault's and device's state as one audit
    /// event. Its fields are read back by the fleet and incident reports.
    pub(super) fn status_event(&self) -> Result<AuditEvent> {
        let st = self.status()?;
        let weakest = self
            .config
            .slots
            .iter()
            .filter_map(|s| match s {
                crate::config::Slot::Passphrase { kdf, .. } => Some(*kdf),
                _ => None,
            })
            .min_by_key(|k| (k.m_kib, k.t, k.p));
        let fde = crate::posture::disk_encryption(&self.dir);
        let problems: Vec<String> = self
            .compliance()?
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.rule, c.detail))
            .collect();
        Ok(crate::audit::StatusRecord {
            unlocked: Some(st.unlocked),
            objects: Some(st.objects),
            stored_bytes: Some(st.stored_bytes),
            cipher: Some("AES-256-GCM (64 KiB chunks, random key per file)".into()),
            key_wrap: Some("HPKE X25519/HKDF-SHA256/AES-256-GCM".into()),
            key_version: Some(st.key_version.into()),
            key_version_created: Some(st.key_version_created),
            kdf: weakest.map(|k| crate::audit::StatusKdf {
                alg: "argon2id".into(),
                m_kib: k.m_kib.into(),
                t: k.t.into(),
                p: k.p.into(),
            }),
            slots: Some(st.slots.iter().map(|s| s.kind.as_str().into()).collect()),
            escrow: Some(st.slots.iter().any(|s| s.kind == SlotKind::Escrow)),
            protected_folders: Some(st.protected.len() as u64),
            plaintext_files: Some(st.plaintext.files),
            plaintext_waiting: Some(crate::audit::waiting_by_name(&st.plaintext.waiting)),
            rotation_in_progress: Some(st.rotation.is_some()),
            disk_encryption: Some(fde.as_str().into()),
            policy_source: self.policy.source.clone(),
            policy_compliant: Some(problems.is_empty()),
            policy_problems: Some(problems),
        }
        .into())
    }

    /// How this device and vault measure up to the policy (the rules are
    /// in [`crate::policy::Policy::compliance`]).
    pub fn compliance(&self) -> Result<Vec<ComplianceCheck>> {
        let protected: Vec<PathBuf> = self
            .protected_folders()?
            .into_iter()
            .map(|p| p.path)
            .collect();
        let own = self.own_folders();
        let home = home_dir();
        let cur = self.config.current_key();
        let facts = Facts {
            slots: &self.config.slots,
            protected: &protected,
            own: &own,
            home: &home,
            key_version: cur.version,
            key_age_days: (now_ns() / 1_000_000_000 - cur.created).max(0) / 86_400,
        };
        self.policy.policy.compliance(
            &facts,
            || crate::posture::disk_encryption(&self.dir),
            || {
                let last = self.audit.checkpoint().map_or(0, |c| c.seq);
                let reports = crate::sink::ship_all(&self.audit)?;
                let behind = reports
                    .iter()
                    .filter(|r| r.error.is_some() || r.shipped_up_to < last)
                    .map(|r| r.sink.clone())
                    .collect();
                Ok(Shipping { last, behind })
            },
        )
    }
}

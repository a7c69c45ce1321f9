//! Compliance: how a vault and its device measure up to the policy, one
//! [`Rule`] at a time. The vault gathers the [`Facts`]; the rules are here.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Policy;
use crate::config::Slot;
use crate::error::Result;
use crate::own_folders::OwnFolders;
use crate::posture::DiskEncryption;

/// A rule of the organisation policy a device is checked against. Its
/// text (serialized, and shown) is stable: scripts and the app read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Rule {
    /// Passphrase slots are derived at least at the KDF floor.
    #[serde(rename = "passphrase key derivation")]
    PassphraseKdf,
    /// Only allowed unlock methods are enrolled.
    #[serde(rename = "unlock methods")]
    UnlockMethods,
    /// The required organisation escrow slot is enrolled.
    #[serde(rename = "organisation escrow")]
    Escrow,
    /// A mandatory folder is protected.
    #[serde(rename = "mandatory protected folder")]
    MandatoryFolder,
    /// The vault key is younger than the rotation period.
    #[serde(rename = "key rotation")]
    KeyRotation,
    /// The disk is encrypted.
    #[serde(rename = "full-disk encryption")]
    DiskEncryption,
    /// Every sink holds the whole audit log.
    #[serde(rename = "audit shipping")]
    AuditShipping,
}

impl Rule {
    /// The rule's stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::PassphraseKdf => "passphrase key derivation",
            Rule::UnlockMethods => "unlock methods",
            Rule::Escrow => "organisation escrow",
            Rule::MandatoryFolder => "mandatory protected folder",
            Rule::KeyRotation => "key rotation",
            Rule::DiskEncryption => "full-disk encryption",
            Rule::AuditShipping => "audit shipping",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule of the organisation policy and whether this device meets it.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceCheck {
    /// The rule.
    pub rule: Rule,
    /// Whether it is met.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// What the rules look at, gathered by the vault.
pub struct Facts<'a> {
    /// The vault's slots.
    pub slots: &'a [Slot],
    /// The protected folders.
    pub protected: &'a [PathBuf],
    /// Coffer's own folders (never protected).
    pub own: &'a OwnFolders,
    /// The user's home folder, for `~/` in mandatory folders.
    pub home: &'a Path,
    /// The current key version.
    pub key_version: u32,
    /// Its age in days.
    pub key_age_days: i64,
}

/// How far the audit sinks are behind the log.
pub struct Shipping {
    /// The last record of the log.
    pub last: u64,
    /// The sinks that failed or do not hold the log up to `last`.
    pub behind: Vec<String>,
}

impl Policy {
    /// Checks every rule this policy sets. `disk` and `shipping` are asked
    /// only when a rule needs them (shipping reaches every sink).
    pub fn compliance(
        &self,
        facts: &Facts<'_>,
        disk: impl FnOnce() -> DiskEncryption,
        shipping: impl FnOnce() -> Result<Shipping>,
    ) -> Result<Vec<ComplianceCheck>> {
        let mut out = Vec::new();
        let mut check =
            |rule: Rule, ok: bool, detail: String| out.push(ComplianceCheck { rule, ok, detail });
        let floor = self.kdf_floor();
        for s in facts.slots {
            if let Slot::Passphrase { kdf, .. } = s {
                check(
                    Rule::PassphraseKdf,
                    kdf.at_least(&floor),
                    format!(
                        "Argon2id m={} MiB t={} p={} (minimum m={} MiB t={} p={})",
                        kdf.m_kib / 1024,
                        kdf.t,
                        kdf.p,
                        floor.m_kib / 1024,
                        floor.t,
                        floor.p
                    ),
                );
            }
        }
        let forbidden: Vec<&str> = self
            .forbidden_slots(facts.slots)
            .map(|s| s.kind().as_str())
            .collect();
        check(
            Rule::UnlockMethods,
            forbidden.is_empty(),
            if forbidden.is_empty() {
                "only allowed methods are enrolled".into()
            } else {
                format!("not allowed but enrolled: {}", forbidden.join(", "))
            },
        );
        if self.requires_escrow() {
            // With a file-based organisation key in the policy, a slot for
            // an older key does not count: the fleet view shows the device
            // as still on the old key until it unlocks and re-enrols.
            let (has, detail) = match self.escrow_key() {
                Some(current) => {
                    let on_current = facts.slots.iter().any(
                        |s| matches!(s, Slot::Escrow { org_public_key, .. } if org_public_key.0 == current.0),
                    );
                    let on_older = !self.outdated_escrow(facts.slots).is_empty();
                    (
                        on_current,
                        if on_current {
                            "enrolled"
                        } else if on_older {
                            "still on an older organisation escrow key; the policy names a new one (re-enrolled at the next unlock)"
                        } else {
                            "missing (added at the next unlock)"
                        },
                    )
                }
                None => {
                    let has = facts
                        .slots
                        .iter()
                        .any(|s| s.kind() == crate::config::SlotKind::Escrow);
                    (
                        has,
                        if has {
                            "enrolled"
                        } else {
                            "missing (added at the next unlock)"
                        },
                    )
                }
            };
            check(Rule::Escrow, has, detail.into());
        }
        if let Some(org) = self.kms_escrow_key() {
            // A device still on an old key version shows in the fleet view
            // through this check (its hourly status record) until it
            // unlocks and re-enrols.
            let ok = facts
                .slots
                .iter()
                .any(|s| matches!(s, Slot::KmsEscrow(k) if k.is_for(&org)));
            let on: Vec<String> = facts
                .slots
                .iter()
                .filter_map(|s| match s {
                    Slot::KmsEscrow(k) => Some(format!("{} v{}", k.key_name, k.key_version)),
                    _ => None,
                })
                .collect();
            let want = format!("{} v{}", org.name, org.version);
            check(
                Rule::Escrow,
                ok,
                if ok {
                    format!("enrolled to KMS key {want}")
                } else if on.is_empty() {
                    format!("not enrolled to KMS key {want} (enrolled at the next unlock)")
                } else {
                    format!(
                        "still on KMS key {}, the policy names {want} (re-enrolled at the next unlock)",
                        on.join(", ")
                    )
                },
            );
        }
        for f in self.mandatory_folders(facts.home) {
            if let Some((relation, what)) = facts.own.conflict(&f) {
                check(
                    Rule::MandatoryFolder,
                    false,
                    format!(
                        "{} {} {}, so Coffer will not protect it; the policy must name a folder that holds only documents",
                        f.display(),
                        relation.describe(),
                        what.describe()
                    ),
                );
                continue;
            }
            let ok = facts
                .protected
                .iter()
                .any(|p| *p == f || std::fs::canonicalize(&f).is_ok_and(|c| c == *p));
            check(
                Rule::MandatoryFolder,
                ok,
                format!(
                    "{} {}",
                    f.display(),
                    if ok {
                        "is protected"
                    } else {
                        "is not protected"
                    }
                ),
            );
        }
        if let Some(r) = &self.rotation {
            let age_days = facts.key_age_days;
            check(
                Rule::KeyRotation,
                age_days <= i64::from(r.period_days),
                format!(
                    "key version {} is {age_days} days old (rotate every {} days)",
                    facts.key_version, r.period_days
                ),
            );
        }
        if self.device.require_disk_encryption {
            let fde = disk();
            check(
                Rule::DiskEncryption,
                matches!(fde, DiskEncryption::On { .. }),
                format!("{fde:?}"),
            );
        }
        if !self.audit.sinks.is_empty() {
            let Shipping { last, behind } = shipping()?;
            check(
                Rule::AuditShipping,
                behind.is_empty(),
                if behind.is_empty() {
                    format!("every sink holds the log up to record {last}")
                } else {
                    format!("behind: {}", behind.join(", "))
                },
            );
        }
        Ok(out)
    }
}

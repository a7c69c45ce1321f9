//! The vault store: a directory holding the config, one object per file
//! version (sharded by the first byte of its id), optional sidecar key
//! records, an encrypted index cache and the list of protected folders.
//!
//! ```text
//! vault.json            config (key versions, slots)           atomic replace
//! lock                  writer lock (flock), holder's PID
//! objects/ab/<id>.obj   object: header, key record, chunks     written once
//! objects/ab/<id>.rec   sidecar key record (rotation, rename)  atomic replace
//! index.bin             encrypted listing cache                atomic replace
//! protected.json        protected folders                      atomic replace
//! quarantine/<id>.obj   a damaged object set aside, and its    moved by rename
//! quarantine/<id>.rec     sidecar: no longer part of the vault   (Vault::quarantine)
//! removals.json         the removal journal (see `add`)         atomic replace
//! ```
//!
//! Adding needs only the public key, so it works while locked; everything
//! that reveals names or contents needs [`Vault::unlock`]. One writer at a
//! time holds `lock`, per operation; readers never wait.
//!
//! Rooms: this file opens, unlocks, lists, reads and verifies; `add`
//! seals and removes plaintexts; `folders` registers and walks protected
//! folders; `rotate` and `quarantine` move objects between key versions or
//! aside. Reports over the audit trail live in the `coffer-report` crate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditLog, Identity};
use crate::beneath::{Beneath, Fingerprint};
use crate::config::{Credential, NewSlot, SlotKind, UnlockedKeys, VaultConfig};
use crate::error::{Error, IoContext, Result};
use crate::format::{
    self, CHUNK_OVERHEAD, CHUNK_SIZE, FileId, Header, KeyRecord, MAX_SIDECAR_LEN, Metadata,
};
use crate::fsutil::{self, TMP_SUFFIX, WriterLock};
use crate::kdf::Argon2Params;
use crate::object::{self, Sealed, WrapTarget};
use crate::own_folders::OwnFolders;
use crate::plaintext::{self, Census};
use crate::primitives::{self, random_array};
use crate::secret::{Key32, Passphrase};
use crate::wrap::PublicKey;

mod add;
mod folders;
mod quarantine;
mod rotate;
pub use add::{AddOptions, AddOutcome, AddSource, Collected, SkipReason};
pub use folders::{ProtectedFolder, collect_sources};
pub use quarantine::QuarantinedObject;
pub use rotate::{Reenrol, RotationOutcome, RotationProgress, RotationReport};

const CONFIG_FILE: &str = "vault.json";
const LOCK_FILE: &str = "lock";
const OBJECTS_DIR: &str = "objects";
const QUARANTINE_DIR: &str = "quarantine";
const INDEX_FILE: &str = "index.bin";
const PROTECTED_FILE: &str = "protected.json";
const REMOVALS_FILE: &str = "removals.json";
const OBJ_EXT: &str = "obj";
const REC_EXT: &str = "rec";
const INDEX_MAGIC: &[u8; 8] = b"COFFERIX";
const INDEX_VERSION: u16 = 1;
/// Largest index we read (a million files fit easily).
const MAX_INDEX_LEN: u64 = 512 << 20;
/// How long a writer waits for another to finish before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// One file version in the vault, as listed after unlocking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Object id.
    #[serde(with = "hex_id")]
    pub id: FileId,
    /// Relative path in the vault.
    pub path: String,
    /// Plaintext size.
    pub size: u64,
    /// Original modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Original permission bits.
    pub mode: u32,
    /// When this version was added, ns since the epoch.
    pub added_ns: i64,
}

mod hex_id {
    use super::FileId;
    pub fn serialize<S: serde::Serializer>(id: &FileId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_hex())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FileId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        FileId::from_hex(&s).ok_or_else(|| serde::de::Error::custom("bad file id"))
    }
    use serde::Deserialize;
}

/// What a listing found: readable entries, and objects that failed to
/// authenticate (never silently dropped).
#[derive(Debug, Default)]
pub struct Listing {
    /// Every readable file version.
    pub entries: Vec<Entry>,
    /// Objects that could not be read, with why.
    pub unreadable: Vec<(FileId, Error)>,
}

/// The newest version of every path in `entries`, sorted by path.
pub fn latest_versions(entries: &[Entry]) -> Vec<Entry> {
    let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in entries {
        match latest.get(e.path.as_str()) {
            Some(old) if (old.added_ns, old.id) >= (e.added_ns, e.id) => {}
            _ => {
                latest.insert(&e.path, e);
            }
        }
    }
    latest.into_values().cloned().collect()
}

/// Progress of a long operation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Files finished.
    pub files: u64,
    /// Bytes finished.
    pub bytes: u64,
}

/// Who asked for an operation, as the audit trail records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Actor {
    /// The `coffer` command.
    #[default]
    Cli,
    /// The background watcher.
    Watcher,
    /// The desktop app.
    App,
}

impl Actor {
    fn as_str(self) -> &'static str {
        match self {
            Actor::Cli => "cli",
            Actor::Watcher => "watcher",
            Actor::App => "app",
        }
    }
}

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

/// Result of [`Vault::verify`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    /// Objects examined.
    pub objects: u64,
    /// Objects whose every chunk authenticated (only when unlocked).
    pub decrypted: u64,
    /// Object ids that failed, with why.
    pub failures: Vec<(String, String)>,
    /// Sidecar records with no object.
    pub orphan_records: u64,
    /// Leftover temporary files.
    pub temp_files: u64,
    /// Whether contents were checked (needs unlock) or only structure.
    pub full: bool,
    /// Objects set aside in `quarantine/` ([`Vault::quarantine`]): no
    /// longer part of the vault, not checked and not counted above.
    pub quarantined: Vec<QuarantinedObject>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

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
}

/// What `inspect` shows of one object: layout only, no secret.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// Object id.
    pub id: String,
    /// Format version.
    pub format_version: u16,
    /// Chunk size.
    pub chunk_size: usize,
    /// Header salt (hex; not secret).
    pub salt: String,
    /// Key commitment (hex; not secret).
    pub commitment: String,
    /// Key version of the record in force.
    pub key_version: u32,
    /// Whether a sidecar record supersedes the embedded one.
    pub sidecar: bool,
    /// Length of the record in force.
    pub record_len: usize,
    /// Length of the encrypted metadata.
    pub metadata_len: usize,
    /// Where the chunk stream starts.
    pub stream_offset: u64,
    /// Object file size.
    pub object_len: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// Plaintext size implied by the layout.
    pub plaintext_len: u64,
}

/// An open vault.
pub struct Vault {
    dir: PathBuf,
    config: VaultConfig,
    keys: Option<UnlockedKeys>,
    audit: AuditLog,
    policy: crate::policy::Effective,
}

/// One rule of the organisation policy and whether this device meets it.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceCheck {
    /// The rule.
    pub rule: String,
    /// Whether it is met.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl Drop for Vault {
    fn drop(&mut self) {
        // Keys leave memory with the handle; the trail says so.
        self.lock("process_end");
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("unlocked", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Modification time in ns since the epoch (0 where unknown).
pub fn mtime_ns_of(meta: &fs::Metadata) -> i64 {
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i64,
            Err(e) => -(e.duration().as_nanos() as i64),
        },
        Err(_) => 0,
    }
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}
#[cfg(not(unix))]
fn mode_of(_: &fs::Metadata) -> u32 {
    0
}

/// Reads `vault.json`, refusing one over [`crate::config::MAX_CONFIG_LEN`]
/// before reading it.
fn read_config(dir: &Path) -> Result<Vec<u8>> {
    let max = crate::config::MAX_CONFIG_LEN as u64;
    fsutil::read_bounded(&dir.join(CONFIG_FILE), max, "vault config")
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
        let floor = policy.policy.kdf_floor();
        if !opts.kdf.at_least(&floor) {
            return Err(Error::KdfParams(format!(
                "m={} MiB, t={}, p={} are below the minimum of m={} MiB, t={}, p={} set by {}",
                opts.kdf.m_kib / 1024,
                opts.kdf.t,
                opts.kdf.p,
                floor.m_kib / 1024,
                floor.t,
                floor.p,
                policy.by()
            )));
        }
        if opts.keychain_secret.is_some() && !policy.policy.allows(SlotKind::Keychain) {
            return Err(Error::Invalid(format!(
                "unlocking with the computer's keychain is not allowed by {}",
                policy.by()
            )));
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
            audit: AuditLog::new(dir, Identity::current(config.vault_id())),
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
            recovery_key: crate::recovery::encode(&rk),
        })
    }

    /// Opens the vault in `dir`, locked. Leftover temporary files from a
    /// crash are removed if no other writer is active.
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = &std::path::absolute(dir).ctx("finding the vault folder")?;
        let bytes = match read_config(dir) {
            Err(e) if fsutil::is_not_found(&e) => return Err(Error::NotFound("vault".into())),
            r => r?,
        };
        let config = VaultConfig::parse(&bytes)?;
        let vault = Vault {
            dir: dir.to_path_buf(),
            audit: AuditLog::new(dir, Identity::current(config.vault_id())),
            config,
            keys: None,
            policy: crate::policy::load()?,
        };
        if let Ok(_w) = WriterLock::acquire(&vault.dir.join(LOCK_FILE), Duration::ZERO) {
            vault.clean_leftovers()?;
        }
        Ok(vault)
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The config as loaded.
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    /// Whether this handle holds the vault's keys.
    pub fn is_unlocked(&self) -> bool {
        self.keys.is_some()
    }

    /// Unlocks with a credential; returns the kind of slot that opened.
    /// Unlocks with a credential; returns the kind of slot that opened.
    /// Every attempt is audited; recovery and escrow unlocks are recorded
    /// as recoveries.
    pub fn unlock(&mut self, cred: &Credential<'_>) -> Result<SlotKind> {
        let method = cred.kind().as_str().to_owned();
        if !self.policy.policy.allows(cred.kind()) {
            return Err(Error::Invalid(format!(
                "unlocking with the {method} is not allowed by {}",
                self.policy.by()
            )));
        }
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

    /// The organisation policy in force.
    pub fn policy(&self) -> &crate::policy::Effective {
        &self.policy
    }

    /// Brings the vault up to the policy right after an unlock: a
    /// passphrase slot below the KDF minimum is re-derived with the
    /// minimum (the passphrase was just typed), a required escrow slot is
    /// added, slots of forbidden kinds are removed (never the last way in).
    fn enforce_policy(&mut self, cred: &Credential<'_>) -> Result<()> {
        let pol = self.policy.policy.clone();
        if self.policy.source.is_none() {
            return Ok(());
        }
        let floor = pol.kdf_floor();
        let mut changed = Vec::new();
        if let Credential::Passphrase(p) = cred {
            let weak = self.config.slots.iter().any(|s| {
                matches!(s, crate::config::Slot::Passphrase { kdf, .. } if !kdf.at_least(&floor))
            });
            if weak {
                let kdf = pol.kdf_default();
                self.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(p, kdf))?;
                changed.push("kdf");
            }
        }
        if pol.escrow.as_ref().is_some_and(|e| e.required)
            && !self
                .config
                .slots
                .iter()
                .any(|s| s.kind() == SlotKind::Escrow)
            && let Some(pk) = pol.escrow_key()
        {
            self.add_slot(NewSlot::Escrow(&pk))?;
            changed.push("escrow");
        }
        let forbidden: Vec<String> = self
            .config
            .slots
            .iter()
            .filter(|s| !pol.allows(s.kind()))
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

    /// How this device and vault measure up to the policy.
    pub fn compliance(&self) -> Result<Vec<ComplianceCheck>> {
        let pol = &self.policy.policy;
        let mut out = Vec::new();
        let mut check = |rule: &str, ok: bool, detail: String| {
            out.push(ComplianceCheck {
                rule: rule.into(),
                ok,
                detail,
            })
        };
        let floor = pol.kdf_floor();
        for s in &self.config.slots {
            if let crate::config::Slot::Passphrase { kdf, .. } = s {
                check(
                    "passphrase key derivation",
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
            .config
            .slots
            .iter()
            .filter(|s| !pol.allows(s.kind()))
            .map(|s| s.kind().as_str())
            .collect();
        check(
            "unlock methods",
            forbidden.is_empty(),
            if forbidden.is_empty() {
                "only allowed methods are enrolled".into()
            } else {
                format!("not allowed but enrolled: {}", forbidden.join(", "))
            },
        );
        if pol.escrow.as_ref().is_some_and(|e| e.required) {
            let has = self
                .config
                .slots
                .iter()
                .any(|s| s.kind() == SlotKind::Escrow);
            check(
                "organisation escrow",
                has,
                if has {
                    "enrolled"
                } else {
                    "missing (added at the next unlock)"
                }
                .into(),
            );
        }
        let protected = self.protected_folders()?;
        let own = self.own_folders();
        for f in pol.mandatory_folders(&home_dir()) {
            if let Some((relation, what)) = own.conflict(&f) {
                check(
                    "mandatory protected folder",
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
            let ok = protected
                .iter()
                .any(|p| p.path == f || fs::canonicalize(&f).is_ok_and(|c| c == p.path));
            check(
                "mandatory protected folder",
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
        if let Some(r) = &pol.rotation {
            let cur = self
                .config
                .key_versions
                .iter()
                .find(|v| v.version == self.config.current_key_version)
                .expect("validated");
            let age_days = (now_ns() / 1_000_000_000 - cur.created).max(0) / 86_400;
            check(
                "key rotation",
                age_days <= i64::from(r.period_days),
                format!(
                    "key version {} is {age_days} days old (rotate every {} days)",
                    cur.version, r.period_days
                ),
            );
        }
        if pol.device.require_disk_encryption {
            let fde = crate::posture::disk_encryption(&self.dir);
            check(
                "full-disk encryption",
                matches!(fde, crate::posture::DiskEncryption::On { .. }),
                format!("{fde:?}"),
            );
        }
        if !pol.audit.sinks.is_empty() {
            let last = self.audit.checkpoint().map_or(0, |c| c.seq);
            let reports = crate::sink::ship_all(&self.audit)?;
            let behind: Vec<String> = reports
                .iter()
                .filter(|r| r.error.is_some() || r.shipped_up_to < last)
                .map(|r| r.sink.clone())
                .collect();
            check(
                "audit shipping",
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

    /// The vault's audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Records the vault's and device's state in the audit trail (for
    /// incident reports and fleet views).
    pub fn record_status(&self) -> Result<()> {
        self.audit.append(&[self.status_event()?])
    }

    fn status_event(&self) -> Result<AuditEvent> {
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
        let v = serde_json::json!({
            "unlocked": st.unlocked,
            "objects": st.objects,
            "stored_bytes": st.stored_bytes,
            "cipher": "AES-256-GCM (64 KiB chunks, random key per file)",
            "key_wrap": "HPKE X25519/HKDF-SHA256/AES-256-GCM",
            "key_version": st.key_version,
            "key_version_created": st.key_version_created,
            "kdf": weakest.map(|k| serde_json::json!({"alg": "argon2id", "m_kib": k.m_kib, "t": k.t, "p": k.p})),
            "slots": st.slots.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
            "escrow": st.slots.iter().any(|s| s.kind == SlotKind::Escrow),
            "protected_folders": st.protected.len(),
            "plaintext_files": st.plaintext.files,
            "plaintext_waiting": st.plaintext.waiting,
            "rotation_in_progress": st.rotation.is_some(),
            "disk_encryption": fde.as_str(),
            "policy_source": self.policy.source,
            "policy_compliant": problems.is_empty(),
            "policy_problems": problems,
        });
        Ok(AuditEvent::Status(match v {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("a JSON object literal"),
        }))
    }

    pub(crate) fn keys(&self) -> Result<&UnlockedKeys> {
        self.keys.as_ref().ok_or(Error::Locked)
    }

    /// Takes the writer lock for one operation.
    pub fn writer(&self) -> Result<WriterLock> {
        WriterLock::acquire(&self.dir.join(LOCK_FILE), LOCK_WAIT)
    }

    pub(crate) fn save_config(&self) -> Result<()> {
        fsutil::atomic_write(&self.dir.join(CONFIG_FILE), &self.config.to_bytes())
    }

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
        if self.config.slots[i].kind() == SlotKind::Escrow
            && self
                .policy
                .policy
                .escrow
                .as_ref()
                .is_some_and(|e| e.required)
        {
            return Err(Error::Invalid(format!(
                "the organisation escrow slot is required by {}",
                self.policy.by()
            )));
        }
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
        cfg.slots.retain(|s| s.kind() != kind);
        let i = cfg.add_slot(keys, new)?;
        let id = cfg.slots[i].id_hex();
        let removed = self
            .config
            .slots
            .iter()
            .filter(|s| s.kind() == kind)
            .count();
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

    fn check_new_slot(&self, new: &NewSlot<'_>) -> Result<()> {
        let (kind, kdf) = match new {
            NewSlot::Passphrase(_, k) => (SlotKind::Passphrase, Some(*k)),
            NewSlot::Keychain(_) => (SlotKind::Keychain, None),
            NewSlot::Recovery(_) => (SlotKind::Recovery, None),
            NewSlot::Escrow(_) => (SlotKind::Escrow, None),
        };
        if !self.policy.policy.allows(kind) {
            return Err(Error::Invalid(format!(
                "a {} slot is not allowed by {}",
                kind.as_str(),
                self.policy.by()
            )));
        }
        let floor = self.policy.policy.kdf_floor();
        if let Some(k) = kdf
            && !k.at_least(&floor)
        {
            return Err(Error::KdfParams(format!(
                "m={} MiB, t={}, p={} are below the minimum of m={} MiB, t={}, p={} set by {}",
                k.m_kib / 1024,
                k.t,
                k.p,
                floor.m_kib / 1024,
                floor.t,
                floor.p,
                self.policy.by()
            )));
        }
        Ok(())
    }

    /// Re-reads `vault.json` (another process may have rotated keys or
    /// changed slots).
    pub fn reload_config(&mut self) -> Result<()> {
        let bytes = read_config(&self.dir)?;
        self.config = VaultConfig::parse(&bytes)?;
        Ok(())
    }

    /// Where new DEKs go, read fresh from disk. Call it with the writer
    /// lock held: a rotation that destroys an old key version checks, under
    /// the same lock, that no object still uses it, so no writer may wrap
    /// to a version it read before the rotation began.
    fn current_target(&self) -> Result<WrapTarget> {
        let bytes = read_config(&self.dir)?;
        let cfg = VaultConfig::parse(&bytes)?;
        let (key_version, public_key) = cfg.current_public_key();
        Ok(WrapTarget {
            vault_id: *cfg.vault_id(),
            key_version,
            public_key,
        })
    }

    pub(crate) fn shard_dir(&self, id: &FileId) -> PathBuf {
        self.dir
            .join(OBJECTS_DIR)
            .join(data_encoding::HEXLOWER.encode(&id.0[..1]))
    }

    pub(crate) fn object_path(&self, id: &FileId) -> PathBuf {
        self.shard_dir(id)
            .join(format!("{}.{OBJ_EXT}", id.to_hex()))
    }

    pub(crate) fn record_path(&self, id: &FileId) -> PathBuf {
        self.shard_dir(id)
            .join(format!("{}.{REC_EXT}", id.to_hex()))
    }

    /// Every object id on disk.
    pub fn object_ids(&self) -> Result<Vec<FileId>> {
        let mut ids = Vec::new();
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let e = e.ctx("listing the vault")?;
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Some(hex) = name.strip_suffix(".obj")
                    && let Some(id) = FileId::from_hex(hex)
                {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    fn shards(&self) -> Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        let root = self.dir.join(OBJECTS_DIR);
        for e in fs::read_dir(&root).ctx("listing the vault")? {
            let e = e.ctx("listing the vault")?;
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                v.push(e.path());
            }
        }
        Ok(v)
    }

    /// Removes temp files and sidecars whose object is gone. Caller holds
    /// the writer lock.
    fn clean_leftovers(&self) -> Result<()> {
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let e = e.ctx("listing the vault")?;
                let name = e.file_name();
                let name = name.to_string_lossy();
                let stale_record = name
                    .strip_suffix(".rec")
                    .and_then(FileId::from_hex)
                    .is_some_and(|id| !self.object_path(&id).exists());
                if name.ends_with(TMP_SUFFIX) || stale_record {
                    fs::remove_file(e.path()).ctx("removing a leftover temporary file")?;
                }
            }
        }
        for e in fs::read_dir(&self.dir).ctx("listing the vault")? {
            let e = e.ctx("listing the vault")?;
            if e.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                fs::remove_file(e.path()).ctx("removing a leftover temporary file")?;
            }
        }
        Ok(())
    }

    /// Reads an object's header and the key record in force (the sidecar
    /// when it belongs to this header, else the embedded one). Returns the
    /// open file positioned anywhere and the stream offset.
    pub(crate) fn read_object(&self, id: &FileId) -> Result<(File, Header, KeyRecord, bool, u64)> {
        let mut f = match File::open(self.object_path(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotFound("object".into()));
            }
            Err(e) => {
                return Err(Error::Io {
                    context: "opening an object",
                    source: e,
                });
            }
        };
        let prefix = object::read_prefix(BufReader::new(&mut f))?;
        let rec = fsutil::read_bounded(&self.record_path(id), MAX_SIDECAR_LEN, "key record file");
        let (record, sidecar) = match rec {
            Ok(bytes) => {
                let (h, r) = format::parse_sidecar(&bytes)?;
                if h == prefix.header {
                    (r, true)
                } else {
                    (prefix.record, false)
                }
            }
            Err(e) if fsutil::is_not_found(&e) => (prefix.record, false),
            Err(e) => return Err(e),
        };
        if prefix.header.file_id != *id {
            return Err(Error::corrupt(
                "object",
                "object id does not match its name",
            ));
        }
        Ok((f, prefix.header, record, sidecar, prefix.stream_offset))
    }

    fn read_entry(&self, id: &FileId) -> Result<Entry> {
        let keys = self.keys()?;
        let (_, header, record, _, _) = self.read_object(id)?;
        let (fk, _) = object::unwrap(keys, self.config.vault_id(), &header, &record)?;
        let m = object::open_metadata(&fk, &header, &record)?;
        Ok(Entry {
            id: *id,
            path: m.path,
            size: m.size,
            mtime_ns: m.mtime_ns,
            mode: m.mode,
            added_ns: m.added_ns,
        })
    }

    /// Every file version in the vault (needs unlock). Objects that fail to
    /// authenticate are returned separately, never silently dropped.
    pub fn entries(&self) -> Result<Listing> {
        let keys = self.keys()?;
        let index_key = keys.index_key(self.config.vault_id());
        let mut cached = self.load_index(&index_key).unwrap_or_default();
        let on_disk = self.object_ids()?;
        let disk_set: HashSet<FileId> = on_disk.iter().copied().collect();
        let before = cached.len();
        cached.retain(|id, _| disk_set.contains(id));
        let mut changed = cached.len() != before;
        let missing: Vec<FileId> = on_disk
            .into_iter()
            .filter(|id| !cached.contains_key(id))
            .collect();
        let read: Vec<(FileId, Result<Entry>)> = missing
            .par_iter()
            .map(|id| (*id, self.read_entry(id)))
            .collect();
        let mut bad = Vec::new();
        for (id, r) in read {
            match r {
                Ok(e) => {
                    cached.insert(id, e);
                    changed = true;
                }
                Err(e) => bad.push((id, e)),
            }
        }
        if !bad.is_empty() {
            self.audit.append(&[AuditEvent::IntegrityFailure {
                ids: bad.iter().map(|(id, _)| id.to_hex()).collect(),
            }])?;
        }
        if changed {
            // A cache: if another writer is busy, the next listing saves it.
            if let Ok(_w) = WriterLock::acquire(&self.dir.join(LOCK_FILE), Duration::ZERO) {
                self.save_index(&index_key, &cached)?;
            }
        }
        let mut entries: Vec<Entry> = cached.into_values().collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path).then(a.added_ns.cmp(&b.added_ns)));
        Ok(Listing {
            entries,
            unreadable: bad,
        })
    }

    /// All versions of `path`, oldest first (needs unlock).
    pub fn versions(&self, path: &str) -> Result<Vec<Entry>> {
        let all = self.entries()?.entries;
        let mut v: Vec<Entry> = all.into_iter().filter(|e| e.path == path).collect();
        if v.is_empty() {
            return Err(Error::NotFound("file".into()));
        }
        v.sort_by_key(|e| (e.added_ns, e.id));
        Ok(v)
    }

    fn load_index(&self, key: &Key32) -> Option<HashMap<FileId, Entry>> {
        let path = self.dir.join(INDEX_FILE);
        let bytes = fsutil::read_bounded(&path, MAX_INDEX_LEN, "index").ok()?;
        let pt = open_index(key, self.config.vault_id(), &bytes).ok()?;
        let entries: Vec<Entry> = serde_json::from_slice(&pt).ok()?;
        Some(entries.into_iter().map(|e| (e.id, e)).collect())
    }

    fn save_index(&self, key: &Key32, entries: &HashMap<FileId, Entry>) -> Result<()> {
        let list: Vec<&Entry> = entries.values().collect();
        let pt = Zeroizing::new(serde_json::to_vec(&list).expect("entries serialize"));
        let bytes = seal_index(key, self.config.vault_id(), &pt);
        fsutil::atomic_write(&self.dir.join(INDEX_FILE), &bytes)
    }

    /// Drops the index cache; the next listing rebuilds it from the objects.
    pub fn rebuild_index(&self) -> Result<usize> {
        self.keys()?;
        {
            let _w = self.writer()?;
            match fs::remove_file(self.dir.join(INDEX_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        context: "removing the index",
                        source: e,
                    });
                }
            }
        }
        Ok(self.entries()?.entries.len())
    }

    /// Decrypts one version to `out`. Each chunk is written only after it
    /// authenticates; on failure the caller must discard what was written.
    pub fn decrypt_to(&self, id: &FileId, out: impl Write) -> Result<u64> {
        self.audit
            .append(&[AuditEvent::FileOpened { id: id.to_hex() }])?;
        self.decrypt_object(id, out)
    }

    fn decrypt_object(&self, id: &FileId, out: impl Write) -> Result<u64> {
        let keys = self.keys()?;
        let (mut f, header, record, _, offset) = self.read_object(id)?;
        let (fk, _) = object::unwrap(keys, self.config.vault_id(), &header, &record)?;
        f.seek(SeekFrom::Start(offset)).ctx("reading an object")?;
        object::decrypt_stream(&fk, &header, BufReader::with_capacity(1 << 20, f), out)
    }

    /// Decrypts `entry` to the new file `dest`: written to a temp file
    /// beside it and renamed only after the last chunk authenticates, so a
    /// tampered object never leaves partial plaintext. Refuses to replace
    /// an existing file.
    pub fn extract(&self, entry: &Entry, dest: &Path) -> Result<()> {
        if let Err(why) = self.policy.policy.check_extract(dest, &home_dir()) {
            return Err(Error::Invalid(format!("{why} by {}", self.policy.by())));
        }
        self.audit.append(&[AuditEvent::FileExtracted {
            id: entry.id.to_hex(),
        }])?;
        self.write_plaintext(entry, dest)
    }

    /// Decrypts `entry` into the app's private working area (a per-session
    /// 0700 folder the caller owns) to be opened with its usual app. Audited
    /// as an open; extraction-destination policy does not apply there.
    pub fn open_into(&self, entry: &Entry, dest: &Path) -> Result<()> {
        self.audit.append(&[AuditEvent::FileOpened {
            id: entry.id.to_hex(),
        }])?;
        self.write_plaintext(entry, dest)
    }

    fn write_plaintext(&self, entry: &Entry, dest: &Path) -> Result<()> {
        // Windows takes a ':' as a drive or alternate-stream separator; the
        // path rules allow it (FORMAT.md §7) for the OSes that do not.
        #[cfg(windows)]
        if format::windows_unsafe_component(&entry.path) {
            return Err(Error::Invalid(
                "the file's name or folder holds a ':', which Windows does not allow; it cannot be extracted on Windows".into(),
            ));
        }
        if fs::symlink_metadata(dest).is_ok() {
            return Err(Error::Invalid(
                "the destination already exists; choose another folder or remove it first".into(),
            ));
        }
        if let Some(parent) = dest.parent()
            && !parent.as_os_str().is_empty()
        {
            fs::create_dir_all(parent).ctx("creating the destination folder")?;
        }
        let tmp = fsutil::tmp_path_for(dest);
        let res = (|| -> Result<()> {
            let file = fsutil::create_private(&tmp).ctx("creating the extracted file")?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            self.decrypt_object(&entry.id, &mut w)?;
            let file = w
                .into_inner()
                .map_err(|e| e.into_error())
                .ctx("writing the extracted file")?;
            let mtime = if entry.mtime_ns >= 0 {
                UNIX_EPOCH + Duration::from_nanos(entry.mtime_ns as u64)
            } else {
                UNIX_EPOCH - Duration::from_nanos(entry.mtime_ns.unsigned_abs())
            };
            let _ = file.set_modified(mtime);
            #[cfg(unix)]
            if entry.mode != 0 {
                use std::os::unix::fs::PermissionsExt;
                let _ = file.set_permissions(fs::Permissions::from_mode(entry.mode & 0o777));
            }
            file.sync_all().ctx("syncing the extracted file")?;
            fs::rename(&tmp, dest).ctx("moving the extracted file into place")?;
            Ok(())
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res?;
        fsutil::sync_dir(dest.parent().unwrap_or(Path::new(".")))
    }

    /// Removes every version of `path` (needs unlock). Returns how many.
    pub fn remove(&self, path: &str) -> Result<usize> {
        let victims = self.versions(path)?;
        let _w = self.writer()?;
        let mut dirs = HashSet::new();
        for e in &victims {
            // Object first: a sidecar without its object is cleaned up at
            // open, an object without its sidecar could be unreadable.
            remove_if_exists(&self.object_path(&e.id))?;
            remove_if_exists(&self.record_path(&e.id))?;
            dirs.insert(self.shard_dir(&e.id));
        }
        for d in dirs {
            fsutil::sync_dir(&d)?;
        }
        self.audit.append(&[AuditEvent::FilesRemoved {
            ids: victims.iter().map(|e| e.id.to_hex()).collect(),
        }])?;
        Ok(victims.len())
    }

    /// Checks every object. Locked: structure only (headers, records,
    /// stream lengths). Unlocked: every chunk and metadata record
    /// authenticates too.
    pub fn verify(&self, progress: &(dyn Fn(Progress) + Sync)) -> Result<VerifyReport> {
        let ids = self.object_ids()?;
        let full = self.keys.is_some();
        let done = std::sync::atomic::AtomicU64::new(0);
        let results: Vec<(FileId, Result<()>)> = ids
            .par_iter()
            .map(|id| {
                let r = self.check_object(id, full);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n.is_multiple_of(64) {
                    progress(Progress { files: n, bytes: 0 });
                }
                (*id, r)
            })
            .collect();
        let mut report = VerifyReport {
            objects: ids.len() as u64,
            full,
            quarantined: self.quarantined()?,
            ..Default::default()
        };
        for (id, r) in results {
            match r {
                Ok(()) => report.decrypted += u64::from(full),
                Err(e) => report.failures.push((id.to_hex(), e.to_string())),
            }
        }
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let name = e.ctx("listing the vault")?.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(TMP_SUFFIX) {
                    report.temp_files += 1;
                } else if let Some(id) = name.strip_suffix(".rec").and_then(FileId::from_hex)
                    && !self.object_path(&id).exists()
                {
                    report.orphan_records += 1;
                }
            }
        }
        if !report.failures.is_empty() {
            self.audit.append(&[AuditEvent::IntegrityFailure {
                ids: report.failures.iter().map(|(id, _)| id.clone()).collect(),
            }])?;
        }
        Ok(report)
    }

    /// Checks one object as [`Vault::verify`] does. With `full` (needs
    /// unlock): its key unwraps, and its metadata and every chunk
    /// authenticate. Otherwise its structure, and that its key record is
    /// under a key version this vault holds.
    pub(crate) fn check_object(&self, id: &FileId, full: bool) -> Result<()> {
        if full {
            self.read_entry(id)?;
            self.decrypt_object(id, io::sink()).map(|_| ())
        } else {
            let i = self.inspect(id)?;
            self.check_key_version(i.key_version)
        }
    }

    /// Fails unless the config holds key version `v`: a key record under
    /// any other version can never be unwrapped.
    pub(crate) fn check_key_version(&self, v: u32) -> Result<()> {
        if self.config.key_versions.iter().any(|k| k.version == v) {
            Ok(())
        } else {
            Err(Error::corrupt(
                "key record",
                format!("it is under key version {v}, which this vault does not hold"),
            ))
        }
    }

    /// The layout of one object; no secret needed or shown.
    pub fn inspect(&self, id: &FileId) -> Result<Inspection> {
        let (f, header, record, sidecar, offset) = self.read_object(id)?;
        let len = f.metadata().ctx("reading an object")?.len();
        let stream = len
            .checked_sub(offset)
            .ok_or_else(|| Error::corrupt("object", "truncated"))?;
        let sealed = (CHUNK_SIZE + CHUNK_OVERHEAD) as u64;
        let full = stream / sealed;
        let rest = stream % sealed;
        let (chunks, plaintext) = match (full, rest) {
            (0, r) if r >= CHUNK_OVERHEAD as u64 => (1, r - CHUNK_OVERHEAD as u64),
            (n, 0) if n > 0 => (n, n * CHUNK_SIZE as u64),
            (n, r) if r > CHUNK_OVERHEAD as u64 => (n + 1, n * CHUNK_SIZE as u64 + r - 16),
            _ => {
                return Err(Error::corrupt(
                    "object",
                    "chunk stream has an impossible length",
                ));
            }
        };
        Ok(Inspection {
            id: id.to_hex(),
            format_version: format::FORMAT_VERSION,
            chunk_size: CHUNK_SIZE,
            salt: data_encoding::HEXLOWER.encode(&header.salt),
            commitment: data_encoding::HEXLOWER.encode(&header.commitment),
            key_version: record.key_version,
            sidecar,
            record_len: record.encoded_len(),
            metadata_len: record.meta_ct.len(),
            stream_offset: offset,
            object_len: len,
            chunks,
            plaintext_len: plaintext,
        })
    }

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
        let cur = self
            .config
            .key_versions
            .iter()
            .find(|v| v.version == self.config.current_key_version)
            .expect("validated");
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
                })
                .collect(),
            protected: self.protected_folders()?,
            plaintext: self.plaintext_census()?,
            rotation: self.config.rotation.clone(),
        })
    }
}

pub(crate) fn remove_if_exists(p: &Path) -> Result<()> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            context: "removing an object",
            source: e,
        }),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).ctx("creating the vault folder")
}

fn index_aad(vault_id: &[u8; 16]) -> Vec<u8> {
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), vault_id].concat()
}

/// `magic ‖ BE16 version ‖ nonce ‖ AES-256-GCM(index key, JSON entries)`.
fn seal_index(key: &Key32, vault_id: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_array();
    let ct = primitives::seal(key, &nonce, &index_aad(vault_id), plaintext);
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), &nonce, &ct].concat()
}

/// Parses and opens an index file.
pub fn open_index(key: &Key32, vault_id: &[u8; 16], bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut r = format::Reader::new(bytes, "index");
    if r.take(8)? != INDEX_MAGIC {
        return Err(Error::corrupt("index", "bad magic"));
    }
    let v = r.u16()?;
    if v != INDEX_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "index",
            version: v.into(),
        });
    }
    let nonce: [u8; 12] = r.array()?;
    let ct = r.take(bytes.len() - 22)?;
    primitives::open(key, &nonce, &index_aad(vault_id), ct)
}

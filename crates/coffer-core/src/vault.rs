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
//! ```
//!
//! Adding needs only the public key, so it works while locked; everything
//! that reveals names or contents needs [`Vault::unlock`]. One writer at a
//! time holds `lock`, per operation; readers never wait.

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

mod quarantine;
mod reports;
mod rotate;
pub use quarantine::QuarantinedObject;
pub use rotate::{Reenrol, RotationOutcome, RotationProgress, RotationReport};

const CONFIG_FILE: &str = "vault.json";
const LOCK_FILE: &str = "lock";
const OBJECTS_DIR: &str = "objects";
const QUARANTINE_DIR: &str = "quarantine";
const INDEX_FILE: &str = "index.bin";
const PROTECTED_FILE: &str = "protected.json";
const REMOVALS_FILE: &str = "removals.json";
/// How a plaintext that is safe in the vault but could not be removed is
/// reported (it is not stored again on the next try: the journal keeps it).
const STORED_BUT_NOT_REMOVED: &str =
    "the file is safely in the vault, but the original could not be removed";
/// A plaintext that changed between its encryption and its removal.
const CHANGED_BEFORE_REMOVAL: &str =
    "the file changed after it was encrypted; it was kept and will be added again";
/// Journal entries older than this are forgotten (their file is long gone).
const REMOVAL_MAX_AGE_NS: i64 = 7 * 24 * 3600 * 1_000_000_000;
const OBJ_EXT: &str = "obj";
const REC_EXT: &str = "rec";
const INDEX_MAGIC: &[u8; 8] = b"COFFERIX";
const INDEX_VERSION: u16 = 1;
/// Largest index we read (a million files fit easily).
const MAX_INDEX_LEN: u64 = 512 << 20;
/// Largest removal journal we read (about 300,000 entries).
const MAX_REMOVALS_LEN: u64 = 64 << 20;
/// Largest protected-folder list we read.
const MAX_PROTECTED_LEN: u64 = 1 << 20;
/// Files per durability batch; bytes per batch.
const BATCH_FILES: usize = 512;
const BATCH_BYTES: u64 = 256 << 20;
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

/// What a folder walk found to add, and what it left alone.
#[derive(Debug, Default)]
pub struct Collected {
    /// Files to add.
    pub sources: Vec<AddSource>,
    /// Files left alone, with why.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// A protected folder: a place on disk whose files are kept in the vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectedFolder {
    /// Absolute path of the folder.
    pub path: PathBuf,
    /// Top-level vault folder its files go under.
    pub name: String,
    /// When it was protected, seconds since the epoch.
    pub added: i64,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectedList {
    folders: Vec<ProtectedFolder>,
}

/// One file to add: where it is and where it goes in the vault.
#[derive(Clone, Debug)]
pub struct AddSource {
    /// The folder it must stay inside: it is opened and removed from there
    /// without following a symlink (canonical, see [`crate::beneath`]).
    pub within: Arc<Path>,
    /// The plaintext file on disk, below `within`.
    pub source: PathBuf,
    /// Its relative path inside the vault.
    pub vault_path: String,
}

impl AddSource {
    /// One file on its own: it must stay inside the folder that holds it
    /// (resolved now, once).
    pub fn for_file(source: &Path, vault_path: &str) -> Result<Self> {
        let name = source
            .file_name()
            .ok_or_else(|| Error::Invalid("a file name is needed".into()))?;
        let dir = fs::canonicalize(parent_of(source)).ctx("finding a file to add")?;
        Ok(AddSource {
            source: dir.join(name),
            within: Arc::from(dir.as_path()),
            vault_path: vault_path.to_owned(),
        })
    }

    /// The file `source` below the canonical folder `within`.
    pub fn new(within: &Arc<Path>, source: PathBuf, vault_path: String) -> Self {
        AddSource {
            within: within.clone(),
            source,
            vault_path,
        }
    }
}

/// Why a file was left alone (nothing lost: it stays where it was).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A symbolic link: never followed.
    Symlink,
    /// A device, socket or pipe.
    NotRegularFile,
    /// The name is not valid UTF-8.
    NameNotUtf8,
    /// An application's temporary or partial file that is still in use or
    /// was written within the quiet period; it is encrypted once quiet.
    Transient,
    /// The file has other names (hard links): removing this one would
    /// leave its data on disk, so it is left alone and not protected.
    HardLinked,
    /// It lies inside one of Coffer's own folders (the vault, its data or
    /// settings, the working area, an audit sink).
    CofferFolder,
}

/// What became of one source.
#[derive(Debug)]
pub enum AddOutcome {
    /// Encrypted into the vault (and, if asked, the plaintext removed).
    Added {
        /// Its object id.
        id: FileId,
        /// Plaintext bytes.
        size: u64,
    },
    /// Left alone; see the reason.
    Skipped(SkipReason),
    /// Could not be added; the plaintext is untouched.
    Failed(Error),
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

/// Options of [`Vault::add`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AddOptions {
    /// Remove each plaintext once its ciphertext is durable and verified.
    pub remove_plaintext: bool,
    /// Who is adding (recorded in the audit trail).
    pub by: Actor,
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

/// A plaintext about to be removed because a verified object holds it.
/// Written (durably) before the removals, cleared after: if a crash comes
/// in between, the next add recognises the file by its identity — no name
/// is stored — and removes it instead of storing it a second time, but only
/// if the object named is still there and is the one written for that file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    fingerprint: Fingerprint,
    #[serde(with = "hex_id")]
    id: FileId,
    /// [`object_binding`] of the object written for the file. Entries from
    /// before it existed have none and never justify a removal.
    #[serde(default)]
    object: String,
    at_ns: i64,
}

/// SHA-256 of an object's header and key record as written, hex: names the
/// exact object, not just its id.
fn object_binding(header: &format::Header, record: &KeyRecord) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(header.to_bytes());
    h.update(record.to_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

struct Pending {
    index: usize,
    tmp: PathBuf,
    fin: PathBuf,
    sealed: Sealed,
    size: u64,
    fingerprint: Fingerprint,
}

impl Vault {
    /// Creates a vault in `dir` (which must not hold one), with a
    /// passphrase slot, a recovery slot, and the optional keychain and
    /// escrow slots.
    pub fn create(dir: &Path, opts: CreateOptions<'_>) -> Result<Created> {
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

    /// Registers the policy's mandatory folders (creating them if needed).
    /// One that would hold or lie inside Coffer's own folders is never
    /// protected; compliance reports it for IT to correct.
    pub fn ensure_mandatory_folders(&self) -> Result<Vec<ProtectedFolder>> {
        let mut added = Vec::new();
        let own = self.own_folders();
        for f in self.policy.policy.mandatory_folders(&home_dir()) {
            if own.conflict(&f).is_some() {
                continue;
            }
            fs::create_dir_all(&f).ctx("creating a mandatory protected folder")?;
            added.push(self.register_protected(&f)?);
        }
        Ok(added)
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

    /// Encrypts `sources` into the vault. Works while locked. Durability is
    /// bought per batch: all of a batch's objects are written, flushed with
    /// one `syncfs`, renamed into place and flushed again; only then, and
    /// only after each object has been read back and authenticated, are the
    /// plaintexts removed (if asked).
    pub fn add(
        &self,
        sources: &[AddSource],
        opts: AddOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<AddOutcome>> {
        let mut outcomes: Vec<Option<AddOutcome>> = (0..sources.len()).map(|_| None).collect();
        let mut journal = if opts.remove_plaintext {
            self.load_removals()
        } else {
            Vec::new()
        };
        let journal_at_start = journal.len();
        let own = self.own_folders();
        let mut done = Progress::default();
        let mut start = 0;
        while start < sources.len() {
            // Cut a batch by count and by (pre-read) size.
            let mut end = start;
            let mut bytes = 0u64;
            while end < sources.len() && end - start < BATCH_FILES && bytes < BATCH_BYTES {
                bytes += fs::symlink_metadata(&sources[end].source)
                    .map(|m| m.len())
                    .unwrap_or(0);
                end += 1;
            }
            let _w = self.writer()?;
            let target = self.current_target()?;
            let batch: Vec<(usize, Result<Pending, AddOutcome>)> = (start..end)
                .into_par_iter()
                .map(|i| {
                    let r = self.seal_one(
                        &own,
                        &target,
                        i,
                        &sources[i],
                        &journal,
                        opts.remove_plaintext,
                    );
                    (i, r)
                })
                .collect();
            let mut pending = Vec::new();
            for (i, r) in batch {
                match r {
                    Ok(p) => pending.push(p),
                    Err(o) => {
                        if let AddOutcome::Added { id, .. } = &o {
                            journal.retain(|r| r.id != *id);
                        }
                        outcomes[i] = Some(o);
                    }
                }
            }
            self.commit_batch(&mut pending, &mut outcomes)?;
            if opts.remove_plaintext {
                self.remove_plaintexts(&pending, sources, &mut outcomes, &mut journal)?;
            }
            for p in &pending {
                if outcomes[p.index].is_none() {
                    outcomes[p.index] = Some(AddOutcome::Added {
                        id: p.sealed.header.file_id,
                        size: p.size,
                    });
                }
                done.bytes += p.size;
            }
            let ids: Vec<String> = outcomes[start..end]
                .iter()
                .filter_map(|o| match o {
                    Some(AddOutcome::Added { id, .. }) => Some(id.to_hex()),
                    _ => None,
                })
                .collect();
            if !ids.is_empty() {
                self.audit.append(&[AuditEvent::FilesAdded {
                    ids,
                    by: opts.by.as_str().into(),
                }])?;
            }
            done.files += (end - start) as u64;
            progress(done);
            start = end;
        }
        if journal_at_start > 0 {
            let cutoff = now_ns() - REMOVAL_MAX_AGE_NS;
            journal.retain(|r| r.at_ns > cutoff);
            let _w = self.writer()?;
            self.save_removals(&journal)?;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every source has an outcome"))
            .collect())
    }

    fn seal_one(
        &self,
        own: &OwnFolders,
        target: &WrapTarget,
        index: usize,
        src: &AddSource,
        journal: &[Removal],
        verify: bool,
    ) -> Result<Pending, AddOutcome> {
        let fail = |context: &'static str| {
            move |source: io::Error| AddOutcome::Failed(Error::Io { context, source })
        };
        format::validate_rel_path(&src.vault_path)
            .map_err(|e| AddOutcome::Failed(Error::Invalid(format!("unusable name: {e}"))))?;
        // Whatever a walk or an event let through: Coffer's own files are
        // never encrypted away (copying one in, as the working area's saves
        // do, removes nothing).
        if verify && own.holds(&src.source) {
            return Err(AddOutcome::Skipped(SkipReason::CofferFolder));
        }
        let beneath = Beneath::new(&src.within);
        let mut file = match beneath.open_read(&src.source) {
            Ok(f) => f,
            Err(e) if crate::beneath::is_symlink_error(&e) => {
                return Err(AddOutcome::Skipped(SkipReason::Symlink));
            }
            Err(e) => return Err(fail("opening a file to add")(e)),
        };
        let meta = file.metadata().map_err(fail("reading a file to add"))?;
        if !meta.is_file() {
            return Err(AddOutcome::Skipped(SkipReason::NotRegularFile));
        }
        if verify && plaintext::is_hard_linked(&meta) {
            return Err(AddOutcome::Skipped(SkipReason::HardLinked));
        }
        let fingerprint = Fingerprint::of(&meta);
        if let Some(r) = journal.iter().find(|r| r.fingerprint == fingerprint)
            && self.holds_object_for(r)
        {
            // Stored and verified before a crash interrupted its removal.
            drop(file);
            return match beneath.remove_if_unchanged(&src.source, &fingerprint) {
                Ok(true) => Err(match src.source.parent().map(fsutil::sync_dir) {
                    Some(Err(e)) => AddOutcome::Failed(e),
                    _ => AddOutcome::Added {
                        id: r.id,
                        size: fingerprint.len,
                    },
                }),
                Ok(false) => Err(AddOutcome::Failed(Error::Invalid(
                    CHANGED_BEFORE_REMOVAL.into(),
                ))),
                Err(e) => Err(fail(STORED_BUT_NOT_REMOVED)(e)),
            };
        }
        let md = Metadata {
            path: src.vault_path.clone(),
            size: meta.len(),
            mtime_ns: fingerprint.mtime_ns,
            mode: mode_of(&meta),
            added_ns: now_ns(),
        };
        let sealed = Sealed::new(target, None, &md).map_err(AddOutcome::Failed)?;
        let id = sealed.header.file_id;
        let shard = self.shard_dir(&id);
        if !shard.exists() {
            fs::create_dir_all(&shard).map_err(fail("creating a vault folder"))?;
        }
        let fin = self.object_path(&id);
        let tmp = fsutil::tmp_path_for(&fin);
        let written = (|| -> Result<u64> {
            let out = fsutil::create_private(&tmp).ctx("creating an object")?;
            let mut w = BufWriter::with_capacity(1 << 20, out);
            let n = sealed.write(&mut file, &mut w)?;
            w.into_inner()
                .map_err(|e| e.into_error())
                .ctx("writing an object")?;
            Ok(n)
        })();
        let changed = match &written {
            Ok(n) => {
                *n != md.size
                    || file
                        .metadata()
                        .map(|m| Fingerprint::of(&m) != fingerprint)
                        .unwrap_or(true)
            }
            Err(_) => false,
        };
        if written.is_err() || changed {
            let _ = fs::remove_file(&tmp);
            return Err(AddOutcome::Failed(match written {
                Err(e) => e,
                Ok(_) => Error::Invalid(
                    "the file changed while it was being encrypted; it was left as it is".into(),
                ),
            }));
        }
        // Before a plaintext may go, what is on disk must read back and
        // authenticate. Reading the temp file now sees the same bytes the
        // rename will publish and the batch flush will make durable, and
        // keeps the window between commit and removal short.
        if verify && let Err(e) = self.verify_written(&tmp, &sealed, md.size) {
            let _ = fs::remove_file(&tmp);
            return Err(AddOutcome::Failed(e));
        }
        Ok(Pending {
            index,
            tmp,
            fin,
            sealed,
            size: md.size,
            fingerprint,
        })
    }

    /// Makes a batch durable: flush, rename into place, flush again.
    fn commit_batch(
        &self,
        pending: &mut Vec<Pending>,
        outcomes: &mut [Option<AddOutcome>],
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let tmps: Vec<PathBuf> = pending.iter().map(|p| p.tmp.clone()).collect();
        fsutil::sync_batch(&self.dir, &tmps)?;
        let mut dirs = HashSet::new();
        pending.retain(|p| match fs::rename(&p.tmp, &p.fin) {
            Ok(()) => {
                dirs.insert(p.fin.parent().expect("shard").to_path_buf());
                true
            }
            Err(source) => {
                let _ = fs::remove_file(&p.tmp);
                outcomes[p.index] = Some(AddOutcome::Failed(Error::Io {
                    context: "moving an object into place",
                    source,
                }));
                false
            }
        });
        #[cfg(target_os = "linux")]
        fsutil::sync_batch(&self.dir, &[])?;
        #[cfg(not(target_os = "linux"))]
        for d in &dirs {
            fsutil::sync_dir(d)?;
        }
        Ok(())
    }

    /// Reads each committed object back, authenticates every chunk with the
    /// keys it was sealed under, checks the plaintext is unchanged since it
    /// was read, then removes it and makes the removals durable.
    /// Removes the plaintexts of a committed (durable, verified) batch.
    /// The journal names each file's identity first, so a crash part-way
    /// never stores a file twice; files whose removal fails stay in the
    /// journal, so retries do not store them again either.
    fn remove_plaintexts(
        &self,
        pending: &[Pending],
        sources: &[AddSource],
        outcomes: &mut [Option<AddOutcome>],
        journal: &mut Vec<Removal>,
    ) -> Result<()> {
        let at_ns = now_ns();
        let batch: Vec<&Pending> = pending
            .iter()
            .filter(|p| outcomes[p.index].is_none())
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        for p in &batch {
            journal.push(Removal {
                fingerprint: p.fingerprint,
                id: p.sealed.header.file_id,
                object: object_binding(&p.sealed.header, &p.sealed.record),
                at_ns,
            });
        }
        self.save_removals(journal)?;
        let mut done = HashSet::new();
        let mut parents = HashSet::new();
        for p in &batch {
            let src = &sources[p.index];
            // Opened from the folder's own descriptor with no link followed,
            // and checked to be the file that was read: a symlink or another
            // file swapped in since can never be what is removed.
            match Beneath::new(&src.within).remove_if_unchanged(&src.source, &p.fingerprint) {
                Ok(true) => {
                    done.insert(p.sealed.header.file_id);
                    if let Some(d) = src.source.parent() {
                        parents.insert(d.to_path_buf());
                    }
                }
                Ok(false) => {
                    done.insert(p.sealed.header.file_id);
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Invalid(
                        CHANGED_BEFORE_REMOVAL.into(),
                    )));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || crate::beneath::is_symlink_error(&e) =>
                {
                    done.insert(p.sealed.header.file_id);
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Invalid(
                        CHANGED_BEFORE_REMOVAL.into(),
                    )));
                }
                Err(source) => {
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Io {
                        context: STORED_BUT_NOT_REMOVED,
                        source,
                    }));
                }
            }
        }
        for d in parents {
            fsutil::sync_dir(&d)?;
        }
        journal.retain(|r| !done.contains(&r.id));
        self.save_removals(journal)
    }

    /// Whether the journal entry `r` names an object that is in the vault
    /// and is the very one written for its file (same header and key
    /// record, a stream as long as the file's length needs).
    fn holds_object_for(&self, r: &Removal) -> bool {
        if r.object.is_empty() {
            return false;
        }
        let Ok(mut f) = File::open(self.object_path(&r.id)) else {
            return false;
        };
        let Ok(len) = f.metadata().map(|m| m.len()) else {
            return false;
        };
        match object::read_prefix(BufReader::new(&mut f)) {
            Ok(p) => {
                p.header.file_id == r.id
                    && object_binding(&p.header, &p.record) == r.object
                    && p.stream_offset + format::stream_len(r.fingerprint.len) == len
            }
            Err(_) => false,
        }
    }

    fn load_removals(&self) -> Vec<Removal> {
        // Only an optimisation against storing a file twice after a crash:
        // an unreadable journal costs at most a duplicate version.
        fsutil::read_bounded(
            &self.dir.join(REMOVALS_FILE),
            MAX_REMOVALS_LEN,
            "removal journal",
        )
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
    }

    fn save_removals(&self, journal: &[Removal]) -> Result<()> {
        let path = self.dir.join(REMOVALS_FILE);
        if journal.is_empty() {
            remove_if_exists(&path)?;
            return fsutil::sync_dir(&self.dir);
        }
        fsutil::atomic_write(&path, &serde_json::to_vec(journal).expect("serializes"))
    }

    fn verify_written(&self, path: &Path, sealed: &Sealed, size: u64) -> Result<()> {
        let mut f = File::open(path).ctx("reading back an object")?;
        let prefix = object::read_prefix(BufReader::new(&mut f))?;
        if prefix.header != sealed.header || prefix.record != sealed.record {
            return Err(Error::DecryptionFailed);
        }
        f.seek(SeekFrom::Start(prefix.stream_offset))
            .ctx("reading back an object")?;
        let n = object::decrypt_stream(
            &sealed.keys,
            &prefix.header,
            BufReader::with_capacity(1 << 20, f),
            io::sink(),
        )?;
        if n != size {
            return Err(Error::DecryptionFailed);
        }
        Ok(())
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

    /// The protected folders.
    pub fn protected_folders(&self) -> Result<Vec<ProtectedFolder>> {
        const WHAT: &str = "protected folder list";
        match fsutil::read_bounded(&self.dir.join(PROTECTED_FILE), MAX_PROTECTED_LEN, WHAT) {
            Ok(b) => {
                let l: ProtectedList =
                    serde_json::from_slice(&b).map_err(|e| Error::corrupt(WHAT, e.to_string()))?;
                Ok(l.folders)
            }
            Err(e) if fsutil::is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Coffer's own folders, as this vault sees them: never protected,
    /// never walked, never added from.
    pub fn own_folders(&self) -> OwnFolders {
        let mut sinks: Vec<crate::sink::Sink> = crate::sink::load(&self.dir).unwrap_or_default();
        sinks.extend(self.policy.policy.audit.sinks.iter().cloned());
        OwnFolders::new(
            &self.dir,
            sinks.into_iter().filter_map(|s| match s {
                crate::sink::Sink::Directory { path } => Some(path),
                crate::sink::Sink::Syslog { .. } => None,
            }),
        )
    }

    /// What [`collect_sources`] finds under `root`, with this vault's own
    /// folders left out and the policy's quiet period for temporary files.
    pub fn collect(&self, root: &Path, prefix: &str) -> Result<Collected> {
        collect_sources(
            root,
            prefix,
            &self.own_folders(),
            self.policy.policy.temporary_quiet(),
        )
    }

    /// The plaintext files still in the protected folders, by reason.
    pub fn plaintext_census(&self) -> Result<Census> {
        let folders: Vec<PathBuf> = self
            .protected_folders()?
            .into_iter()
            .map(|f| f.path)
            .collect();
        Ok(plaintext::census(
            &folders,
            &self.own_folders(),
            self.policy.policy.temporary_quiet(),
        ))
    }

    /// Registers `dir` as a protected folder (idempotent) and returns it.
    /// A folder that is, holds or lies inside one of Coffer's own folders
    /// is refused ([`Error::UnsafeFolder`]).
    pub fn register_protected(&self, dir: &Path) -> Result<ProtectedFolder> {
        let abs = fs::canonicalize(dir).ctx("finding the folder to protect")?;
        if !abs.is_dir() {
            return Err(Error::Invalid("only a folder can be protected".into()));
        }
        if let Some((relation, what)) = self.own_folders().conflict(&abs) {
            return Err(Error::UnsafeFolder { relation, what });
        }
        let _w = self.writer()?;
        let mut list = self.protected_folders()?;
        if let Some(f) = list.iter().find(|f| f.path == abs) {
            return Ok(f.clone());
        }
        let base = abs
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| format::validate_rel_path(n).is_ok())
            .unwrap_or("Protected")
            .to_owned();
        let mut name = base.clone();
        let mut n = 2;
        while list.iter().any(|f| f.name == name) {
            name = format!("{base} ({n})");
            n += 1;
        }
        let folder = ProtectedFolder {
            path: abs,
            name,
            added: now_ns() / 1_000_000_000,
        };
        list.push(folder.clone());
        self.save_protected(list)?;
        self.audit.append(&[AuditEvent::FolderProtected])?;
        Ok(folder)
    }

    /// Stops protecting the folder at `dir`; its files stay in the vault.
    pub fn unregister_protected(&self, dir: &Path) -> Result<()> {
        let abs = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if self
            .policy
            .policy
            .mandatory_folders(&home_dir())
            .iter()
            .any(|m| *m == abs || fs::canonicalize(m).is_ok_and(|c| c == abs))
        {
            return Err(Error::Invalid(format!(
                "this folder must stay protected: it is required by {}",
                self.policy.by()
            )));
        }
        let _w = self.writer()?;
        let mut list = self.protected_folders()?;
        let before = list.len();
        list.retain(|f| f.path != abs);
        if list.len() == before {
            return Err(Error::NotFound("protected folder".into()));
        }
        self.save_protected(list)?;
        self.audit.append(&[AuditEvent::FolderUnprotected])
    }

    fn save_protected(&self, folders: Vec<ProtectedFolder>) -> Result<()> {
        let b = serde_json::to_vec_pretty(&ProtectedList { folders }).expect("serializes");
        fsutil::atomic_write(&self.dir.join(PROTECTED_FILE), &b)
    }
}

/// Walks `root` and pairs every regular file with its vault path under
/// `prefix`. Nothing is followed: a `root` that is a symlink is skipped
/// (its parent folders are resolved once). Coffer's own folders are
/// never entered. Names that are not UTF-8, and temporary files that are
/// still in use or were written within `quiet`, are reported as skipped.
pub fn collect_sources(
    root: &Path,
    prefix: &str,
    own: &OwnFolders,
    quiet: Duration,
) -> Result<Collected> {
    let mut c = Collected::default();
    // A link named on the command line is not followed either (a protected
    // folder reaches here already resolved, by `register_protected`).
    if fs::symlink_metadata(root)
        .ctx("reading what to add")?
        .file_type()
        .is_symlink()
    {
        c.skipped.push((root.to_path_buf(), SkipReason::Symlink));
        return Ok(c);
    }
    let root = fs::canonicalize(root).ctx("reading what to add")?;
    if own.holds(&root) {
        c.skipped.push((root, SkipReason::CofferFolder));
        return Ok(c);
    }
    let meta = fs::symlink_metadata(&root).ctx("reading what to add")?;
    if !meta.is_dir() {
        let within: Arc<Path> = Arc::from(parent_of(&root));
        if meta.is_file() {
            c.sources
                .push(AddSource::new(&within, root, prefix.to_owned()));
        } else {
            c.skipped.push((root, SkipReason::NotRegularFile));
        }
        return Ok(c);
    }
    let within: Arc<Path> = Arc::from(root.as_path());
    let now = SystemTime::now();
    let mut temporary = Vec::new();
    let walk = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.depth() > 0
                && e.file_type().is_dir()
                && e.metadata().is_ok_and(|m| own.is_own_dir(e.path(), &m)))
        });
    for e in walk {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                return Err(Error::Io {
                    context: "walking a folder",
                    source: err.into(),
                });
            }
        };
        let ft = e.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(&root)
            .expect("walkdir stays under root");
        let mut parts = Vec::new();
        let mut utf8 = true;
        for c in rel.components() {
            match c.as_os_str().to_str() {
                Some(s) => parts.push(s),
                None => utf8 = false,
            }
        }
        let reason = if ft.is_symlink() {
            Some(SkipReason::Symlink)
        } else if !ft.is_file() {
            Some(SkipReason::NotRegularFile)
        } else if !utf8 {
            Some(SkipReason::NameNotUtf8)
        } else if parts
            .last()
            .is_some_and(|n| plaintext::is_temporary_name(n))
        {
            match e.metadata() {
                Ok(m) if plaintext::temporary_wait(e.path(), &m, quiet, now).is_none() => {
                    temporary.push(c.sources.len());
                    None
                }
                _ => Some(SkipReason::Transient),
            }
        } else {
            None
        };
        match reason {
            Some(r) => c.skipped.push((e.path().to_path_buf(), r)),
            None => c.sources.push(AddSource::new(
                &within,
                e.path().to_path_buf(),
                if prefix.is_empty() {
                    parts.join("/")
                } else {
                    format!("{prefix}/{}", parts.join("/"))
                },
            )),
        }
    }
    // Quiet temporary files are taken unless a program still has them open.
    let quiet_ones: Vec<PathBuf> = temporary
        .iter()
        .map(|i| c.sources[*i].source.clone())
        .collect();
    let open = plaintext::open_by_others(&quiet_ones, false);
    if !open.is_empty() {
        let (busy, free): (Vec<AddSource>, Vec<AddSource>) = std::mem::take(&mut c.sources)
            .into_iter()
            .partition(|s| open.contains(&s.source));
        c.sources = free;
        c.skipped
            .extend(busy.into_iter().map(|s| (s.source, SkipReason::Transient)));
    }
    Ok(c)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("/"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn new_vault(dir: &Path) -> Vault {
        let pass = Passphrase::from("pw");
        Vault::create(
            dir,
            CreateOptions {
                passphrase: &pass,
                kdf: Argon2Params::FLOOR,
                keychain_secret: None,
                escrow: None,
            },
        )
        .unwrap()
        .vault
    }

    fn add(v: &Vault, src: &Path, vault_path: &str, remove: bool) -> AddOutcome {
        v.add(
            &[AddSource::for_file(src, vault_path).unwrap()],
            AddOptions {
                remove_plaintext: remove,
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap()
        .pop()
        .unwrap()
    }

    #[test]
    fn same_path_twice_makes_two_versions() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("scan.pdf");
        fs::write(&f, b"first").unwrap();
        add(&v, &f, "scan.pdf", false);
        fs::write(&f, b"second").unwrap();
        add(&v, &f, "scan.pdf", false);
        let vs = v.versions("scan.pdf").unwrap();
        assert_eq!(vs.len(), 2);
        let mut out = Vec::new();
        v.decrypt_to(&vs[0].id, &mut out).unwrap();
        assert_eq!(out, b"first");
        assert_eq!(
            latest_versions(&v.entries().unwrap().entries)[0].id,
            vs[1].id
        );
    }

    #[test]
    fn interrupted_removal_is_finished_not_stored_twice() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("letter.txt");
        fs::write(&f, b"dear colleague").unwrap();
        let AddOutcome::Added { id, .. } = add(&v, &f, "letter.txt", false) else {
            panic!("not added")
        };
        // As left by a crash between the journal write and the unlink.
        let fp = Fingerprint::of(&fs::metadata(&f).unwrap());
        let (_, header, record, _, _) = v.read_object(&id).unwrap();
        v.save_removals(&[Removal {
            fingerprint: fp,
            id,
            object: object_binding(&header, &record),
            at_ns: now_ns(),
        }])
        .unwrap();
        match add(&v, &f, "letter.txt", true) {
            AddOutcome::Added { id: again, .. } => assert_eq!(again, id),
            other => panic!("{other:?}"),
        }
        assert!(!f.exists());
        assert_eq!(v.object_ids().unwrap().len(), 1);
        assert!(!v.dir().join(REMOVALS_FILE).exists());
    }

    #[test]
    fn a_journal_entry_that_names_another_object_removes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let other = d.path().join("other.txt");
        fs::write(&other, b"something else, of another length").unwrap();
        let AddOutcome::Added { id, .. } = add(&v, &other, "other.txt", false) else {
            panic!("not added")
        };
        let (_, header, record, _, _) = v.read_object(&id).unwrap();
        let f = d.path().join("letter.txt");
        fs::write(&f, b"dear colleague").unwrap();
        let fp = Fingerprint::of(&fs::metadata(&f).unwrap());
        // Forged or stale: the letter's identity, but an object that is
        // not the letter's (wrong length), or no binding at all.
        for object in [object_binding(&header, &record), String::new()] {
            v.save_removals(&[Removal {
                fingerprint: fp,
                id,
                object,
                at_ns: now_ns(),
            }])
            .unwrap();
            assert!(!v.holds_object_for(&v.load_removals()[0]));
        }
        // So the letter is stored for real before it goes.
        let AddOutcome::Added { id: new, .. } = add(&v, &f, "letter.txt", true) else {
            panic!("not added")
        };
        assert_ne!(new, id);
        assert!(!f.exists());
        let mut v = v;
        v.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
            .unwrap();
        let mut out = Vec::new();
        v.decrypt_to(&new, &mut out).unwrap();
        assert_eq!(out, b"dear colleague");
    }

    #[test]
    fn plaintext_removed_only_after_verified_commit() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("x.bin");
        fs::write(&f, vec![7u8; 200_000]).unwrap();
        assert!(matches!(
            add(&v, &f, "x.bin", true),
            AddOutcome::Added { .. }
        ));
        assert!(!f.exists());
        assert!(!v.dir().join(REMOVALS_FILE).exists());
        let r = v.verify(&|_| {}).unwrap();
        assert!(r.ok() && r.temp_files == 0);
    }

    #[test]
    fn adding_works_while_locked_and_listing_needs_unlock() {
        let d = tempfile::tempdir().unwrap();
        new_vault(&d.path().join("v"));
        let mut v = Vault::open(&d.path().join("v")).unwrap();
        let f = d.path().join("a");
        fs::write(&f, b"a").unwrap();
        assert!(matches!(add(&v, &f, "a", false), AddOutcome::Added { .. }));
        assert!(matches!(v.entries(), Err(Error::Locked)));
        v.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
            .unwrap();
        assert_eq!(v.entries().unwrap().entries.len(), 1);
    }
}

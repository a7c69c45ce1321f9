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
//! Rooms: this file is the handle and what every room shares; `open`
//! creates, opens and unlocks; `slots` enrols and removes credentials;
//! `store` knows where objects lie; `read` lists, decrypts and extracts;
//! `index` keeps the encrypted listing cache; `check` verifies and
//! inspects; `status` sums the vault up for people and the audit trail;
//! `add` seals and removes plaintexts; `folders` registers and walks
//! protected folders; `rotate` and `quarantine` move objects between key
//! versions or aside. Reports over the audit trail live in the `coffer-report` crate.
//! What the organisation policy allows is decided in [`crate::policy`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::audit::AuditLog;
use crate::config::{UnlockedKeys, VaultConfig};
use crate::error::{Error, Result};
use crate::fsutil::{self, WriterLock};
use crate::object::WrapTarget;

mod add;
mod check;
mod folders;
mod index;
mod integrity;
mod open;
mod quarantine;
mod read;
mod rotate;
mod slots;
mod staged;
mod status;
mod store;
pub use crate::format::index::open_index;
pub use crate::fsutil::mtime_ns_of;
pub use crate::policy::ComplianceCheck;
pub use add::{AddOptions, AddOutcome, AddSource, Collected, SkipReason};
pub use check::{Inspection, VerifyReport};
pub use folders::{ProtectedFolder, collect_sources};
use index::INDEX_FILE;
pub use integrity::{IntegrityReport, Problem, ProblemKind};
pub use open::{CreateOptions, Created};
pub use quarantine::QuarantinedObject;
use read::hex_id;
pub use read::{Entry, Listing, latest_versions};
pub use rotate::{NewCredentials, Reenrol, RotationOutcome, RotationProgress, RotationReport};
pub use status::{SlotInfo, Status};
use store::{create_private_dir, remove_if_exists};

const CONFIG_FILE: &str = "vault.json";
const LOCK_FILE: &str = "lock";
const OBJECTS_DIR: &str = "objects";
const QUARANTINE_DIR: &str = "quarantine";
const PROTECTED_FILE: &str = "protected.json";
const REMOVALS_FILE: &str = "removals.json";
const OBJ_EXT: &str = "obj";
const REC_EXT: &str = "rec";
/// How long a writer waits for another to finish before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

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

/// Fetches the writer keys the device keeps (the OS keychain: the kept
/// one, and one staged by a change of keys in progress; or a process's
/// memory), to take the one that verifies the config when the key held
/// stops verifying.
pub type WriterKeySource = std::sync::Arc<dyn Fn() -> Vec<crate::config::WriterKey> + Send + Sync>;

/// An open vault.
pub struct Vault {
    dir: PathBuf,
    config: VaultConfig,
    keys: Option<UnlockedKeys>,
    audit: AuditLog,
    policy: crate::policy::Effective,
    /// A writer key handed over by the caller (from the OS keychain, or
    /// kept since an unlock), for working while locked.
    writer: Option<crate::config::WriterKey>,
    /// Where a fresh writer key comes from (the OS keychain) when the one
    /// handed over no longer verifies: the keys were replaced
    /// (`passwd --exposed`, `rotate --reencrypt`) by another process.
    writer_source: Option<WriterKeySource>,
    /// What the last unlock found comparing the vault with its manifest.
    integrity: Option<IntegrityReport>,
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
        // No writer lock is held here: what this handle wrote goes out now.
        self.audit.ship_pending();
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

    /// The organisation policy in force.
    pub fn policy(&self) -> &crate::policy::Effective {
        &self.policy
    }

    /// The vault's audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub(crate) fn keys(&self) -> Result<&UnlockedKeys> {
        self.keys.as_ref().ok_or(Error::Locked)
    }

    /// Takes the writer lock for one operation. Records appended under it
    /// are shipped once it is released, never while it is held.
    pub fn writer(&self) -> Result<crate::audit::ShipOnRelease<WriterLock>> {
        let lock = WriterLock::acquire(&self.dir.join(LOCK_FILE), LOCK_WAIT)?;
        Ok(self.audit.ship_on_release(lock))
    }

    /// Saves the config, authenticated under the unlocked keys' writer key
    /// (every change to the config is made unlocked).
    pub(crate) fn save_config(&mut self) -> Result<()> {
        if let Some(keys) = &self.keys {
            self.config.authenticate(keys);
        }
        fsutil::atomic_write(&self.dir.join(CONFIG_FILE), &self.config.to_bytes())
    }

    /// Re-reads `vault.json` (another process may have rotated keys or
    /// changed slots). A handle that holds the writer key checks the file
    /// with it first: every writer re-signs what it re-read, so a config
    /// changed behind an unlocked handle's back must never be taken in
    /// (a version-1 file where a writer key is held is a downgrade).
    pub fn reload_config(&mut self) -> Result<()> {
        let bytes = read_config(&self.dir)?;
        let cfg = VaultConfig::parse(&bytes)?;
        if let Some(key) = self.writer_key() {
            let checked = if cfg.is_authenticated() {
                self.verify_config(&cfg, key)
            } else {
                let _ = self
                    .audit
                    .append(&[crate::audit::AuditEvent::VaultIntegrity {
                        problem: "config_downgraded".into(),
                        ids: Vec::new(),
                    }]);
                Err(Error::Tampered { what: "config" })
            };
            checked?;
        }
        self.config = cfg;
        Ok(())
    }

    /// Hands over the writer key (from the OS keychain, or kept by a
    /// process since it unlocked), so that this handle may add files while
    /// locked. It is checked against the config now: a config that does
    /// not verify is [`Error::Tampered`] and recorded as such.
    pub fn set_writer_key(&mut self, key: crate::config::WriterKey) -> Result<()> {
        self.verify_config(&self.config, &key)?;
        self.writer = Some(key);
        Ok(())
    }

    /// Where a fresh writer key comes from when the one handed over stops
    /// verifying because another process replaced the vault's keys.
    pub fn set_writer_key_source(&mut self, source: WriterKeySource) {
        self.writer_source = Some(source);
    }

    /// Takes a fresh writer key from the source when the one held no
    /// longer verifies the config on disk. Returns whether it did.
    pub fn refresh_writer_key(&mut self) -> bool {
        match read_config(&self.dir).and_then(|b| VaultConfig::parse(&b)) {
            Ok(cfg) => self.take_writer_key_verifying(&cfg),
            Err(_) => false,
        }
    }

    /// Takes the source's key that verifies `cfg`, if there is one.
    fn take_writer_key_verifying(&mut self, cfg: &VaultConfig) -> bool {
        let Some(source) = &self.writer_source else {
            return false;
        };
        match source().into_iter().find(|k| cfg.verify(k).is_ok()) {
            Some(fresh) => {
                self.writer = Some(fresh);
                true
            }
            None => false,
        }
    }

    /// For a process working while locked: when the writer key it was
    /// handed no longer verifies the config on disk, and the source has one
    /// that does (another process replaced the keys), takes that one.
    /// Nothing is recorded either way: a config that verifies under neither
    /// is named by the operation that reads it next. Returns whether the
    /// key changed.
    pub fn refresh_writer_key_if_replaced(&mut self) -> bool {
        let Some(held) = &self.writer else {
            return false;
        };
        if self.keys.is_some() {
            return false;
        }
        match read_config(&self.dir).and_then(|b| VaultConfig::parse(&b)) {
            Ok(cfg) if cfg.verify(held).is_err() => self.take_writer_key_verifying(&cfg),
            _ => false,
        }
    }

    fn verify_config(&self, cfg: &VaultConfig, key: &crate::config::WriterKey) -> Result<()> {
        let r = cfg.verify(key);
        if matches!(r, Err(Error::Tampered { .. }))
            && let Some(source) = &self.writer_source
            && source()
                .iter()
                .any(|k| k.expose() != key.expose() && cfg.verify(k).is_ok())
        {
            // Not tampering: the keys were replaced since this process took
            // its writer key. It refreshes (`refresh_writer_key`) and retries.
            return Err(Error::WriterKeyUnavailable);
        }
        if matches!(r, Err(Error::Tampered { .. })) {
            let _ = self
                .audit
                .append(&[crate::audit::AuditEvent::VaultIntegrity {
                    problem: "config_tampered".into(),
                    ids: Vec::new(),
                }]);
        }
        r
    }

    /// Where new DEKs go, read fresh from disk and verified with the writer
    /// key: a public key that no unlock authenticated is never used, so
    /// no plaintext is ever removed on the strength of one. Call it with
    /// the writer lock held: a rotation that destroys an old key version
    /// checks, under the same lock, that no object still uses it, so no
    /// writer may wrap to a version it read before the rotation began.
    pub(super) fn current_target(&self) -> Result<WrapTarget> {
        let bytes = read_config(&self.dir)?;
        let cfg = VaultConfig::parse(&bytes)?;
        let key = self.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        self.verify_config(&cfg, key)?;
        let (key_version, public_key) = cfg.current_public_key();
        Ok(WrapTarget {
            vault_id: *cfg.vault_id(),
            key_version,
            public_key,
        })
    }
}

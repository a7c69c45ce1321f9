//! Protected folders and walking them: the list on disk, registration
//! (never one of Coffer's own folders), the walk that finds what to add,
//! and the census of plaintext still waiting.

use super::*;

use std::fs;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::error::IoContext;
use crate::format;
use crate::own_folders::OwnFolders;
use crate::plaintext::{self, Census};

/// Largest protected-folder list we read.
const MAX_PROTECTED_LEN: u64 = 1 << 20;
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
    /// HMAC of `folders` under the writer key (FORMAT.md §14): the list
    /// sits in the vault folder, which an attacker may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<crate::config::B64<32>>,
}

const LABEL_PROTECTED_MAC: &[u8] = b"coffer/v2/protected-folders";

/// The list signed again under a new writer key, staged like
/// `manifest.next` (FORMAT.md §17.4).
pub(super) const PROTECTED_NEXT_FILE: &str = "protected.next";

const STAGED_PROTECTED: super::staged::Staged = super::staged::Staged {
    next: PROTECTED_NEXT_FILE,
    file: PROTECTED_FILE,
    max: MAX_PROTECTED_LEN,
    what: "protected folder list",
    updating: "updating the protected folders",
};

impl Vault {
    fn protected_mac(&self, folders: &[ProtectedFolder]) -> Option<[u8; 32]> {
        Some(self.protected_mac_under(self.writer_key()?, folders))
    }

    fn protected_mac_under(
        &self,
        w: &crate::config::WriterKey,
        folders: &[ProtectedFolder],
    ) -> [u8; 32] {
        let vid = self.config.vault_id();
        let json = serde_json::to_vec(folders).expect("serializes");
        crate::crypto::primitives::hmac32(
            &w.endorsement_key(vid),
            &[LABEL_PROTECTED_MAC, vid, &json],
        )
    }

    /// Whether `bytes` is a list whose MAC verifies under the writer key.
    fn protected_list_verifies(&self, bytes: &[u8]) -> bool {
        serde_json::from_slice::<ProtectedList>(bytes).is_ok_and(|l| {
            self.protected_mac(&l.folders)
                .zip(l.mac)
                .is_some_and(|(want, m)| crate::crypto::primitives::ct_eq(&m.0, &want))
        })
    }

    /// The list's bytes: `protected.next` when it verifies, else
    /// `protected.json` (FORMAT.md §17.4).
    fn protected_bytes(&self) -> Result<Vec<u8>> {
        self.read_staged(&STAGED_PROTECTED, |b| self.protected_list_verifies(b))
    }

    /// Writes the list, re-signed under the writer key of `keys`, as
    /// `protected.next` (nothing when there is no list).
    pub(super) fn stage_protected(&self, keys: &crate::config::UnlockedKeys) -> Result<()> {
        let folders = self.protected_folders()?;
        if folders.is_empty() && !self.dir.join(PROTECTED_FILE).exists() {
            return Ok(());
        }
        let w = keys.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        let list = ProtectedList {
            mac: Some(crate::config::B64(self.protected_mac_under(w, &folders))),
            folders,
        };
        let b = serde_json::to_vec_pretty(&list).expect("serializes");
        fsutil::atomic_write(&self.dir.join(PROTECTED_NEXT_FILE), &b)
    }

    /// Under the writer lock: a `protected.next` that verifies replaces
    /// `protected.json`; one that does not is removed.
    pub(super) fn settle_protected(&self) -> Result<()> {
        self.settle_staged(&STAGED_PROTECTED, |b| self.protected_list_verifies(b))
    }
}

impl Vault {
    /// The protected folders. With the writer key at hand (unlocked, or
    /// handed over from the OS keychain) the list must carry its MAC; one
    /// that does not is [`Error::Tampered`] and recorded. Without it (a
    /// locked `status`), the list is read as it is, and only the checks of
    /// [`Vault::safe_protected_folders`] stand between it and a walk.
    pub fn protected_folders(&self) -> Result<Vec<ProtectedFolder>> {
        const WHAT: &str = "protected folder list";
        let l: ProtectedList = match self.protected_bytes() {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::corrupt(WHAT, e.to_string()))?,
            Err(e) if fsutil::is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if self.config.is_authenticated()
            && let Some(want) = self.protected_mac(&l.folders)
            && !l
                .mac
                .is_some_and(|m| crate::crypto::primitives::ct_eq(&m.0, &want))
        {
            let _ = self.audit.append(&[AuditEvent::VaultIntegrity {
                problem: "protected_list_tampered".into(),
                ids: Vec::new(),
            }]);
            return Err(Error::Tampered { what: WHAT });
        }
        Ok(l.folders)
    }

    /// The protected folders it is safe to watch and walk, and the others
    /// with why not. `protected.json` sits in the vault folder, which the
    /// threat model lets an attacker write; until it is authenticated, an
    /// entry is only acted on if `protect` could have written it: a real
    /// (canonical) folder that is not, does not hold and does not lie
    /// inside Coffer's own folders, and is neither `/` nor the home folder
    /// nor above it.
    pub fn safe_protected_folders(&self) -> Result<(Vec<ProtectedFolder>, Vec<String>)> {
        let own = self.own_folders();
        let home = fs::canonicalize(home_dir()).unwrap_or_else(|_| home_dir());
        let mut safe = Vec::new();
        let mut refused = Vec::new();
        for f in self.protected_folders()? {
            let why = if fs::canonicalize(&f.path).ok().as_deref() != Some(f.path.as_path()) {
                Some("is not a real folder path (it moved, or goes through a link)".to_owned())
            } else if home.starts_with(&f.path) {
                Some("is the home folder or holds it".to_owned())
            } else {
                own.conflict(&f.path)
                    .map(|(rel, what)| format!("{} {}", rel.describe(), what.describe()))
            };
            match why {
                Some(w) => refused.push(format!(
                    "a protected folder {w}; it is not watched: unprotect it"
                )),
                None => safe.push(f),
            }
        }
        Ok((safe, refused))
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
            .safe_protected_folders()?
            .0
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
            return Err(self
                .policy
                .forbids("this folder must stay protected: it is required"));
        }
        let _w = self.writer()?;
        let mut list = self.protected_folders()?;
        let before = list.len();
        list.retain(|f| f.path != abs);
        if list.len() == before {
            return Err(Error::FolderNotProtected);
        }
        self.save_protected(list)?;
        self.audit.append(&[AuditEvent::FolderUnprotected])
    }

    /// The list as stored, MAC unchecked: only for the upgrade of a
    /// version-1 vault, whose list never had one.
    pub(super) fn unauthenticated_protected_folders(&self) -> Result<Vec<ProtectedFolder>> {
        const WHAT: &str = "protected folder list";
        match fsutil::read_bounded(&self.dir.join(PROTECTED_FILE), MAX_PROTECTED_LEN, WHAT) {
            Ok(b) => serde_json::from_slice::<ProtectedList>(&b)
                .map(|l| l.folders)
                .map_err(|e| Error::corrupt(WHAT, e.to_string())),
            Err(e) if fsutil::is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Saves the list with its MAC: changing it needs the writer key.
    pub(super) fn save_protected(&self, folders: Vec<ProtectedFolder>) -> Result<()> {
        let mac = self
            .protected_mac(&folders)
            .ok_or(Error::WriterKeyUnavailable)?;
        let list = ProtectedList {
            folders,
            mac: Some(crate::config::B64(mac)),
        };
        let b = serde_json::to_vec_pretty(&list).expect("serializes");
        fsutil::atomic_write(&self.dir.join(PROTECTED_FILE), &b)?;
        // A staged list of a writer-key change that never happened.
        remove_if_exists(&self.dir.join(PROTECTED_NEXT_FILE))
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
            !(e.file_type().is_dir() && e.metadata().is_ok_and(|m| own.is_own_dir(e.path(), &m)))
        });
    for e in walk {
        let e = match e {
            Ok(e) => e,
            // One unreadable subfolder must not stop the rest from being
            // protected: it is reported, and the walk goes on.
            Err(err) => {
                if let Some(p) = err.path() {
                    c.skipped.push((p.to_path_buf(), SkipReason::Unreadable));
                }
                continue;
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

pub(super) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => PathBuf::from("/"),
    }
}

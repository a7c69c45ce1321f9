//! Coffer's own folders: the vault, its data, config and cache folders, the
//! app's working area and the audit sink folders. Protecting one of them,
//! or a folder that holds one, would encrypt the vault into itself and
//! delete it. So `protect` refuses such a folder, and independently every
//! walk and every add skips them, so that an older registration, a moved
//! vault or a policy written before this check cannot hurt either.

use std::path::{Path, PathBuf};

pub use crate::own_kind::{OwnKind, Relation};

/// The platform's per-user folders where Coffer keeps its own things
/// ([`crate::paths`]: data, settings, cache; and both places the app's
/// working area can live — `$XDG_RUNTIME_DIR/coffer`, or inside the cache
/// folder).
pub fn platform_folders() -> Vec<(PathBuf, OwnKind)> {
    [
        (crate::paths::data_dir(), OwnKind::Data),
        (
            dirs::data_local_dir().map(|d| d.join("coffer")),
            OwnKind::Data,
        ),
        (crate::paths::config_dir(), OwnKind::Config),
        (crate::paths::cache_dir(), OwnKind::Cache),
        (
            dirs::runtime_dir().map(|d| d.join("coffer")),
            OwnKind::WorkArea,
        ),
    ]
    .into_iter()
    .filter_map(|(dir, kind)| Some((dir?, kind)))
    .collect()
}

/// Coffer's own folders as seen from one vault.
#[derive(Clone, Debug, Default)]
pub struct OwnFolders {
    folders: Vec<(PathBuf, OwnKind)>,
    #[cfg(unix)]
    identities: Vec<(u64, u64)>,
}

/// The path with symlinks and `..` resolved as far as it exists; the part
/// that does not exist yet is appended as it is.
pub fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Whether `dir` holds a Coffer vault (`vault.json` beside `objects/`):
/// any vault, this one under another name (a bind mount, a firmlink) or
/// another user's, is never walked into or encrypted away.
pub fn looks_like_vault(dir: &Path) -> bool {
    dir.join("vault.json").is_file() && dir.join("objects").is_dir()
}

/// Case-folded where the file system usually is case-insensitive.
fn key(p: &Path) -> std::borrow::Cow<'_, Path> {
    #[cfg(any(windows, target_os = "macos"))]
    {
        std::borrow::Cow::Owned(PathBuf::from(p.to_string_lossy().to_lowercase()))
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        std::borrow::Cow::Borrowed(p)
    }
}

impl OwnFolders {
    /// The vault at `vault_dir`, the platform folders and the given sink
    /// folders.
    pub fn new(vault_dir: &Path, sink_dirs: impl IntoIterator<Item = PathBuf>) -> Self {
        let mut folders = vec![(vault_dir.to_path_buf(), OwnKind::Vault)];
        folders.extend(platform_folders());
        folders.extend(sink_dirs.into_iter().map(|d| (d, OwnKind::AuditSink)));
        if let Some(p) = crate::paths::system_policy_file().parent() {
            folders.push((p.to_path_buf(), OwnKind::Policy));
        }
        let mut resolved: Vec<(PathBuf, OwnKind)> = Vec::new();
        for (p, k) in folders {
            let Ok(p) = std::path::absolute(&p) else {
                continue;
            };
            // Both spellings: a symlinked path must not slip past.
            for q in [p.clone(), resolve(&p)] {
                if !resolved.iter().any(|(r, _)| key(r) == key(&q)) {
                    resolved.push((q, k));
                }
            }
        }
        #[cfg(unix)]
        let identities = resolved
            .iter()
            .filter_map(|(p, _)| std::fs::metadata(p).ok())
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            })
            .collect();
        OwnFolders {
            folders: resolved,
            #[cfg(unix)]
            identities,
        }
    }

    /// How `folder` stands to the first of Coffer's folders it meets.
    pub fn conflict(&self, folder: &Path) -> Option<(Relation, OwnKind)> {
        // Judged by where it really is: `..` and symlinks resolved.
        let resolved = resolve(folder);
        let c = key(&resolved);
        {
            for (own, kind) in &self.folders {
                let own = key(own);
                let rel = if c == own {
                    Relation::Is
                } else if own.starts_with(&c) {
                    Relation::Contains
                } else if c.starts_with(&own) {
                    Relation::Inside
                } else {
                    continue;
                };
                return Some((rel, *kind));
            }
        }
        None
    }

    /// Whether `path` is one of Coffer's folders or lies inside one, by
    /// name (resolved) — for files found by a walk or an event.
    pub fn holds(&self, path: &Path) -> bool {
        matches!(
            self.conflict(path),
            Some((Relation::Is | Relation::Inside, _))
        )
    }

    /// [`OwnFolders::holds`] for a path known to be real already (no `..`,
    /// no symlink: as the kernel reports events under a canonical folder),
    /// without touching the disk — the watcher asks this for every event.
    pub fn holds_real_path(&self, path: &Path) -> bool {
        let p = key(path);
        self.folders.iter().any(|(own, _)| p.starts_with(key(own)))
    }

    /// Whether the directory `meta` describes is one of Coffer's folders,
    /// by identity (catches bind mounts and case variants a name misses).
    pub fn is_own_dir(&self, path: &Path, meta: &std::fs::Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if self.identities.contains(&(meta.dev(), meta.ino())) {
                return true;
            }
        }
        let _ = meta;
        self.folders.iter().any(|(p, _)| key(p) == key(path)) || looks_like_vault(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_is_found() {
        let d = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(d.path()).unwrap();
        let vault = home.join(".local/share/coffer/vault");
        std::fs::create_dir_all(vault.join("objects")).unwrap();
        let own = OwnFolders::new(&vault, []);
        assert_eq!(own.conflict(&vault), Some((Relation::Is, OwnKind::Vault)));
        assert_eq!(
            own.conflict(&home),
            Some((Relation::Contains, OwnKind::Vault))
        );
        assert_eq!(
            own.conflict(&vault.join("objects")),
            Some((Relation::Inside, OwnKind::Vault))
        );
        assert_eq!(
            own.conflict(&vault.join("objects/../..")),
            Some((Relation::Contains, OwnKind::Vault))
        );
        std::fs::create_dir_all(home.join("Scans")).unwrap();
        assert_eq!(own.conflict(&home.join("Scans")), None);
        // A symlink to the vault's parent is seen through.
        #[cfg(unix)]
        {
            let link = home.join("Scans/link");
            std::os::unix::fs::symlink(home.join(".local"), &link).unwrap();
            assert_eq!(
                own.conflict(&link),
                Some((Relation::Contains, OwnKind::Vault))
            );
        }
    }

    #[test]
    fn resolve_appends_what_does_not_exist() {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir(base.join("a")).unwrap();
        assert_eq!(resolve(&base.join("a/../a/new/x")), base.join("a/new/x"));
    }
}

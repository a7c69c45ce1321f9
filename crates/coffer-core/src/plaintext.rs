//! Plaintext in protected folders: which files wait, and why.
//!
//! Files that look temporary (`name~`, `#name#`, `.swp`, `~$name.docx`,
//! `.~lock.name#`, partial downloads) often hold whole documents, so they
//! are never left alone for good: they wait while a program still has them
//! open, while the document they lock is still there, or until nobody has
//! written them for a quiet period (policy `[folders]
//! temporary_quiet_seconds`, five minutes by default), and are then
//! encrypted like any other file. A file with more than one name (a hard
//! link) keeps its data under the other name after the unlink, so Coffer
//! does not remove it and does not count it as protected. The census
//! counts every plaintext file still in the protected folders, by reason,
//! for `coffer status`, the app's Home and the device status record.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::own_folders::OwnFolders;

/// How long a temporary-looking file must be left unwritten before it is
/// encrypted, unless policy says otherwise.
pub const DEFAULT_TEMPORARY_QUIET: Duration = Duration::from_secs(300);

/// Names that applications use for lock, backup, temporary and partial
/// files.
pub fn is_temporary_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with("~$")
        || name.starts_with(".~lock.")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with('~')
        || [
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".download",
            ".swp",
            ".swo",
            ".swx",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// For an office lock file, whether the document it locks is still beside
/// it: LibreOffice writes `.~lock.NAME#`, Word `~$` and the end of the name.
fn locks_a_present_document(path: &Path, name: &str) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    if let Some(doc) = name
        .strip_prefix(".~lock.")
        .and_then(|r| r.strip_suffix('#'))
    {
        return dir.join(doc).exists();
    }
    if let Some(tail) = name.strip_prefix("~$").filter(|t| !t.is_empty()) {
        let Ok(rd) = fs::read_dir(dir) else {
            return false;
        };
        return rd.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n != name && !n.starts_with("~$") && n.ends_with(tail))
        });
    }
    false
}

/// Why a plaintext file in a protected folder is not encrypted yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// A temporary-looking file, written within the quiet period or still
    /// locking its document; encrypted once quiet.
    Temporary,
    /// Another program has it open.
    InUse,
    /// It has other names (hard links); removing this one would leave the
    /// data on disk, so it is not protected.
    HardLinked,
    /// Its name is not valid UTF-8; it must be renamed.
    NameNotUtf8,
    /// An ordinary file the watcher has not taken yet (still being written,
    /// or no watcher is running).
    NotYetEncrypted,
}

impl Waiting {
    /// What to tell the user.
    pub fn describe(self) -> &'static str {
        match self {
            Waiting::Temporary => {
                "temporary files of other programs: encrypted once nobody has written them for the quiet period"
            }
            Waiting::InUse => "open in another program: encrypted once it is closed",
            Waiting::HardLinked => {
                "files with other names (hard links): not protected; copy them into the folder instead"
            }
            Waiting::NameNotUtf8 => "names that are not valid text: rename them",
            Waiting::NotYetEncrypted => {
                "not encrypted yet: the folder watcher takes them when they are complete (is it running?)"
            }
        }
    }
}

/// Whether a temporary-looking file at `path` is still waiting, as of
/// `now`: returns how much longer to wait, or `None` if it may be taken.
pub fn temporary_wait(
    path: &Path,
    meta: &fs::Metadata,
    quiet: Duration,
    now: SystemTime,
) -> Option<Duration> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if locks_a_present_document(path, name) {
        return Some(quiet.max(Duration::from_secs(1)));
    }
    let age = now
        .duration_since(last_written(meta, now))
        .unwrap_or(Duration::ZERO);
    (age < quiet).then(|| quiet - age)
}

/// When the file was last written: its status-change time where there is
/// one (the kernel sets it from its own clock, so a modification time set
/// in the future — `touch -d`, an archive, another machine's clock — cannot
/// keep a file waiting for ever), else its modification time.
fn last_written(meta: &fs::Metadata, now: SystemTime) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ctime = std::time::UNIX_EPOCH
            + Duration::new(
                meta.ctime().max(0) as u64,
                meta.ctime_nsec().clamp(0, 999_999_999) as u32,
            );
        ctime.min(now)
    }
    #[cfg(not(unix))]
    {
        meta.modified().unwrap_or(now).min(now)
    }
}

/// Whether `meta` describes a file with more than one name.
pub fn is_hard_linked(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.is_file() && meta.nlink() > 1
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Which of `paths` some process holds open — for writing only, or in any
/// mode (Linux: the `/proc/<pid>/fd` links, and the access mode in
/// `fdinfo`). Elsewhere nothing is reported and the quiet period alone
/// decides.
pub fn open_by_others(paths: &[PathBuf], writing_only: bool) -> HashSet<PathBuf> {
    let mut open = HashSet::new();
    #[cfg(target_os = "linux")]
    {
        if paths.is_empty() {
            return open;
        }
        let wanted: HashSet<&Path> = paths.iter().map(|p| p.as_path()).collect();
        let me = std::process::id().to_string();
        let Ok(procs) = fs::read_dir("/proc") else {
            return open;
        };
        for p in procs.flatten() {
            let name = p.file_name();
            let name = name.to_string_lossy();
            if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
                continue;
            }
            let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = fs::read_link(fd.path()) else {
                    continue;
                };
                if !wanted.contains(target.as_path()) {
                    continue;
                }
                let counts = !writing_only || {
                    let info = p.path().join("fdinfo").join(fd.file_name());
                    fs::read_to_string(info)
                        .ok()
                        .and_then(|s| {
                            s.lines()
                                .find_map(|l| l.strip_prefix("flags:"))
                                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                        })
                        .is_none_or(|flags| flags & 0o3 != 0)
                };
                if counts {
                    open.insert(target);
                }
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (paths, writing_only);
    open
}

/// The plaintext files still in the protected folders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Census {
    /// How many in all.
    pub files: u64,
    /// How many for each reason.
    pub waiting: BTreeMap<Waiting, u64>,
}

impl Census {
    /// One line per reason, for people.
    pub fn lines(&self) -> Vec<String> {
        self.waiting
            .iter()
            .map(|(w, n)| format!("{n} {}", w.describe()))
            .collect()
    }
}

/// Counts the plaintext files under `folders` (never following a link,
/// never descending into Coffer's own folders).
pub fn census(folders: &[PathBuf], own: &OwnFolders, quiet: Duration) -> Census {
    let now = SystemTime::now();
    let mut found: Vec<(PathBuf, Waiting)> = Vec::new();
    for root in folders {
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .follow_root_links(false)
            .into_iter()
            .filter_entry(|e| {
                !(e.file_type().is_dir()
                    && e.metadata().is_ok_and(|m| own.is_own_dir(e.path(), &m)))
            });
        for e in walk.flatten() {
            if !e.file_type().is_file() {
                continue;
            }
            let Ok(meta) = e.metadata() else { continue };
            let name = e.file_name().to_str();
            let reason = if e.path().to_str().is_none() {
                Waiting::NameNotUtf8
            } else if is_hard_linked(&meta) {
                Waiting::HardLinked
            } else if name.is_some_and(is_temporary_name)
                && temporary_wait(e.path(), &meta, quiet, now).is_some()
            {
                Waiting::Temporary
            } else {
                Waiting::NotYetEncrypted
            };
            found.push((e.into_path(), reason));
        }
    }
    let candidates: Vec<PathBuf> = found
        .iter()
        .filter(|(_, w)| matches!(w, Waiting::Temporary | Waiting::NotYetEncrypted))
        .map(|(p, _)| p.clone())
        .collect();
    let open = open_by_others(&candidates, false);
    let mut c = Census::default();
    for (p, mut w) in found {
        if open.contains(&p) && matches!(w, Waiting::Temporary | Waiting::NotYetEncrypted) {
            w = Waiting::InUse;
        }
        c.files += 1;
        *c.waiting.entry(w).or_default() += 1;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names() {
        for n in [
            "~$report.docx",
            ".~lock.report.odt#",
            "#notes.txt#",
            "notes.txt~",
            ".notes.txt.swp",
            "scan.pdf.part",
            "x.crdownload",
            "A.TMP",
        ] {
            assert!(is_temporary_name(n), "{n}");
        }
        for n in ["report.docx", "notes.txt", "tmp", "#hashtag", "part.pdf"] {
            assert!(!is_temporary_name(n), "{n}");
        }
    }

    #[test]
    fn a_lock_file_waits_while_its_document_is_there() {
        let d = tempfile::tempdir().unwrap();
        let doc = d.path().join("report.odt");
        let lock = d.path().join(".~lock.report.odt#");
        fs::write(&doc, b"doc").unwrap();
        fs::write(&lock, b"user,host").unwrap();
        let meta = fs::metadata(&lock).unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(temporary_wait(&lock, &meta, Duration::from_secs(1), later).is_some());
        fs::remove_file(&doc).unwrap();
        assert!(temporary_wait(&lock, &meta, Duration::from_secs(1), later).is_none());
        assert!(temporary_wait(&lock, &meta, Duration::from_secs(60), SystemTime::now()).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn census_counts_by_reason() {
        let d = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(d.path()).unwrap();
        fs::write(root.join("a.txt"), b"a").unwrap();
        fs::write(root.join("b.txt~"), b"b").unwrap();
        fs::write(root.join("c.txt"), b"c").unwrap();
        fs::hard_link(root.join("c.txt"), root.join("c-again.txt")).unwrap();
        let c = census(
            std::slice::from_ref(&root),
            &OwnFolders::default(),
            Duration::from_secs(600),
        );
        assert_eq!(c.files, 4);
        assert_eq!(c.waiting[&Waiting::NotYetEncrypted], 1);
        assert_eq!(c.waiting[&Waiting::Temporary], 1);
        assert_eq!(c.waiting[&Waiting::HardLinked], 2);
    }
}

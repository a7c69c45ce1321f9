//! File access below a folder that never follows a symbolic link.
//!
//! A protected folder is a place other programs write to. A symlink planted
//! in it, or a folder swapped for one between the walk that found a file
//! and the moment Coffer opens or removes it, must never make Coffer read,
//! encrypt or delete a file outside the folder. So every open and every
//! removal starts from the folder's own descriptor and resolves the rest
//! with no symlink allowed on any component: Linux `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, and elsewhere (or on kernels
//! before 5.6) one `openat(O_DIRECTORY | O_NOFOLLOW)` per component. The
//! final unlink is `unlinkat` on the descriptor of the folder holding the
//! file, after its identity was checked through a descriptor opened without
//! following a link.
//!
//! The root itself must be a path with no symlink in it: callers
//! canonicalize it once (`protect` stores protected folders canonically).

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Identity of a plaintext file at the moment it was read, to make sure
/// what is removed is what was encrypted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Length in bytes.
    pub len: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Inode number.
    #[cfg(unix)]
    pub ino: u64,
    /// Device.
    #[cfg(unix)]
    pub dev: u64,
}

impl Fingerprint {
    /// The fingerprint of what `meta` describes.
    pub fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            len: meta.len(),
            mtime_ns: crate::fsutil::mtime_ns_of(meta),
            #[cfg(unix)]
            ino: meta.ino(),
            #[cfg(unix)]
            dev: meta.dev(),
        }
    }
}

/// Whether an error means a symlink (or something else that is not a
/// folder) stood where a file or folder was expected: `ELOOP` from
/// `O_NOFOLLOW`/`RESOLVE_NO_SYMLINKS`, `ENOTDIR` from `O_DIRECTORY |
/// O_NOFOLLOW` on a link, `EXDEV` from `RESOLVE_BENEATH`.
pub fn is_symlink_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        let codes = [Errno::LOOP, Errno::NOTDIR, Errno::XDEV].map(|e| e.raw_os_error());
        e.raw_os_error().is_some_and(|c| codes.contains(&c))
    }
    #[cfg(not(unix))]
    {
        e.kind() == io::ErrorKind::Other && e.to_string().contains(SYMLINK_IN_THE_WAY)
    }
}

#[cfg(not(unix))]
const SYMLINK_IN_THE_WAY: &str = "a symbolic link is in the way";

/// A folder whose contents are reached without following symlinks.
#[derive(Clone, Debug)]
pub struct Beneath {
    root: PathBuf,
}

/// The parts of `rel` as plain names; anything else (`..`, a root, a
/// prefix) is refused so a path can never climb out.
fn plain_parts(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a path leaves its folder",
            )),
        })
        .collect()
}

impl Beneath {
    /// `root` must be absolute and free of symlinks (canonical).
    pub fn new(root: &Path) -> Self {
        Beneath {
            root: root.to_path_buf(),
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn relative<'a>(&self, path: &'a Path) -> io::Result<&'a Path> {
        path.strip_prefix(&self.root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a path is not inside its folder",
            )
        })
    }

    /// The folders from the root down to `path`'s, and its name.
    fn split<'a>(
        &self,
        path: &'a Path,
    ) -> io::Result<(Vec<&'a std::ffi::OsStr>, &'a std::ffi::OsStr)> {
        let mut parts = plain_parts(self.relative(path)?)?;
        let name = parts.pop().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the folder itself is not a file",
            )
        })?;
        Ok((parts, name))
    }

    /// Opens the file at `path` (below the root) for reading.
    pub fn open_read(&self, path: &Path) -> io::Result<File> {
        let (dirs, name) = self.split(path)?;
        imp::open_file(&self.root, &dirs, name)
    }

    /// Removes the file at `path` if it is still the one `expected`
    /// describes; returns `Ok(false)` and leaves it if it is not. The
    /// caller flushes the folder (once per batch, not once per file).
    pub fn remove_if_unchanged(&self, path: &Path, expected: &Fingerprint) -> io::Result<bool> {
        let (dirs, name) = self.split(path)?;
        imp::remove_if(&self.root, &dirs, name, expected)
    }
}

#[cfg(unix)]
mod imp {
    use super::*;
    use rustix::fd::{AsFd, OwnedFd};
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use std::ffi::OsStr;

    const DIR_FLAGS: OFlags = OFlags::DIRECTORY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::RDONLY)
        .union(OFlags::CLOEXEC);

    fn io_err(e: rustix::io::Errno) -> io::Error {
        io::Error::from_raw_os_error(e.raw_os_error())
    }

    /// Opens `root/dirs…` as a directory with no symlink on the way.
    fn open_dir(root: &Path, dirs: &[&OsStr]) -> io::Result<OwnedFd> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::ResolveFlags;
            let no_links = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            match rustix::fs::openat2(CWD, root, DIR_FLAGS, Mode::empty(), no_links) {
                Ok(rootfd) => {
                    if dirs.is_empty() {
                        return Ok(rootfd);
                    }
                    let rel: PathBuf = dirs.iter().collect();
                    return rustix::fs::openat2(
                        &rootfd,
                        &rel,
                        DIR_FLAGS,
                        Mode::empty(),
                        no_links | ResolveFlags::BENEATH,
                    )
                    .map_err(io_err);
                }
                // Kernels before 5.6, or a sandbox that filters the call:
                // the component walk below gives the same guarantee.
                Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        let mut fd = rustix::fs::openat(CWD, "/", DIR_FLAGS, Mode::empty()).map_err(io_err)?;
        let root_parts = root.components().filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        });
        for part in root_parts.chain(dirs.iter().copied()) {
            fd = rustix::fs::openat(&fd, part, DIR_FLAGS, Mode::empty()).map_err(io_err)?;
        }
        Ok(fd)
    }

    fn open_in(dir: &impl AsFd, name: &OsStr) -> io::Result<File> {
        // NONBLOCK: a FIFO swapped in must not hang the open; it is
        // refused by its type right after.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(dir, name, flags, Mode::empty()).map_err(io_err)?;
        Ok(File::from(fd))
    }

    pub(super) fn open_file(root: &Path, dirs: &[&OsStr], name: &OsStr) -> io::Result<File> {
        let dir = open_dir(root, dirs)?;
        open_in(&dir, name)
    }

    pub(super) fn remove_if(
        root: &Path,
        dirs: &[&OsStr],
        name: &OsStr,
        expected: &Fingerprint,
    ) -> io::Result<bool> {
        let dir = open_dir(root, dirs)?;
        let now = open_in(&dir, name)?.metadata()?;
        if !now.is_file() || Fingerprint::of(&now) != *expected {
            return Ok(false);
        }
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(io_err)?;
        Ok(true)
    }
}

#[cfg(not(unix))]
mod imp {
    //! Best effort where there are no `*at` calls: every component is
    //! checked not to be a link right before use. This path has never been
    //! run (docs/THREAT_MODEL.md says so).
    use super::*;
    use std::ffi::OsStr;

    fn checked(root: &Path, dirs: &[&OsStr], name: &OsStr) -> io::Result<PathBuf> {
        let mut p = root.to_path_buf();
        for part in dirs.iter().chain(std::iter::once(&name)) {
            p.push(part);
            if fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(io::Error::other(SYMLINK_IN_THE_WAY));
            }
        }
        Ok(p)
    }

    pub(super) fn open_file(root: &Path, dirs: &[&OsStr], name: &OsStr) -> io::Result<File> {
        File::open(checked(root, dirs, name)?)
    }

    pub(super) fn remove_if(
        root: &Path,
        dirs: &[&OsStr],
        name: &OsStr,
        expected: &Fingerprint,
    ) -> io::Result<bool> {
        let p = checked(root, dirs, name)?;
        let now = fs::symlink_metadata(&p)?;
        if !now.is_file() || Fingerprint::of(&now) != *expected {
            return Ok(false);
        }
        fs::remove_file(&p)?;
        Ok(true)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(d.path()).unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("secret"), b"outside").unwrap();
        fs::write(root.join("sub/f"), b"inside").unwrap();
        (d, root, outside)
    }

    #[test]
    fn opens_and_removes_inside() {
        let (_d, root, _) = setup();
        let b = Beneath::new(&root);
        let f = root.join("sub/f");
        let fp = Fingerprint::of(&b.open_read(&f).unwrap().metadata().unwrap());
        assert!(b.remove_if_unchanged(&f, &fp).unwrap());
        assert!(!f.exists());
    }

    #[test]
    fn a_changed_file_is_kept() {
        let (_d, root, _) = setup();
        let b = Beneath::new(&root);
        let f = root.join("sub/f");
        let fp = Fingerprint::of(&fs::metadata(&f).unwrap());
        fs::write(&f, b"changed, longer").unwrap();
        assert!(!b.remove_if_unchanged(&f, &fp).unwrap());
        assert!(f.exists());
    }

    #[test]
    fn never_through_a_symlink() {
        let (_d, root, outside) = setup();
        symlink(&outside, root.join("link_dir")).unwrap();
        symlink(outside.join("secret"), root.join("link_file")).unwrap();
        let b = Beneath::new(&root);
        let fp = Fingerprint::of(&fs::metadata(outside.join("secret")).unwrap());
        for p in [root.join("link_dir/secret"), root.join("link_file")] {
            let e = b.open_read(&p).unwrap_err();
            assert!(is_symlink_error(&e), "{p:?}: {e}");
            let e = b.remove_if_unchanged(&p, &fp).unwrap_err();
            assert!(is_symlink_error(&e), "{p:?}: {e}");
        }
        assert_eq!(fs::read(outside.join("secret")).unwrap(), b"outside");
        // `..` cannot climb out either.
        let up = root.join("sub/../../outside/secret");
        assert!(b.open_read(&up).is_err());
        assert!(b.remove_if_unchanged(&up, &fp).is_err());
        assert!(outside.join("secret").exists());
    }

    #[test]
    fn a_root_reached_through_a_symlink_is_refused() {
        let (_d, root, _) = setup();
        let alias = root.parent().unwrap().join("alias");
        symlink(&root, &alias).unwrap();
        let b = Beneath::new(&alias);
        assert!(is_symlink_error(
            &b.open_read(&alias.join("sub/f")).unwrap_err()
        ));
    }
}

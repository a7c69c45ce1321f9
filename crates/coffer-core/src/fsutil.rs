//! Crash-safe file system steps: atomic replace, directory fsync, batch
//! durability, the writer lock, bounded reads. Every durable write in
//! Coffer goes through here, and every file read whole is read with
//! [`read_bounded`].

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};

/// Suffix of every temporary file Coffer writes; anything with it is
/// garbage after a crash and is removed when the vault is next opened.
pub const TMP_SUFFIX: &str = ".tmp";

/// A unique temp name beside `target`.
pub fn tmp_path_for(target: &Path) -> PathBuf {
    let rand: [u8; 6] = crate::crypto::primitives::random_array();
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(
        ".{}{TMP_SUFFIX}",
        data_encoding::HEXLOWER.encode(&rand)
    ));
    target.with_file_name(name)
}

/// Creates a new file that only the owner can read.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Reads the whole file at `path`, refusing one larger than `max` bytes
/// before reading it: the open file's size is checked first, and no more
/// than `max + 1` bytes are ever read (a file that grows, or one whose
/// size the OS does not report, is refused as well). A file that is not a
/// regular file is refused too; on Unix it is opened non-blocking so a
/// FIFO planted in its place cannot hang the reader.
///
/// `what` names the file in errors: [`Error::Corrupt`] with `what` when it
/// is too large or not a regular file, [`Error::Io`] with `what` as the
/// context otherwise — a missing file is `Error::Io` whose source has
/// [`std::io::ErrorKind::NotFound`] (see [`is_not_found`]).
pub fn read_bounded(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let f = o.open(path).ctx(what)?;
    let meta = f.metadata().ctx(what)?;
    if !meta.is_file() {
        return Err(Error::corrupt(what, "not a regular file"));
    }
    if meta.len() > max {
        return Err(Error::corrupt(what, "too large"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .ctx(what)?;
    if bytes.len() as u64 > max {
        return Err(Error::corrupt(what, "too large"));
    }
    Ok(bytes)
}

/// Whether `e` is an I/O error saying the file does not exist (what
/// [`read_bounded`] returns for a missing file).
pub fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// fsyncs a directory so a rename or unlink inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .ctx("syncing a directory")?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Asks the kernel to start reading the first `bytes` of `file` into the
/// page cache now (Linux `posix_fadvise(WILLNEED)`; elsewhere nothing), so
/// that a worker that reads it later finds it there instead of waiting on
/// the disk. Only a hint, and only for a regular file.
pub fn prefetch_file(file: &File, bytes: u64) {
    #[cfg(target_os = "linux")]
    if file.metadata().is_ok_and(|m| m.is_file()) {
        let len = std::num::NonZeroU64::new(bytes);
        let _ = rustix::fs::fadvise(file, 0, len, rustix::fs::Advice::WillNeed);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, bytes);
}

/// [`prefetch_file`] for each of Coffer's own files at `paths` (objects in
/// the vault folder), opened non-blocking and without following a link in
/// their last component, so a link or FIFO planted in an object's place is
/// skipped, never read through or waited on. A path that does not open is
/// skipped. Files in a user's folders go through `Beneath` instead, as
/// they are opened for reading.
pub fn prefetch<'a>(paths: impl IntoIterator<Item = &'a Path>, bytes: u64) {
    #[cfg(unix)]
    for p in paths {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        if let Ok(f) = OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(p)
        {
            prefetch_file(&f, bytes);
        }
    }
    #[cfg(not(unix))]
    let _ = (paths.into_iter(), bytes);
}

/// How many renames or removals are in flight at once in
/// [`par_metadata`]: more than the cores, since each mostly waits on the
/// disk.
pub const METADATA_THREADS: usize = 16;

/// `op` on every item, from up to [`METADATA_THREADS`] threads; the
/// results in the order of `items`.
///
/// For renames over a file and removals: each frees the blocks of the file
/// it drops, and on a file system mounted with `discard` (ext4 here) that
/// waits for the disk to discard them, about 0.1 ms each, inside the call.
/// One after another, 1,024 sidecar renames took 114 ms of a rotation
/// batch's 140; overlapping them is what leaves the disk, not the caller,
/// the limit. Their order never matters to crash safety: callers make every
/// file they rename durable (and vouch for it) first, and flush after.
pub fn par_metadata<T: Sync, R: Send>(items: &[T], op: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = METADATA_THREADS.min(items.len());
    if threads <= 1 {
        return items.iter().map(op).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break mine };
            mine.push((i, op(item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        // A thread that cannot be started (a process or task limit) leaves
        // its share to the others; this thread works too, so all is done.
        let helpers: Vec<_> = (1..threads)
            .map_while(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
            .collect();
        let mut all = work();
        for h in helpers {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A new file that asks the kernel to start writing its pages to disk
/// every few MiB instead of leaving them all for the final `fsync`, so the
/// disk works while the rest is still being encrypted (on Linux; `posix_
/// fadvise(DONTNEED)` starts writeback of dirty pages without waiting, and
/// only drops pages that are already clean). Elsewhere a plain file.
pub struct EarlyWriteback {
    file: File,
    written: u64,
    started: u64,
}

/// How much is written before writeback of it is started.
const WRITEBACK_STEP: u64 = 8 << 20;

impl EarlyWriteback {
    /// Wraps a file opened for writing at its start.
    pub fn new(file: File) -> Self {
        EarlyWriteback {
            file,
            written: 0,
            started: 0,
        }
    }

    /// The file, for syncing and closing.
    pub fn into_inner(self) -> File {
        self.file
    }

    fn wrote(&mut self, n: usize) {
        self.written += n as u64;
        #[cfg(target_os = "linux")]
        if self.written - self.started >= WRITEBACK_STEP {
            let len = std::num::NonZeroU64::new(self.written - self.started);
            let _ =
                rustix::fs::fadvise(&self.file, self.started, len, rustix::fs::Advice::DontNeed);
            self.started = self.written;
        }
    }
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.wrote(n);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        let n = self.file.write_vectored(bufs)?;
        self.wrote(n);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes `bytes` to `target` atomically: temp file, fsync, rename, fsync
/// the directory. A crash leaves either the old or the new contents.
pub fn atomic_write(target: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path_for(target);
    let res = (|| {
        let mut f = create_private(&tmp).ctx("creating a temporary file")?;
        f.write_all(bytes).ctx("writing a temporary file")?;
        f.sync_all().ctx("syncing a temporary file")?;
        fs::rename(&tmp, target).ctx("renaming a temporary file into place")?;
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res?;
    sync_dir(target.parent().unwrap_or(Path::new(".")))
}

/// One batch's durability: begun before the batch writes anything, then
/// [`BatchSync::sync`] makes everything written on the file system holding
/// the vault durable in one call (Linux `syncfs`; elsewhere an fsync of
/// each file).
///
/// Why begun first: `syncfs` reports the write errors the file system
/// recorded since its descriptor was opened. Objects start their writeback
/// while they are still being written (`EarlyWriteback`), so a descriptor
/// opened only at the end could miss an error from that writeback, once
/// any other process's `syncfs` on the same file system had collected it,
/// and a plaintext would be removed with its ciphertext not on disk.
pub struct BatchSync {
    #[cfg(target_os = "linux")]
    dir: File,
}

impl BatchSync {
    /// Opens the vault directory `dir`, to flush through later.
    pub fn begin(dir: &Path) -> Result<Self> {
        #[cfg(target_os = "linux")]
        {
            Ok(BatchSync {
                dir: File::open(dir).ctx("opening the vault directory")?,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            Ok(BatchSync {})
        }
    }

    /// Makes everything written so far durable (`files`: what the batch
    /// wrote, where there is no `syncfs`). Each call reports the errors
    /// since the one before, or since [`BatchSync::begin`].
    pub fn sync(&self, files: &[PathBuf]) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = files;
            rustix::fs::syncfs(&self.dir)
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error()))
                .ctx("flushing the vault to disk")?;
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            for f in files {
                OpenOptions::new()
                    .write(true)
                    .open(f)
                    .and_then(|f| f.sync_all())
                    .ctx("syncing a file")?;
            }
            Ok(())
        }
    }
}

/// The vault's single-writer lock, released on drop. Readers never take it.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes the lock at `path`, waiting up to `wait` for another holder to
    /// finish; otherwise [`Error::InUse`] with the holder's PID.
    pub fn acquire(path: &Path, wait: Duration) -> Result<Self> {
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        // The lock file is truncated below: a link planted in its place (to
        // a user's document) must not be followed, nor a FIFO waited on.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.custom_flags(
                (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
            );
        }
        let file = o.open(path).ctx("opening the vault lock")?;
        if !file.metadata().ctx("opening the vault lock")?.is_file() {
            return Err(Error::corrupt("vault lock", "not a regular file"));
        }
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut s = String::new();
                    // A PID is a few digits; a huge planted file is not read.
                    let _ = (&file).take(32).read_to_string(&mut s);
                    return Err(Error::InUse {
                        pid: s.trim().parse().ok(),
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::Io {
                        context: "locking the vault",
                        source: e,
                    });
                }
            }
        }
        file.set_len(0).ctx("writing the vault lock")?;
        let _ = (&file).write_all(std::process::id().to_string().as_bytes());
        Ok(WriterLock { file })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_metadata_runs_each_item_once_and_keeps_their_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for n in [0usize, 1, 2, 15, 16, 17, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let calls = AtomicUsize::new(0);
            let out = par_metadata(&items, |i| {
                calls.fetch_add(1, Ordering::Relaxed);
                i * 3
            });
            assert_eq!(calls.into_inner(), n);
            assert_eq!(out, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn prefetch_skips_links_and_fifos_without_hanging() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("f");
        fs::write(&file, vec![7u8; 100_000]).unwrap();
        let fifo = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let missing = d.path().join("missing");
        let start = Instant::now();
        prefetch(
            [&fifo, &link, &missing, &file].map(PathBuf::as_path),
            4 << 20,
        );
        // A blocking open of the FIFO would never return.
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn bounded_read_refuses_large_files_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_bounded(&p, 5, "test file").unwrap(), b"12345");
        let err = read_bounded(&p, 4, "test file").unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { what: "test file", why } if why == "too large"),
            "{err:?}"
        );
        // A sparse 5 GiB file: refused from its size, never read.
        let big = d.path().join("big");
        File::create(&big).unwrap().set_len(5 << 30).unwrap();
        let t = Instant::now();
        assert!(matches!(
            read_bounded(&big, 1 << 20, "test file"),
            Err(Error::Corrupt { .. })
        ));
        assert!(t.elapsed() < Duration::from_secs(2));
        let missing = read_bounded(&d.path().join("none"), 10, "test file").unwrap_err();
        assert!(is_not_found(&missing), "{missing:?}");
        let dir = read_bounded(d.path(), 10, "test file").unwrap_err();
        assert!(matches!(dir, Error::Corrupt { .. }), "{dir:?}");
    }

    #[cfg(unix)]
    #[test]
    fn bounded_read_does_not_hang_on_a_fifo() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        assert!(matches!(
            read_bounded(&p, 10, "test file"),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn second_writer_is_told_who_holds_the_lock() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let held = WriterLock::acquire(&p, Duration::ZERO).unwrap();
        match WriterLock::acquire(&p, Duration::from_millis(20)) {
            Err(Error::InUse { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(held);
        WriterLock::acquire(&p, Duration::ZERO).unwrap();
    }
}

//! Protected folders, watched: new files are encrypted into the vault as
//! soon as their writer is done, then the plaintext is removed. Needs only
//! the vault's public key, so it runs while the vault is locked.
//!
//! A file is taken when (1) no event has touched it for a quiet period —
//! short after inotify's close-after-write, longer otherwise — (2) its size
//! and mtime did not move over that period, and (3) no process has it open
//! for writing (Linux: `/proc/*/fd`). Temporary-looking files (an editor's
//! backup, an office lock file, a partial download) wait longer: until no
//! program has them open and nobody wrote them for the policy's quiet
//! period (see [`crate::plaintext`]). Symlinks are never followed, neither
//! by the kernel watch nor by the encryption, and Coffer's own folders
//! inside a protected folder are ignored. Ready files are added in batches (one durability flush
//! per batch). Failures are retried with exponential back-off. With
//! nothing pending the thread blocks on the event channel: no polling.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecursiveMode, Watcher as _};

use crate::error::{Error, Result};
use crate::format::FileId;
use crate::own_folders::OwnFolders;
use crate::plaintext;
use crate::vault::{self, AddOptions, AddOutcome, AddSource, ProtectedFolder, SkipReason, Vault};

/// What the watcher did, for the app's UI or the CLI daemon's output.
/// Paths are for display to the user; never write them to a log.
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchEvent {
    /// The startup scan is done; `pending` files were queued.
    Ready {
        /// Folders watched.
        folders: usize,
        /// Files found waiting.
        pending: usize,
    },
    /// A file is now in the vault and its plaintext is gone.
    Encrypted {
        /// Where the plaintext was.
        path: PathBuf,
        /// Its object id.
        id: FileId,
        /// Plaintext bytes.
        size: u64,
    },
    /// A file that is left alone for good (symlink, device, bad name).
    Skipped {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: SkipReason,
    },
    /// A file could not be encrypted this time; it stays as it is and is
    /// retried after `retry_in`.
    Failed {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: Error,
        /// When it is tried again.
        retry_in: Duration,
    },
    /// Something the user or admin must act on (e.g. raise the inotify limit).
    Warning(String),
}

/// Tuning of the watcher.
#[derive(Clone)]
pub struct WatchOptions {
    /// Quiet period after a close-after-write event.
    pub quiet_after_close: Duration,
    /// Quiet period after any other event (no close seen).
    pub quiet: Duration,
    /// Longest back-off between retries of a failing file.
    pub max_backoff: Duration,
    /// Most files handed to one durability batch.
    pub batch: usize,
    /// How often a status record goes to the audit trail (fleet views).
    pub status_every: Duration,
    /// The vault's writer key (from the OS keychain, or kept by the app
    /// since an unlock). Without it nothing is encrypted: files wait, and
    /// each batch reports [`Error::WriterKeyUnavailable`], because the
    /// config's public key cannot be trusted.
    pub writer_key: Option<crate::config::WriterKey>,
    /// Where a fresh writer key comes from once the vault's keys were
    /// replaced (the OS keychain, or the app's memory).
    pub writer_key_source: Option<crate::vault::WriterKeySource>,
}

impl std::fmt::Debug for WatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchOptions")
            .field("quiet", &self.quiet)
            .field("batch", &self.batch)
            .field("writer_key", &self.writer_key.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            quiet_after_close: Duration::from_millis(200),
            quiet: Duration::from_millis(1000),
            max_backoff: Duration::from_secs(60),
            batch: 512,
            status_every: Duration::from_secs(3600),
            writer_key: None,
            writer_key_source: None,
        }
    }
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// A running watcher. Dropping it stops the watcher thread.
pub struct WatchHandle {
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy)]
struct Candidate {
    due: Instant,
    closed: bool,
    seen: Option<(u64, i64)>,
    attempts: u32,
}

/// Starts watching every protected folder of the vault at `vault_dir`.
/// Events go to `events`; the returned handle stops the watcher when dropped.
pub fn start(
    vault_dir: &Path,
    opts: WatchOptions,
    events: Sender<WatchEvent>,
) -> Result<WatchHandle> {
    let mut vault = Vault::open(vault_dir)?;
    if let Some(source) = opts.writer_key_source.clone() {
        vault.set_writer_key_source(source);
    }
    if let Some(k) = opts.writer_key.clone()
        && let Err(e) = vault.set_writer_key(k)
        && !(matches!(e, Error::WriterKeyUnavailable) && vault.refresh_writer_key())
    {
        return Err(e);
    }
    let opts_status_every = opts.status_every;
    // The organisation's mandatory folders are protected from the start.
    vault.ensure_mandatory_folders()?;
    let (tx, rx) = mpsc::channel();
    let fs_tx = tx.clone();
    // Never follow a symlink into a folder outside: notify's inotify
    // backend follows them by default when watching recursively.
    let mut watcher = notify::RecommendedWatcher::new(
        move |ev| {
            let _ = fs_tx.send(Msg::Fs(ev));
        },
        notify::Config::default().with_follow_symlinks(false),
    )
    .map_err(notify_err)?;
    // The vault folder itself, to notice protect/unprotect while running.
    watcher
        .watch(vault_dir, RecursiveMode::NonRecursive)
        .map_err(notify_err)?;
    let own = vault.own_folders();
    let mut state = State {
        vault,
        own,
        opts,
        events,
        folders: Vec::new(),
        watched: HashSet::new(),
        pending: HashMap::new(),
        watcher,
        next_status: Instant::now() + opts_status_every,
        last_event: Instant::now(),
    };
    state.reload_folders();
    let thread = std::thread::Builder::new()
        .name("coffer-watch".into())
        .spawn(move || state.run(rx))
        .map_err(|e| Error::Io {
            context: "starting the watcher",
            source: e,
        })?;
    Ok(WatchHandle {
        tx,
        thread: Some(thread),
    })
}

fn notify_err(e: notify::Error) -> Error {
    match e.kind {
        notify::ErrorKind::Io(source) => Error::Io {
            context: "watching a folder",
            source,
        },
        notify::ErrorKind::MaxFilesWatch => Error::Invalid(INOTIFY_HINT.into()),
        other => Error::Invalid(format!("watching a folder failed: {other:?}")),
    }
}

const INOTIFY_HINT: &str = "the protected folders hold more subfolders than the system lets one user watch; raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288` (and add it to /etc/sysctl.d/ to keep it)";

struct State {
    vault: Vault,
    /// Coffer's own folders: never queued, even inside a protected folder.
    own: OwnFolders,
    opts: WatchOptions,
    events: Sender<WatchEvent>,
    folders: Vec<ProtectedFolder>,
    watched: HashSet<PathBuf>,
    pending: HashMap<PathBuf, Candidate>,
    watcher: notify::RecommendedWatcher,
    next_status: Instant,
    /// When the last event that queued a protected file arrived.
    last_event: Instant,
}

/// While a burst is still arriving, files that are due wait up to this
/// long for the rest of it, so they go in a few large batches (one
/// durability flush each) rather than in many of a few files. A file
/// written alone is taken as soon as it is due, as before.
const GATHER: Duration = Duration::from_millis(100);

impl State {
    fn emit(&self, e: WatchEvent) {
        let _ = self.events.send(e);
    }

    /// Re-reads the protected folder list, watches new folders and scans
    /// them for files that arrived while nobody was watching.
    fn reload_folders(&mut self) {
        self.vault.refresh_writer_key_if_replaced();
        let (folders, refused) = match self.vault.safe_protected_folders() {
            Ok(f) => f,
            Err(e) => {
                self.emit(WatchEvent::Warning(format!(
                    "cannot read the protected folder list: {e}"
                )));
                return;
            }
        };
        self.own = self.vault.own_folders();
        for why in refused {
            self.emit(WatchEvent::Warning(why));
        }
        let now: HashSet<PathBuf> = folders.iter().map(|f| f.path.clone()).collect();
        for gone in self.watched.difference(&now).cloned().collect::<Vec<_>>() {
            let _ = self.watcher.unwatch(&gone);
            self.watched.remove(&gone);
            self.pending.retain(|p, _| !p.starts_with(&gone));
        }
        self.folders = folders;
        let mut found = 0;
        let mut files = Vec::new();
        for f in self.folders.clone() {
            if self.watched.contains(&f.path) {
                continue;
            }
            self.check_watch_limit(&f.path);
            match self.watcher.watch(&f.path, RecursiveMode::Recursive) {
                Ok(()) => {
                    self.watched.insert(f.path.clone());
                }
                Err(e) => {
                    self.emit(WatchEvent::Warning(format!(
                        "a protected folder cannot be watched: {}",
                        notify_err(e)
                    )));
                    continue;
                }
            }
            found += self.scan(&f.path, &mut files);
        }
        if found > 0 {
            // One record per 8,192 files keeps each line far below the
            // record size limit (an identity is 35 bytes of JSON).
            let events: Vec<_> = files
                .chunks(8192)
                .map(|c| crate::audit::AuditEvent::PlaintextFound {
                    count: c.len() as u64,
                    files: c.to_vec(),
                })
                .collect();
            let _ = self.vault.audit().append(&events);
        }
        let _ = self.vault.record_status();
        self.emit(WatchEvent::Ready {
            folders: self.watched.len(),
            pending: found,
        });
    }

    fn check_watch_limit(&self, root: &Path) {
        let Ok(limit) = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches") else {
            return;
        };
        let Ok(limit) = limit.trim().parse::<usize>() else {
            return;
        };
        let dirs = walkdir::WalkDir::new(root)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir())
            .take(limit + 1)
            .count();
        if dirs * 10 >= limit * 9 {
            self.emit(WatchEvent::Warning(INOTIFY_HINT.into()));
        }
    }

    /// Queues every file under `dir`, temporary ones that must wait
    /// included; returns how many.
    /// Queues the plaintext under `dir`, adding each file's audit identity
    /// to `files` (a report matches them against their encryption).
    fn scan(&mut self, dir: &Path, files: &mut Vec<String>) -> usize {
        let Ok(c) = self.vault.collect(dir, "x") else {
            return 0;
        };
        let now = Instant::now();
        let waiting = c
            .skipped
            .iter()
            .filter(|(_, r)| *r == SkipReason::Transient)
            .map(|(p, _)| p);
        let found: Vec<PathBuf> = c
            .sources
            .iter()
            .map(|s| &s.source)
            .chain(waiting)
            .cloned()
            .collect();
        let vault = &self.vault.audit().identity().vault;
        files.extend(found.iter().map(|p| {
            std::fs::symlink_metadata(p)
                .map(|m| crate::audit::file_identity_of(vault, &m))
                .unwrap_or_default()
        }));
        for p in &found {
            self.pending.entry(p.clone()).or_insert(Candidate {
                due: now,
                closed: false,
                seen: None,
                attempts: 0,
            });
        }
        found.len()
    }

    fn folder_of(&self, path: &Path) -> Option<&ProtectedFolder> {
        self.folders
            .iter()
            .find(|f| path.starts_with(&f.path) && path != f.path)
    }

    fn touch(&mut self, path: &Path, closed: bool) {
        if self.folder_of(path).is_none() || self.own.holds_real_path(path) {
            return;
        }
        let quiet = if closed {
            self.opts.quiet_after_close
        } else {
            self.opts.quiet
        };
        // Only writes to protected files count as a burst still arriving:
        // opens, reads and the watcher's own removals do not.
        self.last_event = Instant::now();
        let due = Instant::now() + quiet;
        let c = self.pending.entry(path.to_path_buf()).or_insert(Candidate {
            due,
            closed,
            seen: None,
            attempts: 0,
        });
        // Every event restarts the quiet period; the latest event decides
        // whether the writer is known to be done.
        c.closed = closed;
        c.seen = None;
        c.due = due;
        c.attempts = 0;
    }

    fn on_event(&mut self, ev: notify::Event) {
        if ev.need_rescan() {
            // The kernel's queue overflowed (IN_Q_OVERFLOW): events were
            // dropped, so only a rescan finds what arrived meanwhile.
            self.emit(WatchEvent::Warning(
                "file system events were lost (too many at once); rescanning the protected folders"
                    .into(),
            ));
            self.rescan_all();
            return;
        }
        let vault_dir = self.vault.dir().to_path_buf();
        if ev.paths.iter().any(|p| p.parent() == Some(&vault_dir)) {
            // Only a write or a rename changes the list; our own reads of it
            // must not trigger another reload.
            let changes = !matches!(ev.kind, EventKind::Access(_));
            if changes && ev.paths.iter().any(|p| p.ends_with("protected.json")) {
                self.reload_folders();
            }
            return;
        }
        match ev.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for p in &ev.paths {
                    self.touch(p, true);
                }
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                for p in &ev.paths {
                    self.pending.retain(|q, _| !q.starts_with(p));
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = &ev.paths[..] {
                    self.pending.retain(|q, _| !q.starts_with(from));
                    self.arrived(to);
                }
            }
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_)) => {
                for p in ev.paths.clone() {
                    self.arrived(&p);
                }
            }
            EventKind::Modify(_) => {
                for p in &ev.paths {
                    self.touch(p, false);
                }
            }
            _ => {}
        }
    }

    /// A path appeared (created or moved in): a folder is scanned whole,
    /// a file is queued.
    fn arrived(&mut self, p: &Path) {
        if self.folder_of(p).is_none() || self.own.holds_real_path(p) {
            return;
        }
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => {
                self.scan(p, &mut Vec::new());
            }
            Ok(_) => self.touch(p, false),
            Err(_) => {}
        }
    }

    /// The next moment there is work: a pending file, or the periodic
    /// status record (which also retries shipping to sinks that were down).
    fn next_due(&self) -> Instant {
        let now = Instant::now();
        let wake = match self.pending.values().map(|c| c.due).min() {
            Some(oldest) if oldest <= now => (oldest + GATHER).min(self.last_event + GATHER),
            Some(oldest) => oldest,
            None => self.next_status,
        };
        wake.min(self.next_status)
    }

    /// Whether the files that are due go now: when a batch is full, when
    /// the oldest has waited `GATHER`, or when the folders are quiet.
    fn ready_to_process(&self, now: Instant) -> bool {
        let mut due = self.pending.values().filter(|c| c.due <= now);
        let Some(first) = due.next() else {
            return false;
        };
        let oldest = due.clone().map(|c| c.due).fold(first.due, Instant::min);
        now >= oldest + GATHER
            || now >= self.last_event + GATHER
            || 1 + due.count() >= self.opts.batch
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            // Before waiting: status and plaintext-found records go out now.
            self.vault.audit().ship_pending();
            let due = self.next_due();
            let msg = rx.recv_timeout(due.saturating_duration_since(Instant::now()));
            if Instant::now() >= self.next_status {
                let _ = self.vault.record_status();
                self.next_status = Instant::now() + self.opts.status_every;
            }
            match msg {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Msg::Fs(Ok(ev))) => {
                    self.on_event(ev);
                    // Drain a burst before doing any work.
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Stop => return,
                            Msg::Fs(Ok(ev)) => self.on_event(ev),
                            Msg::Fs(Err(e)) => self.fs_error(e),
                        }
                    }
                }
                Ok(Msg::Fs(Err(e))) => self.fs_error(e),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.ready_to_process(Instant::now()) {
                self.process_due();
            }
        }
    }

    fn fs_error(&mut self, e: notify::Error) {
        let overflow =
            matches!(e.kind, notify::ErrorKind::Generic(ref s) if s.contains("overflow"));
        self.emit(WatchEvent::Warning(format!(
            "file system events: {}",
            notify_err(e)
        )));
        if overflow {
            self.rescan_all();
        }
    }

    /// After lost events: queue everything in the protected folders again
    /// (files already pending keep their place; the quiet period applies).
    fn rescan_all(&mut self) {
        for f in self.folders.clone() {
            self.scan(&f.path, &mut Vec::new());
        }
    }

    fn process_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, c)| c.due <= now)
            .map(|(p, _)| p.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let open_for_write = plaintext::open_by_others(&due, true);
        let temporary: Vec<PathBuf> = due
            .iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(plaintext::is_temporary_name)
            })
            .cloned()
            .collect();
        let temporary_open = plaintext::open_by_others(&temporary, false);
        let temporary_quiet = self.vault.policy().policy.temporary_quiet();
        let mut ready = Vec::new();
        for p in due {
            let c = *self.pending.get(&p).expect("due is pending");
            let meta = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(_) => {
                    self.pending.remove(&p);
                    continue;
                }
            };
            if !meta.is_file() {
                // Symlinks, devices and sockets are left alone.
                self.pending.remove(&p);
                continue;
            }
            let now_seen = (meta.len(), crate::vault::mtime_ns_of(&meta));
            let quiet = if c.closed {
                self.opts.quiet_after_close
            } else {
                self.opts.quiet
            };
            let entry = self.pending.get_mut(&p).expect("due is pending");
            if temporary.contains(&p) {
                // Temporary files hold whole documents too: they wait for
                // their own, longer quiet period and for every program to
                // let go of them, then go like any other file.
                let wait = plaintext::temporary_wait(&p, &meta, temporary_quiet, SystemTime::now())
                    .or_else(|| temporary_open.contains(&p).then_some(temporary_quiet));
                if let Some(w) = wait {
                    entry.seen = None;
                    entry.due = now + w.max(self.opts.quiet_after_close);
                    continue;
                }
                ready.push(p);
                continue;
            }
            // Closed after writing and quiet since: done. Otherwise it must
            // look the same twice, a quiet period apart.
            let settled = (c.closed && c.seen.is_none()) || c.seen == Some(now_seen);
            if !settled {
                entry.seen = Some(now_seen);
                entry.due = now + quiet;
                continue;
            }
            if open_for_write.contains(&p) {
                entry.seen = Some(now_seen);
                entry.due = now + self.opts.quiet;
                continue;
            }
            ready.push(p);
        }
        for chunk in ready.chunks(self.opts.batch) {
            self.encrypt(chunk);
        }
    }

    fn encrypt(&mut self, paths: &[PathBuf]) {
        // The keys replaced by another process since the last batch: the
        // writer key is fetched again rather than the config called forged.
        self.vault.refresh_writer_key_if_replaced();
        let _ = self.vault.reload_config();
        let sources: Vec<AddSource> = paths
            .iter()
            .filter_map(|p| {
                let f = self.folder_of(p)?;
                let rel = p.strip_prefix(&f.path).ok()?;
                let parts: Option<Vec<&str>> =
                    rel.components().map(|c| c.as_os_str().to_str()).collect();
                Some(AddSource::new(
                    &Arc::from(f.path.as_path()),
                    p.clone(),
                    match parts {
                        Some(parts) => format!("{}/{}", f.name, parts.join("/")),
                        // Not UTF-8: the vault refuses it and reports it as skipped.
                        None => String::new(),
                    },
                ))
            })
            .collect();
        let outcomes = match self.vault.add(
            &sources,
            AddOptions {
                remove_plaintext: true,
                by: vault::Actor::Watcher,
            },
            &|_| {},
        ) {
            Ok(o) => o,
            Err(e) => {
                // The whole batch failed (vault busy, no writer key, a
                // config that fails its MAC): back off all of it, keeping
                // the kind callers decide by.
                let msg = e.to_string();
                for s in &sources {
                    let again = match &e {
                        Error::WriterKeyUnavailable => Error::WriterKeyUnavailable,
                        Error::Tampered { what } => Error::Tampered { what },
                        _ => Error::Invalid(msg.clone()),
                    };
                    self.retry(&s.source, again);
                }
                return;
            }
        };
        for (s, o) in sources.iter().zip(outcomes) {
            match o {
                AddOutcome::Added { id, size } => {
                    self.pending.remove(&s.source);
                    self.emit(WatchEvent::Encrypted {
                        path: s.source.clone(),
                        id,
                        size,
                    });
                }
                AddOutcome::Skipped(reason) => {
                    self.pending.remove(&s.source);
                    self.emit(WatchEvent::Skipped {
                        path: s.source.clone(),
                        reason,
                    });
                }
                AddOutcome::Failed(Error::Invalid(m)) if s.vault_path.is_empty() => {
                    let _ = m;
                    self.pending.remove(&s.source);
                    self.emit(WatchEvent::Skipped {
                        path: s.source.clone(),
                        reason: SkipReason::NameNotUtf8,
                    });
                }
                AddOutcome::Failed(e) => self.retry(&s.source, e),
            }
        }
    }

    fn retry(&mut self, path: &Path, error: Error) {
        let max = self.opts.max_backoff;
        let Some(c) = self.pending.get_mut(path) else {
            return;
        };
        c.attempts += 1;
        let backoff = Duration::from_millis(500)
            .saturating_mul(1 << c.attempts.min(16))
            .min(max);
        c.due = Instant::now() + backoff;
        c.seen = None;
        c.closed = false;
        let _ = self.events.send(WatchEvent::Failed {
            path: path.to_path_buf(),
            error,
            retry_in: backoff,
        });
    }
}

//! The app's shared state: the unlocked vault (if any), the idle clock,
//! user settings, the working area and the in-process watcher.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use coffer_core::vault::Vault;
use coffer_core::watch::{self, WatchEvent, WatchHandle, WatchOptions};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};

use crate::error::{CmdResult, UiError};
use crate::workarea::WorkArea;

/// The vault folder: `COFFER_VAULT`, else the platform data folder.
pub fn default_vault_dir() -> PathBuf {
    std::env::var_os("COFFER_VAULT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            coffer_core::paths::data_dir()
                .unwrap_or_else(|| PathBuf::from(".").join("coffer"))
                .join("vault")
        })
}

/// Largest settings file read (it holds a few numbers).
const MAX_SETTINGS_LEN: u64 = 64 << 10;

/// What the user chose (policy may cap it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    /// Idle minutes before the vault locks itself.
    pub auto_lock_minutes: u32,
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings {
            auto_lock_minutes: 10,
        }
    }
}

/// What the Home screen shows of the watcher.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatcherView {
    pub running: bool,
    pub folders: usize,
    pub last_event_ns: Option<i64>,
    pub pending: usize,
    #[serde(skip)]
    pub failures: u64,
}

/// Shared state behind every command.
pub struct AppCore {
    /// The vault folder.
    pub vault_dir: PathBuf,
    vault: Mutex<Option<Vault>>,
    activity: Mutex<Instant>,
    settings: Mutex<UserSettings>,
    settings_path: PathBuf,
    pub(crate) workarea: Mutex<Option<WorkArea>>,
    pub(crate) watcher: Mutex<WatcherView>,
    watch_handle: Mutex<Option<WatchHandle>>,
    app: OnceLock<AppHandle>,
    /// Set to stop a running key rotation after its batch in flight.
    pub(crate) rotation_cancel: std::sync::atomic::AtomicBool,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Locks a mutex, recovering from a panic in another command (the data
/// behind these mutexes stays consistent: each write is one assignment).
pub(crate) fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppCore {
    /// State for the vault in `vault_dir`.
    pub fn new(vault_dir: PathBuf) -> Self {
        let settings_path = coffer_core::paths::config_dir()
            .unwrap_or_else(|| PathBuf::from(".").join("coffer"))
            .join("app-settings.json");
        // Unreadable, oversized or invalid settings are the defaults.
        let settings =
            coffer_core::fsutil::read_bounded(&settings_path, MAX_SETTINGS_LEN, "settings")
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
        AppCore {
            vault_dir,
            vault: Mutex::new(None),
            activity: Mutex::new(Instant::now()),
            settings: Mutex::new(settings),
            settings_path,
            workarea: Mutex::new(None),
            watcher: Mutex::new(WatcherView::default()),
            watch_handle: Mutex::new(None),
            app: OnceLock::new(),
            rotation_cancel: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn attach(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    pub(crate) fn emit<S: Serialize + Clone>(&self, event: &str, payload: S) {
        if let Some(app) = self.app.get() {
            let _ = app.emit(event, payload);
        }
    }

    pub(crate) fn app(&self) -> Option<&AppHandle> {
        self.app.get()
    }

    /// A locked handle on the vault (for what needs no secret).
    pub fn open_vault(&self) -> CmdResult<Vault> {
        Ok(Vault::open(&self.vault_dir)?)
    }

    /// The unlocked vault, or `locked`.
    pub(crate) fn unlocked(&self) -> CmdResult<MutexGuard<'_, Option<Vault>>> {
        let g = guard(&self.vault);
        if g.as_ref().is_some_and(|v| v.is_unlocked()) {
            Ok(g)
        } else {
            Err(UiError::new("locked", "The vault is locked."))
        }
    }

    pub(crate) fn set_unlocked(&self, v: Vault) {
        *guard(&self.vault) = Some(v);
        self.touch();
    }

    pub(crate) fn is_unlocked(&self) -> bool {
        match self.vault.try_lock() {
            Ok(g) => g.as_ref().is_some_and(|v| v.is_unlocked()),
            // Held for a long operation (a rotation), which needs the keys.
            Err(std::sync::TryLockError::WouldBlock) => true,
            Err(std::sync::TryLockError::Poisoned(p)) => {
                p.into_inner().as_ref().is_some_and(|v| v.is_unlocked())
            }
        }
    }

    /// Resets the idle clock.
    pub fn touch(&self) {
        *guard(&self.activity) = Instant::now();
    }

    pub(crate) fn idle_for(&self) -> Duration {
        guard(&self.activity).elapsed()
    }

    pub(crate) fn settings(&self) -> UserSettings {
        guard(&self.settings).clone()
    }

    pub(crate) fn save_settings(&self, s: UserSettings) -> CmdResult<()> {
        if let Some(dir) = self.settings_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| UiError::new("io", e.to_string()))?;
        }
        coffer_core::fsutil::atomic_write(
            &self.settings_path,
            &serde_json::to_vec_pretty(&s).expect("serializes"),
        )?;
        *guard(&self.settings) = s;
        Ok(())
    }

    /// The auto-lock timeout in force: the user's, capped by policy.
    pub(crate) fn auto_lock_minutes(&self) -> u32 {
        let mine = self.settings().auto_lock_minutes;
        match coffer_core::policy::load()
            .ok()
            .and_then(|p| p.policy.lock.map(|l| l.max_auto_lock_minutes))
        {
            Some(max) => mine.min(max),
            None => mine,
        }
    }

    /// Locks: changed files in the working area are encrypted back first,
    /// the working area is wiped, the keys are zeroized, and the UI is told.
    pub fn lock(&self, reason: &str) {
        // A rotation holds the vault; it stops after its batch in flight
        // and resumes at the next unlock.
        self.rotation_cancel
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let was_unlocked = self.is_unlocked();
        if let Some(wa) = guard(&self.workarea).take() {
            wa.close(&self.vault_dir);
        }
        if let Some(mut v) = guard(&self.vault).take() {
            v.lock(reason);
        }
        if was_unlocked {
            self.emit("vault-locked", serde_json::json!({ "reason": reason }));
        }
    }

    /// Starts the in-process watcher if a vault exists and it is not running.
    pub fn start_watcher(self: &Arc<Self>) {
        let mut h = guard(&self.watch_handle);
        if h.is_some() || !self.vault_dir.join("vault.json").exists() {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        match watch::start(&self.vault_dir, WatchOptions::default(), tx) {
            Ok(handle) => {
                *h = Some(handle);
                guard(&self.watcher).running = true;
            }
            Err(e) => {
                self.emit(
                    "watcher-event",
                    serde_json::json!({"kind": "warning", "count": 0, "message": e.to_string()}),
                );
                return;
            }
        }
        let me = self.clone();
        std::thread::spawn(move || {
            for ev in rx {
                me.on_watch_event(ev);
            }
        });
    }

    fn on_watch_event(&self, ev: WatchEvent) {
        let mut w = guard(&self.watcher);
        w.last_event_ns = Some(now_ns());
        let payload = match ev {
            WatchEvent::Ready { folders, pending } => {
                w.folders = folders;
                w.pending = pending;
                None
            }
            WatchEvent::Encrypted { .. } => {
                w.pending = w.pending.saturating_sub(1);
                Some(serde_json::json!({"kind": "encrypted", "count": 1}))
            }
            WatchEvent::Failed { error, .. } => {
                w.failures += 1;
                crate::system::notify(
                    self,
                    "A file could not be encrypted",
                    &format!(
                        "Coffer will try again. {}",
                        crate::error::UiError::from(error).message
                    ),
                );
                Some(serde_json::json!({"kind": "failed", "count": 1}))
            }
            WatchEvent::Warning(m) => {
                Some(serde_json::json!({"kind": "warning", "count": 0, "message": m}))
            }
            _ => None,
        };
        drop(w);
        if let Some(p) = payload {
            self.emit("watcher-event", p);
            self.emit("files-changed", ());
        }
    }
}

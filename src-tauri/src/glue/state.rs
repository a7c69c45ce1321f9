//! The app's shared state: the unlocked vault (if any), the idle clock,
//! user settings, the organisation policy, the working area and the
//! in-process watcher's view.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use coffer_core::config::{RotationKind, WriterKey};
use coffer_core::policy::Effective;
use coffer_core::vault::{NewCredentials, Reenrol, Vault, WriterKeySource};
use coffer_core::watch::WatchHandle;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use super::policy::HeldPolicy;
use super::settings::{self, UserSettings};
use super::writer_keys::{self, KeychainCopy, OS_KEYCHAIN, WriterKeys};
use crate::error::{CmdResult, UiError};
use crate::sync::guard;
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
    policy: HeldPolicy,
    pub(crate) workarea: Mutex<Option<WorkArea>>,
    pub(crate) watcher: Mutex<WatcherView>,
    pub(crate) watch_handle: Mutex<Option<WatchHandle>>,
    app: OnceLock<AppHandle>,
    /// Set to stop a running key rotation after its batch in flight.
    pub(crate) rotation_cancel: AtomicBool,
    /// The vault's writer key, once an unlock in this run yielded it: kept
    /// (it decrypts nothing) so that the watcher and locked adds can trust
    /// the vault's config without the OS keychain (docs/FORMAT.md §4.5);
    /// with the one a rotation is putting in force.
    writer_keys: WriterKeys,
    /// Whether the running watcher was started with a writer key.
    pub(crate) watcher_keyed: AtomicBool,
}

impl AppCore {
    /// State for the vault in `vault_dir`.
    pub fn new(vault_dir: PathBuf) -> Self {
        let settings_path = settings::settings_path();
        AppCore {
            vault_dir,
            vault: Mutex::new(None),
            activity: Mutex::new(Instant::now()),
            settings: Mutex::new(settings::load(&settings_path)),
            settings_path,
            policy: HeldPolicy::system(),
            workarea: Mutex::new(None),
            watcher: Mutex::new(WatcherView::default()),
            watch_handle: Mutex::new(None),
            app: OnceLock::new(),
            rotation_cancel: AtomicBool::new(false),
            writer_keys: WriterKeys::default(),
            watcher_keyed: AtomicBool::new(false),
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

    /// A locked handle on the vault (for what needs no secret), under the
    /// policy the app holds.
    pub fn open_vault(&self) -> CmdResult<Vault> {
        let policy = Effective::clone(self.policy()?.as_ref());
        let mut v = Vault::open_with_policy(&self.vault_dir, policy)?;
        // Only the keys this run holds: a command never waits on the OS
        // keychain (a locked one asks the user, and would hold the command).
        v.set_writer_key_source(self.writer_keys.source());
        if let Some(k) = self.writer_key() {
            // A config that fails the check is refused here, recorded; one
            // written under the key a rotation is putting in force is not.
            match v.set_writer_key(k) {
                Err(coffer_core::Error::WriterKeyUnavailable) if v.refresh_writer_key() => {}
                r => r?,
            }
        }
        Ok(v)
    }

    /// The writer key an unlock in this run yielded, or one the watcher
    /// fetched from the OS keychain (off the main thread) at start.
    pub(crate) fn writer_key(&self) -> Option<WriterKey> {
        self.writer_keys.current()
    }

    /// Keeps a writer key fetched from the OS keychain.
    pub(crate) fn remember_writer_key(&self, k: WriterKey) {
        self.writer_keys.remember(k);
    }

    /// Where a handle working while locked takes a fresh writer key when
    /// the one it holds stops verifying: the app's memory, never the OS
    /// keychain (for handles used by commands and the working area).
    pub(crate) fn writer_key_source(&self) -> WriterKeySource {
        self.writer_keys.source()
    }

    /// [`AppCore::writer_key_source`], then the OS keychain of the vault
    /// `vault_id`: for the watcher, on a thread of its own, which also
    /// follows a change of keys made by another process.
    pub(crate) fn writer_key_source_with_keychain(&self, vault_id: String) -> WriterKeySource {
        self.writer_keys.source_with_keychain(vault_id)
    }

    /// Starts a rotation on the session's vault `v` (see
    /// [`writer_keys::begin_rotation`]): a new writer key is in force in
    /// the app's memory when this returns, and follows in the OS keychain
    /// on a thread of its own.
    pub(crate) fn begin_rotation(
        &self,
        v: &mut Vault,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
    ) -> coffer_core::Result<NewCredentials> {
        writer_keys::begin_rotation(v, &self.writer_keys, OS_KEYCHAIN, kind, reenrol)
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
        if let Some(k) = v.unlocked_writer_key() {
            self.writer_keys.set(k.clone());
            // Best effort, and off this thread: a keychain that asks the
            // user must not hold the unlock. Without it, only a restart
            // while locked waits for the next unlock to encrypt new files.
            KeychainCopy::new(coffer_keychain::vault_id(&v), OS_KEYCHAIN).keep(k);
        }
        if let Some(report) = v.integrity_at_unlock()
            && !report.ok()
        {
            let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind.describe()).collect();
            self.emit(
                "watcher-event",
                serde_json::json!({"kind": "warning", "count": 0, "message": format!(
                    "The vault differs from what Coffer wrote: {}. Run a check from Settings and tell IT.",
                    kinds.join("; ")
                )}),
            );
        }
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
        settings::save(&self.settings_path, &s)?;
        *guard(&self.settings) = s;
        Ok(())
    }

    /// The organisation policy in force (held; see [`HeldPolicy`]), or
    /// the error an invalid one gives.
    pub(crate) fn policy(&self) -> CmdResult<Arc<Effective>> {
        self.policy.get()
    }

    /// Reads the organisation policy again if its files changed; cheap
    /// enough for the auto-lock tick.
    pub(crate) fn reload_policy_if_changed(&self) -> bool {
        self.policy.reload_if_changed()
    }

    /// The auto-lock timeout in force: the user's, capped by policy.
    pub(crate) fn auto_lock_minutes(&self) -> u32 {
        let mine = self.settings().auto_lock_minutes;
        match self
            .policy()
            .ok()
            .and_then(|p| p.policy.lock.as_ref().map(|l| l.max_auto_lock_minutes))
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
        self.rotation_cancel.store(true, Ordering::SeqCst);
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

    /// Opens `entry` in the working area (creating it on first use) and
    /// returns the decrypted copy's path.
    pub(crate) fn open_in_workarea(
        self: &Arc<Self>,
        v: &Vault,
        entry: &coffer_core::vault::Entry,
    ) -> CmdResult<PathBuf> {
        let mut wa = guard(&self.workarea);
        if wa.is_none() {
            let me = self.clone();
            *wa = Some(WorkArea::create(
                &self.vault_dir,
                Some(self.writer_key_source()),
                Arc::new(move || me.emit("files-changed", ())),
            )?);
        }
        wa.as_ref().expect("created").open(v, entry)
    }
}

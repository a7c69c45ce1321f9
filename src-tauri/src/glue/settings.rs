//! What the user chose, kept in the app's settings file (policy may cap it).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CmdResult, UiError};

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

/// Where the settings live.
pub(super) fn settings_path() -> PathBuf {
    coffer_core::paths::config_dir()
        .unwrap_or_else(|| PathBuf::from(".").join("coffer"))
        .join("app-settings.json")
}

/// The settings in `path`; unreadable, oversized or invalid settings are
/// the defaults.
pub(super) fn load(path: &Path) -> UserSettings {
    coffer_core::fsutil::read_bounded(path, MAX_SETTINGS_LEN, "settings")
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes `s` to `path`, creating its folder.
pub(super) fn save(path: &Path, s: &UserSettings) -> CmdResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| UiError::new("io", e.to_string()))?;
    }
    coffer_core::fsutil::atomic_write(path, &serde_json::to_vec_pretty(s).expect("serializes"))?;
    Ok(())
}

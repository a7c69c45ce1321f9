//! Where the app meets the desktop: the tray and window, notifications,
//! autostart, auto-lock on idle / screen lock / suspend, the in-process
//! watcher of protected folders and the device's posture. These pieces
//! stand on the glue; they import no command.

mod auto_lock;
mod autostart;
mod notifications;
mod posture;
mod tray;
mod watcher;

pub(crate) use auto_lock::{auto_lock_limit, start_auto_lock, watch_screen_lock_and_suspend};
pub(crate) use autostart::enable_autostart_for_managed_installs;
pub(crate) use posture::{Posture, device_posture};
pub(crate) use tray::{build_tray, has_tray, show_main_window};
pub(crate) use watcher::{rearm_watcher, start_watcher};

//! Start at login for managed installs.

use tauri::App;

use crate::glue::AppCore;

/// Managed installs (a policy file is in force) start at login by default.
pub(crate) fn enable_autostart_for_managed_installs(app: &App, core: &AppCore) {
    use tauri_plugin_autostart::ManagerExt;
    if core.policy().is_ok_and(|p| p.source.is_some()) {
        let al = app.autolaunch();
        if al.is_enabled().is_ok_and(|on| !on) {
            let _ = al.enable();
        }
    }
}

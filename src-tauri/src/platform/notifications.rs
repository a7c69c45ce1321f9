//! Desktop notifications.

use crate::glue::AppCore;

/// A desktop notification for something the user must act on.
pub(crate) fn notify(core: &AppCore, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Some(app) = core.app() {
        let _ = app.notification().builder().title(title).body(body).show();
    }
}

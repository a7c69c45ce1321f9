//! The tray icon and the main window: closing the window keeps Coffer in
//! the tray so the watcher keeps protected folders protected.

use std::sync::Arc;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{App, AppHandle, Manager};

use crate::glue::AppCore;

const TRAY_ID: &str = "coffer-tray";

/// Brings the main window to the front.
pub(crate) fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Whether the tray icon exists (without one, closing the window quits).
pub(crate) fn has_tray(app: &AppHandle) -> bool {
    app.tray_by_id(TRAY_ID).is_some()
}

/// Tray icon with Open / Lock now / Quit.
pub(crate) fn build_tray(app: &App) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Coffer", true, None::<&str>)?;
    let lock = MenuItem::with_id(app, "lock", "Lock now", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &lock, &quit])?;
    let mut b = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Coffer")
        .menu(&menu)
        .on_menu_event(|app, ev| {
            let core = app.state::<Arc<AppCore>>();
            match ev.id.as_ref() {
                "open" => show_main_window(app),
                "lock" => core.lock("manual"),
                "quit" => {
                    core.lock("quit");
                    app.exit(0);
                }
                _ => {}
            }
        });
    if let Some(icon) = app.default_window_icon() {
        b = b.icon(icon.clone());
    }
    b.build(app)?;
    Ok(())
}

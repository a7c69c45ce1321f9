//! The Coffer desktop app: thin Tauri glue over coffer-core. Each command
//! takes the shared state, converts its input, makes one core call and maps
//! the error to `{code, message}` (docs/IPC.md). Long work runs off the UI
//! thread and reports progress over an IPC channel.
//!
//! The watcher runs inside the app process (so protected folders stay
//! protected while the window is closed and the app sits in the tray); the
//! systemd unit of the CLI is the alternative for machines without the app
//! (docs/APP.md explains the choice).
//!
//! The rooms and what each may import (one way, no cycle):
//! - `commands/`: one file per screen; imports `glue`, `platform`, `error`.
//! - `platform/`: tray, window, notifications, autostart, auto-lock and OS
//!   events, the protected-folder watcher, posture; imports `glue`.
//! - `glue/`: the shared state, the policy held in it, `blocking`,
//!   `reauthenticate`; imports `workarea`.
//! - `workarea/`: the private working area and its trace cleanup; imports
//!   only `error` and `sync`.
#![forbid(unsafe_code)]

mod commands;
mod error;
mod glue;
mod platform;
mod sync;
mod workarea;

use std::sync::Arc;

use tauri::Manager;

pub use glue::AppCore;

/// Starts the app.
pub fn run() {
    let core = Arc::new(AppCore::new(glue::default_vault_dir()));
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            platform::show_main_window(app);
        }))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(core.clone())
        .setup(move |app| {
            core.attach(app.handle().clone());
            // Saving back needs the writer key from the OS keychain, which
            // may ask the user: never on the thread that shows the window.
            let dir = core.vault_dir.clone();
            std::thread::spawn(move || workarea::recover_stale(&dir));
            platform::start_watcher(&core);
            platform::start_auto_lock(core.clone());
            platform::watch_screen_lock_and_suspend(core.clone());
            if let Err(e) = platform::build_tray(app) {
                eprintln!("coffer: no tray icon ({e}); the window stays the way in");
            }
            platform::enable_autostart_for_managed_installs(app, &core);
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Coffer in the tray: the watcher must
            // keep protected folders protected.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && platform::has_tray(window.app_handle())
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::home::app_state,
            commands::unlock::create_vault,
            commands::unlock::unlock,
            commands::unlock::unlock_with_keychain,
            commands::unlock::recover,
            commands::unlock::lock,
            commands::unlock::touch_activity,
            commands::files::list_files,
            commands::files::add_paths,
            commands::files::open_file,
            commands::files::extract_file,
            commands::files::remove_file,
            commands::folders::protected_folders,
            commands::folders::preview_protect,
            commands::folders::protect_folder,
            commands::folders::unprotect_folder,
            commands::settings::get_settings,
            commands::settings::set_auto_lock,
            commands::settings::set_keychain_unlock,
            commands::settings::regenerate_recovery_key,
            commands::keys::key_info,
            commands::keys::change_passphrase,
            commands::keys::enrol_escrow,
            commands::keys::remove_slot,
            commands::keys::rotate_keys,
            commands::keys::resume_rotation,
            commands::keys::cancel_rotation,
            commands::audit::audit_events,
            commands::audit::export_access_report,
            commands::audit::export_incident_report,
            commands::audit::open_report,
            commands::home::posture,
        ])
        .build(tauri::generate_context!())
        .expect("the Coffer app failed to start")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<Arc<AppCore>>().lock("quit");
            }
        });
}

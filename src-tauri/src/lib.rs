//! The Coffer desktop app: thin Tauri glue over coffer-core. Each command
//! takes the shared state, converts its input, makes one core call and maps
//! the error to `{code, message}` (docs/IPC.md). Long work runs off the UI
//! thread and reports progress over an IPC channel.
//!
//! The watcher runs inside the app process (so protected folders stay
//! protected while the window is closed and the app sits in the tray); the
//! systemd unit of the CLI is the alternative for machines without the app
//! (docs/APP.md explains the choice).
#![forbid(unsafe_code)]

mod commands;
mod error;
mod keys_audit;
mod session;
mod system;
mod workarea;

use std::sync::Arc;

use tauri::Manager;

pub use session::AppCore;

/// Starts the app.
pub fn run() {
    let core = Arc::new(AppCore::new(session::default_vault_dir()));
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            system::show_main_window(app);
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
            workarea::recover_stale(&core.vault_dir);
            core.start_watcher();
            system::start_auto_lock(core.clone());
            system::watch_screen_lock_and_suspend(core.clone());
            if let Err(e) = system::build_tray(app) {
                eprintln!("coffer: no tray icon ({e}); the window stays the way in");
            }
            system::enable_autostart_for_managed_installs(app);
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Coffer in the tray: the watcher must
            // keep protected folders protected.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && system::has_tray(window.app_handle())
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_state,
            commands::create_vault,
            commands::unlock,
            commands::unlock_with_keychain,
            commands::recover,
            commands::lock,
            commands::touch_activity,
            commands::list_files,
            commands::add_paths,
            commands::open_file,
            commands::extract_file,
            commands::remove_file,
            commands::protected_folders,
            commands::preview_protect,
            commands::protect_folder,
            commands::unprotect_folder,
            commands::get_settings,
            commands::set_auto_lock,
            commands::set_keychain_unlock,
            commands::regenerate_recovery_key,
            keys_audit::key_info,
            keys_audit::change_passphrase,
            keys_audit::enrol_escrow,
            keys_audit::remove_slot,
            keys_audit::rotate_keys,
            keys_audit::resume_rotation,
            keys_audit::cancel_rotation,
            keys_audit::audit_events,
            keys_audit::export_access_report,
            keys_audit::export_incident_report,
            keys_audit::posture,
        ])
        .build(tauri::generate_context!())
        .expect("the Coffer app failed to start")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<Arc<AppCore>>().lock("quit");
            }
        });
}

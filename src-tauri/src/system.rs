//! Where the app meets the desktop: tray, window, notifications, autostart,
//! auto-lock on idle / screen lock / suspend, and cleaning the traces the
//! desktop keeps of opened files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{App, AppHandle, Manager};

use crate::session::AppCore;

const TRAY_ID: &str = "coffer-tray";

/// Brings the main window to the front.
pub fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Whether the tray icon exists (without one, closing the window quits).
pub fn has_tray(app: &AppHandle) -> bool {
    app.tray_by_id(TRAY_ID).is_some()
}

/// Tray icon with Open / Lock now / Quit.
pub fn build_tray(app: &App) -> tauri::Result<()> {
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

/// A desktop notification for something the user must act on.
pub fn notify(core: &AppCore, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Some(app) = core.app() {
        let _ = app.notification().builder().title(title).body(body).show();
    }
}

/// Locks after the idle timeout (checked every 2 s; the timeout is in
/// minutes).
pub fn start_auto_lock(core: Arc<AppCore>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(2));
            if !core.is_unlocked() {
                continue;
            }
            let mut limit = Duration::from_secs(u64::from(core.auto_lock_minutes()) * 60);
            // Tests (and kiosks) may shorten the timeout, never lengthen it.
            if let Some(secs) = std::env::var("COFFER_AUTO_LOCK_SECONDS")
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                limit = limit.min(Duration::from_secs(secs));
            }
            if core.idle_for() >= limit {
                core.lock("auto");
            }
        }
    });
}

/// Managed installs start at login by default.
pub fn enable_autostart_for_managed_installs(app: &App) {
    use tauri_plugin_autostart::ManagerExt;
    if coffer_core::policy::load().is_ok_and(|p| p.source.is_some()) {
        let al = app.autolaunch();
        if al.is_enabled().is_ok_and(|on| !on) {
            let _ = al.enable();
        }
    }
}

/// Locks when the screen locks or the machine suspends (Linux: logind's
/// PrepareForSleep on the system bus; the freedesktop and GNOME
/// ScreenSaver ActiveChanged signals on the session bus). On macOS and
/// Windows this is not wired yet (docs/APP.md); the idle timeout applies.
pub fn watch_screen_lock_and_suspend(core: Arc<AppCore>) {
    #[cfg(target_os = "linux")]
    {
        let c = core.clone();
        std::thread::spawn(move || {
            let _ = listen(
                zbus::blocking::Connection::system(),
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                &c,
                "suspend",
            );
        });
        for iface in ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"] {
            let c = core.clone();
            std::thread::spawn(move || {
                let _ = listen(
                    zbus::blocking::Connection::session(),
                    iface,
                    "ActiveChanged",
                    &c,
                    "screen_lock",
                );
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

#[cfg(target_os = "linux")]
fn listen(
    conn: zbus::Result<zbus::blocking::Connection>,
    interface: &'static str,
    member: &'static str,
    core: &AppCore,
    reason: &str,
) -> zbus::Result<()> {
    let conn = conn?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(interface)?
        .member(member)?
        .build();
    for msg in zbus::blocking::MessageIterator::for_match_rule(rule, &conn, None)? {
        let msg = msg?;
        if msg.body().deserialize::<bool>().unwrap_or(false) {
            core.lock(reason);
        }
    }
    Ok(())
}

/// `file://` URI of a path, escaped the way GLib does (what recent-files
/// lists and the thumbnail cache key on).
fn file_uri(p: &Path) -> String {
    let mut s = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Removes what the desktop remembers of files opened from the working
/// area: their entries in the GTK recent-files list and their cached
/// thumbnails (freedesktop thumbnail spec: MD5 of the URI). What other
/// apps keep in their own histories cannot be reached (THREAT_MODEL.md).
pub fn forget_traces(workarea: &Path, files: &[PathBuf]) {
    use md5::{Digest, Md5};
    let prefix = file_uri(workarea);
    if let Some(data) = dirs::data_dir() {
        let xbel = data.join("recently-used.xbel");
        // GTK keeps it small; a huge one is left as it is rather than read.
        let text = coffer_core::fsutil::read_bounded(&xbel, 64 << 20, "recent files list")
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some(text) = text {
            let cleaned = drop_bookmarks(&text, &prefix);
            if cleaned != text {
                let _ = coffer_core::fsutil::atomic_write(&xbel, cleaned.as_bytes());
            }
        }
    }
    if let Some(cache) = dirs::cache_dir() {
        for f in files {
            let hash = data_encoding::HEXLOWER.encode(&Md5::digest(file_uri(f).as_bytes()));
            for size in ["normal", "large", "x-large", "xx-large"] {
                let _ = std::fs::remove_file(
                    cache
                        .join("thumbnails")
                        .join(size)
                        .join(format!("{hash}.png")),
                );
            }
            if let Ok(rd) = std::fs::read_dir(cache.join("thumbnails").join("fail")) {
                for d in rd.flatten() {
                    let _ = std::fs::remove_file(d.path().join(format!("{hash}.png")));
                }
            }
        }
    }
}

/// `text` without the `<bookmark …>…</bookmark>` entries whose href starts
/// with `prefix`.
fn drop_bookmarks(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<bookmark ") {
        let Some(end_rel) = rest[start..].find("</bookmark>") else {
            break;
        };
        let end = start + end_rel + "</bookmark>".len();
        let block = &rest[start..end];
        out.push_str(&rest[..start]);
        if !block.contains(&format!("href=\"{prefix}")) {
            out.push_str(block);
        } else if out.ends_with("  ") {
            // Drop the indentation left by the removed entry.
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
        }
        rest = &rest[end..];
        if out.ends_with('\n') && rest.starts_with('\n') {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped_like_glib() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/ü.pdf")),
            "file:///tmp/a%20b/%C3%BC.pdf"
        );
    }

    #[test]
    fn only_working_area_bookmarks_are_dropped() {
        let xbel = "<xbel>\n  <bookmark href=\"file:///run/user/1/coffer-work-ab/x/scan.pdf\" added=\"1\">\n  </bookmark>\n  <bookmark href=\"file:///home/u/keep.txt\">\n  </bookmark>\n</xbel>\n";
        let out = drop_bookmarks(xbel, "file:///run/user/1/coffer-work-ab");
        assert!(!out.contains("scan.pdf"));
        assert!(out.contains("keep.txt"));
        assert!(out.starts_with("<xbel>") && out.ends_with("</xbel>\n"));
    }
}

//! Locking without being asked: after the idle timeout, and when the
//! screen locks or the machine suspends.

use std::sync::Arc;
use std::time::Duration;

use crate::glue::AppCore;

/// The idle time after which the app locks: the user's setting under the
/// policy's maximum, shortened by `COFFER_AUTO_LOCK_SECONDS` (tests,
/// kiosks; never lengthened). The lock notice states this, not the setting.
pub(crate) fn auto_lock_limit(core: &AppCore) -> Duration {
    let limit = Duration::from_secs(u64::from(core.auto_lock_minutes()) * 60);
    match std::env::var("COFFER_AUTO_LOCK_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(secs) => limit.min(Duration::from_secs(secs)),
        None => limit,
    }
}

/// Locks after the idle timeout (checked every 2 s; the timeout is in
/// minutes). Each tick also picks up a changed organisation policy (a
/// metadata check; the file is read only when it changed), so a new
/// auto-lock cap applies within seconds.
pub(crate) fn start_auto_lock(core: Arc<AppCore>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(2));
            core.reload_policy_if_changed();
            if !core.is_unlocked() {
                continue;
            }
            if core.idle_for() >= auto_lock_limit(&core) {
                core.lock("auto");
            }
        }
    });
}

/// Locks when the screen locks or the machine suspends (Linux: logind's
/// PrepareForSleep on the system bus; the freedesktop and GNOME
/// ScreenSaver ActiveChanged signals on the session bus). On macOS and
/// Windows this is not wired yet (docs/APP.md); the idle timeout applies.
pub(crate) fn watch_screen_lock_and_suspend(core: Arc<AppCore>) {
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

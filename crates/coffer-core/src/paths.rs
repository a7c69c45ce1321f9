//! Coffer's own per-user folders: where the vault, settings and caches live
//! by default, and the private working area into which the desktop app
//! decrypts the files the user opens.
//!
//! The working area is never the shared temporary folder: it is
//! `$XDG_RUNTIME_DIR/coffer` (a per-user tmpfs on systemd machines) when
//! that folder is the user's own and private, otherwise
//! `<cache dir>/coffer/work`. Either way the folder is created with mode
//! 0700 and checked — a real folder, not a symlink, owned by the user, no
//! permission bits for group or others — before anything is decrypted into
//! it.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

const APP: &str = "coffer";

/// The organisation policy file's system location on this OS (see
/// [`crate::policy`]).
pub fn system_policy_file() -> PathBuf {
    #[cfg(target_os = "macos")]
    return PathBuf::from("/Library/Managed Preferences/org.coffer.policy.toml");
    #[cfg(windows)]
    return PathBuf::from(
        std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into()),
    )
    .join("Coffer")
    .join("policy.toml");
    #[cfg(not(any(target_os = "macos", windows)))]
    PathBuf::from("/etc/coffer/policy.toml")
}

/// Coffer's data folder, `<platform data dir>/coffer` (Linux
/// `~/.local/share/coffer`); the vault is `vault` inside it by default.
pub fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join(APP))
}

/// Coffer's configuration folder, `<platform config dir>/coffer` (Linux
/// `~/.config/coffer`).
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join(APP))
}

/// Coffer's cache folder, `<platform cache dir>/coffer` (Linux
/// `~/.cache/coffer`).
pub fn cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join(APP))
}

/// The folder under which the desktop app creates its per-session working
/// areas, created (mode 0700) if need be and checked to be private. Fails
/// with [`Error::Invalid`], saying what to do, when it is not.
pub fn work_area_base() -> Result<PathBuf> {
    #[cfg(unix)]
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    #[cfg(not(unix))]
    let runtime: Option<PathBuf> = None;
    work_area_base_from(runtime.as_deref(), cache_dir().as_deref())
}

/// [`work_area_base`] with the runtime folder (`$XDG_RUNTIME_DIR`, used
/// only where it is private to the user) and Coffer's cache folder given.
pub fn work_area_base_from(runtime: Option<&Path>, cache: Option<&Path>) -> Result<PathBuf> {
    let base = match runtime.filter(|r| check_private_dir(r).is_ok()) {
        Some(r) => r.join(APP),
        None => cache
            .ok_or_else(|| {
                Error::Invalid(
                    "there is no per-user cache folder for the private working area; set HOME (or XDG_CACHE_HOME) and try again".into(),
                )
            })?
            .join("work"),
    };
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&base).ctx("creating the private working area")?;
    check_private_dir(&base).map_err(|why| {
        Error::Invalid(format!(
            "the private working area {} {why}; Coffer will not decrypt files into it",
            base.display()
        ))
    })?;
    Ok(base)
}

/// Whether a folder is private to the current user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privacy {
    /// A real folder (not a symlink), owned by the current user, with no
    /// permission bits for group or others.
    Private,
    /// A real folder of the current user's that others may enter or write.
    Exposed,
    /// A symlink, not a folder, another user's, or unreadable.
    NotOurs,
}

/// How private `dir` is, judged without following a symlink in its place.
/// Elsewhere than on Unix, every real folder counts as private (the
/// per-user folders there are the user's by construction).
pub fn privacy(dir: &Path) -> Privacy {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Privacy::NotOurs;
    };
    if !meta.is_dir() {
        return Privacy::NotOurs;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::getuid().as_raw() {
            return Privacy::NotOurs;
        }
        if meta.mode() & 0o077 != 0 {
            return Privacy::Exposed;
        }
    }
    Privacy::Private
}

/// Checks that `dir` is [`Privacy::Private`]; returns why not, with what
/// to do.
pub fn check_private_dir(dir: &Path) -> std::result::Result<(), String> {
    let show = dir.display();
    match privacy(dir) {
        Privacy::Private => Ok(()),
        Privacy::Exposed => Err(format!(
            "can be opened by other users: run `chmod 700 {show}` and try again"
        )),
        Privacy::NotOurs => match std::fs::symlink_metadata(dir) {
            Err(e) => Err(format!("cannot be read ({e})")),
            Ok(m) if m.file_type().is_symlink() => Err(format!(
                "is a symbolic link, not a folder: remove it (`rm {show}`) and try again"
            )),
            Ok(m) if !m.is_dir() => Err(format!(
                "is not a folder: remove it (`rm {show}`) and try again"
            )),
            Ok(_) => Err(
                "belongs to another user: have it removed (by that user or an administrator) and try again"
                    .into(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_folders_are_named_coffer() {
        for d in [data_dir(), config_dir(), cache_dir()]
            .into_iter()
            .flatten()
        {
            assert_eq!(d.file_name().unwrap(), "coffer");
        }
    }

    #[test]
    fn work_area_prefers_a_private_runtime_folder() {
        let d = tempfile::tempdir().unwrap();
        let runtime = d.path().join("run");
        let cache = d.path().join("cache/coffer");
        std::fs::create_dir(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let set = |p: &Path, m| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
            };
            set(&runtime, 0o700);
            let base = work_area_base_from(Some(&runtime), Some(&cache)).unwrap();
            assert_eq!(base, runtime.join("coffer"));
            let mode = std::fs::metadata(&base).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            // A runtime folder others can enter is passed over for the cache.
            set(&runtime, 0o755);
            let base = work_area_base_from(Some(&runtime), Some(&cache)).unwrap();
            assert_eq!(base, cache.join("work"));
            let mode = std::fs::metadata(&base).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            // A base others can enter is refused, saying what to do.
            set(&base, 0o750);
            let err = work_area_base_from(None, Some(&cache)).unwrap_err();
            assert!(
                matches!(&err, Error::Invalid(m) if m.contains("chmod 700")),
                "{err}"
            );
            // So is a symlink in its place, even to a private folder.
            std::fs::remove_dir(&base).unwrap();
            std::os::unix::fs::symlink(&runtime, &base).unwrap();
            set(&runtime, 0o700);
            let err = work_area_base_from(None, Some(&cache)).unwrap_err();
            assert!(
                matches!(&err, Error::Invalid(m) if m.contains("symbolic link")),
                "{err}"
            );
        }
        let err = work_area_base_from(None, None).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }
}

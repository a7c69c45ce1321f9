//! Where the policy file is, and when it is trusted: only from the system
//! location (or `COFFER_POLICY_FILE` where there is none), and only when
//! no one but the administrator could have written it.

use std::path::{Path, PathBuf};

use super::{Effective, Policy};
use crate::error::{Error, Result};

/// Largest policy file read (bigger ones are refused before reading).
pub const MAX_POLICY_LEN: u64 = 256 << 10;

/// The system policy location on this OS (see [`crate::paths`]).
pub fn system_path() -> PathBuf {
    crate::paths::system_policy_file()
}

/// Loads the effective policy: the system file if present, else
/// `COFFER_POLICY_FILE` if set, else none.
pub fn load() -> Result<Effective> {
    let system = system_path();
    let path = if system.exists() {
        system
    } else if let Some(p) = std::env::var_os("COFFER_POLICY_FILE") {
        PathBuf::from(p)
    } else {
        return Ok(Effective::none());
    };
    load_from(&path)
}

/// Loads a policy file, refusing one the user could have written.
pub fn load_from(path: &Path) -> Result<Effective> {
    check_protected(path)?;
    let bytes =
        crate::fsutil::read_bounded(path, MAX_POLICY_LEN, "policy").map_err(|e| match e {
            Error::Corrupt { why, .. } => Error::PolicyInvalid { why },
            other => other,
        })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::policy_invalid("file is not UTF-8"))?;
    Ok(Effective {
        policy: Policy::parse(&text)?,
        source: Some(path.to_path_buf()),
    })
}

/// The file and its folder must belong to the administrator and be
/// writable by no one else; otherwise a user could weaken the policy.
fn check_protected(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut p = Some(path);
        while let Some(cur) = p {
            let m = std::fs::metadata(cur).map_err(|e| Error::Io {
                context: "reading the organisation policy",
                source: e,
            })?;
            if m.uid() != 0 || m.mode() & 0o022 != 0 {
                return Err(Error::PolicyUntrusted {
                    path: path.to_path_buf(),
                });
            }
            // The file and its own folder are what a user could swap.
            p = if cur == path { cur.parent() } else { None };
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

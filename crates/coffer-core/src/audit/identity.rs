//! Who and where: the identity fields every record carries (vault, device,
//! host, user), the process's session id, and the file identity records
//! use to match a file found in plaintext against its encryption.

use std::fs;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// Who and where: the fields every record carries besides the event.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Vault id (hex).
    pub vault: String,
    /// Device id (hex).
    pub device: String,
    /// Host name.
    pub host: String,
    /// OS user, from the system's user database (see [`user_name`]).
    pub user: String,
}

impl Identity {
    /// This device and user, for the vault `vault_id`.
    pub fn current(vault_id: &[u8; 16]) -> Self {
        Identity {
            vault: data_encoding::HEXLOWER.encode(vault_id),
            device: device_id(),
            host: host_name(),
            user: user_name(),
        }
    }
}

/// A stable, non-identifying id for this machine: a hash of the OS
/// machine id (or of the host name where there is none).
pub fn device_id() -> String {
    let seed = fs::read_to_string("/etc/machine-id")
        .or_else(|_| fs::read_to_string("/var/lib/dbus/machine-id"))
        .unwrap_or_else(|_| host_name());
    let h = Sha256::digest([b"coffer/v1/device-id:".as_slice(), seed.trim().as_bytes()].concat());
    data_encoding::HEXLOWER.encode(&h[..8])
}

/// The machine's host name.
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".into())
    }
}

/// The OS account running this process, from the system's user database
/// (`getpwuid_r` through NSS, so LDAP and SSSD accounts resolve too),
/// never from `$USER`, which anyone can set. An account the database does
/// not know is written as `uid:<n>`, which names the number and claims no
/// name. Elsewhere than Unix: `unknown` (no account lookup is built there).
pub fn user_name() -> String {
    #[cfg(unix)]
    {
        let uid = rustix::process::getuid().as_raw();
        user_name_of(uid)
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}

/// The name of account `uid` in the system's user database, or `uid:<n>`.
#[cfg(unix)]
pub fn user_name_of(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("uid:{uid}"))
}

/// The id of the process's audit session: random, made at its first use
/// and the same for the life of the process. Unlock, lock and the lock at
/// process end carry it, so a report can pair each unlock with its own
/// lock even when several processes (the app, a CLI command) interleave.
pub fn session_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| data_encoding::HEXLOWER.encode(&crate::crypto::random::random_array::<12>()))
}

/// A file's identity as records carry it: the first 16 bytes (hex) of
/// SHA-256 over the vault id and the file's device, inode, length and
/// modification time (ns). It names no file and holds no path; the same
/// file, unchanged, gives the same value to the watcher that finds it and
/// to the add that encrypts it. A changed file gives a new value, so a
/// report never matches a file to an encryption of other bytes.
pub fn file_identity(vault: &str, dev: u64, ino: u64, len: u64, mtime_ns: i64) -> String {
    let mut h = Sha256::new();
    h.update(b"coffer/v1/file-identity\0");
    h.update(vault.as_bytes());
    h.update(b"\0");
    h.update(dev.to_be_bytes());
    h.update(ino.to_be_bytes());
    h.update(len.to_be_bytes());
    h.update(mtime_ns.to_be_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize()[..16])
}

/// [`file_identity`] of what `meta` describes (device and inode are 0
/// where the OS gives none through std: not Unix, never run).
pub fn file_identity_of(vault: &str, meta: &fs::Metadata) -> String {
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    file_identity(
        vault,
        dev,
        ino,
        meta.len(),
        crate::fsutil::mtime_ns_of(meta),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_comes_from_the_user_database_not_the_environment() {
        #[cfg(unix)]
        {
            // uid 0 is root in every user database.
            assert_eq!(user_name_of(0), "root");
            assert_eq!(user_name_of(4_000_000_123), "uid:4000000123");
            let me = user_name();
            assert!(!me.is_empty() && !me.starts_with("uid0"));
        }
    }

    #[test]
    fn a_session_id_is_stable_within_the_process_and_random() {
        assert_eq!(session_id(), session_id());
        assert_eq!(session_id().len(), 24);
    }

    #[test]
    fn file_identity_changes_with_any_part_and_the_vault() {
        let a = file_identity("v", 1, 2, 3, 4);
        assert_eq!(a.len(), 32);
        assert_eq!(a, file_identity("v", 1, 2, 3, 4));
        for other in [
            file_identity("w", 1, 2, 3, 4),
            file_identity("v", 9, 2, 3, 4),
            file_identity("v", 1, 9, 3, 4),
            file_identity("v", 1, 2, 9, 4),
            file_identity("v", 1, 2, 3, 9),
        ] {
            assert_ne!(a, other);
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, b"x").unwrap();
        let m = fs::metadata(&p).unwrap();
        assert_eq!(file_identity_of("v", &m), file_identity_of("v", &m));
    }
}

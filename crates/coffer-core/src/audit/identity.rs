//! Who and where: the identity fields every record carries (vault, device,
//! host, user), and how this machine's are found.

use std::fs;

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
    /// OS user.
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

/// The OS user running this process.
pub fn user_name() -> String {
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
        {
            return u;
        }
    }
    #[cfg(unix)]
    {
        format!("uid{}", rustix::process::getuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}

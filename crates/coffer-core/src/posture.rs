//! Device posture: is the disk holding the vault encrypted by the OS
//! (LUKS/dm-crypt on Linux, FileVault on macOS, BitLocker on Windows)?
//! Reported in `coffer status`, recorded in the audit trail, and required
//! by policy where the organisation says so.

use std::path::Path;

use serde::Serialize;

/// Full-disk encryption state of the file system holding a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DiskEncryption {
    /// Encrypted by the OS.
    On {
        /// How (e.g. "LUKS/dm-crypt").
        how: String,
    },
    /// Not encrypted.
    Off,
    /// Could not tell.
    Unknown {
        /// Why not.
        why: String,
    },
}

impl DiskEncryption {
    /// "on", "off" or "unknown".
    pub fn as_str(&self) -> &'static str {
        match self {
            DiskEncryption::On { .. } => "on",
            DiskEncryption::Off => "off",
            DiskEncryption::Unknown { .. } => "unknown",
        }
    }
}

/// The disk encryption state for the file system holding `path`.
pub fn disk_encryption(path: &Path) -> DiskEncryption {
    imp::disk_encryption(path)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::DiskEncryption;
    use std::fs;
    use std::path::{Path, PathBuf};

    pub fn disk_encryption(path: &Path) -> DiskEncryption {
        let Some(dev) = block_device_of(path) else {
            return DiskEncryption::Unknown {
                why: "the file system is not on a block device Coffer can inspect".into(),
            };
        };
        if is_crypt(&dev, 0) {
            DiskEncryption::On {
                how: "LUKS/dm-crypt".into(),
            }
        } else {
            DiskEncryption::Off
        }
    }

    /// The sysfs directory of the block device under `path`'s file system.
    fn block_device_of(path: &Path) -> Option<PathBuf> {
        let canon = fs::canonicalize(path).ok()?;
        let st = rustix::fs::stat(&canon).ok()?;
        let (maj, min) = (rustix::fs::major(st.st_dev), rustix::fs::minor(st.st_dev));
        let direct = PathBuf::from(format!("/sys/dev/block/{maj}:{min}"));
        if maj != 0 && direct.exists() {
            return fs::canonicalize(direct).ok();
        }
        // btrfs, overlay and friends report anonymous device numbers: use
        // the mount's source device instead.
        let source = mount_source(&canon)?;
        let st = rustix::fs::stat(&source).ok()?;
        let (maj, min) = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
        fs::canonicalize(format!("/sys/dev/block/{maj}:{min}")).ok()
    }

    fn mount_source(path: &Path) -> Option<PathBuf> {
        let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let mut best: Option<(usize, PathBuf)> = None;
        for line in info.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let mount_point = f.get(4)?;
            let sep = f.iter().position(|x| *x == "-")?;
            let source = f.get(sep + 2)?;
            if path.starts_with(mount_point)
                && source.starts_with("/dev/")
                && best.as_ref().is_none_or(|(n, _)| mount_point.len() > *n)
            {
                best = Some((mount_point.len(), PathBuf::from(source)));
            }
        }
        best.map(|(_, p)| p)
    }

    /// Whether the device, or anything it is stacked on (LVM on LUKS, a
    /// partition of an encrypted disk), is a dm-crypt mapping.
    fn is_crypt(sys: &Path, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        if let Ok(uuid) = fs::read_to_string(sys.join("dm/uuid"))
            && uuid.starts_with("CRYPT-")
        {
            return true;
        }
        let mut parents: Vec<PathBuf> = fs::read_dir(sys.join("slaves"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        // A partition's parent disk.
        if sys.join("partition").exists()
            && let Some(p) = sys.parent()
        {
            parents.push(p.to_path_buf());
        }
        parents
            .iter()
            .filter_map(|p| fs::canonicalize(p).ok())
            .any(|p| is_crypt(&p, depth + 1))
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::DiskEncryption;
    use std::path::Path;

    pub fn disk_encryption(_: &Path) -> DiskEncryption {
        match std::process::Command::new("fdesetup")
            .arg("status")
            .output()
        {
            Ok(o) if String::from_utf8_lossy(&o.stdout).contains("FileVault is On") => {
                DiskEncryption::On {
                    how: "FileVault".into(),
                }
            }
            Ok(o) if String::from_utf8_lossy(&o.stdout).contains("FileVault is Off") => {
                DiskEncryption::Off
            }
            _ => DiskEncryption::Unknown {
                why: "fdesetup did not answer".into(),
            },
        }
    }
}

#[cfg(windows)]
mod imp {
    use super::DiskEncryption;
    use std::path::Path;

    pub fn disk_encryption(path: &Path) -> DiskEncryption {
        let drive: String = path.to_string_lossy().chars().take(2).collect();
        match std::process::Command::new("manage-bde")
            .args(["-status", &drive])
            .output()
        {
            Ok(o) if String::from_utf8_lossy(&o.stdout).contains("Protection On") => {
                DiskEncryption::On {
                    how: "BitLocker".into(),
                }
            }
            Ok(o) if String::from_utf8_lossy(&o.stdout).contains("Protection Off") => {
                DiskEncryption::Off
            }
            _ => DiskEncryption::Unknown {
                why: "manage-bde did not answer (it needs an administrator)".into(),
            },
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod imp {
    use super::DiskEncryption;
    use std::path::Path;

    pub fn disk_encryption(_: &Path) -> DiskEncryption {
        DiskEncryption::Unknown {
            why: "not implemented on this OS".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_a_state_for_the_temp_dir() {
        // This machine's disk is not encrypted; the point is that detection
        // runs without error and gives a definite or explained answer.
        let s = super::disk_encryption(&std::env::temp_dir());
        println!("{s:?}");
        if let super::DiskEncryption::Unknown { why } = &s {
            assert!(!why.is_empty());
        }
    }
}

//! Where the trail is shipped: the [`Sink`] type, the vault's own sink
//! list (`audit/sinks.json`) and syslog address parsing.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AUDIT_DIR;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const SINKS_FILE: &str = "sinks.json";

/// Where records are shipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Sink {
    /// A folder receiving `<device>-<vault>.jsonl` append-only copies.
    Directory {
        /// The folder.
        path: PathBuf,
    },
    /// A syslog receiver: `tcp://host:port`, `udp://host:port` or
    /// `unix:///dev/log`.
    Syslog {
        /// Where.
        url: String,
    },
}

impl Sink {
    /// A short description without secrets.
    pub fn describe(&self) -> String {
        match self {
            Sink::Directory { path } => format!("directory {}", path.display()),
            Sink::Syslog { url } => format!("syslog {url}"),
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkList {
    sinks: Vec<Sink>,
}

fn sinks_path(vault_dir: &Path) -> PathBuf {
    vault_dir.join(AUDIT_DIR).join(SINKS_FILE)
}

/// The sinks configured for the vault at `vault_dir`.
pub fn load(vault_dir: &Path) -> Result<Vec<Sink>> {
    const WHAT: &str = "audit sink list";
    match fsutil::read_bounded(&sinks_path(vault_dir), 1 << 20, WHAT) {
        Ok(b) => serde_json::from_slice::<SinkList>(&b)
            .map(|l| l.sinks)
            .map_err(|e| Error::corrupt(WHAT, e.to_string())),
        Err(e) if fsutil::is_not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the configured sinks.
pub fn save(vault_dir: &Path, sinks: &[Sink]) -> Result<()> {
    for s in sinks {
        if let Sink::Syslog { url } = s {
            parse_url(url)?;
        }
    }
    let p = sinks_path(vault_dir);
    fs::create_dir_all(p.parent().expect("audit dir")).ctx("creating the audit folder")?;
    let b = serde_json::to_vec_pretty(&SinkList {
        sinks: sinks.to_vec(),
    })
    .expect("serializes");
    fsutil::atomic_write(&p, &b)
}

/// A parsed syslog address.
pub(super) enum Target {
    Tcp(String),
    Udp(String),
    Unix(PathBuf),
}

/// Refuses a syslog address Coffer cannot ship to (for policy files).
pub fn check_url(url: &str) -> Result<()> {
    parse_url(url).map(|_| ())
}

pub(super) fn parse_url(url: &str) -> Result<Target> {
    let bad = || {
        Error::Invalid(format!(
            "not a syslog address: {url} (use tcp://host:port, udp://host:port or unix:///dev/log)"
        ))
    };
    if let Some(rest) = url.strip_prefix("tcp://") {
        rest.contains(':')
            .then(|| Target::Tcp(rest.into()))
            .ok_or_else(bad)
    } else if let Some(rest) = url.strip_prefix("udp://") {
        rest.contains(':')
            .then(|| Target::Udp(rest.into()))
            .ok_or_else(bad)
    } else if let Some(rest) = url.strip_prefix("unix://") {
        Ok(Target::Unix(rest.into()))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_syslog_urls_are_refused() {
        assert!(parse_url("tcp://h:514").is_ok());
        assert!(parse_url("udp://h").is_err());
        assert!(parse_url("http://h:1").is_err());
    }
}

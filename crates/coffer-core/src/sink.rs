//! Shipping the audit trail off the laptop: to a directory (e.g. a
//! mounted network share), as append-only per-device copies, and/or to
//! syslog (RFC 5424; TCP with octet-counting framing, UDP, or a local
//! socket). The exact log lines are shipped, so the copy verifies with the
//! same hash chain.
//!
//! The local log is the queue: each sink remembers how far it got (a
//! directory copy by its own last record; syslog in a small state file), and
//! every append or `coffer audit ship` sends what is missing. A sink that
//! is down just stays behind — nothing is lost, and sequence numbers make a
//! resend recognisable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::{AUDIT_DIR, AuditLog, Record};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const SINKS_FILE: &str = "sinks.json";
const NET_TIMEOUT: Duration = Duration::from_secs(3);

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

/// How one sink fared.
#[derive(Clone, Debug, Serialize)]
pub struct ShipReport {
    /// Which sink.
    pub sink: String,
    /// Records sent now.
    pub shipped: u64,
    /// Last sequence number the sink holds.
    pub shipped_up_to: u64,
    /// Why it is behind, if it is.
    pub error: Option<String>,
}

fn sinks_path(vault_dir: &Path) -> PathBuf {
    vault_dir.join(AUDIT_DIR).join(SINKS_FILE)
}

/// The sinks configured for the vault at `vault_dir`.
pub fn load(vault_dir: &Path) -> Result<Vec<Sink>> {
    const WHAT: &str = "audit sink list";
    match crate::fsutil::read_bounded(&sinks_path(vault_dir), 1 << 20, WHAT) {
        Ok(b) => serde_json::from_slice::<SinkList>(&b)
            .map(|l| l.sinks)
            .map_err(|e| Error::corrupt(WHAT, e.to_string())),
        Err(e) if crate::fsutil::is_not_found(&e) => Ok(Vec::new()),
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

/// Ships what each configured sink is missing.
pub fn ship_all(log: &AuditLog) -> Result<Vec<ShipReport>> {
    let vault_dir = log
        .path()
        .parent()
        .and_then(Path::parent)
        .expect("log lives in vault/audit")
        .to_path_buf();
    let mut sinks = load(&vault_dir)?;
    // The organisation's sinks always apply, whatever the user configured.
    if let Ok(p) = crate::policy::load() {
        for s in p.policy.audit.sinks {
            if !sinks.contains(&s) {
                sinks.push(s);
            }
        }
    }
    Ok(sinks.iter().map(|s| ship_one(log, s)).collect())
}

fn ship_one(log: &AuditLog, sink: &Sink) -> ShipReport {
    let res = match sink {
        Sink::Directory { path } => ship_directory(log, path),
        Sink::Syslog { url } => ship_syslog(log, url),
    };
    match res {
        Ok((shipped, up_to)) => ShipReport {
            sink: sink.describe(),
            shipped,
            shipped_up_to: up_to,
            error: None,
        },
        Err(e) => ShipReport {
            sink: sink.describe(),
            shipped: 0,
            shipped_up_to: 0,
            error: Some(e.to_string()),
        },
    }
}

/// The name of a device's copy in a directory sink.
pub fn copy_name(device: &str, vault: &str) -> String {
    format!("{device}-{vault}.jsonl")
}

/// Lines of the local log with sequence numbers above `after`, exactly as
/// written (so their hashes verify in the copy).
fn lines_after(log: &AuditLog, after: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    let f = match File::open(log.path()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                context: "reading the audit log",
                source: e,
            });
        }
    };
    let mut out = Vec::new();
    for line in BufReader::new(f).split(b'\n') {
        let line = line.ctx("reading the audit log")?;
        if line.is_empty() {
            continue;
        }
        // A line that does not parse (torn by a crash) is skipped: it is
        // acknowledged by the `log_repaired` record that follows it.
        if let Ok(r) = serde_json::from_slice::<Record>(&line)
            && r.seq > after
        {
            out.push((r.seq, line));
        }
    }
    Ok(out)
}

fn ship_directory(log: &AuditLog, dir: &Path) -> Result<(u64, u64)> {
    if !dir.is_dir() {
        return Err(Error::Io {
            context: "the audit sink folder is not reachable",
            source: io::Error::from(io::ErrorKind::NotFound),
        });
    }
    let id = log.identity();
    let path = dir.join(copy_name(&id.device, &id.vault));
    // The share is written by every device: a link planted in our copy's
    // place must not make us truncate or append to whatever it points at.
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut f = o.open(&path).ctx("opening the shipped audit copy")?;
    if !f
        .metadata()
        .ctx("opening the shipped audit copy")?
        .is_file()
    {
        return Err(Error::Io {
            context: "the shipped audit copy is not a regular file",
            source: io::Error::from(io::ErrorKind::InvalidData),
        });
    }
    f.lock().ctx("locking the shipped audit copy")?;
    let (last, torn) = last_seq_of(&mut f)?;
    if torn > 0 {
        // Our own append was cut short: drop the fragment, resend the record.
        let len = f.metadata().ctx("reading the shipped audit copy")?.len();
        f.set_len(len - torn)
            .ctx("repairing the shipped audit copy")?;
    }
    let lines = lines_after(log, last)?;
    let mut buf = Vec::new();
    let mut up_to = last;
    for (seq, line) in &lines {
        buf.extend_from_slice(line);
        buf.push(b'\n');
        up_to = *seq;
    }
    if !buf.is_empty() {
        f.write_all(&buf).ctx("writing the shipped audit copy")?;
        f.sync_data().ctx("syncing the shipped audit copy")?;
    }
    Ok((lines.len() as u64, up_to))
}

/// The last record's sequence number in a copy, and the length of a torn
/// final fragment.
fn last_seq_of(f: &mut File) -> Result<(u64, u64)> {
    let len = f.metadata().ctx("reading an audit copy")?.len();
    let start = len.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(start))
        .ctx("reading an audit copy")?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ctx("reading an audit copy")?;
    let torn = buf.iter().rev().take_while(|b| **b != b'\n').count() as u64;
    let complete = &buf[..buf.len() - torn as usize];
    let seq = complete
        .split(|b| *b == b'\n')
        .rev()
        .find_map(|l| serde_json::from_slice::<Record>(l).ok())
        .map_or(0, |r| r.seq);
    Ok((seq, torn))
}

#[derive(Default, Serialize, Deserialize)]
struct SyslogState {
    shipped_up_to: u64,
}

enum Target {
    Tcp(String),
    Udp(String),
    Unix(PathBuf),
}

/// Refuses a syslog address Coffer cannot ship to (for policy files).
pub fn check_url(url: &str) -> Result<()> {
    parse_url(url).map(|_| ())
}

fn parse_url(url: &str) -> Result<Target> {
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

/// One RFC 5424 message carrying a record line.
fn syslog_message(line: &[u8]) -> Vec<u8> {
    let r: Record = serde_json::from_slice(line).expect("only parsed lines are shipped");
    // PRI 85 = facility authpriv (10) * 8 + severity notice (5).
    let mut m = format!(
        "<85>1 {} {} coffer - {} [coffer@32473 seq=\"{}\" device=\"{}\" vault=\"{}\"] ",
        r.ts, r.host, r.event, r.seq, r.device, r.vault
    )
    .into_bytes();
    m.extend_from_slice(line);
    m
}

fn ship_syslog(log: &AuditLog, url: &str) -> Result<(u64, u64)> {
    let target = parse_url(url)?;
    let state_path = log.path().with_file_name(format!(
        "syslog-{}.state",
        &crate::audit::line_hash(url.as_bytes())[..16]
    ));
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(state_path.with_extension("lock"))
        .ctx("opening the syslog shipping state")?;
    lock.lock().ctx("locking the syslog shipping state")?;
    let state: SyslogState = crate::fsutil::read_bounded(&state_path, 64 << 10, "shipping state")
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let lines = lines_after(log, state.shipped_up_to)?;
    if lines.is_empty() {
        return Ok((0, state.shipped_up_to));
    }
    let net = |context: &'static str| move |source: io::Error| Error::Io { context, source };
    let mut up_to = state.shipped_up_to;
    let mut sent = 0;
    let save = |up_to: u64| {
        fsutil::atomic_write(
            &state_path,
            &serde_json::to_vec(&SyslogState {
                shipped_up_to: up_to,
            })
            .expect("serializes"),
        )
    };
    let result = (|| -> Result<()> {
        match &target {
            Target::Tcp(addr) => {
                let sa = addr
                    .to_socket_addrs()
                    .map_err(net("resolving the syslog host"))?
                    .next()
                    .ok_or_else(|| Error::Invalid(format!("{addr} does not resolve")))?;
                let mut s = TcpStream::connect_timeout(&sa, NET_TIMEOUT)
                    .map_err(net("connecting to the syslog host"))?;
                s.set_write_timeout(Some(NET_TIMEOUT))
                    .map_err(net("configuring the syslog connection"))?;
                for (seq, line) in &lines {
                    let msg = syslog_message(line);
                    // RFC 6587 octet counting.
                    s.write_all(format!("{} ", msg.len()).as_bytes())
                        .and_then(|()| s.write_all(&msg))
                        .map_err(net("sending to the syslog host"))?;
                    up_to = *seq;
                    sent += 1;
                }
                s.flush().map_err(net("sending to the syslog host"))?;
                // Half-close and wait for the receiver to close, so the
                // records are read before they count as shipped.
                let _ = s.shutdown(std::net::Shutdown::Write);
                let _ = s.set_read_timeout(Some(NET_TIMEOUT));
                let _ = s.read(&mut [0u8; 1]);
            }
            Target::Udp(addr) => {
                let s = UdpSocket::bind("0.0.0.0:0").map_err(net("opening a syslog socket"))?;
                s.connect(addr.as_str())
                    .map_err(net("resolving the syslog host"))?;
                for (seq, line) in &lines {
                    s.send(&syslog_message(line))
                        .map_err(net("sending to the syslog host"))?;
                    up_to = *seq;
                    sent += 1;
                }
            }
            Target::Unix(path) => {
                #[cfg(unix)]
                {
                    let s = std::os::unix::net::UnixDatagram::unbound()
                        .map_err(net("opening a syslog socket"))?;
                    for (seq, line) in &lines {
                        s.send_to(&syslog_message(line), path)
                            .map_err(net("sending to the local syslog"))?;
                        up_to = *seq;
                        sent += 1;
                    }
                }
                #[cfg(not(unix))]
                return Err(Error::Invalid(format!(
                    "no local syslog socket {}",
                    path.display()
                )));
            }
        }
        Ok(())
    })();
    if up_to > state.shipped_up_to {
        save(up_to)?;
    }
    let _ = lock.unlock();
    result.map(|()| (sent, up_to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, Identity};

    #[test]
    fn directory_sink_catches_up_without_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let vault = d.path().join("v");
        let share = d.path().join("share");
        let log = AuditLog::new(&vault, Identity::current(&[2; 16]));
        save(
            &vault,
            &[Sink::Directory {
                path: share.clone(),
            }],
        )
        .unwrap();
        // Share unreachable: records queue in the log.
        log.append(&[AuditEvent::VaultCreated]).unwrap();
        log.append(&[AuditEvent::FolderProtected]).unwrap();
        fs::create_dir(&share).unwrap();
        log.append(&[AuditEvent::FolderUnprotected]).unwrap();
        ship_all(&log).unwrap();
        let id = log.identity();
        let copy = share.join(copy_name(&id.device, &id.vault));
        let bytes = fs::read(&copy).unwrap();
        let rep = crate::audit::verify_chain(&bytes, log.checkpoint().as_ref());
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.verified, 3);
        assert_eq!(
            fs::read(log.path()).unwrap(),
            bytes,
            "exact copy, each record once"
        );
    }

    #[test]
    fn bad_syslog_urls_are_refused() {
        assert!(parse_url("tcp://h:514").is_ok());
        assert!(parse_url("udp://h").is_err());
        assert!(parse_url("http://h:1").is_err());
    }
}

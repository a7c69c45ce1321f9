//! Shipping the audit trail off the laptop: to a directory (e.g. a
//! mounted network share), as append-only per-device copies, and/or to
//! syslog (RFC 5424; TCP with octet-counting framing, UDP, or a local
//! socket). The exact log lines are shipped, so the copy verifies with the
//! same hash chain.
//!
//! The local log is the queue: each sink remembers how far it got (a
//! directory copy by its own last record; syslog in a small state file),
//! and each shipment sends what is missing. A sink that is down just stays
//! behind: nothing is lost, and sequence numbers make a resend
//! recognisable. Shipping waits on the network (seconds, for a syslog host
//! that does not answer), so it is never done while the vault's writer
//! lock is held: appends only mark the log as unshipped, and the holder
//! ships once it has let go ([`ShipOnRelease`], on a thread of its own so
//! that an operation's next batch never waits on a sink that is down), and
//! whatever is left when a handle is dropped ([`AuditLog::ship_pending`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::chain::line_hash;
use super::log::AuditLog;
use super::record::{Record, parse_record};
use super::sinks::{Sink, Target, load, parse_url};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const NET_TIMEOUT: Duration = Duration::from_secs(3);

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

/// Ships what each sink is missing: the vault's own list and the log's
/// extra (organisation) sinks.
pub fn ship_all(log: &AuditLog) -> Result<Vec<ShipReport>> {
    log.mark_offered();
    let mut sinks = load(log.vault_dir())?;
    for s in log.extra_sinks() {
        if !sinks.contains(s) {
            sinks.push(s.clone());
        }
    }
    Ok(sinks.iter().map(|s| ship_one(log, s)).collect())
}

impl AuditLog {
    /// Ships what each sink is missing (see [`ship_all`]).
    pub fn ship(&self) -> Result<Vec<ShipReport>> {
        ship_all(self)
    }

    /// Ships if this handle appended since it last shipped, after any
    /// shipment already running in the background has ended. Never fails:
    /// unshipped records stay queued in the log and go with the next
    /// shipment or `coffer audit ship`. Call it holding no lock.
    pub fn ship_pending(&self) {
        self.background().wait();
        if self.take_unshipped() {
            let _ = ship_all(self);
        }
    }

    /// Ships what this handle appended on a thread of its own, so the
    /// caller (an operation that just released the writer lock, with more
    /// batches to go) never waits on the network. One shipment at a time
    /// per log handle: a request while one runs makes it go round again.
    pub fn ship_in_background(&self) {
        if !self.take_unshipped() {
            return;
        }
        let bg = self.background();
        let mut st = bg.lock();
        if st.running {
            st.again = true;
            return;
        }
        st.running = true;
        let log = self.clone();
        let bg2 = bg.clone();
        let spawned = std::thread::Builder::new()
            .name("coffer-audit-ship".into())
            .spawn(move || {
                loop {
                    let _ = ship_all(&log);
                    let mut st = bg2.lock();
                    if !std::mem::take(&mut st.again) {
                        st.running = false;
                        break;
                    }
                }
            });
        match spawned {
            Ok(h) => st.handle = Some(h),
            Err(_) => {
                // No thread to be had: ship here rather than not at all.
                st.running = false;
                drop(st);
                let _ = ship_all(self);
            }
        }
    }

    /// Wraps a lock so that records appended under it are shipped once it
    /// is released, and not before.
    pub fn ship_on_release<L>(&self, lock: L) -> ShipOnRelease<L> {
        ShipOnRelease {
            lock: Some(lock),
            log: self.clone(),
        }
    }
}

/// A lock (the vault's writer lock) that, when dropped, is released first
/// and then ships what was appended while it was held.
#[must_use = "the lock is released when this is dropped"]
pub struct ShipOnRelease<L> {
    lock: Option<L>,
    log: AuditLog,
}

impl<L> Drop for ShipOnRelease<L> {
    fn drop(&mut self) {
        drop(self.lock.take());
        self.log.ship_in_background();
    }
}

/// The background shipment of a log handle and its clones.
#[derive(Debug, Default)]
pub(super) struct BgState {
    running: bool,
    again: bool,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// Shared between a log handle's clones.
#[derive(Clone, Debug, Default)]
pub(super) struct Background(std::sync::Arc<std::sync::Mutex<BgState>>);

impl Background {
    fn lock(&self) -> std::sync::MutexGuard<'_, BgState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for the running shipment (and its rounds) to end.
    pub(super) fn wait(&self) {
        loop {
            let h = self.lock().handle.take();
            match h {
                Some(h) => {
                    let _ = h.join();
                }
                None => return,
            }
        }
    }
}

impl<L: std::fmt::Debug> std::fmt::Debug for ShipOnRelease<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShipOnRelease")
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
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

impl AuditLog {
    /// Where this device's copies of the log lie in directory sinks (the
    /// vault's own list and the organisation's), whether or not they exist.
    pub fn directory_copies(&self) -> Vec<std::path::PathBuf> {
        let mut sinks = load(self.vault_dir()).unwrap_or_default();
        sinks.extend(self.extra_sinks().iter().cloned());
        let id = self.identity();
        sinks
            .iter()
            .filter_map(|s| match s {
                super::Sink::Directory { path } => {
                    Some(path.join(copy_name(&id.device, &id.vault)))
                }
                _ => None,
            })
            .collect()
    }
}

/// The name of a device's copy in a directory sink.
pub fn copy_name(device: &str, vault: &str) -> String {
    format!("{device}-{vault}.jsonl")
}

/// Records of the local log with sequence numbers above `after`, with
/// their lines exactly as written (so their hashes verify in the copy).
fn lines_after(log: &AuditLog, after: u64) -> Result<Vec<(Record, Vec<u8>)>> {
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
        // A line that does not parse (torn by a crash) is skipped: it is
        // acknowledged by the `log_repaired` record that follows it.
        if let Some(r) = parse_record(&line)
            && r.seq > after
        {
            out.push((r, line));
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
    for (r, line) in &lines {
        buf.extend_from_slice(line);
        buf.push(b'\n');
        up_to = r.seq;
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
        .find_map(parse_record)
        .map_or(0, |r| r.seq);
    Ok((seq, torn))
}

#[derive(Default, Serialize, Deserialize)]
struct SyslogState {
    shipped_up_to: u64,
}

/// One RFC 5424 message carrying a record line.
fn syslog_message(r: &Record, line: &[u8]) -> Vec<u8> {
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
    let state_path = log
        .path()
        .with_file_name(format!("syslog-{}.state", &line_hash(url.as_bytes())[..16]));
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(state_path.with_extension("lock"))
        .ctx("opening the syslog shipping state")?;
    lock.lock().ctx("locking the syslog shipping state")?;
    let state: SyslogState = fsutil::read_bounded(&state_path, 64 << 10, "shipping state")
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
                for (r, line) in &lines {
                    let msg = syslog_message(r, line);
                    // RFC 6587 octet counting.
                    s.write_all(format!("{} ", msg.len()).as_bytes())
                        .and_then(|()| s.write_all(&msg))
                        .map_err(net("sending to the syslog host"))?;
                    up_to = r.seq;
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
                for (r, line) in &lines {
                    s.send(&syslog_message(r, line))
                        .map_err(net("sending to the syslog host"))?;
                    up_to = r.seq;
                    sent += 1;
                }
            }
            Target::Unix(path) => {
                #[cfg(unix)]
                {
                    let s = std::os::unix::net::UnixDatagram::unbound()
                        .map_err(net("opening a syslog socket"))?;
                    for (r, line) in &lines {
                        s.send_to(&syslog_message(r, line), path)
                            .map_err(net("sending to the local syslog"))?;
                        up_to = r.seq;
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
    use std::fs;

    use super::*;
    use crate::audit::sinks::save;
    use crate::audit::{AuditEvent, Identity, verify_chain};

    fn shipping_to(share: &Path, vault: &Path) -> AuditLog {
        save(
            vault,
            &[Sink::Directory {
                path: share.to_path_buf(),
            }],
        )
        .unwrap();
        AuditLog::new(vault, Identity::current(&[2; 16]))
    }

    fn copy_of(share: &Path, log: &AuditLog) -> std::path::PathBuf {
        let id = log.identity();
        share.join(copy_name(&id.device, &id.vault))
    }

    #[test]
    fn directory_sink_catches_up_without_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let vault = d.path().join("v");
        let share = d.path().join("share");
        let log = shipping_to(&share, &vault);
        // Share unreachable: records queue in the log.
        log.append(&[AuditEvent::VaultCreated]).unwrap();
        log.append(&[AuditEvent::FolderProtected]).unwrap();
        let down = ship_all(&log).unwrap();
        assert!(down[0].error.is_some(), "{down:?}");
        fs::create_dir(&share).unwrap();
        log.append(&[AuditEvent::FolderUnprotected]).unwrap();
        ship_all(&log).unwrap();
        let bytes = fs::read(copy_of(&share, &log)).unwrap();
        let rep = verify_chain(&bytes, log.checkpoint().as_ref());
        assert!(rep.ok(), "{rep:?}");
        // Three records and the device's enrolment.
        assert_eq!(rep.verified, 4);
        assert_eq!(
            fs::read(log.path()).unwrap(),
            bytes,
            "exact copy, each record once"
        );
    }

    #[test]
    fn appending_never_ships_and_shipping_pending_does_once() {
        let d = tempfile::tempdir().unwrap();
        let vault = d.path().join("v");
        let share = d.path().join("share");
        fs::create_dir(&share).unwrap();
        let log = shipping_to(&share, &vault);
        let copy = copy_of(&share, &log);
        log.append(&[AuditEvent::VaultCreated]).unwrap();
        assert!(!copy.exists(), "append only appends");
        log.clone().ship_pending();
        assert_eq!(fs::read(&copy).unwrap(), fs::read(log.path()).unwrap());
        // Nothing new: nothing is shipped (the removed copy stays away).
        fs::remove_file(&copy).unwrap();
        log.ship_pending();
        assert!(!copy.exists());
    }

    #[test]
    fn records_appended_under_a_lock_ship_once_it_is_released() {
        let d = tempfile::tempdir().unwrap();
        let vault = d.path().join("v");
        let share = d.path().join("share");
        let org = d.path().join("org-share");
        fs::create_dir(&share).unwrap();
        fs::create_dir(&org).unwrap();
        let log =
            shipping_to(&share, &vault).with_sinks(vec![Sink::Directory { path: org.clone() }]);
        let lock = std::sync::Mutex::new(());
        let guard = log.ship_on_release(lock.lock().unwrap());
        log.append(&[AuditEvent::FolderProtected]).unwrap();
        assert!(!copy_of(&share, &log).exists());
        drop(guard);
        assert!(lock.try_lock().is_ok());
        // Shipped on a thread of its own: wait for it.
        log.background().wait();
        for s in [&share, &org] {
            assert_eq!(
                fs::read(copy_of(s, &log)).unwrap(),
                fs::read(log.path()).unwrap(),
                "the vault's and the organisation's sinks"
            );
        }
    }
}

//! End-to-end tests of `coffer watch --json`: the real binary, a real vault
//! and a real protected folder, with the vault LOCKED (the watcher never
//! sees `COFFER_PASSPHRASE`). Contents are checked afterwards with the
//! passphrase, through `coffer ls` / `cat` / `extract`.
//!
//! Waiting is always "poll until a deadline", never a fixed sleep. The few
//! fixed windows below are observation windows that prove something did NOT
//! happen (e.g. a temporary file is not taken); they are longer than the
//! watcher's quiet periods (200 ms after close, 1 s otherwise).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_coffer");
const PASS: &str = "watch tests passphrase";
/// Longer than both of the watcher's quiet periods.
const OBSERVE: Duration = Duration::from_millis(1600);
/// How long a single small file may take, on a busy 2-core debug build.
const SMALL: Duration = Duration::from_secs(30);
/// How long the 10,000-file bursts may take (debug build, 2 shared cores).
const BURST: Duration = Duration::from_secs(150);
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------- helpers

/// Deterministic contents for file `seed`.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fastrand::Rng::with_seed(seed).fill(&mut v);
    v
}

/// Size of file `i` of a burst: 1–8 KiB.
fn burst_len(i: usize) -> usize {
    1024 + (i * 7919) % (7 * 1024 + 1)
}

fn burst_name(i: usize) -> String {
    format!("f{i:05}.bin")
}

fn write_file(path: &Path, data: &[u8]) {
    let mut f = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(data).expect("write");
    // Closed here: the close-after-write the watcher waits for.
}

/// A `coffer` command on `vault`, without any credential in its environment.
fn coffer(vault: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--vault")
        .arg(vault)
        .env_remove("COFFER_PASSPHRASE")
        .env_remove("COFFER_NEW_PASSPHRASE")
        .env_remove("COFFER_RECOVERY_KEY")
        .env_remove("COFFER_VAULT")
        .stdin(Stdio::null());
    c
}

fn run_ok(mut c: Command, what: &str) -> Output {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run coffer: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Polls `cond` every 10 ms until it holds; panics after `timeout`.
fn poll_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A vault plus one protected folder, `<tmp>/inbox`, stored under `inbox/`.
struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    vault: PathBuf,
    inbox: PathBuf,
}

/// One path in the vault, as `coffer --json ls` shows it.
#[derive(Debug)]
struct Listed {
    size: u64,
    versions: u64,
}

impl Setup {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(tmp.path()).expect("canonical tempdir");
        let vault = root.join("vault");
        let inbox = root.join("inbox");
        fs::create_dir(&inbox).expect("mkdir inbox");
        let mut init = coffer(&vault);
        init.args([
            "--json",
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
            "--kdf-lanes",
            "1",
        ])
        .env("COFFER_PASSPHRASE", PASS);
        run_ok(init, "init");
        // Protecting needs no passphrase either.
        let mut protect = coffer(&vault);
        protect.args(["--json", "protect"]).arg(&inbox);
        let out = run_ok(protect, "protect");
        let v: Value = serde_json::from_slice(&out.stdout).expect("protect --json output");
        assert_eq!(v["added"], 0, "the new folder is empty: {v}");
        Setup {
            _tmp: tmp,
            root,
            vault,
            inbox,
        }
    }

    fn watch(&self) -> Watcher {
        Watcher::start(&self.vault)
    }

    /// `coffer --json ls` (with the passphrase): path → size and versions.
    fn ls(&self) -> BTreeMap<String, Listed> {
        let mut c = coffer(&self.vault);
        c.args(["--json", "ls"]).env("COFFER_PASSPHRASE", PASS);
        let out = run_ok(c, "ls");
        let v: Value = serde_json::from_slice(&out.stdout).expect("ls --json output");
        assert_eq!(v["unreadable"], 0, "unreadable objects: {v}");
        // Whatever the watcher went through (bursts, kills, restarts), the
        // vault matches what its writers endorsed (FORMAT.md §17).
        assert_eq!(
            v["integrity"]["problems"],
            serde_json::json!([]),
            "integrity problems: {v}"
        );
        v["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().expect("path").to_owned(),
                    Listed {
                        size: f["size"].as_u64().expect("size"),
                        versions: f["versions"].as_u64().expect("versions"),
                    },
                )
            })
            .collect()
    }

    /// `coffer cat` (with the passphrase), optionally of one version.
    fn cat(&self, path: &str, version: Option<usize>) -> Vec<u8> {
        let mut c = coffer(&self.vault);
        c.args(["cat", path]).env("COFFER_PASSPHRASE", PASS);
        if let Some(n) = version {
            c.args(["--version", &n.to_string()]);
        }
        run_ok(c, &format!("cat {path}")).stdout
    }

    /// Decrypts everything under `inbox/` into a fresh folder; returns
    /// the folder that mirrors `inbox`.
    fn extract_inbox(&self) -> PathBuf {
        let out = self.root.join("extracted");
        let _ = fs::remove_dir_all(&out);
        let mut c = coffer(&self.vault);
        c.args(["--json", "extract", "inbox", "--to"])
            .arg(&out)
            .env("COFFER_PASSPHRASE", PASS);
        run_ok(c, "extract");
        out.join("inbox")
    }

    /// Decrypts the given vault paths (files) into a fresh folder, by name.
    fn extract(&self, paths: &[String]) -> PathBuf {
        let out = self.root.join("extracted-files");
        let _ = fs::remove_dir_all(&out);
        let mut c = coffer(&self.vault);
        c.args(["--json", "extract"])
            .args(paths)
            .arg("--to")
            .arg(&out)
            .env("COFFER_PASSPHRASE", PASS);
        run_ok(c, "extract");
        out
    }

    /// Names of the regular files still in plaintext under the inbox.
    fn plaintexts(&self) -> Vec<PathBuf> {
        walk_files(&self.inbox)
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => out.push(e.path()),
                Err(_) => {}
            }
        }
    }
    out
}

/// A running `coffer watch --json`; killed (SIGKILL) when dropped.
struct Watcher {
    child: Child,
    rx: Receiver<Value>,
    /// Every event seen so far, in order.
    events: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl Watcher {
    /// Starts the watcher (locked vault) and waits for its `ready` event.
    fn start(vault: &Path) -> Self {
        let mut c = coffer(vault);
        c.args(["--json", "watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn coffer watch");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({"event": "unparsable", "line": line}));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut w = Watcher {
            child,
            rx,
            events: Vec::new(),
            stderr,
        };
        w.wait_for("the ready event", SMALL, |e| e["event"] == "ready");
        w
    }

    /// The `ready` event the watcher started with.
    fn ready(&self) -> Value {
        self.events
            .iter()
            .find(|e| e["event"] == "ready")
            .cloned()
            .expect("started watchers have a ready event")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Takes one event if one comes before `deadline`.
    fn next_until(&mut self, deadline: Instant) -> Option<&Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => {
                self.events.push(v);
                self.events.last()
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                // The process is gone: nothing more will come.
                if Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                None
            }
        }
    }

    /// Takes whatever events are already there, without waiting.
    fn pump(&mut self) {
        while let Ok(v) = self.rx.try_recv() {
            self.events.push(v);
        }
    }

    fn diagnostics(&mut self) -> String {
        self.pump();
        let tail: Vec<String> = self
            .events
            .iter()
            .filter(|e| e["event"] != "encrypted")
            .map(|e| e.to_string())
            .collect();
        format!(
            "{} encrypted events; other events: {:?}; exit: {:?}; stderr: {}",
            self.count("encrypted"),
            tail,
            self.child.try_wait().ok().flatten(),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits for an event matching `pred` (among the new ones).
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(v) = self.next_until(deadline)
                && pred(v)
            {
                return v.clone();
            }
        }
        let d = self.diagnostics();
        panic!("timed out after {timeout:?} waiting for {what}; {d}");
    }

    fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|e| e["event"] == kind).count()
    }

    /// Waits until `n` `encrypted` events have been seen in total.
    fn wait_encrypted(&mut self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count("encrypted") < n {
            if Instant::now() >= deadline {
                let d = self.diagnostics();
                panic!("timed out after {timeout:?} waiting for {n} encrypted events; {d}");
            }
            self.next_until(deadline);
        }
    }

    /// Collects events for `window` (to show that nothing else happens).
    fn observe(&mut self, window: Duration) {
        let deadline = Instant::now() + window;
        while Instant::now() < deadline {
            self.next_until(deadline);
        }
    }

    /// Sizes of all `encrypted` events so far.
    fn encrypted_sizes(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter(|e| e["event"] == "encrypted")
            .map(|e| e["size"].as_u64().expect("size"))
            .collect()
    }

    /// No `failed`, `warning` or unparsable output so far.
    fn assert_no_trouble(&mut self) {
        self.pump();
        let bad: Vec<&Value> = self
            .events
            .iter()
            .filter(|e| !matches!(e["event"].as_str(), Some("ready" | "encrypted")))
            .collect();
        assert!(bad.is_empty(), "unexpected watcher events: {bad:?}");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.kill();
    }
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill {sig} {pid}");
}

// ------------------------------------------------------------------ tests

#[test]
fn a_swapped_public_key_stops_the_watcher_from_encrypting() {
    let s = Setup::new();
    let mut w = s.watch();
    // Another vault's public key, written into this vault's config by
    // someone who can write the vault folder.
    let other = Setup::new();
    let read = |p: &Path| -> Value {
        serde_json::from_slice(&fs::read(p.join("vault.json")).unwrap()).unwrap()
    };
    let mut cfg = read(&s.vault);
    cfg["key_versions"][0]["public_key"] =
        read(&other.vault)["key_versions"][0]["public_key"].clone();
    fs::write(
        s.vault.join("vault.json"),
        serde_json::to_vec_pretty(&cfg).unwrap(),
    )
    .unwrap();
    let letter = s.inbox.join("letter.txt");
    write_file(&letter, b"patient letter");
    let failed = w.wait_for("a failed batch", SMALL, |e| e["event"] == "failed");
    assert_eq!(failed["error"], "tampered", "{failed}");
    w.observe(OBSERVE);
    assert_eq!(w.count("encrypted"), 0);
    assert_eq!(fs::read(&letter).unwrap(), b"patient letter");
    let log = fs::read_to_string(s.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("\"problem\":\"config_tampered\""), "{log}");
}

#[test]
fn keys_replaced_while_it_runs_do_not_stop_the_watcher_or_raise_an_alarm() {
    let s = Setup::new();
    let mut w = s.watch();
    write_file(&s.inbox.join("before.txt"), b"before the response");
    w.wait_encrypted(1, SMALL);
    // Someone may know the passphrase: every key and credential is
    // replaced while the watcher runs with the old writer key.
    let mut c = coffer(&s.vault);
    c.args([
        "--json",
        "passwd",
        "--exposed",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
        "--kdf-lanes",
        "1",
    ])
    .env("COFFER_PASSPHRASE", PASS)
    .env("COFFER_NEW_PASSPHRASE", "the new watch passphrase");
    let out = run_ok(c, "passwd --exposed");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rotation"]["kind"], "rekey", "{v}");
    write_file(&s.inbox.join("after.txt"), b"after the response");
    w.wait_encrypted(2, SMALL);
    w.assert_no_trouble();
    let log = fs::read_to_string(s.vault.join("audit/log.jsonl")).unwrap();
    assert!(!log.contains("config_tampered"), "{log}");
    let mut c = coffer(&s.vault);
    c.args(["--json", "cat", "inbox/after.txt"])
        .env("COFFER_PASSPHRASE", "the new watch passphrase");
    assert_eq!(run_ok(c, "cat").stdout, b"after the response");
    let mut c = coffer(&s.vault);
    c.args(["--json", "verify"])
        .env("COFFER_PASSPHRASE", "the new watch passphrase");
    run_ok(c, "verify");
}

#[test]
fn files_at_the_size_edges_are_encrypted_and_read_back_identical() {
    let s = Setup::new();
    let mut w = s.watch();
    let sizes = [0, 1, 65535, 65536, 65537, 50 * MIB];
    let mut expect: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let name = format!("size-{n}.bin");
        let data = content(i as u64, n);
        write_file(&s.inbox.join(&name), &data);
        expect.push((name, data));
    }
    // Also one dropped in by a move from elsewhere on the same disk (a file
    // manager's "move"): no close-after-write event is seen for it.
    let staged = s.root.join("staged.pdf");
    let moved = content(99, 65537);
    write_file(&staged, &moved);
    fs::rename(&staged, s.inbox.join("moved-in.pdf")).expect("move in");
    expect.push(("moved-in.pdf".into(), moved));

    w.wait_encrypted(expect.len(), Duration::from_secs(60));
    for (name, _) in &expect {
        let p = s.inbox.join(name);
        poll_until(SMALL, &format!("{name}'s plaintext to go"), || !p.exists());
    }
    let mut got = w.encrypted_sizes();
    got.sort_unstable();
    let mut want: Vec<u64> = expect.iter().map(|(_, d)| d.len() as u64).collect();
    want.sort_unstable();
    assert_eq!(got, want, "sizes reported by the encrypted events");

    let listed = s.ls();
    assert_eq!(listed.len(), expect.len(), "{listed:?}");
    for (name, data) in &expect {
        let path = format!("inbox/{name}");
        let l = listed
            .get(&path)
            .unwrap_or_else(|| panic!("{path} missing: {listed:?}"));
        assert_eq!((l.size, l.versions), (data.len() as u64, 1), "{path}");
        assert!(s.cat(&path, None) == *data, "{path}: contents differ");
    }
    w.observe(Duration::from_millis(300));
    assert_eq!(w.count("encrypted"), expect.len(), "each file exactly once");
    w.assert_no_trouble();
}

#[test]
fn slow_writer_is_not_taken_before_it_closes() {
    let s = Setup::new();
    let mut w = s.watch();
    let path = s.inbox.join("scan.tiff");
    let data = content(7, 20 * MIB);
    let pieces = 40; // 512 KiB every 100 ms: ~4 s
    let mut f = File::create(&path).expect("create");
    let started = Instant::now();
    for (k, piece) in data.chunks(data.len() / pieces).enumerate() {
        f.write_all(piece).expect("write piece");
        std::thread::sleep(Duration::from_millis(100)); // the writer's pace
        w.pump();
        assert!(
            path.exists(),
            "plaintext gone while still being written (piece {k})"
        );
        assert_eq!(
            w.count("encrypted"),
            0,
            "encrypted while open for writing (piece {k})"
        );
    }
    assert!(started.elapsed() >= Duration::from_secs(4));
    drop(f);
    let closed = Instant::now();
    let ev = w.wait_for("the encrypted event", SMALL, |e| e["event"] == "encrypted");
    assert_eq!(ev["size"].as_u64(), Some(data.len() as u64), "{ev}");
    poll_until(SMALL, "the plaintext to go", || !path.exists());
    eprintln!("slow writer: taken {:?} after close", closed.elapsed());
    let l = s.ls();
    assert_eq!(l["inbox/scan.tiff"].versions, 1);
    assert!(
        s.cat("inbox/scan.tiff", None) == data,
        "the vault must hold the whole 20 MiB"
    );
    w.assert_no_trouble();
}

#[test]
fn file_held_open_for_writing_is_not_taken_until_closed() {
    let s = Setup::new();
    let mut w = s.watch();
    let path = s.inbox.join("letter.docx");
    let data = content(8, 4096);
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("create");
    f.write_all(&data).expect("write");
    f.flush().expect("flush");
    // Open but idle for 3 s: far longer than the quiet periods, so only the
    // "open for writing" check keeps the watcher off it.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        w.next_until((Instant::now() + Duration::from_millis(100)).min(until));
        assert!(
            path.exists(),
            "plaintext taken while a writer holds it open"
        );
        assert_eq!(
            w.count("encrypted"),
            0,
            "encrypted while held open for writing"
        );
    }
    drop(f);
    let ev = w.wait_for("the encrypted event", SMALL, |e| e["event"] == "encrypted");
    assert_eq!(ev["size"].as_u64(), Some(4096));
    poll_until(SMALL, "the plaintext to go", || !path.exists());
    assert!(s.cat("inbox/letter.docx", None) == data);
    w.assert_no_trouble();
}

#[test]
fn editor_style_save_stores_the_final_file_never_the_temporary() {
    let s = Setup::new();
    let mut w = s.watch();
    let doc = s.inbox.join("doc.txt");
    let tmp = s.inbox.join("doc.txt.tmp");
    let v1 = b"version one\n".to_vec();
    let v2 = b"version two, saved through doc.txt.tmp\n".to_vec();
    let v3 = b"an unsaved draft that is replaced\n".to_vec();
    let v4 = b"version four, renamed over the draft\n".to_vec();

    // 1. A plain first save.
    write_file(&doc, &v1);
    w.wait_encrypted(1, SMALL);
    poll_until(SMALL, "doc.txt to go", || !doc.exists());

    // 2. Save via a temporary: the temporary sits there, closed, for longer
    //    than the quiet periods and must not be taken; then it is renamed.
    write_file(&tmp, &v2);
    w.observe(OBSERVE);
    assert!(tmp.exists(), "the temporary file was taken");
    assert_eq!(w.count("encrypted"), 1, "the temporary file was encrypted");
    fs::rename(&tmp, &doc).expect("rename");
    w.wait_encrypted(2, SMALL);
    poll_until(SMALL, "doc.txt to go", || !doc.exists());

    // 3. Rename over an existing doc.txt (held open by its writer so the
    //    watcher cannot take it first).
    let mut draft = File::create(&doc).expect("create draft");
    draft.write_all(&v3).expect("write draft");
    write_file(&tmp, &v4);
    fs::rename(&tmp, &doc).expect("rename over");
    drop(draft);
    w.wait_encrypted(3, SMALL);
    poll_until(SMALL, "doc.txt to go", || !doc.exists());
    assert!(!tmp.exists());
    w.observe(OBSERVE);
    assert_eq!(w.count("encrypted"), 3, "exactly the three saves");

    let l = s.ls();
    assert!(
        l.keys().all(|p| !p.ends_with(".tmp")),
        "a temporary file reached the vault: {l:?}"
    );
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l["inbox/doc.txt"].versions, 3, "{l:?}");
    assert!(s.cat("inbox/doc.txt", Some(1)) == v1);
    assert!(s.cat("inbox/doc.txt", Some(2)) == v2);
    assert!(s.cat("inbox/doc.txt", Some(3)) == v4);
    assert!(s.cat("inbox/doc.txt", None) == v4);
    w.assert_no_trouble();
}

#[test]
fn nested_folders_created_on_the_fly_keep_their_paths() {
    let s = Setup::new();
    let mut w = s.watch();
    let mut expect: Vec<(String, Vec<u8>)> = Vec::new();
    // Like `mkdir -p a/b/c && cp ...`: files land right after the folders
    // appear, racing the watcher's new inotify watches. Several trees, to
    // give the race a chance.
    for t in 0..20 {
        let top = format!("t{t:02}");
        let deep = s.inbox.join(&top).join("b").join("c");
        fs::create_dir_all(&deep).expect("mkdir -p");
        for (k, rel) in [
            format!("{top}/a.txt"),
            format!("{top}/b/b.txt"),
            format!("{top}/b/c/c1.txt"),
            format!("{top}/b/c/c2.txt"),
            format!("{top}/b/c/c3.txt"),
        ]
        .into_iter()
        .enumerate()
        {
            let data = content(1000 + t * 10 + k as u64, 100 + k * 300);
            write_file(&s.inbox.join(&rel), &data);
            expect.push((format!("inbox/{rel}"), data));
        }
    }
    w.wait_encrypted(expect.len(), Duration::from_secs(60));
    poll_until(SMALL, "every plaintext to go", || s.plaintexts().is_empty());
    let l = s.ls();
    assert_eq!(l.len(), expect.len(), "{l:?}");
    let out = s.extract_inbox();
    for (path, data) in &expect {
        assert_eq!(l.get(path).map(|x| x.versions), Some(1), "{path}: {l:?}");
        let rel = path.strip_prefix("inbox/").unwrap();
        assert!(
            fs::read(out.join(rel)).expect("extracted") == *data,
            "{path}"
        );
    }
    // The folders themselves stay (only files are taken).
    assert!(s.inbox.join("t00/b/c").is_dir());
    w.assert_no_trouble();
}

#[test]
fn partial_downloads_and_office_lock_files_are_left_alone() {
    let s = Setup::new();
    let mut w = s.watch();
    let transient = [
        ("report.pdf.part", 5000),
        ("scan.jpg.crdownload", 7000),
        ("~$x.docx", 162),
        ("notes.txt.tmp", 30),
        (".~lock.sheet.ods#", 90),
    ];
    for (i, (name, n)) in transient.iter().enumerate() {
        write_file(&s.inbox.join(name), &content(i as u64, *n));
    }
    // A normal file written after them: once it is done, the transient
    // ones (closed earlier) have certainly been looked at too.
    write_file(&s.inbox.join("sentinel.txt"), b"ok");
    w.wait_encrypted(1, SMALL);
    w.observe(OBSERVE);
    assert_eq!(
        w.encrypted_sizes(),
        vec![2],
        "only the sentinel may be taken"
    );
    for (i, (name, n)) in transient.iter().enumerate() {
        let got = fs::read(s.inbox.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == content(i as u64, *n), "{name} was altered");
    }
    let l = s.ls();
    assert_eq!(l.keys().collect::<Vec<_>>(), ["inbox/sentinel.txt"]);

    // The download completes: renamed to its final name, it is taken.
    fs::rename(s.inbox.join("report.pdf.part"), s.inbox.join("report.pdf")).expect("rename");
    w.wait_encrypted(2, SMALL);
    poll_until(SMALL, "report.pdf to go", || {
        !s.inbox.join("report.pdf").exists()
    });
    assert!(s.cat("inbox/report.pdf", None) == content(0, 5000));
    w.assert_no_trouble();
}

#[test]
fn files_waiting_before_the_watcher_starts_are_taken_by_the_startup_scan() {
    let s = Setup::new();
    let mut expect: Vec<(String, Vec<u8>)> = Vec::new();
    fs::create_dir_all(s.inbox.join("old/deeper")).unwrap();
    for (k, rel) in ["a.txt", "b.bin", "old/c.txt", "old/deeper/d.txt", "empty"]
        .iter()
        .enumerate()
    {
        let data = content(
            500 + k as u64,
            if *rel == "empty" { 0 } else { 3000 * k + 1 },
        );
        write_file(&s.inbox.join(rel), &data);
        expect.push((format!("inbox/{rel}"), data));
    }
    write_file(&s.inbox.join("movie.mp4.part"), b"half a movie");
    let mut w = s.watch();
    let ready = w.ready();
    assert_eq!(ready["folders"], 1, "{ready}");
    // The partial download counts as waiting too: it is encrypted once
    // nobody has written it for the quiet period.
    assert_eq!(ready["pending"], expect.len() + 1, "{ready}");
    w.wait_encrypted(expect.len(), SMALL);
    poll_until(SMALL, "the waiting plaintexts to go", || {
        s.plaintexts() == vec![s.inbox.join("movie.mp4.part")]
    });
    let l = s.ls();
    assert_eq!(l.len(), expect.len(), "{l:?}");
    for (path, data) in &expect {
        assert_eq!(l[path].versions, 1, "{path}");
        assert!(s.cat(path, None) == *data, "{path}");
    }
    w.assert_no_trouble();
}

/// Writes the 10,000 burst files as fast as it can; `done` counts the
/// files already closed.
fn write_burst(inbox: &Path, n: usize, done: &AtomicUsize) {
    for i in 0..n {
        write_file(&inbox.join(burst_name(i)), &content(i as u64, burst_len(i)));
        done.store(i + 1, Ordering::Release);
    }
}

/// Checks that the vault holds all `n` burst files, each with its size;
/// compares the contents of every file (`every` = 1, via one `extract` of
/// the folder: ~25 s for 10,000 files in a debug build) or of every
/// `every`-th one. Returns the number of extra versions (duplicates).
fn check_burst_in_vault(s: &Setup, n: usize, every: usize) -> u64 {
    let l = s.ls();
    assert_eq!(l.len(), n, "distinct paths in the vault");
    let mut dups = 0;
    for i in 0..n {
        let path = format!("inbox/{}", burst_name(i));
        let e = l.get(&path).unwrap_or_else(|| panic!("{path} lost"));
        assert_eq!(e.size, burst_len(i) as u64, "{path}");
        dups += e.versions - 1;
    }
    let sample: Vec<usize> = (0..n).step_by(every).chain([n - 1]).collect();
    let out = if every == 1 {
        s.extract_inbox()
    } else {
        let paths: Vec<String> = sample
            .iter()
            .map(|&i| format!("inbox/{}", burst_name(i)))
            .collect();
        s.extract(&paths)
    };
    for i in sample {
        let got = fs::read(out.join(burst_name(i))).expect("extracted file");
        assert!(
            got == content(i as u64, burst_len(i)),
            "{}: contents differ",
            burst_name(i)
        );
    }
    dups
}

#[test]
fn burst_of_10000_files_each_encrypted_exactly_once() {
    const N: usize = 10_000;
    let s = Setup::new();
    let mut w = s.watch();
    let started = Instant::now();
    let done = AtomicUsize::new(0);
    write_burst(&s.inbox, N, &done);
    let written = started.elapsed();
    w.wait_encrypted(N, BURST);
    let all = started.elapsed();
    poll_until(SMALL, "every plaintext to go", || s.plaintexts().is_empty());
    w.observe(OBSERVE);
    eprintln!("burst: {N} files written in {written:?}, all encrypted after {all:?}");
    assert_eq!(w.count("encrypted"), N, "encrypted events");
    w.assert_no_trouble();
    // Contents: every 50th file (the restart test below checks all 10,000).
    let dups = check_burst_in_vault(&s, N, 50);
    eprintln!("burst: checked after {:?}", started.elapsed());
    assert_eq!(dups, 0, "duplicate versions");
}

#[test]
fn watcher_killed_mid_burst_catches_up_after_restart() {
    const N: usize = 10_000;
    let s = Setup::new();
    let mut w = s.watch();
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let writer = {
        let inbox = s.inbox.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || write_burst(&inbox, N, &done))
    };
    // Let it get going, then pull the plug in the middle of its work.
    w.wait_encrypted(1500, BURST);
    let first_run = w.count("encrypted");
    w.kill();
    let written_at_kill = done.load(Ordering::Acquire);
    eprintln!(
        "kill -9 after {first_run} encrypted events, {written_at_kill} files written, {:?}",
        started.elapsed()
    );

    // Nothing lost while it is down: every file the writer finished is
    // either still in plaintext or in the vault.
    let listed = s.ls();
    let finished = done.load(Ordering::Acquire);
    let mut plain = 0;
    for i in 0..finished {
        let name = burst_name(i);
        if s.inbox.join(&name).exists() {
            plain += 1;
        } else {
            assert!(
                listed.contains_key(&format!("inbox/{name}")),
                "{name}: neither plaintext nor in the vault after kill -9"
            );
        }
    }
    let vault_leftover_tmp = walk_files(&s.vault)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .count();
    eprintln!(
        "after kill -9: {} in the vault, {plain} still plaintext (of {finished} written), \
         {vault_leftover_tmp} leftover temporary files in the vault",
        listed.len()
    );

    let mut w2 = s.watch();
    let ready = w2.ready();
    eprintln!("restart: {ready} at {:?}", started.elapsed());
    writer.join().expect("writer");
    poll_until(
        BURST,
        "every plaintext to be taken after the restart",
        || {
            w2.pump();
            s.plaintexts().is_empty()
        },
    );
    let caught_up = started.elapsed();
    w2.observe(OBSERVE);
    w2.assert_no_trouble();
    let second_run = w2.count("encrypted");
    let dups = check_burst_in_vault(&s, N, 1);
    eprintln!(
        "kill -9 mid-burst: {first_run} + {second_run} encrypted events for {N} files; \
         {dups} duplicate versions; caught up at {caught_up:?}, checked at {:?}",
        started.elapsed()
    );
    // A kill between an object's commit and the removal journal costs at
    // most a duplicate version of that batch, never a lost file.
    assert!(dups <= 512, "{dups} duplicate versions");
}

#[test]
fn overflowed_inotify_queue_is_rescanned() {
    // If the watcher falls behind by more than fs.inotify.max_queued_events,
    // the kernel drops events and says so (IN_Q_OVERFLOW); the watcher must
    // rescan, or files written meanwhile stay in plaintext for good.
    let limit: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    let s = Setup::new();
    let mut w = s.watch();
    signal(w.pid(), "-STOP");
    // `kill` returns before the stop takes effect everywhere; events the
    // watcher still reads meanwhile would shrink the overflow to nothing.
    poll_until(SMALL, "the watcher to stop", || {
        fs::read_to_string(format!("/proc/{}/stat", w.pid())).is_ok_and(|st| {
            st.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('T'))
        })
    });
    // Alternate writes to two files (identical consecutive events would be
    // merged) until the queue overflows, with a whole queue's worth to spare.
    let mut a = File::create(s.inbox.join("noise-a.log")).unwrap();
    let mut b = File::create(s.inbox.join("noise-b.log")).unwrap();
    for _ in 0..limit {
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
    }
    drop((a, b));
    // Written after the overflow: inotify never reports these.
    let lost = ["after-1.txt", "after-2.txt", "after-3.txt"];
    for name in lost {
        write_file(&s.inbox.join(name), name.as_bytes());
    }
    signal(w.pid(), "-CONT");
    // The noise files were seen before the overflow: once they are taken,
    // the watcher has caught up with everything the kernel kept.
    poll_until(SMALL, "the noise files to be taken", || {
        w.pump();
        !s.inbox.join("noise-a.log").exists() && !s.inbox.join("noise-b.log").exists()
    });
    // The noise can be taken before the watcher has read as far as the
    // overflow marker at the end of the kernel's queue: wait for it.
    let warned = |w: &Watcher| {
        w.events.iter().any(|e| {
            e["event"] == "warning" && e["message"].as_str().is_some_and(|m| m.contains("lost"))
        })
    };
    poll_until(SMALL, "the overflow to be reported", || {
        w.pump();
        warned(&w)
    });
    poll_until(
        SMALL,
        "files written after the overflow to be taken",
        || {
            w.pump();
            lost.iter().all(|n| !s.inbox.join(n).exists())
        },
    );
    let l = s.ls();
    for name in lost {
        assert!(l.contains_key(&format!("inbox/{name}")), "{name}: {l:?}");
    }
}

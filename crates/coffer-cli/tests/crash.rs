//! Crash injection: `coffer protect` is killed with SIGKILL at random
//! instants, and after every kill each original file must exist whole, as
//! plaintext (byte-identical) or in the vault (or both) — never lost, never
//! a plaintext that differs. Running `protect` again then finishes the job:
//! every file in the vault, `verify` clean, no temp file left.
//!
//! The corpus is 2000 small files (0..20 KiB) plus three of 1-3 MiB. The
//! test runs several sessions, each on a fresh vault, modelled on a clinic
//! folder where files keep arriving: every round drops the next files of
//! the corpus into the protected folder, starts `protect`, kills it at a
//! random instant and checks the invariant (decrypting every vault copy and
//! comparing it with the original). Two sessions drop more than one
//! durability batch (512 files) at once; large files come now and then.
//! Kill delays are drawn from 0 to ~1.1× the expected run time, estimated
//! from the runs that finished before their kill.
//!
//! COFFER_CRASH_SEED replays a run, COFFER_CRASH_ROUNDS changes the number
//! of rounds, COFFER_CRASH_DIR says where the vaults go (default: the
//! RAM-backed /dev/shm when present: SIGKILL tests process death, not power
//! loss, and a disk would only make the test slower).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const FOLDER: &str = "Clinic";
const SMALL_FILES: usize = 2000;
const ROUNDS_PER_SESSION: usize = 7;
/// Files dropped into the folder per ordinary round.
const PER_ROUND: usize = 25;
/// Files dropped at once in a burst round (more than one 512-file batch).
const BURST: usize = 560;

struct Original {
    rel: String,
    bytes: Vec<u8>,
    hash: [u8; 32],
}

fn corpus(seed: u64) -> (Vec<Original>, Vec<Original>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut make = |rel: String, len: usize| {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes);
        Original {
            rel,
            hash: sha256(&bytes),
            bytes,
        }
    };
    let mut sizes = fastrand::Rng::with_seed(seed ^ 1);
    let small = (0..SMALL_FILES)
        .map(|i| {
            let len = match i % 50 {
                0 => 0,
                1 => 20 * 1024,
                _ => sizes.usize(0..=20 * 1024),
            };
            make(format!("d{:02}/f{i:04}.bin", i % 16), len)
        })
        .collect();
    let large = (0..3)
        .map(|k| {
            let len = sizes.usize((1 << 20)..=(3 << 20));
            make(format!("large/scan{k}.dcm"), len)
        })
        .collect();
    (small, large)
}

fn base_dir() -> PathBuf {
    if let Ok(d) = std::env::var("COFFER_CRASH_DIR") {
        return PathBuf::from(d);
    }
    let shm = Path::new("/dev/shm");
    if tempfile::tempdir_in(shm).is_ok() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

#[derive(Default, Debug)]
struct Tally {
    kills: u32,
    killed_mid_run: u32,
    finished_before_kill: u32,
    /// Kills after which, of the files the run was working on, some were
    /// in the vault and some not yet.
    partial_progress: u32,
    /// Kills that caught files both as plaintext and in the vault
    /// (committed, not yet removed).
    caught_between_commit_and_removal: u32,
    /// ... of which with the removal journal on disk.
    with_removal_journal: u32,
    /// Kills that left a temp file in the vault (cleaned by the next command).
    left_temp_files: u32,
    plaintext_only: u64,
    vault_only: u64,
    both: u64,
    /// Extra versions of a file at the end of a session (a crash between
    /// commit and removal may store a file twice).
    duplicates: u64,
    /// Files seen in both places with the removal journal on disk that
    /// still ended up stored twice.
    duplicates_despite_journal: u64,
    vault_copies_compared: u64,
    time_protect: Duration,
    time_checks: Duration,
    time_final: Duration,
}

/// Expected duration of a protect run: start-up plus a cost per unit of
/// work (a file, or 256 KiB), learnt from runs that finished.
struct Model {
    startup: Duration,
    per_unit: Duration,
}

impl Model {
    fn units(files: usize, bytes: usize) -> f64 {
        files as f64 + bytes as f64 / (256 << 10) as f64
    }

    fn expect(&self, files: usize, bytes: usize) -> Duration {
        self.startup + self.per_unit.mul_f64(Self::units(files, bytes))
    }

    fn learn(&mut self, took: Duration, files: usize, bytes: usize) {
        let u = Self::units(files, bytes);
        if u < 5.0 {
            return;
        }
        let sample = took.saturating_sub(self.startup).div_f64(u);
        self.per_unit = self.per_unit.mul_f64(0.7) + sample.mul_f64(0.3);
    }
}

/// One fresh vault and the files dropped into its protected folder so far.
struct Session<'a> {
    t: TestVault,
    placed: Vec<&'a Original>,
    /// Latest version id of each vault path already compared with the original.
    compared: BTreeMap<String, String>,
    /// Files seen in both places while a removal journal was on disk.
    journaled_both: BTreeSet<String>,
    checks: u32,
}

/// Where the placed files are after a kill.
struct State {
    plaintext_only: u64,
    vault_only: u64,
    both: BTreeSet<String>,
    versions: BTreeMap<String, u64>,
}

/// How a protect run ended.
enum Ending {
    Killed,
    Finished(Duration),
}

impl<'a> Session<'a> {
    fn new(base: &Path) -> Self {
        let mut t = TestVault::empty_in(Some(base));
        t.init(&[]);
        fs::create_dir_all(t.path(FOLDER)).unwrap();
        Session {
            t,
            placed: Vec::new(),
            compared: BTreeMap::new(),
            journaled_both: BTreeSet::new(),
            checks: 0,
        }
    }

    fn drop_files(&mut self, files: &[&'a Original]) {
        let folder = self.t.path(FOLDER);
        for o in files {
            let p = folder.join(&o.rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, &o.bytes).unwrap();
        }
        self.placed.extend_from_slice(files);
    }

    /// Placed files whose plaintext is still in the folder: (count, bytes).
    fn pending(&self) -> (usize, usize) {
        let folder = self.t.path(FOLDER);
        let p: Vec<&&Original> = self
            .placed
            .iter()
            .filter(|o| folder.join(&o.rel).exists())
            .collect();
        (p.len(), p.iter().map(|o| o.bytes.len()).sum())
    }

    /// Spawns `coffer protect` and SIGKILLs it at `delay` unless it has
    /// finished by then.
    fn protect_and_kill(&self, delay: Duration) -> Ending {
        let started = Instant::now();
        let mut child = self
            .t
            .cmd(["--json", "protect", FOLDER])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn protect");
        // The random kill delay (a fixed wait is the point here), watching
        // for an early finish to learn how long a run takes.
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "protect failed on its own: {status:?}"
                );
                return Ending::Finished(started.elapsed());
            }
            let now = started.elapsed();
            if now >= delay {
                break;
            }
            std::thread::sleep((delay - now).min(Duration::from_millis(1)));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait protect");
        match status.signal() {
            Some(9) => Ending::Killed,
            Some(s) => panic!("protect died of signal {s}"),
            None => {
                assert_eq!(status.code(), Some(0), "protect failed on its own");
                Ending::Finished(started.elapsed())
            }
        }
    }

    /// The invariant: every placed file whole somewhere, and every vault
    /// copy (latest versions) byte-identical to its original.
    fn check(&mut self, what: &str, tally: &mut Tally) -> State {
        let t = &self.t;
        let folder = t.path(FOLDER);
        let by_rel: BTreeMap<&str, &Original> =
            self.placed.iter().map(|o| (o.rel.as_str(), *o)).collect();
        let mut plain = BTreeSet::new();
        for o in &self.placed {
            match fs::read(folder.join(&o.rel)) {
                Ok(b) => {
                    assert!(
                        sha256(&b) == o.hash,
                        "{what}: plaintext {} differs from the original ({} of {} bytes)",
                        o.rel,
                        b.len(),
                        o.bytes.len()
                    );
                    plain.insert(o.rel.clone());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{what}: reading {}: {e}", o.rel),
            }
        }
        // Nothing else appeared in the folder (no temp or partial files).
        let on_disk: BTreeSet<String> = read_tree(&folder).into_keys().collect();
        assert_eq!(on_disk, plain, "{what}: unexpected files in the folder");

        // The next command must clean up whatever the kill left behind.
        let listing = t.json_ok(&["ls"]);
        assert_eq!(listing["unreadable"], 0, "{what}: {listing}");
        // A kill between an object and its endorsements never reads as
        // tampering (FORMAT.md §17.4).
        assert_eq!(
            listing["integrity"]["problems"],
            serde_json::json!([]),
            "{what}: {listing}"
        );
        let left = tmp_files(&t.vault);
        assert!(
            left.is_empty(),
            "{what}: temp files after the next command: {left:?}"
        );
        let mut latest: BTreeMap<String, (String, u64)> = BTreeMap::new();
        for f in listing["files"].as_array().unwrap() {
            let p = f["path"].as_str().unwrap();
            let rel = p
                .strip_prefix(&format!("{FOLDER}/"))
                .unwrap_or_else(|| panic!("{what}: unexpected vault path {p}"));
            assert!(
                by_rel.contains_key(rel),
                "{what}: the vault holds {rel}, which was never placed"
            );
            latest.insert(
                rel.to_owned(),
                (
                    f["id"].as_str().unwrap().to_owned(),
                    f["versions"].as_u64().unwrap(),
                ),
            );
        }
        let missing: Vec<&str> = self
            .placed
            .iter()
            .map(|o| o.rel.as_str())
            .filter(|r| !plain.contains(*r) && !latest.contains_key(*r))
            .collect();
        assert!(
            missing.is_empty(),
            "{what}: {} files LOST (neither plaintext nor in the vault), e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );

        // Decrypt everything (one `extract` of the folder: naming files one
        // by one costs a full listing each) when there is a new copy.
        let fresh = latest
            .iter()
            .any(|(rel, (id, _))| self.compared.get(rel) != Some(id));
        if fresh {
            self.checks += 1;
            let dest = t.path(&format!("check{}", self.checks));
            let mut c = t.cmd(["--json", "extract", FOLDER, "--to"]);
            c.arg(&dest);
            run_cmd(&mut c).assert_ok();
            let got = read_tree(&dest.join(FOLDER));
            assert_eq!(
                got.keys().collect::<BTreeSet<_>>(),
                latest.keys().collect::<BTreeSet<_>>(),
                "{what}: what extract wrote differs from the listing"
            );
            for (rel, bytes) in &got {
                assert!(
                    sha256(bytes) == by_rel[rel.as_str()].hash,
                    "{what}: the vault copy of {rel} differs from the original"
                );
                if self.compared.get(rel) != Some(&latest[rel].0) {
                    tally.vault_copies_compared += 1;
                    self.compared.insert(rel.clone(), latest[rel].0.clone());
                }
            }
            fs::remove_dir_all(&dest).unwrap();
        }

        let both: BTreeSet<String> = plain
            .iter()
            .filter(|r| latest.contains_key(*r))
            .cloned()
            .collect();
        State {
            plaintext_only: (plain.len() - both.len()) as u64,
            vault_only: (latest.len() - both.len()) as u64,
            both,
            versions: latest.into_iter().map(|(k, (_, n))| (k, n)).collect(),
        }
    }

    /// Protect to completion and check the end state.
    fn finish(&mut self, what: &str, tally: &mut Tally) {
        let v = self.t.json_ok(&["protect", FOLDER]);
        assert_eq!(v["problems"], serde_json::json!([]), "{what}: {v}");
        let st = self.check(what, tally);
        assert_eq!(st.plaintext_only, 0, "{what}");
        assert!(st.both.is_empty(), "{what}: {:?}", st.both);
        assert_eq!(st.vault_only, self.placed.len() as u64, "{what}");
        let mut dups = 0;
        let mut old_checked = 0;
        for (rel, n) in &st.versions {
            dups += n - 1;
            if self.journaled_both.contains(rel) && *n > 1 {
                tally.duplicates_despite_journal += 1;
            }
            // Older versions: spot-check a few byte for byte.
            for k in 1..*n {
                if old_checked >= 3 {
                    break;
                }
                old_checked += 1;
                let r = self.t.run(&[
                    "cat",
                    &format!("{FOLDER}/{rel}"),
                    "--version",
                    &k.to_string(),
                ]);
                r.assert_ok();
                let o = self.placed.iter().find(|o| &o.rel == rel).unwrap();
                assert!(
                    sha256(&r.stdout) == o.hash,
                    "{what}: version {k} of {rel} differs from the original"
                );
            }
        }
        tally.duplicates += dups;
        let r = self.t.json_ok(&["verify"]);
        assert_eq!(r["ok"], true, "{what}: {r}");
        assert_eq!(r["report"]["temp_files"], 0, "{what}: {r}");
        assert_eq!(
            r["report"]["objects"],
            self.placed.len() as u64 + dups,
            "{what}: {r}"
        );
        let left = tmp_files(&self.t.vault);
        assert!(left.is_empty(), "{what}: temp files: {left:?}");
    }
}

#[test]
fn sigkill_during_protect_loses_nothing() {
    let started = Instant::now();
    let seed = env_u64("COFFER_CRASH_SEED").unwrap_or(0x00C0_FFEE);
    let rounds = env_u64("COFFER_CRASH_ROUNDS").unwrap_or(56).max(1) as usize;
    let (small, large) = corpus(seed);
    let base_parent = base_dir();
    let base = tempfile::Builder::new()
        .prefix("coffer-crash-")
        .tempdir_in(&base_parent)
        .expect("temp dir");
    println!(
        "crash test: seed {seed:#x}, {rounds} rounds, {} files in the corpus, vaults under {}",
        small.len() + large.len(),
        base_parent.display()
    );

    // Pilot runs: start-up (nothing to do) and a round with a large file.
    let mut pilot = Session::new(base.path());
    let t0 = Instant::now();
    pilot.t.json_ok(&["protect", FOLDER]);
    let startup = t0.elapsed();
    let pilot_files: Vec<&Original> = small[..PER_ROUND].iter().chain(&large[..1]).collect();
    pilot.drop_files(&pilot_files);
    let (n, bytes) = pilot.pending();
    let t0 = Instant::now();
    pilot.t.json_ok(&["protect", FOLDER]);
    let took = t0.elapsed();
    drop(pilot);
    let mut model = Model {
        startup,
        per_unit: took.saturating_sub(startup).div_f64(Model::units(n, bytes)),
    };
    println!(
        "pilot: protect start-up {startup:?}; {n} files ({} KiB) in {took:?}",
        bytes / 1024
    );

    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let mut tally = Tally::default();
    let mut exercised = BTreeSet::new();
    let mut round = 0;
    let mut session_no = 0;
    // Sessions walk on through the corpus where the previous one stopped.
    let mut next = 0;
    while round < rounds {
        let mut s = Session::new(base.path());
        for r in 0..ROUNDS_PER_SESSION {
            if round >= rounds {
                break;
            }
            let burst = session_no % 4 == 1 && r == 2;
            let n = if burst { BURST } else { PER_ROUND };
            let mut files: Vec<&Original> = Vec::new();
            for _ in 0..n {
                files.push(&small[next]);
                next = (next + 1) % SMALL_FILES;
            }
            if round % 5 == 3 {
                files.push(&large[(round / 5) % large.len()]);
            }
            // Never place a file twice in one session.
            files.retain(|o| !s.placed.iter().any(|p| p.rel == o.rel));
            exercised.extend(files.iter().map(|o| o.rel.clone()));
            s.drop_files(&files);

            let (pending, bytes) = s.pending();
            let pending_set: BTreeSet<String> = s
                .placed
                .iter()
                .filter(|o| s.t.path(FOLDER).join(&o.rel).exists())
                .map(|o| o.rel.clone())
                .collect();
            let max = model.expect(pending, bytes).mul_f64(1.1);
            let delay = Duration::from_micros(rng.u64(0..=max.as_micros() as u64));
            let t0 = Instant::now();
            let ending = s.protect_and_kill(delay);
            tally.time_protect += t0.elapsed();
            tally.kills += 1;
            match ending {
                Ending::Killed => tally.killed_mid_run += 1,
                Ending::Finished(took) => {
                    tally.finished_before_kill += 1;
                    model.learn(took, pending, bytes);
                }
            }
            if !tmp_files(&s.t.vault).is_empty() {
                tally.left_temp_files += 1;
            }
            let journal = s.t.vault.join("removals.json").exists();
            let what = format!(
                "session {session_no} round {r} (#{round}): kill after {delay:?} (expected run {max:?}), {pending} files pending"
            );
            let t0 = Instant::now();
            let st = s.check(&what, &mut tally);
            tally.time_checks += t0.elapsed();
            let done_now = st
                .versions
                .keys()
                .filter(|k| pending_set.contains(*k))
                .count();
            if done_now > 0 && done_now < pending {
                tally.partial_progress += 1;
            }
            if !st.both.is_empty() {
                tally.caught_between_commit_and_removal += 1;
                if journal {
                    tally.with_removal_journal += 1;
                    s.journaled_both.extend(st.both.iter().cloned());
                }
            }
            tally.plaintext_only += st.plaintext_only;
            tally.vault_only += st.vault_only;
            tally.both += st.both.len() as u64;
            round += 1;
        }
        let t0 = Instant::now();
        s.finish(
            &format!("session {session_no} after the final protect"),
            &mut tally,
        );
        tally.time_final += t0.elapsed();
        session_no += 1;
    }

    println!(
        "{} kills in {session_no} sessions: {} landed mid-run, {} after protect had finished; \
         {} caught some of the pending files done and some not; \
         {} caught files committed but not yet removed ({} with the removal journal on disk); \
         {} left temp files in the vault (all gone after the next command)",
        tally.kills,
        tally.killed_mid_run,
        tally.finished_before_kill,
        tally.partial_progress,
        tally.caught_between_commit_and_removal,
        tally.with_removal_journal,
        tally.left_temp_files
    );
    println!(
        "summed over kills: {} files plaintext only, {} in the vault only, {} in both; \
         0 lost, 0 differing; {} vault copies decrypted and compared",
        tally.plaintext_only, tally.vault_only, tally.both, tally.vault_copies_compared
    );
    println!(
        "after the final protects: every file in the vault, verify clean, no temp file; \
         {} duplicate versions ({} despite the removal journal); {} of {} corpus files exercised",
        tally.duplicates,
        tally.duplicates_despite_journal,
        exercised.len(),
        small.len() + large.len(),
    );
    println!(
        "time: {:?} in all ({:?} protect runs, {:?} checks, {:?} final protects); model now {:?} + {:?}/unit",
        started.elapsed(),
        tally.time_protect,
        tally.time_checks,
        tally.time_final,
        model.startup,
        model.per_unit
    );
    assert!(
        tally.killed_mid_run * 3 >= tally.kills,
        "too few kills landed mid-run: {tally:?}"
    );
}

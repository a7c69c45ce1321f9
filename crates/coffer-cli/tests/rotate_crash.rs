//! Crash injection during key rotation: `coffer rotate` (depth 2, rewrap)
//! and `coffer rotate --reencrypt` (depth 3) are killed with SIGKILL at
//! random instants, over and over; after every kill the vault verifies
//! (every chunk of every file authenticates), the next run resumes, and at
//! the end every file extracts byte-identical and only the new key version
//! is left.
//!
//! `COFFER_ROTATE_KILLS` sets the kills per depth (default 26, so ≥ 50 in
//! all); `COFFER_CRASH_SEED` the seed.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Files in the vault: many small ones and a few that span many chunks, so
/// a kill lands inside a batch as often as between files.
fn corpus(seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..300)
        .map(|i| {
            let len = if i % 60 == 0 {
                rng.usize(512 << 10..1536 << 10)
            } else {
                rng.usize(0..12_000)
            };
            (format!("docs/f{i:04}.bin"), pseudo_random(len, seed ^ i))
        })
        .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// A vault holding `files` under `docs/`, and what `extract docs` must give.
fn vault_with(files: &[(String, Vec<u8>)]) -> (TestVault, BTreeMap<String, Vec<u8>>) {
    let t = TestVault::new();
    fs::create_dir(t.path("docs")).unwrap();
    for (name, data) in files {
        fs::write(t.path(name), data).unwrap();
    }
    t.json_ok(&["add", "docs"]);
    let want = files
        .iter()
        .map(|(n, d)| (n.trim_start_matches("docs/").to_owned(), d.clone()))
        .collect();
    (t, want)
}

/// Kills `child`, a rotation of `t`'s vault, at a random instant: kill
/// `k` even, within `early` of its start (start-up, the unlock, the config
/// write that starts it); odd, within `late` once the rotation is recorded
/// in the config (inside the batches, however slow the start-up is on a
/// busy machine). Sleeping a random time is the point here: the crash
/// lands at an arbitrary instant, not at an event.
fn kill_at_random(
    t: &TestVault,
    mut child: std::process::Child,
    k: usize,
    rng: &mut fastrand::Rng,
    (early, late, patience): (Duration, Duration, Duration),
) {
    if k.is_multiple_of(2) {
        std::thread::sleep(early.mul_f64(rng.f64()));
    } else {
        let config = t.vault.join("vault.json");
        if wait_until(patience, || {
            fs::read_to_string(&config).is_ok_and(|c| c.contains("\"rotation\""))
        }) {
            std::thread::sleep(late.mul_f64(rng.f64()));
        }
    }
    let _ = child.kill();
    child.wait().expect("wait");
}

/// Runs the rotation once to the end (resuming whatever was interrupted).
fn finish(t: &TestVault, args: &[&str]) {
    let mut all = vec!["--json", "rotate"];
    all.extend_from_slice(args);
    run_cmd(&mut t.cmd(all)).assert_ok();
}

#[test]
fn sigkill_during_rotation_loses_nothing() {
    let seed = env_u64("COFFER_CRASH_SEED").unwrap_or(0x0DE_CAF);
    let kills = env_u64("COFFER_ROTATE_KILLS").unwrap_or(26) as usize;
    let files = corpus(seed);
    let (t, want) = vault_with(&files);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);

    for depth in [&[][..], &["--reencrypt", "--keep-passphrase"][..]] {
        // A pilot run times a whole rotation; kills are spread over it.
        let t0 = Instant::now();
        finish(&t, depth);
        let full = t0.elapsed();
        let mut mid_way = 0;
        for k in 0..kills {
            let mut args = vec!["rotate"];
            args.extend_from_slice(depth);
            let child = t
                .cmd(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn coffer rotate");
            kill_at_random(&t, child, k, &mut rng, (full / 10, full / 2, full * 4));
            if !t.json_ok(&["status"])["rotation"].is_null() {
                mid_way += 1;
            }
            let r = t.json_ok(&["verify"]);
            assert_eq!(r["ok"], true, "depth {depth:?}, kill {k}: {r}");
            assert_eq!(r["report"]["objects"], files.len(), "kill {k}: {r}");
        }
        println!(
            "depth {depth:?}: {kills} kills over a {full:?} rotation; {mid_way} of them left \
             it unfinished (resumed by the next run)"
        );
        assert!(
            mid_way >= kills / 3,
            "kills must interrupt the rotation ({mid_way} of {kills})"
        );
        finish(&t, depth);
        let st = t.json_ok(&["status"]);
        assert!(st["rotation"].is_null(), "finished: {st}");
        assert_eq!(
            st["key_versions"].as_array().unwrap().len(),
            1,
            "old versions destroyed: {st}"
        );
        let out = t.path(&format!("out-{}", depth.len()));
        t.json_ok(&["extract", "docs", "--to", out.to_str().unwrap()]);
        assert!(read_tree(&out.join("docs")) == want, "every file intact");
        let left = tmp_files(&t.vault);
        assert!(left.is_empty(), "no temp files left: {left:?}");
    }
    // The passphrase still opens the vault after depth 3 re-enrolled it.
    t.json_ok(&["ls"]);
}

/// Whether `pass` unlocks the vault (`ls`).
fn opens_with(t: &TestVault, pass: &str) -> bool {
    let mut c = t.cmd_nopass(["--json", "ls"]);
    c.env("COFFER_PASSPHRASE", pass);
    let r = run_cmd(&mut c);
    assert!(
        r.code == code::OK || r.code == code::WRONG_CREDENTIAL,
        "neither opened nor refused: {} {}",
        r.code,
        r.stderr
    );
    r.code == code::OK
}

/// `passwd --exposed` killed at random instants: after every kill the vault
/// opens with exactly one credential set — the old or the new, never
/// neither — verifies, and the next run (with whichever works) resumes.
#[test]
fn sigkill_during_the_exposed_credential_response_loses_nothing() {
    let seed = env_u64("COFFER_CRASH_SEED").unwrap_or(0x0DE_CAF) ^ 0xE;
    let kills = env_u64("COFFER_ROTATE_KILLS").unwrap_or(26) as usize;
    let files = corpus(seed);
    let (mut t, want) = vault_with(&files);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let exposed = |t: &TestVault, new: &str| {
        let mut c = t.cmd(["--json", "passwd", "--exposed"]);
        c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", new);
        c
    };
    let t0 = Instant::now();
    run_cmd(&mut exposed(&t, "pilot passphrase")).assert_ok();
    let full = t0.elapsed();
    t.pass = "pilot passphrase".into();
    let (mut switched, mut mid_way) = (0, 0);
    for k in 0..kills {
        let new = format!("new passphrase {k}");
        let child = exposed(&t, &new)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn coffer passwd --exposed");
        // Anywhere in the whole run (start-up, the unlock, the scan, the
        // switch), or once the new credentials are in force.
        kill_at_random(&t, child, k, &mut rng, (full, full / 4, full * 4));
        let (old_opens, new_opens) = (opens_with(&t, &t.pass), opens_with(&t, &new));
        assert!(
            old_opens != new_opens,
            "kill {k}: exactly one credential set opens"
        );
        if new_opens {
            t.pass = new;
            switched += 1;
        }
        if !t.json_ok(&["status"])["rotation"].is_null() {
            mid_way += 1;
        }
        let r = t.json_ok(&["verify"]);
        assert_eq!(r["ok"], true, "kill {k}: {r}");
        assert_eq!(r["report"]["objects"], files.len(), "kill {k}: {r}");
    }
    println!(
        "{kills} kills over a {full:?} response; {switched} after the switch to the new \
         credentials, {mid_way} left it unfinished"
    );
    assert!(
        mid_way >= kills / 4,
        "kills must interrupt the response ({mid_way} of {kills})"
    );
    finish(&t, &[]);
    let st = t.json_ok(&["status"]);
    assert!(st["rotation"].is_null(), "finished: {st}");
    assert_eq!(st["key_versions"].as_array().unwrap().len(), 1, "{st}");
    let out = t.path("out");
    t.json_ok(&["extract", "docs", "--to", out.to_str().unwrap()]);
    assert!(read_tree(&out.join("docs")) == want, "every file intact");
    let left = tmp_files(&t.vault);
    assert!(left.is_empty(), "no temp files left: {left:?}");
}

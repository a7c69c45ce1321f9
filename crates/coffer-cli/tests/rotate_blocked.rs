//! A damaged object stops `coffer rotate` (exit 4, `rotation_blocked`)
//! before any key version is destroyed; `coffer verify --quarantine` sets
//! it aside, `coffer verify` goes on listing it, and `coffer rotate` then
//! finishes, every other file intact.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// Object header length (docs/FORMAT.md §5), then the record length.
const RECORD: usize = 92 + 4;
/// A byte inside the embedded record's wrapped DEK (after its format
/// byte, key version and HPKE `enc`).
const WRAPPED_DEK: usize = RECORD + 1 + 4 + 32 + 3;

/// A vault holding a few files under `docs/`; their contents by vault path.
fn vault_with_files() -> (TestVault, BTreeMap<String, Vec<u8>>) {
    let t = TestVault::new();
    let files: BTreeMap<String, Vec<u8>> = [
        ("docs/a.txt", b"a letter".to_vec()),
        ("docs/b.bin", pseudo_random(200_000, 1)),
        ("docs/c.txt", Vec::new()),
        ("docs/d.bin", pseudo_random(70_000, 2)),
        ("docs/e.txt", b"the fifth".to_vec()),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_owned(), d))
    .collect();
    let tree: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), &d[..])).collect();
    write_tree(t.root(), &tree);
    t.json_ok(&["add", "docs"]);
    (t, files)
}

/// The object file and id of `path`.
fn object_of(t: &TestVault, path: &str) -> (String, PathBuf) {
    let id = t.ls()[path]["id"].as_str().unwrap().to_owned();
    let file = t.object_files()[&id].clone();
    (id, file)
}

/// `coffer --json rotate`, expected to stop at `id`; returns its document.
fn rotate_blocked(t: &TestVault, id: &str) -> Value {
    let r = t.run_json(&["rotate"]);
    r.assert_code(code::INTEGRITY);
    let e = r.json_error();
    assert_eq!(e["kind"], "rotation_blocked", "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("no key version was destroyed"),
        "{e}"
    );
    let doc = r.json();
    let blocked: Vec<&str> = doc["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, [id], "{doc}");
    assert!(doc["blocked"][0]["reason"].is_string(), "{doc}");
    let text = doc.to_string();
    for name in ["a.txt", "b.bin", "d.bin", "docs"] {
        assert!(!text.contains(name), "a file name in {text}");
    }
    doc
}

fn key_versions(t: &TestVault) -> Vec<u64> {
    t.json_ok(&["status"])["key_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// Every file but `lost` extracts byte-identical.
fn others_intact(t: &TestVault, files: &BTreeMap<String, Vec<u8>>, lost: &str, out: &str) {
    t.json_ok(&["extract", "docs", "--to", out]);
    let got = read_tree(&t.path(out).join("docs"));
    let want: BTreeMap<String, Vec<u8>> = files
        .iter()
        .filter(|(p, _)| p.as_str() != lost)
        .map(|(p, d)| (p.trim_start_matches("docs/").to_owned(), d.clone()))
        .collect();
    assert!(got == want, "files extracted: {:?}", got.keys());
}

fn quarantined_ids(report: &Value) -> Vec<&str> {
    report["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect()
}

#[test]
fn a_key_that_does_not_unwrap_blocks_rotation_until_quarantined() {
    let (t, files) = vault_with_files();
    let (id, obj) = object_of(&t, "docs/b.bin");
    flip_byte(&obj, WRAPPED_DEK);

    // It parses, so the rotation starts, moves the others, and stops there.
    let doc = rotate_blocked(&t, &id);
    assert_eq!(doc["rotation_pending"], true, "{doc}");
    assert_eq!(key_versions(&t), [1, 2], "no key version destroyed");
    assert!(!t.json_ok(&["status"])["rotation"].is_null());
    // Human output: the id, and what to do.
    let r = t.run(&["rotate"]);
    r.assert_code(code::INTEGRITY);
    assert!(r.stderr.contains(&id), "{}", r.stderr);
    assert!(
        r.stderr.contains("coffer verify --quarantine"),
        "{}",
        r.stderr
    );
    assert_eq!(key_versions(&t), [1, 2]);

    // verify names it; --quarantine sets it aside and exits 0.
    let r = t.run_json(&["verify"]);
    r.assert_code(code::INTEGRITY);
    let v = t.json_ok(&["verify", "--quarantine"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["quarantined_now"][0]["id"], id.as_str(), "{v}");
    assert_eq!(v["quarantined_now"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["report"]["failures"][0][0], id.as_str(), "{v}");
    assert!(
        t.vault
            .join("quarantine")
            .join(format!("{id}.obj"))
            .is_file()
    );
    assert!(!obj.exists());

    // Plain verify is clean for what is left, and lists what was set aside.
    let v = t.json_ok(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["report"]["objects"], files.len() - 1, "{v}");
    assert_eq!(quarantined_ids(&v["report"]), [id.as_str()], "{v}");
    let r = t.run(&["verify"]);
    r.assert_ok();
    let out = r.stdout_str();
    assert!(out.contains("0 problems"), "{out}");
    assert!(
        out.contains("1 objects are quarantined") && out.contains(&id),
        "{out}"
    );
    assert!(out.contains("quarantine"), "{out}");

    // The rotation now finishes; only the new key version is left.
    let r = t.json_ok(&["rotate"]);
    assert_eq!(r["rotation"]["resumed"], true, "{r}");
    assert_eq!(
        r["rotation"]["destroyed_versions"],
        serde_json::json!([1]),
        "{r}"
    );
    assert_eq!(key_versions(&t), [2]);
    assert!(t.json_ok(&["status"])["rotation"].is_null());
    others_intact(&t, &files, "docs/b.bin", "out");
    assert_eq!(t.json_ok(&["verify"])["ok"], true);

    // The audit trail says what happened.
    let log = fs::read_to_string(t.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("\"objects_quarantined\""), "{log}");
}

#[test]
fn a_corrupt_header_stops_rotation_before_it_starts() {
    let (t, files) = vault_with_files();
    let (id, obj) = object_of(&t, "docs/d.bin");
    flip_byte(&obj, 2);

    // Found by the scan before the rotation would start: nothing changes.
    let doc = rotate_blocked(&t, &id);
    assert_eq!(doc["rotation_pending"], false, "{doc}");
    assert_eq!(key_versions(&t), [1]);
    assert!(t.json_ok(&["status"])["rotation"].is_null());

    // Locked, a structural check finds it and can set it aside.
    let r = run_cmd(&mut t.cmd_nopass(["verify", "--structure-only", "--quarantine"]));
    r.assert_ok();
    assert!(
        r.stdout_str().contains("Set aside 1 damaged objects"),
        "{}",
        r.stdout_str()
    );
    assert!(r.stdout_str().contains(&id), "{}", r.stdout_str());

    let r = t.json_ok(&["rotate"]);
    assert_eq!(r["rotation"]["resumed"], false, "{r}");
    assert_eq!(key_versions(&t), [2]);
    others_intact(&t, &files, "docs/d.bin", "out");
    let v = t.json_ok(&["verify"]);
    assert_eq!(quarantined_ids(&v["report"]), [id.as_str()], "{v}");
}

#[test]
fn verify_quarantine_on_a_healthy_vault_moves_nothing() {
    let (t, _) = vault_with_files();
    let v = t.json_ok(&["verify", "--quarantine"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["quarantined_now"], serde_json::json!([]), "{v}");
    assert_eq!(v["report"]["quarantined"], serde_json::json!([]), "{v}");
    assert!(!t.vault.join("quarantine").exists());
}

#[test]
fn a_reencryption_stopped_midway_still_hands_out_its_new_recovery_key() {
    let (t, files) = vault_with_files();
    let (id, obj) = object_of(&t, "docs/d.bin");
    // The last chunk's tag: only re-encryption, which reads every chunk,
    // notices it, once the credentials have been replaced.
    let len = fs::metadata(&obj).unwrap().len() as usize;
    flip_byte(&obj, len - 1);

    let r = t.run_json(&["rotate", "--reencrypt", "--keep-passphrase"]);
    r.assert_code(code::INTEGRITY);
    assert_eq!(r.json_error()["kind"], "rotation_blocked");
    let doc = r.json();
    assert_eq!(doc["blocked"][0]["id"], id.as_str(), "{doc}");
    assert_eq!(doc["rotation_pending"], true, "{doc}");
    let rk = doc["recovery_key"]
        .as_str()
        .expect("the new recovery key")
        .to_owned();
    assert_eq!(key_versions(&t), [1, 2]);
    // The old recovery key no longer opens the vault; the new one and the
    // passphrase do.
    t.ls_with_recovery(&t.recovery_key)
        .assert_code(code::WRONG_CREDENTIAL);
    t.ls_with_recovery(&rk).assert_ok();

    // Resumed (and blocked again), it hands out no other key.
    let r = t.run_json(&["rotate"]);
    r.assert_code(code::INTEGRITY);
    assert!(r.json()["recovery_key"].is_null(), "{}", r.json());

    t.json_ok(&["verify", "--quarantine"]);
    let r = t.json_ok(&["rotate"]);
    assert_eq!(r["rotation"]["resumed"], true, "{r}");
    assert_eq!(key_versions(&t), [2]);
    others_intact(&t, &files, "docs/d.bin", "out");
    t.ls_with_recovery(&rk).assert_ok();
}

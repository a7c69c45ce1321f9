//! Black-box tests of every `coffer` subcommand: human and `--json`
//! output, and exit codes (crates/coffer-cli/src/exit.rs).

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn ids_of(v: &Value) -> Vec<String> {
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

fn paths_of(v: &Value) -> Vec<String> {
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn init_prints_the_recovery_key_once() {
    let t = TestVault::empty();
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    let r = t.run(&args);
    r.assert_ok();
    let out = r.stdout_str();
    let keys: Vec<&str> = out
        .split_whitespace()
        .filter(|w| looks_like_recovery_key(w))
        .collect();
    assert_eq!(keys.len(), 1, "one recovery key in: {out}");
    let key = keys[0];
    assert!(out.contains("shown only this once"), "{out}");
    assert!(out.contains("coffer recover"), "{out}");
    assert!(!r.stderr.contains(key), "never on stderr");

    // Never shown again.
    for args in [&["status"][..], &["slots", "list"], &["ls", "--long"]] {
        let r = t.run(args);
        r.assert_ok();
        assert!(!r.stdout_str().contains(key), "{args:?} shows the key");
        assert!(!r.stderr.contains(key), "{args:?} shows the key");
        let r = t.run_json(args);
        r.assert_ok();
        assert!(
            !r.stdout_str().contains(key),
            "{args:?} --json shows the key"
        );
    }
    for f in walk(&t.vault) {
        let b = fs::read(&f).unwrap();
        assert!(
            !b.windows(key.len()).any(|w| w == key.as_bytes()),
            "{} holds the recovery key in clear",
            f.display()
        );
    }

    // The key works.
    t.ls_with_recovery(key).assert_ok();
}

#[test]
fn init_json_shape_and_refusals() {
    let mut t = TestVault::empty();
    let v = t.init(&[]);
    assert!(looks_like_recovery_key(v["recovery_key"].as_str().unwrap()));
    assert!(is_hex(v["vault_id"].as_str().unwrap(), 32), "{v}");
    assert_eq!(v["keychain"], false);
    assert_eq!(v["escrow"], false);
    assert_eq!(v["vault"].as_str().unwrap(), t.vault.to_str().unwrap());
    assert!(t.vault.join("vault.json").is_file());

    // A second init in the same place is refused and changes nothing.
    let before = fs::read(t.vault.join("vault.json")).unwrap();
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    let e = t.json_err(&args, code::USAGE);
    assert_eq!(e["kind"], "already_exists");
    assert_eq!(fs::read(t.vault.join("vault.json")).unwrap(), before);

    // Argon2id below the floor (19 MiB, t = 2) is refused.
    let t2 = TestVault::empty();
    let e = t2.json_err(
        &[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-time",
            "2",
            "--kdf-lanes",
            "1",
        ],
        code::USAGE,
    );
    assert_eq!(e["kind"], "kdf_params");
    assert!(!t2.vault.join("vault.json").exists());

    // No passphrase and no terminal: a usage error, no vault.
    let t3 = TestVault::empty();
    let mut c = t3.cmd_nopass(["--json", "init"]);
    c.args(FAST_KDF);
    let r = run_cmd(&mut c);
    r.assert_code(code::USAGE);
    assert!(!t3.vault.join("vault.json").exists());
}

#[test]
fn add_file_folder_and_to() {
    let t = TestVault::new();
    let big = pseudo_random(70_000, 1);
    write_tree(
        t.root(),
        &[
            ("letter.txt", b"Dear colleague"),
            ("F/a.txt", b"alpha"),
            ("F/sub/b.bin", &big),
            ("F/empty", b""),
        ],
    );
    let v = t.json_ok(&["add", "letter.txt"]);
    assert_eq!(v["added"], 1);
    assert_eq!(v["bytes"], 14);
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["skipped"], serde_json::json!([]));

    let v = t.json_ok(&["add", "F", "--to", "Clinic/2024"]);
    assert_eq!(v["added"], 3);
    assert_eq!(v["bytes"], 5 + 70_000);

    let files = t.ls();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Clinic/2024/F/a.txt",
            "Clinic/2024/F/empty",
            "Clinic/2024/F/sub/b.bin",
            "letter.txt"
        ]
    );
    assert_eq!(files["Clinic/2024/F/sub/b.bin"]["size"], 70_000);
    // The originals stay without --remove-plaintext.
    assert_eq!(fs::read(t.path("letter.txt")).unwrap(), b"Dear colleague");
    assert_eq!(fs::read(t.path("F/sub/b.bin")).unwrap(), big);
    assert_eq!(t.cat("Clinic/2024/F/sub/b.bin"), big);
    assert_eq!(t.cat("Clinic/2024/F/empty"), b"");

    // Human output.
    write_tree(t.root(), &[("G/x", b"x")]);
    let r = t.run(&["add", "G"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("Encrypted 1 files"), "{r:?}");
}

#[test]
fn add_works_while_locked() {
    let t = TestVault::new();
    write_tree(t.root(), &[("scan.pdf", b"%PDF-1.7")]);
    let r = run_cmd(&mut t.cmd_nopass(["--json", "add", "scan.pdf"]));
    r.assert_ok();
    assert_eq!(r.json()["added"], 1);
    assert_eq!(t.cat("scan.pdf"), b"%PDF-1.7");
}

#[test]
fn add_remove_plaintext() {
    let t = TestVault::new();
    let data = pseudo_random(200_000, 2);
    write_tree(
        t.root(),
        &[("D/x.bin", &data), ("D/y.txt", b"why"), ("one", b"1")],
    );
    let v = t.json_ok(&["add", "--remove-plaintext", "D", "./one"]);
    assert_eq!(v["added"], 3);
    assert!(!t.path("D/x.bin").exists());
    assert!(!t.path("D/y.txt").exists());
    assert!(!t.path("one").exists());
    assert_eq!(t.cat("D/x.bin"), data);
    assert_eq!(t.cat("D/y.txt"), b"why");
    assert_eq!(t.cat("one"), b"1");
    assert!(tmp_files(&t.vault).is_empty());
    assert!(!t.vault.join("removals.json").exists());
}

#[test]
fn add_remove_plaintext_bare_file_name() {
    let t = TestVault::new();
    write_tree(t.root(), &[("note.txt", b"hello")]);
    let v = t.json_ok(&["add", "--remove-plaintext", "note.txt"]);
    assert_eq!(v["added"], 1);
    assert!(!t.path("note.txt").exists());
    assert_eq!(t.cat("note.txt"), b"hello");
    assert!(
        !t.vault.join("removals.json").exists(),
        "stale removal journal"
    );
}

#[test]
fn add_remove_plaintext_bare_file_name_loses_nothing() {
    // Whatever it reports (see the ignored test above), the file is whole
    // in one of the two places.
    let t = TestVault::new();
    write_tree(t.root(), &[("note.txt", b"hello")]);
    let _ = t.run_json(&["add", "--remove-plaintext", "note.txt"]);
    match fs::read(t.path("note.txt")) {
        Ok(b) => assert_eq!(b, b"hello"),
        Err(_) => assert_eq!(t.cat("note.txt"), b"hello"),
    }
}

#[test]
fn protect_and_unprotect() {
    let t = TestVault::new();
    let scan = pseudo_random(150_000, 3);
    write_tree(
        t.root(),
        &[
            ("Scans/referral.txt", b"Dear colleague"),
            ("Scans/imaging/xray.dcm", &scan),
            ("Scans/lab/blood.csv", b"a,b\n1,2\n"),
        ],
    );
    let r = t.run(&["protect", "Scans"]);
    r.assert_ok();
    assert!(
        r.stdout_str().contains("is now protected"),
        "{}",
        r.stdout_str()
    );
    // Plaintext gone (folders may remain), files listed under the folder name.
    assert!(read_tree(&t.path("Scans")).is_empty());
    let files = t.ls();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Scans/imaging/xray.dcm",
            "Scans/lab/blood.csv",
            "Scans/referral.txt"
        ]
    );
    assert_eq!(t.cat("Scans/imaging/xray.dcm"), scan);

    let canon = fs::canonicalize(t.path("Scans")).unwrap();
    let st = t.json_ok(&["status"]);
    let prot = st["protected"].as_array().unwrap();
    assert_eq!(prot.len(), 1, "{st}");
    assert_eq!(prot[0]["name"], "Scans");
    assert_eq!(prot[0]["path"].as_str().unwrap(), canon.to_str().unwrap());

    // Again: idempotent, picks up a new file.
    write_tree(t.root(), &[("Scans/new.txt", b"new")]);
    let v = t.json_ok(&["protect", "Scans"]);
    assert_eq!(v["added"], 1);
    assert_eq!(
        t.json_ok(&["status"])["protected"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!t.path("Scans/new.txt").exists());

    // A second folder with the same base name gets its own vault folder.
    write_tree(t.root(), &[("other/Scans/z.txt", b"zed")]);
    t.json_ok(&["protect", "other/Scans"]);
    assert_eq!(t.cat("Scans (2)/z.txt"), b"zed");

    // The vault itself cannot be protected.
    let e = t.json_err(&["protect", t.vault.to_str().unwrap()], code::USAGE);
    assert_eq!(e["kind"], "unsafe_folder");

    // Unprotect: files stay in the vault.
    let v = t.json_ok(&["unprotect", "Scans"]);
    assert!(v.get("unprotected").is_some(), "{v}");
    let st = t.json_ok(&["status"]);
    let names: Vec<&str> = st["protected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Scans (2)"]);
    assert_eq!(t.cat("Scans/referral.txt"), b"Dear colleague");
    t.json_err(&["unprotect", "Scans"], code::NOT_FOUND);
    let r = t.run(&["unprotect", "other/Scans"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("no longer protected"));
}

#[test]
fn ls_plain_long_and_prefix() {
    let t = TestVault::new();
    write_tree(
        t.root(),
        &[
            ("A/x.txt", b"x"),
            ("A/sub/y.txt", b"yy"),
            ("AB/z.txt", b"zzz"),
        ],
    );
    t.json_ok(&["add", "A", "AB"]);
    t.json_ok(&["add", "A/x.txt", "--to", "A"]); // a second version of A/x.txt

    let r = t.run(&["ls"]);
    r.assert_ok();
    assert_eq!(r.stdout_str(), "A/sub/y.txt\nA/x.txt\nAB/z.txt\n");

    let all = t.json_ok(&["ls"]);
    assert_eq!(all["unreadable"], 0);
    for f in all["files"].as_array().unwrap() {
        assert!(is_hex(f["id"].as_str().unwrap(), 32), "{f}");
        for k in ["size", "mtime_ns", "added_ns", "versions"] {
            assert!(f[k].is_number(), "{k} in {f}");
        }
    }
    let x = &t.ls()["A/x.txt"];
    assert_eq!(x["versions"], 2);
    assert_eq!(x["size"], 1);

    // --long: size, version count, id, path on each line.
    let r = t.run(&["ls", "--long"]);
    r.assert_ok();
    let out = r.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let xl = lines.iter().find(|l| l.ends_with("A/x.txt")).unwrap();
    assert!(xl.contains("v2"), "{xl}");
    assert!(xl.contains(x["id"].as_str().unwrap()), "{xl}");
    assert!(xl.contains("1 B"), "{xl}");
    let r = t.run(&["ls", "-l", "AB"]);
    r.assert_ok();
    assert_eq!(r.stdout_str().lines().count(), 1);

    // Prefix: a folder boundary, not a string prefix.
    assert_eq!(
        paths_of(&t.json_ok(&["ls", "A"])),
        ["A/sub/y.txt", "A/x.txt"]
    );
    assert_eq!(
        paths_of(&t.json_ok(&["ls", "A/"])),
        ["A/sub/y.txt", "A/x.txt"]
    );
    assert_eq!(paths_of(&t.json_ok(&["ls", "A/x.txt"])), ["A/x.txt"]);
    let e = t.json_err(&["ls", "C"], code::NOT_FOUND);
    assert_eq!(e["kind"], "not_found");
    let r = t.run(&["ls", "C"]);
    r.assert_code(code::NOT_FOUND);
    assert!(r.stderr.contains("coffer:"), "{}", r.stderr);

    // Listing needs the passphrase.
    run_cmd(&mut t.cmd_nopass(["ls"])).assert_code(code::USAGE);
}

#[test]
fn versions_and_old_versions() {
    let t = TestVault::new();
    write_tree(t.root(), &[("notes.txt", b"first draft")]);
    t.json_ok(&["add", "notes.txt"]);
    write_tree(t.root(), &[("notes.txt", b"second, final draft")]);
    t.json_ok(&["add", "notes.txt"]);

    let v = t.json_ok(&["versions", "notes.txt"]);
    assert_eq!(v["path"], "notes.txt");
    let vs = v["versions"].as_array().unwrap();
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0]["version"], 1);
    assert_eq!(vs[1]["version"], 2);
    assert_eq!(vs[0]["size"], 11);
    assert_eq!(vs[1]["size"], 19);
    assert_ne!(vs[0]["id"], vs[1]["id"]);
    assert!(vs[0]["added_ns"].as_i64() <= vs[1]["added_ns"].as_i64());

    let r = t.run(&["versions", "notes.txt"]);
    r.assert_ok();
    let out = r.stdout_str();
    assert_eq!(out.lines().count(), 2);
    assert!(out.lines().next().unwrap().starts_with("v1"), "{out}");
    assert!(out.contains(vs[1]["id"].as_str().unwrap()));

    // Newest by default; --version 1 is the oldest.
    assert_eq!(t.cat("notes.txt"), b"second, final draft");
    let r = t.run(&["cat", "notes.txt", "--version", "1"]);
    r.assert_ok();
    assert_eq!(r.stdout, b"first draft");
    let v = t.json_ok(&["extract", "notes.txt", "--version", "1", "--to", "old"]);
    assert_eq!(v["extracted"], 1);
    assert_eq!(v["bytes"], 11);
    assert_eq!(fs::read(t.path("old/notes.txt")).unwrap(), b"first draft");
    t.json_ok(&["extract", "notes.txt", "--to", "new"]);
    assert_eq!(
        fs::read(t.path("new/notes.txt")).unwrap(),
        b"second, final draft"
    );

    t.json_err(&["cat", "notes.txt", "--version", "3"], code::NOT_FOUND);
    t.json_err(&["cat", "notes.txt", "--version", "0"], code::NOT_FOUND);
    t.json_err(&["versions", "nope.txt"], code::NOT_FOUND);
}

#[test]
fn cat_writes_exact_bytes() {
    let t = TestVault::new();
    let bin: Vec<u8> = (0..=255u8).cycle().take(200_003).collect();
    write_tree(
        t.root(),
        &[
            ("bin", &bin),
            ("empty", b""),
            ("D/utf8 é.txt", "héllo\n".as_bytes()),
        ],
    );
    t.json_ok(&["add", "bin", "empty", "D"]);
    assert_eq!(t.cat("bin"), bin);
    assert_eq!(t.cat("empty"), b"");
    assert_eq!(t.cat("D/utf8 é.txt"), "héllo\n".as_bytes());
    // A leading or trailing slash is tolerated.
    assert_eq!(t.cat("/bin"), bin);
    let e = t.json_err(&["cat", "missing"], code::NOT_FOUND);
    assert_eq!(e["kind"], "not_found");
    // A folder is not a file.
    t.json_err(&["cat", "D"], code::NOT_FOUND);
}

#[test]
fn extract_folder_file_and_refusal() {
    let t = TestVault::new();
    let big = pseudo_random(300_000, 4);
    let files: Vec<(&str, &[u8])> = vec![
        ("F/a.txt", b"alpha"),
        ("F/sub/b.bin", &big),
        ("F/sub/deeper/c", b"c"),
        ("F/empty", b""),
    ];
    write_tree(t.root(), &files);
    t.json_ok(&["add", "F"]);
    let original = read_tree(&t.path("F"));

    // A folder: its tree, under its own name.
    let v = t.json_ok(&["extract", "F", "--to", "out"]);
    assert_eq!(v["extracted"], 4);
    assert_eq!(v["bytes"], 5 + 300_000 + 1);
    assert_eq!(read_tree(&t.path("out/F")), original);
    assert!(tmp_files(&t.path("out")).is_empty());

    // A subfolder keeps its own name as the top.
    t.json_ok(&["extract", "F/sub", "--to", "out-sub"]);
    let got = read_tree(&t.path("out-sub"));
    let names: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(names, ["sub/b.bin", "sub/deeper/c"]);

    // A file: by its base name.
    let r = t.run(&["extract", "F/sub/b.bin", "--to", "one"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("Extracted 1 files"), "{r:?}");
    assert_eq!(fs::read(t.path("one/b.bin")).unwrap(), big);

    // An existing destination is never overwritten.
    fs::write(t.path("one/b.bin"), b"keep me").unwrap();
    let e = t.json_err(&["extract", "F/sub/b.bin", "--to", "one"], code::USAGE);
    assert!(
        e["message"].as_str().unwrap().contains("already exists"),
        "{e}"
    );
    assert_eq!(fs::read(t.path("one/b.bin")).unwrap(), b"keep me");
    assert_eq!(walk(&t.path("one")).len(), 1, "no temp file left");
    let r = t.run(&["extract", "F", "--to", "out"]);
    r.assert_code(code::USAGE);
    assert_eq!(read_tree(&t.path("out/F")), original);
    assert!(tmp_files(&t.path("out")).is_empty());

    // One clash anywhere in a folder: nothing at all is extracted.
    fs::create_dir_all(t.path("clash/F/sub/deeper")).unwrap();
    fs::write(t.path("clash/F/sub/deeper/c"), b"mine").unwrap();
    t.json_err(&["extract", "F", "--to", "clash"], code::USAGE);
    assert_eq!(walk(&t.path("clash")).len(), 1, "nothing written beside it");

    t.json_err(&["extract", "G", "--to", "x"], code::NOT_FOUND);
    assert!(!t.path("x").exists() || walk(&t.path("x")).is_empty());
    // --to is required.
    t.run(&["extract", "F"]).assert_code(code::USAGE);
}

#[test]
fn rm_removes_every_version() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a.txt", b"1"), ("b.txt", b"b")]);
    t.json_ok(&["add", "a.txt", "b.txt"]);
    write_tree(t.root(), &[("a.txt", b"2")]);
    t.json_ok(&["add", "a.txt"]);
    assert_eq!(t.object_files().len(), 3);

    let v = t.json_ok(&["rm", "a.txt"]);
    assert_eq!(v["removed_versions"], 2);
    assert_eq!(t.object_files().len(), 1);
    assert_eq!(t.ls().keys().collect::<Vec<_>>(), ["b.txt"]);
    t.json_err(&["cat", "a.txt"], code::NOT_FOUND);
    t.json_err(&["rm", "a.txt"], code::NOT_FOUND);

    let r = t.run(&["rm", "b.txt"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("Removed 1 file versions"), "{r:?}");
    assert!(t.object_files().is_empty());
    assert!(t.ls().is_empty());
}

#[test]
fn verify_locked_and_unlocked() {
    let t = TestVault::new();
    let data = pseudo_random(140_000, 5);
    write_tree(t.root(), &[("a", b"a"), ("b", &data), ("c", b"")]);
    t.json_ok(&["add", "a", "b", "c"]);

    // Locked: structure only, no credential needed.
    let r = run_cmd(&mut t.cmd_nopass(["--json", "verify", "--structure-only"]));
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["report"]["full"], false);
    assert_eq!(v["report"]["objects"], 3);
    assert_eq!(v["report"]["decrypted"], 0);
    assert_eq!(v["report"]["failures"], serde_json::json!([]));
    assert_eq!(v["report"]["temp_files"], 0);
    assert_eq!(v["report"]["orphan_records"], 0);
    let r = run_cmd(&mut t.cmd_nopass(["verify", "--structure-only"]));
    r.assert_ok();
    assert!(
        r.stdout_str().contains("3 objects, structure checked"),
        "{}",
        r.stdout_str()
    );

    // Unlocked: every chunk.
    let v = t.json_ok(&["verify"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["report"]["full"], true);
    assert_eq!(v["report"]["decrypted"], 3);
    let r = t.run(&["verify"]);
    r.assert_ok();
    assert!(
        r.stdout_str()
            .contains("3 objects, every chunk authenticated: 0 problems"),
        "{}",
        r.stdout_str()
    );

    // A full check without a credential (and no terminal) is a usage error.
    run_cmd(&mut t.cmd_nopass(["verify"])).assert_code(code::USAGE);
}

#[test]
fn status_locked_summary() {
    let t = TestVault::new();
    write_tree(
        t.root(),
        &[("a", b"hello"), ("b", &pseudo_random(70_000, 6))],
    );
    t.json_ok(&["add", "a", "b"]);
    let r = run_cmd(&mut t.cmd_nopass(["--json", "status"]));
    r.assert_ok();
    let s = r.json();
    assert!(is_hex(s["vault_id"].as_str().unwrap(), 32), "{s}");
    assert_eq!(s["unlocked"], false);
    assert_eq!(s["objects"], 2);
    assert!(s["stored_bytes"].as_u64().unwrap() > 70_005);
    assert_eq!(s["key_version"], 1);
    assert_eq!(s["key_versions"], serde_json::json!([1]));
    assert!(s["key_version_created"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(s["rotation"], Value::Null);
    assert_eq!(s["protected"], serde_json::json!([]));
    let kinds: Vec<&str> = s["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["passphrase", "recovery"]);
    assert_eq!(
        s["slots"][0]["kdf"],
        serde_json::json!({"m_kib": 19 * 1024, "t": 2, "p": 1})
    );

    let r = run_cmd(&mut t.cmd_nopass(["status"]));
    r.assert_ok();
    let out = r.stdout_str();
    for needle in [
        "Vault id",
        s["vault_id"].as_str().unwrap(),
        "State        locked",
        "Files        2 versions",
        "AES-256-GCM",
        "Key version  1",
        "Unlock       passphrase",
        "Argon2id m=19 MiB t=2 p=1",
        "Unlock       recovery",
        "Protected    no folders",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
}

#[test]
fn inspect_object_layout() {
    let t = TestVault::new();
    let sizes = [
        ("hundred-k", 100_000usize, 2u64),
        ("empty", 0, 1),
        ("one-chunk", 65_536, 1),
        ("one-chunk-plus-one", 65_537, 2),
    ];
    for (i, (name, len, _)) in sizes.iter().enumerate() {
        fs::write(t.path(name), pseudo_random(*len, i as u64)).unwrap();
    }
    t.json_ok(&[
        "add",
        "hundred-k",
        "empty",
        "one-chunk",
        "one-chunk-plus-one",
    ]);
    let files = t.ls();
    let objects = t.object_files();

    for (name, len, chunks) in sizes {
        let id = files[name]["id"].as_str().unwrap();
        // Works locked.
        let r = run_cmd(&mut t.cmd_nopass(["--json", "inspect", id]));
        r.assert_ok();
        let i = r.json();
        assert_eq!(i["id"], id);
        assert_eq!(i["format_version"], 1, "{i}");
        assert_eq!(i["chunk_size"], 65_536, "{i}");
        assert_eq!(i["chunks"], chunks, "{name}: {i}");
        assert_eq!(i["plaintext_len"], len as u64, "{name}: {i}");
        assert_eq!(i["key_version"], 1);
        assert_eq!(i["sidecar"], false);
        assert!(is_hex(i["salt"].as_str().unwrap(), 64), "{i}");
        assert!(is_hex(i["commitment"].as_str().unwrap(), 64), "{i}");
        assert!(i["record_len"].as_u64().unwrap() > 0);
        assert!(i["metadata_len"].as_u64().unwrap() > 0);
        let on_disk = fs::metadata(&objects[id]).unwrap().len();
        assert_eq!(i["object_len"], on_disk);
        // 16-byte tag per chunk.
        assert_eq!(
            i["stream_offset"].as_u64().unwrap() + len as u64 + 16 * chunks,
            on_disk,
            "{i}"
        );
    }

    // Human form of the 100000-byte file.
    let id = files["hundred-k"]["id"].as_str().unwrap();
    let r = run_cmd(&mut t.cmd_nopass(["inspect", id]));
    r.assert_ok();
    let out = r.stdout_str();
    let line = |prefix: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{out}"))
            .to_owned()
    };
    assert!(line("object").ends_with(id));
    assert!(line("format").contains("v1, 65536-byte chunks, AES-256-GCM STREAM"));
    assert!(line("key record").contains("key version 1, embedded"));
    assert!(line("metadata").contains("(encrypted)"));
    assert!(line("chunk stream").ends_with(", 2 chunks"), "{out}");
    assert!(
        line("size").ends_with("bytes stored, 100000 bytes of content"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 8, "{out}");

    let e = t.json_err(&["inspect", "xyz"], code::USAGE);
    assert_eq!(e["kind"], "usage");
    t.json_err(
        &["inspect", "00000000000000000000000000000000"],
        code::NOT_FOUND,
    );
}

/// `ls` with a given credential: its exit code.
fn ls_code_with_pass(t: &TestVault, pass: &str) -> i32 {
    let mut c = t.cmd_nopass(["--json", "ls"]);
    c.env("COFFER_PASSPHRASE", pass);
    run_cmd(&mut c).code
}

fn ls_code_with_recovery(t: &TestVault, key: &str) -> i32 {
    t.ls_with_recovery(key).code
}

fn slots(t: &TestVault) -> Vec<(String, String)> {
    let r = run_cmd(&mut t.cmd_nopass(["--json", "slots", "list"]));
    r.assert_ok();
    r.json()["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn slots_list_add_remove() {
    let t = TestVault::new();
    let first = slots(&t);
    assert_eq!(
        first.iter().map(|s| s.1.as_str()).collect::<Vec<_>>(),
        ["passphrase", "recovery"]
    );
    for (id, _) in &first {
        assert!(is_hex(id, 8), "{id}");
    }
    let r = run_cmd(&mut t.cmd_nopass(["slots", "list"]));
    r.assert_ok();
    let out = r.stdout_str();
    assert_eq!(out.lines().count(), 2);
    assert!(out.contains(&first[0].0) && out.contains("passphrase"));

    // A second passphrase.
    let mut c = t.cmd(["--json", "slots", "add", "passphrase"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", "second pass");
    let r = run_cmd(&mut c);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["added"], "passphrase");
    assert_eq!(v["recovery_key"], Value::Null);
    let second_id = v["slot"].as_str().unwrap().to_owned();
    assert_eq!(ls_code_with_pass(&t, "second pass"), code::OK);
    assert_eq!(ls_code_with_pass(&t, PASS), code::OK);
    assert_eq!(slots(&t).len(), 3);

    // A new recovery key replaces the old one.
    let v = t.json_ok(&["slots", "add", "recovery"]);
    assert_eq!(v["added"], "recovery");
    let new_key = v["recovery_key"].as_str().unwrap().to_owned();
    assert!(looks_like_recovery_key(&new_key));
    assert_ne!(new_key, t.recovery_key);
    assert_eq!(ls_code_with_recovery(&t, &new_key), code::OK);
    assert_eq!(
        ls_code_with_recovery(&t, &t.recovery_key),
        code::WRONG_CREDENTIAL
    );
    let r = t.run(&["slots", "add", "recovery"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("New recovery key"), "{r:?}");

    // An escrow slot.
    let key = t.path("org.key");
    let pubkey = escrow_keygen(&t, &key);
    let v = t.json_ok(&["slots", "add", "escrow", "--escrow", &pubkey]);
    assert_eq!(v["added"], "escrow");
    assert!(slots(&t).iter().any(|s| s.1 == "escrow"));
    t.json_err(&["slots", "add", "escrow"], code::USAGE);
    t.json_err(&["slots", "add", "banana"], code::USAGE);

    // Removing the second passphrase: it stops working, the first still works.
    let v = t.json_ok(&["slots", "remove", &second_id]);
    assert_eq!(v["removed"], "passphrase");
    assert_eq!(v["slot"], second_id.as_str());
    assert_eq!(ls_code_with_pass(&t, "second pass"), code::WRONG_CREDENTIAL);
    assert_eq!(ls_code_with_pass(&t, PASS), code::OK);
    t.json_err(&["slots", "remove", "deadbeef"], code::NOT_FOUND);
    // Removing needs unlock.
    run_cmd(&mut t.cmd_nopass(["slots", "remove", &first[0].0])).assert_code(code::USAGE);
}

#[test]
fn slots_add_keychain() {
    if std::env::var("COFFER_TEST_SECRET_SERVICE").as_deref() != Ok("1") {
        eprintln!("skipped: set COFFER_TEST_SECRET_SERVICE=1 to test the OS keychain");
        return;
    }
    let t = TestVault::new();
    let v = t.json_ok(&["slots", "add", "keychain"]);
    assert_eq!(v["added"], "keychain");
    run_cmd(&mut t.cmd_nopass(["--json", "--keychain", "ls"])).assert_ok();
    let id = v["slot"].as_str().unwrap();
    t.json_ok(&["slots", "remove", id]);
    assert_ne!(
        run_cmd(&mut t.cmd_nopass(["--json", "--keychain", "ls"])).code,
        code::OK
    );
}

#[test]
fn passwd_changes_the_passphrase() {
    let mut t = TestVault::new();
    write_tree(t.root(), &[("a", b"a")]);
    t.json_ok(&["add", "a"]);
    let mut c = t.cmd(["--json", "passwd"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", "new pass");
    let r = run_cmd(&mut c);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["passphrase_changed"], true);
    assert!(v["slot"].is_string());

    let e = t.json_err(&["ls"], code::WRONG_CREDENTIAL);
    assert_eq!(e["kind"], "wrong_credential");
    t.pass = "new pass".into();
    assert_eq!(t.cat("a"), b"a");
    // The recovery key is untouched.
    assert_eq!(ls_code_with_recovery(&t, &t.recovery_key), code::OK);
    // One passphrase slot, with the requested KDF.
    let s = t.json_ok(&["status"]);
    let pass_slots: Vec<&Value> = s["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "passphrase")
        .collect();
    assert_eq!(pass_slots.len(), 1);
    assert_eq!(pass_slots[0]["kdf"]["m_kib"], 19 * 1024);

    // The old passphrase cannot change it.
    let mut c = t.cmd(["--json", "passwd"]);
    c.env("COFFER_PASSPHRASE", PASS)
        .env("COFFER_NEW_PASSPHRASE", "evil");
    run_cmd(&mut c).assert_code(code::WRONG_CREDENTIAL);
    assert_eq!(ls_code_with_pass(&t, "new pass"), code::OK);
}

#[test]
fn passphrase_from_stdin() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a", b"from stdin")]);
    t.json_ok(&["add", "a"]);
    let mut c = t.cmd_nopass(["--passphrase-stdin", "cat", "a"]);
    let r = run_with_stdin(&mut c, format!("{PASS}\n").as_bytes());
    r.assert_ok();
    assert_eq!(r.stdout, b"from stdin");
    let mut c = t.cmd_nopass(["--json", "--passphrase-stdin", "cat", "a"]);
    let r = run_with_stdin(&mut c, b"wrong\n");
    r.assert_code(code::WRONG_CREDENTIAL);
}

#[test]
fn recover_with_the_recovery_key() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a", b"patient file")]);
    t.json_ok(&["add", "a"]);

    let mut c = t.cmd_nopass(["--json", "recover"]);
    c.args(FAST_KDF)
        .env("COFFER_RECOVERY_KEY", &t.recovery_key)
        .env("COFFER_NEW_PASSPHRASE", "recovered pass");
    let r = run_cmd(&mut c);
    r.assert_ok();
    assert_eq!(
        r.json(),
        serde_json::json!({"recovered": true, "method": "recovery_key"})
    );
    assert_eq!(ls_code_with_pass(&t, PASS), code::WRONG_CREDENTIAL);
    assert_eq!(ls_code_with_pass(&t, "recovered pass"), code::OK);
    // The recovery key still works.
    assert_eq!(ls_code_with_recovery(&t, &t.recovery_key), code::OK);

    // Another vault's (well-formed) recovery key: wrong credential.
    let other = TestVault::new();
    let mut c = t.cmd_nopass(["--json", "recover"]);
    c.args(FAST_KDF)
        .env("COFFER_RECOVERY_KEY", &other.recovery_key)
        .env("COFFER_NEW_PASSPHRASE", "x");
    run_cmd(&mut c).assert_code(code::WRONG_CREDENTIAL);
    assert_eq!(ls_code_with_pass(&t, "recovered pass"), code::OK);

    // A mistyped key: a usage error that says so.
    let mut bad = t.recovery_key.clone().into_bytes();
    bad[0] = if bad[0] == b'A' { b'B' } else { b'A' };
    let mut c = t.cmd_nopass(["--json", "recover"]);
    c.env("COFFER_RECOVERY_KEY", String::from_utf8(bad).unwrap())
        .env("COFFER_NEW_PASSPHRASE", "x");
    let r = run_cmd(&mut c);
    r.assert_code(code::USAGE);
    r.json_error();
}

/// `escrow keygen --out FILE`; returns the printed public key.
fn escrow_keygen(t: &TestVault, out: &Path) -> String {
    let v = t.json_ok(&["escrow", "keygen", "--out", out.to_str().unwrap()]);
    assert_eq!(
        v["private_key_file"].as_str().unwrap(),
        out.to_str().unwrap()
    );
    let public = v["public_key"].as_str().unwrap().to_owned();
    assert!(public.starts_with("coffer-escrow-public:"), "{public}");
    public
}

#[test]
fn escrow_keygen_init_and_recover() {
    let mut t = TestVault::empty();
    fs::create_dir_all(t.root()).unwrap();
    let org = t.path("org.key");
    let public = escrow_keygen(&t, &org);
    let text = fs::read_to_string(&org).unwrap();
    assert!(text.contains("coffer-escrow-private:"), "{text}");
    assert!(text.contains(&public), "{text}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&org).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key file is private: {mode:o}");
    }
    // Never overwritten.
    let r = t.run_json(&["escrow", "keygen", "--out", org.to_str().unwrap()]);
    assert_ne!(r.code, code::OK);
    r.json_error();
    assert_eq!(fs::read_to_string(&org).unwrap(), text);

    let v = t.init(&["--escrow", &public]);
    assert_eq!(v["escrow"], true);
    assert!(slots(&t).iter().any(|s| s.1 == "escrow"));
    write_tree(t.root(), &[("a", b"escrowed")]);
    t.json_ok(&["add", "a"]);

    // The wrong organisation key: exit 3, nothing changes.
    let other = t.path("other.key");
    escrow_keygen(&t, &other);
    let mut c = t.cmd_nopass(["--json", "recover", "--escrow-key", other.to_str().unwrap()]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", "x");
    let r = run_cmd(&mut c);
    r.assert_code(code::WRONG_CREDENTIAL);
    assert_eq!(r.json_error()["kind"], "wrong_credential");
    assert_eq!(ls_code_with_pass(&t, "x"), code::WRONG_CREDENTIAL);

    // The right one sets a new passphrase.
    let mut c = t.cmd_nopass(["--json", "recover", "--escrow-key", org.to_str().unwrap()]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", "set by IT");
    let r = run_cmd(&mut c);
    r.assert_ok();
    assert_eq!(
        r.json(),
        serde_json::json!({"recovered": true, "method": "escrow"})
    );
    assert_eq!(ls_code_with_pass(&t, PASS), code::WRONG_CREDENTIAL);
    t.pass = "set by IT".into();
    assert_eq!(t.cat("a"), b"escrowed");

    // A file that is not an escrow key.
    fs::write(t.path("junk.key"), "hello\n").unwrap();
    let mut c = t.cmd_nopass(["--json", "recover", "--escrow-key", "junk.key"]);
    c.env("COFFER_NEW_PASSPHRASE", "y");
    run_cmd(&mut c).assert_code(code::USAGE);
    // An escrow public key that does not parse.
    let t2 = TestVault::empty();
    let mut args = vec!["init", "--escrow", "not-a-key"];
    args.extend_from_slice(&FAST_KDF);
    t2.json_err(&args, code::USAGE);
    assert!(!t2.vault.exists());
}

#[test]
fn init_escrow_accepts_the_keygen_file() {
    let mut t = TestVault::empty();
    fs::create_dir_all(t.root()).unwrap();
    let org = t.path("org.key");
    escrow_keygen(&t, &org);
    let v = t.init(&["--escrow", org.to_str().unwrap()]);
    assert_eq!(v["escrow"], true);
}

#[test]
fn rotate_rewrap_and_reencrypt() {
    let mut t = TestVault::new();
    let data = pseudo_random(100_000, 7);
    write_tree(t.root(), &[("a", b"a"), ("b", &data)]);
    t.json_ok(&["add", "a", "b"]);

    let mut c = t.cmd(["--json", "rotate"]);
    c.args(FAST_KDF);
    let r = run_cmd(&mut c);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["rotation"]["kind"], "rewrap");
    assert_eq!(v["rotation"]["files"], 2);
    assert_eq!(v["rotation"]["key_version"], 2);
    assert_eq!(v["recovery_key"], Value::Null);
    assert_eq!(t.json_ok(&["status"])["key_version"], 2);
    assert_eq!(t.cat("b"), data);
    assert_eq!(t.json_ok(&["verify"])["ok"], true);

    let mut c = t.cmd(["--json", "rotate", "--reencrypt", "--keep-passphrase"]);
    c.args(FAST_KDF);
    let r = run_cmd(&mut c);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["rotation"]["kind"], "reencrypt");
    assert_eq!(v["rotation"]["key_version"], 3);
    let new_key = v["recovery_key"].as_str().unwrap().to_owned();
    assert_eq!(ls_code_with_recovery(&t, &new_key), code::OK);
    assert_eq!(
        ls_code_with_recovery(&t, &t.recovery_key),
        code::WRONG_CREDENTIAL
    );
    t.recovery_key = new_key;
    assert_eq!(t.cat("b"), data);
    assert_eq!(t.cat("a"), b"a");
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
}

#[test]
fn repair_rebuild_index() {
    let t = TestVault::new();
    write_tree(t.root(), &[("D/a", b"a"), ("D/b", b"b"), ("D/c", b"c")]);
    t.json_ok(&["add", "D"]);
    let before = t.ls();
    let index = t.vault.join("index.bin");
    assert!(index.is_file(), "ls writes the index cache");

    // A damaged cache is not trusted and does not hide files.
    fs::write(&index, pseudo_random(500, 8)).unwrap();
    assert_eq!(t.ls(), before);

    fs::remove_file(&index).unwrap();
    let v = t.json_ok(&["repair", "--rebuild-index"]);
    assert_eq!(v, serde_json::json!({"rebuilt_index": true, "entries": 3}));
    assert!(index.is_file());
    assert_eq!(t.ls(), before);
    let r = t.run(&["repair", "--rebuild-index"]);
    r.assert_ok();
    assert!(r.stdout_str().contains("3 file versions"), "{r:?}");
    // The flag is required; unlock is required.
    t.run(&["repair"]).assert_code(code::USAGE);
    run_cmd(&mut t.cmd_nopass(["repair", "--rebuild-index"])).assert_code(code::USAGE);
}

#[test]
fn demo_runs_end_to_end() {
    let t = TestVault::empty();
    let dir = t.path("demo");
    let r = run_cmd(coffer().arg("demo").arg("--dir").arg(&dir));
    r.assert_ok();
    let out = r.stdout_str();
    for needle in [
        "byte-identical = true",
        "plaintext files left in Scans/: 0",
        "0 problems",
        "refused:",
        "partial file left behind: false",
        "old passphrase works: false; new passphrase works: true",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    assert!(!out.contains("UNEXPECTED"), "{out}");
    assert!(dir.join("vault/vault.json").is_file());
}

#[test]
fn watch_encrypts_new_files() {
    let t = TestVault::new();
    fs::create_dir_all(t.path("Inbox")).unwrap();
    t.json_ok(&["protect", "Inbox"]);

    let mut child = t
        .cmd_nopass(["--json", "watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        loop {
            let v = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no {what} event from `coffer watch`"));
            if v["event"] == what {
                return v;
            }
        }
    };
    let ready = next("ready");
    assert_eq!(ready["folders"], 1);

    // Written beside, then moved in whole.
    fs::write(t.path("draft"), b"arrived while watching").unwrap();
    fs::rename(t.path("draft"), t.path("Inbox/new.txt")).unwrap();
    let ev = next("encrypted");
    assert_eq!(ev["size"], 22);
    let gone = wait_until(Duration::from_secs(10), || {
        !t.path("Inbox/new.txt").exists()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(gone, "plaintext removed");
    assert_eq!(t.cat("Inbox/new.txt"), b"arrived while watching");
    assert_eq!(t.ls()["Inbox/new.txt"]["id"], ev["id"]);
    // Its output names no file.
    assert!(!ev.to_string().contains("new.txt"));
}

#[test]
fn json_errors_match_exit_codes_and_usage_errors() {
    let t = TestVault::new();
    // Clap usage errors exit 2.
    t.run(&["no-such-command"]).assert_code(code::USAGE);
    t.run(&["add"]).assert_code(code::USAGE);
    t.run(&["cat", "x", "--version", "abc"])
        .assert_code(code::USAGE);
    // Every documented failure prints one error document with the code.
    let r = t.run_json(&["cat", "missing"]);
    r.assert_code(code::NOT_FOUND);
    let e = r.json_error();
    assert!(e["hint"].is_string());
    assert!(
        r.stderr.is_empty(),
        "JSON mode keeps stderr quiet: {}",
        r.stderr
    );
    // ids_of is used by other tests; keep the helper honest here too.
    write_tree(t.root(), &[("x", b"x")]);
    t.json_ok(&["add", "x"]);
    assert_eq!(ids_of(&t.json_ok(&["ls"])).len(), 1);
}

//! Nothing Coffer does may destroy the vault, touch a file outside a
//! protected folder, or leave plaintext behind unreported — tried on the
//! real binary the way a new user (or an attacker who can write the
//! protected folder) would.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// A home folder in a temp dir with the vault at Coffer's default place,
/// `~/.local/share/coffer/vault`, as a new user has it.
struct Home {
    t: TestVault,
    policy: Option<PathBuf>,
}

impl Home {
    fn new(policy: Option<&str>) -> Self {
        let mut t = TestVault::empty();
        t.vault = t.path(".local/share/coffer/vault");
        let policy = policy.map(|text| {
            let p = t.path("policy.toml");
            fs::write(&p, text).unwrap();
            p
        });
        let h = Home { t, policy };
        let mut args = vec!["init"];
        args.extend_from_slice(&FAST_KDF);
        let r = run_cmd(&mut h.cmd(&args));
        r.assert_ok();
        h
    }

    /// `coffer --json ARGS` with no `--vault`: the default location under
    /// this HOME.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = coffer();
        c.arg("--json")
            .args(args)
            .env("HOME", self.t.root())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("COFFER_PASSPHRASE", PASS)
            .current_dir(self.t.root());
        if let Some(p) = &self.policy {
            c.env("COFFER_POLICY_FILE", p);
        }
        c
    }

    fn ok(&self, args: &[&str]) -> Value {
        let r = run_cmd(&mut self.cmd(args));
        r.assert_ok();
        r.json()
    }

    fn err(&self, args: &[&str], code: i32) -> Value {
        let r = run_cmd(&mut self.cmd(args));
        r.assert_code(code);
        r.json_error()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.t.path(rel)
    }

    /// The vault still opens, and every file it lists decrypts.
    fn vault_intact(&self, expect_files: usize) {
        let ls = self.ok(&["ls"]);
        let files = ls["files"].as_array().unwrap();
        assert_eq!(files.len(), expect_files, "{ls}");
        assert_eq!(ls["unreadable"].as_array().map_or(0, Vec::len), 0);
        for f in files {
            let r = run_cmd(&mut self.cmd(&["cat", f["path"].as_str().unwrap()]));
            r.assert_ok();
        }
        let v = self.ok(&["verify"]);
        assert_eq!(v["ok"], true, "{v}");
    }
}

fn refused_as_unsafe(e: &Value) {
    assert_eq!(e["kind"], "unsafe_folder", "{e}");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("destroy the vault"), "says why: {m}");
    assert!(
        e["hint"].as_str().unwrap().contains("Documents"),
        "says what to do: {e}"
    );
}

#[test]
fn protecting_a_folder_that_holds_or_is_the_vault_is_refused() {
    let h = Home::new(None);
    write_tree(&h.path("Scans"), &[("a.txt", b"a"), ("b.txt", b"b")]);
    h.ok(&["protect", h.path("Scans").to_str().unwrap()]);
    let vault = h.path(".local/share/coffer/vault");
    let link = h.path("Scans-link-to-home");
    symlink(h.t.root(), &link).unwrap();
    for dir in [
        h.t.root().to_path_buf(),      // protect ~
        h.t.root().join("."),          // the same, spelled differently
        h.path(".local"),              // the vault's grandparent
        h.path(".local/share/coffer"), // Coffer's data folder
        vault.clone(),                 // the vault itself
        vault.join("objects"),         // a folder inside it
        vault.join("objects/../.."),   // `..` resolved
        link.clone(),                  // a symlink to home
    ] {
        fs::create_dir_all(&dir).ok();
        let e = h.err(&["protect", dir.to_str().unwrap()], code::USAGE);
        refused_as_unsafe(&e);
    }
    // Nothing was touched: the vault opens and every file extracts.
    h.vault_intact(2);
    let st = h.ok(&["status"]);
    assert_eq!(st["protected"].as_array().unwrap().len(), 1, "{st}");
    assert!(vault.join("vault.json").is_file());
}

#[test]
fn an_audit_sink_folder_and_the_policy_folder_cannot_be_protected() {
    let policy_sink = TestVault::empty();
    let sink = policy_sink.root().join("audit-share");
    fs::create_dir_all(&sink).unwrap();
    let h = Home::new(Some(&format!(
        "[[audit.sinks]]\nkind = \"directory\"\npath = \"{}\"\n",
        sink.display()
    )));
    let e = h.err(&["protect", sink.to_str().unwrap()], code::USAGE);
    refused_as_unsafe(&e);
    let e = h.err(
        &["protect", policy_sink.root().to_str().unwrap()],
        code::USAGE,
    );
    refused_as_unsafe(&e);
}

#[test]
fn a_policy_whose_mandatory_folder_holds_the_vault_is_rejected() {
    for folder in ["~/", "/", "~/.local", "/home"] {
        let t = TestVault::new();
        let p = t.path("policy.toml");
        fs::write(&p, format!("[folders]\nmandatory = [\"{folder}\"]\n")).unwrap();
        let mut c = coffer();
        c.args(["--json", "policy", "validate"]).arg(&p);
        let r = run_cmd(&mut c);
        assert_ne!(r.code, 0, "{folder}: {}", r.stdout_str());
        let out = format!("{}{}", r.stdout_str(), r.stderr);
        assert!(out.contains("Coffer's own folder"), "{folder}: {out}");
        // And a vault under that policy refuses to run rather than protect it.
        let mut c = t.cmd(["--json", "status"]);
        c.env("COFFER_POLICY_FILE", &p).env("HOME", t.root());
        let r = run_cmd(&mut c);
        r.assert_code(code::USAGE);
        assert_eq!(r.json_error()["kind"], "policy");
    }
}

#[test]
fn symlinks_in_a_protected_folder_are_never_followed() {
    let h = Home::new(None);
    let outside = h.path("outside");
    write_tree(
        &outside,
        &[
            ("secret.txt", b"outside file"),
            ("dir/inner.txt", b"outside dir"),
        ],
    );
    let scans = h.path("Scans");
    write_tree(&scans, &[("mine.txt", b"mine")]);
    symlink(outside.join("secret.txt"), scans.join("file-link")).unwrap();
    symlink(outside.join("dir"), scans.join("dir-link")).unwrap();
    let r = h.ok(&["protect", scans.to_str().unwrap()]);
    assert_eq!(r["added"], 1, "{r}");
    let skipped: Vec<&str> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skipped"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["symlink", "symlink"], "{r}");
    assert_eq!(
        read_tree(&outside),
        [
            ("dir/inner.txt".to_owned(), b"outside dir".to_vec()),
            ("secret.txt".to_owned(), b"outside file".to_vec())
        ]
        .into_iter()
        .collect()
    );
    assert!(fs::symlink_metadata(scans.join("file-link")).is_ok());
    h.vault_intact(1);
}

#[test]
fn a_symlinked_protected_folder_is_stored_as_its_real_path() {
    let h = Home::new(None);
    let real = h.path("Real/Scans");
    write_tree(&real, &[("a.txt", b"a")]);
    let link = h.path("Scans");
    symlink(&real, &link).unwrap();
    h.ok(&["protect", link.to_str().unwrap()]);
    let st = h.ok(&["status"]);
    let stored = st["protected"][0]["path"].as_str().unwrap();
    assert_eq!(Path::new(stored), fs::canonicalize(&real).unwrap());
    assert!(!real.join("a.txt").exists());
    h.vault_intact(1);
}

/// While `protect` works through 1,000 files, a subfolder is swapped again
/// and again for a symlink to a folder outside holding files of the same
/// names. Nothing outside may be encrypted, moved or removed.
#[test]
fn a_symlink_swapped_in_during_protect_touches_nothing_outside() {
    const N: usize = 1000;
    let h = Home::new(None);
    let scans = h.path("Scans");
    let outside = h.path("outside");
    for i in 0..N {
        let name = format!("d/f{i:04}.txt");
        write_tree(&scans, &[(&name, format!("inside {i}").as_bytes())]);
        write_tree(&outside, &[(&name, format!("OUTSIDE {i}").as_bytes())]);
    }
    let before = read_tree(&outside);
    // Its report goes to a file: a pipe nobody reads while it works would
    // fill up and stall it.
    let report = fs::File::create(h.path("protect-report.json")).unwrap();
    let mut child = h
        .cmd(&["protect", scans.to_str().unwrap()])
        .stdout(report)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = scans.join("d");
    let parked = scans.join("d.real");
    let mut swaps = 0;
    while child.try_wait().unwrap().is_none() {
        // d → d.real, symlink d → outside/d, then back.
        if fs::rename(&d, &parked).is_ok() {
            symlink(outside.join("d"), &d).unwrap();
            std::thread::sleep(Duration::from_millis(2));
            fs::remove_file(&d).unwrap();
            fs::rename(&parked, &d).unwrap();
            swaps += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    child.wait().unwrap();
    eprintln!("{swaps} swaps during protect");
    assert!(swaps > 0, "the swap never ran");
    assert_eq!(read_tree(&outside), before, "a file outside was touched");
    // Every file inside is in the vault or still in plaintext, and no
    // outside content ever made it into the vault.
    let ls = h.ok(&["ls"]);
    let in_vault: Vec<String> = ls["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    for p in &in_vault {
        let r = run_cmd(&mut h.cmd(&["cat", p]));
        r.assert_ok();
        assert!(
            String::from_utf8_lossy(&r.stdout).starts_with("inside"),
            "{p} holds outside content"
        );
    }
    // A file the walk met while its folder was parked is stored (and
    // removed) under the parked name: still not lost.
    let plain = read_tree(&scans);
    for i in 0..N {
        let name = format!("f{i:04}.txt");
        assert!(
            plain.contains_key(&format!("d/{name}"))
                || in_vault.contains(&format!("Scans/d/{name}"))
                || in_vault.contains(&format!("Scans/d.real/{name}")),
            "{name} is lost"
        );
    }
}

#[test]
fn hard_linked_files_are_reported_and_left_alone() {
    let h = Home::new(None);
    let scans = h.path("Scans");
    write_tree(
        &scans,
        &[("plain.txt", b"plain"), ("linked.txt", b"two names")],
    );
    fs::hard_link(scans.join("linked.txt"), h.path("elsewhere.txt")).unwrap();
    let r = run_cmd(&mut h.cmd(&["protect", scans.to_str().unwrap()]));
    let doc = r.json();
    assert_eq!(doc["added"], 1, "{doc}");
    let problems = doc["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["skipped"] == "hard_linked"),
        "{doc}"
    );
    assert_eq!(fs::read(scans.join("linked.txt")).unwrap(), b"two names");
    let st = h.ok(&["status"]);
    assert_eq!(st["plaintext"]["files"], 1, "{st}");
    assert_eq!(st["plaintext"]["waiting"]["hard_linked"], 1, "{st}");
}

/// Editor backups and office lock files hold documents too: they wait for
/// the quiet period (2 s here) and are then encrypted by the watcher; until
/// then `status` counts them as waiting.
#[test]
fn temporary_files_are_encrypted_after_the_quiet_period() {
    let h = Home::new(Some("[folders]\ntemporary_quiet_seconds = 3\n"));
    let scans = h.path("Scans");
    fs::create_dir_all(&scans).unwrap();
    h.ok(&["protect", scans.to_str().unwrap()]);
    write_tree(
        &scans,
        &[
            ("letter.txt~", b"backup of a letter"),
            ("~$port.docx", b"word owner file"),
            (".~lock.notes.odt#", b"lock"),
            ("scan.pdf.part", b"partial download"),
        ],
    );
    let st = h.ok(&["status"]);
    assert_eq!(st["plaintext"]["waiting"]["temporary"], 4, "{st}");
    let mut w = h
        .cmd(&["watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gone = wait_until(Duration::from_secs(30), || {
        fs::read_dir(&scans)
            .map(|d| d.count() == 0)
            .unwrap_or(false)
    });
    let _ = w.kill();
    let _ = w.wait();
    assert!(gone, "still there: {:?}", read_tree(&scans).keys());
    let st = h.ok(&["status"]);
    assert_eq!(st["plaintext"]["files"], 0, "{st}");
    let ls = h.ok(&["ls"]);
    assert_eq!(ls["files"].as_array().unwrap().len(), 4, "{ls}");
}

/// `--vault v` given relative, then the folder holding it protected: the
/// vault is still recognised as Coffer's own.
#[test]
fn a_vault_named_by_a_relative_path_is_still_its_own() {
    let t = TestVault::empty();
    let mut c = coffer();
    c.args(["--json", "--vault", "v", "init"])
        .args(FAST_KDF)
        .env("COFFER_PASSPHRASE", PASS)
        .current_dir(t.root());
    run_cmd(&mut c).assert_ok();
    let mut c = coffer();
    c.args(["--json", "--vault", "v", "protect", "."])
        .env("COFFER_PASSPHRASE", PASS)
        .current_dir(t.root());
    let r = run_cmd(&mut c);
    r.assert_code(code::USAGE);
    refused_as_unsafe(&r.json_error());
    assert!(t.path("v/vault.json").is_file());
}

/// Another vault inside a protected folder (created there later, or the
/// same vault reached under another name) is never walked into.
#[test]
fn a_second_vault_inside_a_protected_folder_is_left_whole() {
    let h = Home::new(None);
    let scans = h.path("Scans");
    write_tree(&scans, &[("a.txt", b"a")]);
    h.ok(&["protect", scans.to_str().unwrap()]);
    let mut c = coffer();
    c.args(["--json", "--vault"])
        .arg(scans.join("other-vault"))
        .arg("init")
        .args(FAST_KDF)
        .env("COFFER_PASSPHRASE", PASS);
    run_cmd(&mut c).assert_ok();
    write_tree(&scans, &[("b.txt", b"b")]);
    let r = h.ok(&["protect", scans.to_str().unwrap()]);
    assert_eq!(r["added"], 1, "only b.txt: {r}");
    assert!(scans.join("other-vault/vault.json").is_file());
    let mut c = coffer();
    c.args(["--json", "--vault"])
        .arg(scans.join("other-vault"))
        .arg("verify")
        .env("COFFER_PASSPHRASE", PASS);
    run_cmd(&mut c).assert_ok();
    h.vault_intact(2);
}

/// `protected.json` lies in the vault folder, which an attacker may write.
/// A list without the MAC of the vault's writer key is refused whole
/// (FORMAT.md §14); a watcher without the key still never watches an entry
/// `protect` would never have written (the home folder, one that holds the
/// vault). Either way nothing in it is encrypted or removed.
#[test]
fn a_forged_protected_folder_entry_is_not_watched() {
    let h = Home::new(None);
    write_tree(
        &h.path("Documents"),
        &[("thesis.txt", b"not to be touched")],
    );
    let forged = serde_json::json!({"folders": [
        {"path": h.t.root(), "name": "home", "added": 0},
        {"path": h.path(".local/share"), "name": "share", "added": 0},
    ]});
    fs::write(
        h.path(".local/share/coffer/vault/protected.json"),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();
    let mut w = h
        .cmd(&["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The warning comes with the startup scan: once it is out, the
    // watcher has decided what to watch.
    let stdout = w.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let refused =
        |l: &str| l.contains("is not watched") || l.contains("protected folder list was changed");
    let mut seen = Vec::new();
    let warned = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if refused(&line) => break true,
            Ok(line) if line.contains("\"ready\"") => {
                seen.push(line);
                break seen.iter().any(|l| refused(l));
            }
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    let _ = w.kill();
    let _ = w.wait();
    assert!(warned, "{seen:?}");
    assert_eq!(
        fs::read(h.path("Documents/thesis.txt")).unwrap(),
        b"not to be touched"
    );
    h.vault_intact(0);
}

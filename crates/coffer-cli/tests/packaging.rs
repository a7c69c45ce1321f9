//! Black-box tests of what the installers rely on: `coffer policy validate`
//! (run by the packages' install scripts before a policy is installed) and
//! the hidden `coffer man` (the packages' manual pages).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn policy_validate_accepts_the_examples() {
    for name in ["example.toml", "minimal.toml"] {
        let file = repo().join("installers/policy").join(name);
        let r = run_cmd(coffer().args(["--json", "policy", "validate"]).arg(&file));
        r.assert_ok();
        let v = r.json();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["file"], file.to_str().unwrap(), "{v}");
        assert_eq!(v["policy"]["kdf"]["min_memory_mib"], 256, "{v}");
        let human = run_cmd(coffer().args(["policy", "validate"]).arg(&file));
        human.assert_ok();
        assert!(human.stdout_str().contains("is a valid Coffer policy"));
    }
}

#[test]
fn policy_validate_refuses_with_the_reason_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    for (text, why) in [
        ("[lock]\nmax_auto_lock_minutes = 0\n", "at least 1"),
        ("[surprise]\nx = 1\n", "unknown field"),
        (
            "[extract]\nforbidden_destinations = [\"media\"]\n",
            "absolute",
        ),
        ("not toml at all [", "parse error"),
    ] {
        let f = d.path().join("policy.toml");
        fs::write(&f, text).unwrap();
        let r = run_cmd(coffer().args(["--json", "policy", "validate"]).arg(&f));
        r.assert_code(code::USAGE);
        let e = r.json_error();
        assert_eq!(e["kind"], "invalid", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains(why),
            "{text:?}: {e}"
        );
        let human = run_cmd(coffer().args(["policy", "validate"]).arg(&f));
        human.assert_code(code::USAGE);
        assert!(human.stderr.contains(why), "{}", human.stderr);
        assert!(human.stderr.contains("docs/POLICY.md"), "{}", human.stderr);
    }
    let r = run_cmd(
        coffer()
            .args(["--json", "policy", "validate"])
            .arg(d.path().join("nope")),
    );
    r.assert_code(code::IO);
}

#[test]
fn man_writes_a_page_per_command_and_stays_hidden() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("man1");
    run_cmd(coffer().args(["man", "--out"]).arg(&out)).assert_ok();
    for page in [
        "coffer.1",
        "coffer-policy.1",
        "coffer-policy-validate.1",
        "coffer-watch.1",
    ] {
        let text = fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is not roff"
        );
    }
    assert!(
        !out.join("coffer-man.1").exists(),
        "the hidden command has no page"
    );
    let top = fs::read_to_string(out.join("coffer.1")).unwrap();
    assert!(
        top.contains("COFFER_VAULT"),
        "environment variables are documented"
    );
    let help = run_cmd(coffer().arg("--help"));
    help.assert_ok();
    assert!(
        !help
            .stdout_str()
            .lines()
            .any(|l| l.trim_start().starts_with("man ")),
        "`man` is hidden from --help"
    );
}

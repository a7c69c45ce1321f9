use std::path::{Path, PathBuf};

use super::*;
use crate::config::SlotKind;
use crate::crypto::kdf::Argon2Params;

const FULL: &str = r#"
[kdf]
min_memory_mib = 256
min_time = 3
min_lanes = 4

[unlock]
allowed = ["passphrase", "recovery", "escrow"]

[folders]
mandatory = ["~/Scans"]

[lock]
max_auto_lock_minutes = 15

[rotation]
period_days = 90

[[audit.sinks]]
kind = "directory"
path = "/mnt/audit"

[device]
require_disk_encryption = true

[extract]
forbidden_destinations = ["/media"]
"#;

#[test]
fn full_policy_parses() {
    let p = Policy::parse(FULL).unwrap();
    assert_eq!(p.kdf_floor(), Argon2Params::DEFAULT);
    assert!(!p.allows(SlotKind::Keychain));
    assert!(p.allows(SlotKind::Passphrase));
    assert_eq!(
        p.mandatory_folders(Path::new("/home/a")),
        vec![PathBuf::from("/home/a/Scans")]
    );
    assert!(
        p.check_extract(Path::new("/media/usb/x"), Path::new("/h"))
            .is_err()
    );
    assert!(
        p.check_extract(Path::new("/home/a/x"), Path::new("/h"))
            .is_ok()
    );
}

#[test]
fn bad_policies_are_refused_with_a_reason() {
    for (text, why) in [
        (
            "[kdf]\nmin_memory_mib = 1\nmin_time = 1\nmin_lanes = 1\n",
            "below",
        ),
        (
            "[unlock]\nallowed = [\"recovery\"]\n",
            "passphrase or keychain",
        ),
        ("[lock]\nmax_auto_lock_minutes = \"ten\"\n", "invalid type"),
        ("[surprise]\nx = 1\n", "unknown field"),
        ("[escrow]\npublic_key = \"nope\"\n", "escrow"),
        ("[folders]\nmandatory = [\"relative/dir\"]\n", "absolute"),
        (
            "[folders]\nmandatory = [\"~/\"]\n",
            "contain Coffer's own folder",
        ),
        (
            "[folders]\nmandatory = [\"/\"]\n",
            "contain Coffer's own folder",
        ),
        (
            "[folders]\nmandatory = [\"/home\"]\n",
            "contain Coffer's own folder",
        ),
        (
            "[folders]\nmandatory = [\"~/.local\"]\n",
            "contain Coffer's own folder",
        ),
        (
            "[folders]\nmandatory = [\"~/.local/share/coffer/vault/x\"]\n",
            "inside Coffer's own folder",
        ),
        ("[folders]\nmandatory = [\"~/Documents/../\"]\n", "\"..\""),
        ("[folders]\ntemporary_quiet_seconds = 100000\n", "at most"),
        (
            "[extract]\nallowed_destinations = [\"Desktop\"]\n",
            "absolute",
        ),
        (
            "[[audit.sinks]]\nkind = \"directory\"\npath = \"audit\"\n",
            "absolute",
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"logs.example:514\"\n",
            "syslog address",
        ),
        (
            "[[audit.sinks]]\nkind = \"email\"\nto = \"it@example.org\"\n",
            "unknown variant",
        ),
        (
            "[escrow]\npublic_key = \"MoVbMU08A7PE3xUloUc4IZP1r8CGnbXFHxNjD+kr/s0=\"\nrequired = true\n\
             [unlock]\nallowed = [\"passphrase\"]\n",
            "needs \"escrow\"",
        ),
    ] {
        let err = Policy::parse(text).unwrap_err().to_string();
        assert!(err.contains(why), "{text:?}: {err}");
    }
}

fn extract_policy(allowed: &[&Path], forbidden: &[&Path]) -> Policy {
    let s = |v: &[&Path]| v.iter().map(|p| p.display().to_string()).collect();
    Policy {
        extract: ExtractPolicy {
            allowed_destinations: s(allowed),
            forbidden_destinations: s(forbidden),
        },
        ..Policy::default()
    }
}

#[test]
fn extraction_is_judged_by_where_the_file_really_lands() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let (ok, no) = (root.join("Allowed"), root.join("Forbidden"));
    std::fs::create_dir_all(ok.join("sub")).unwrap();
    std::fs::create_dir_all(&no).unwrap();
    let home = Path::new("/nonexistent-home");
    let p = extract_policy(&[&ok], &[&no]);
    assert_eq!(p.check_extract(&ok.join("x"), home), Ok(()));
    assert_eq!(p.check_extract(&ok.join("new/deeper/x"), home), Ok(()));
    assert_eq!(p.check_extract(&ok.join("sub/../x"), home), Ok(()));
    // `..` out of the allowed folder, existing or not on the way.
    for dest in [
        ok.join("../Forbidden/x"),
        ok.join("sub/../../Forbidden/x"),
        ok.join("new/../../Forbidden/x"),
        ok.join("new/../../elsewhere/x"),
    ] {
        assert!(p.check_extract(&dest, home).is_err(), "{dest:?}");
    }
    let only_forbid = extract_policy(&[], &[&no]);
    assert!(
        only_forbid
            .check_extract(&ok.join("../Forbidden/new/x"), home)
            .is_err()
    );
    assert_eq!(only_forbid.check_extract(&ok.join("x"), home), Ok(()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        // A symlink inside the allowed folder pointing into the forbidden one.
        symlink(&no, ok.join("link")).unwrap();
        for dest in [ok.join("link/x"), ok.join("link/new/x")] {
            let err = p.check_extract(&dest, home).unwrap_err();
            assert!(err.contains("not allowed"), "{err}");
            let err = only_forbid.check_extract(&dest, home).unwrap_err();
            assert!(err.contains("not allowed"), "{err}");
        }
        // A dangling symlink on the way is refused, not judged by its name.
        symlink(root.join("gone"), ok.join("dangling")).unwrap();
        assert!(p.check_extract(&ok.join("dangling/x"), home).is_err());
        // The policy's own folders are resolved too: an allowed folder
        // named through a symlink, a forbidden one reached through one.
        symlink(&ok, root.join("AllowedLink")).unwrap();
        symlink(&no, root.join("ForbiddenLink")).unwrap();
        let via = extract_policy(&[&root.join("AllowedLink")], &[&root.join("ForbiddenLink")]);
        assert_eq!(via.check_extract(&ok.join("x"), home), Ok(()));
        assert!(via.check_extract(&no.join("x"), home).is_err());
        assert!(via.check_extract(&root.join("x"), home).is_err());
    }
}

#[test]
fn resolve_applies_the_missing_tail_lexically() {
    let d = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(d.path()).unwrap();
    assert_eq!(
        resolve(&d.path().join("a/./b/../c")).unwrap(),
        real.join("a/c")
    );
    assert_eq!(
        resolve(&d.path().join("a/../../x")).unwrap(),
        real.parent().unwrap().join("x")
    );
}

#[test]
fn user_writable_policy_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("policy.toml");
    std::fs::write(&p, FULL).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = load_from(&p).unwrap_err().to_string();
        assert!(err.contains("writable"), "{err}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Tests run as root in CI; elsewhere the file is not root's.
        if rustix::process::getuid().is_root() {
            assert!(load_from(&p).is_ok());
        } else {
            assert!(load_from(&p).is_err());
        }
    }
}

//! Every vault file read whole is size-checked first: an oversized one is
//! refused (or, for caches, ignored) from its size alone, never read. The
//! oversized files here are sparse, so a test that read one would take
//! minutes and gigabytes instead of milliseconds.

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, Instant};

use coffer_core::Error;
use coffer_core::vault::{AddOptions, AddOutcome, AddSource, Vault};

use common::new_vault;

fn sparse(path: &Path, len: u64) {
    File::create(path).unwrap().set_len(len).unwrap();
}

fn add(v: &Vault, src: &Path, remove: bool) -> AddOutcome {
    v.add(
        &[AddSource::for_file(src, "scan.pdf").unwrap()],
        AddOptions {
            remove_plaintext: remove,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap()
    .pop()
    .unwrap()
}

#[test]
fn oversized_vault_config_is_refused_without_reading_it() {
    let d = tempfile::tempdir().unwrap();
    sparse(&d.path().join("vault.json"), 5 << 30);
    let t = Instant::now();
    let err = Vault::open(d.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { what: "vault config", why } if why == "too large"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "corrupt vault config: too large");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // A missing config still means no vault.
    let err = Vault::open(&d.path().join("none")).unwrap_err();
    assert!(matches!(err, Error::VaultNotFound), "{err:?}");
}

#[test]
fn oversized_vault_files_are_refused_or_ignored() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("v");
    let v = new_vault(&dir);
    let src = d.path().join("scan.pdf");
    fs::write(&src, b"contents").unwrap();
    let AddOutcome::Added { id, .. } = add(&v, &src, false) else {
        panic!("not added")
    };

    // protected.json: a clear error, not an attempt to read 2 GiB.
    sparse(&dir.join("protected.json"), 2 << 30);
    let err = v.protected_folders().unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Corrupt {
                what: "protected folder list",
                ..
            }
        ),
        "{err:?}"
    );
    fs::remove_file(dir.join("protected.json")).unwrap();
    assert!(v.protected_folders().unwrap().is_empty());

    // index.bin is a cache: an oversized one is ignored and rebuilt.
    sparse(&dir.join("index.bin"), 4 << 30);
    let listing = v.entries().unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert!(fs::metadata(dir.join("index.bin")).unwrap().len() < 1 << 20);

    // removals.json is an optimisation: an oversized one is ignored.
    sparse(&dir.join("removals.json"), 4 << 30);
    fs::write(&src, b"second").unwrap();
    assert!(matches!(add(&v, &src, true), AddOutcome::Added { .. }));
    assert!(!src.exists());

    // A sidecar key record larger than any valid one is corrupt.
    let hex = id.to_hex();
    let rec = dir
        .join("objects")
        .join(&hex[..2])
        .join(format!("{hex}.rec"));
    sparse(&rec, 1 << 30);
    let t = Instant::now();
    let err = v.decrypt_to(&id, std::io::sink()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { what: "key record file", why } if why == "too large"),
        "{err:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    fs::remove_file(&rec).unwrap();
    let mut out = Vec::new();
    v.decrypt_to(&id, &mut out).unwrap();
    assert_eq!(out, b"contents");
}

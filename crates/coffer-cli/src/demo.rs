//! `coffer demo`: a guided tour on a throw-away vault, so a new user (or a
//! reviewer) sees every core capability work end to end in a few seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use coffer_core::config::{Credential, NewSlot, SlotKind};
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Passphrase;
use coffer_core::vault::{self, AddOptions, CreateOptions, Vault};

use crate::exit::Failure;

fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

fn sample_files(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut put = |rel: &str, bytes: Vec<u8>| -> std::io::Result<()> {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().expect("has parent"))?;
        fs::write(&p, &bytes)?;
        files.push((p, bytes));
        Ok(())
    };
    put(
        "referral-letter.txt",
        b"Dear colleague,\nPlease see Ms. Example (DOB 1970-01-01) regarding ...\n".to_vec(),
    )?;
    put(
        "lab/2026-11-24-bloodwork.csv",
        b"test,value,unit\nHbA1c,5.4,%\nLDL,2.6,mmol/L\n".to_vec(),
    )?;
    let scan: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    put("imaging/chest-xray.dcm", scan)?;
    put("empty-note.txt", Vec::new())?;
    Ok(files)
}

fn io(e: std::io::Error) -> Failure {
    Failure::from(coffer_core::Error::Io {
        context: "preparing the demo",
        source: e,
    })
}

pub fn run(dir: Option<PathBuf>) -> Result<(), Failure> {
    let root = match dir {
        Some(d) => {
            fs::create_dir_all(&d).map_err(io)?;
            d
        }
        None => tempfile::Builder::new()
            .prefix("coffer-demo-")
            .tempdir()
            .map_err(io)?
            .keep(),
    };
    let vault_dir = root.join("vault");
    let scans = root.join("Scans");
    println!("Coffer demo in {}", root.display());

    step(1, "A clinic folder with patient files (sample data)");
    let originals = sample_files(&scans).map_err(io)?;
    for (p, b) in &originals {
        println!(
            "   {} ({} bytes)",
            p.strip_prefix(&root).unwrap_or(p).display(),
            b.len()
        );
    }

    step(
        2,
        "Create a vault (Argon2id 256 MiB, t=3, p=4 protects the passphrase)",
    );
    let pass = Passphrase::from("correct horse battery staple");
    let t = Instant::now();
    let created = Vault::create(
        &vault_dir,
        CreateOptions {
            passphrase: &pass,
            kdf: Argon2Params::DEFAULT,
            keychain_secret: None,
            escrow: None,
        },
    )?;
    println!(
        "   created in {:.2} s; recovery key (shown once): {}",
        t.elapsed().as_secs_f64(),
        &*created.recovery_key
    );
    let recovery = created.recovery_key.clone();
    // What the watcher gets from the OS keychain: the key that proves the
    // config genuine, so that a locked process trusts its public key.
    let writer_key = created
        .vault
        .unlocked_writer_key()
        .cloned()
        .expect("a new vault has a writer key");
    drop(created);

    step(
        3,
        "Protect the folder: encrypt everything, then remove the originals",
    );
    let mut v = Vault::open(&vault_dir)?;
    v.set_writer_key(writer_key)?;
    let folder = v.register_protected(&scans)?;
    let sources = v.collect(&folder.path, &folder.name)?.sources;
    let outcomes = v.add(
        &sources,
        AddOptions {
            remove_plaintext: true,
            ..Default::default()
        },
        &|_| {},
    )?;
    let added = outcomes
        .iter()
        .filter(|o| matches!(o, vault::AddOutcome::Added { .. }))
        .count();
    let left = walk_files(&scans);
    println!(
        "   {added} files encrypted while the vault stays locked; plaintext files left in Scans/: {left}"
    );

    step(4, "Unlock with the passphrase and list");
    let mut v = Vault::open(&vault_dir)?;
    let t = Instant::now();
    v.unlock(&Credential::Passphrase(&pass))?;
    println!("   unlocked in {:.2} s", t.elapsed().as_secs_f64());
    let entries = vault::latest_versions(&v.entries()?.entries);
    for e in &entries {
        println!("   {:>9} bytes  {}", e.size, e.path);
    }

    step(5, "Extract and compare with the originals");
    let restored = root.join("restored");
    for e in &entries {
        v.extract(e, &restored.join(&e.path))?;
    }
    let same = originals.iter().all(|(p, b)| {
        let rel = p.strip_prefix(&root).expect("under root");
        fs::read(restored.join(rel))
            .map(|r| &r == b)
            .unwrap_or(false)
    });
    println!(
        "   {} files restored to {}: byte-identical = {same}",
        entries.len(),
        restored.display()
    );

    step(6, "Verify: every chunk of every object authenticates");
    let r = v.verify(&|_| {})?;
    println!(
        "   {} objects checked, {} problems",
        r.objects,
        r.failures.len()
    );

    step(
        7,
        "Tamper with one byte of the stored X-ray and try to read it",
    );
    let xray = entries
        .iter()
        .find(|e| e.path.ends_with(".dcm"))
        .expect("sample has a scan");
    let obj = find_object(&vault_dir, &xray.id.to_hex()).map_err(io)?;
    let mut bytes = fs::read(&obj).map_err(io)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&obj, &bytes).map_err(io)?;
    let dest = root.join("tampered-copy.dcm");
    match v.extract(xray, &dest) {
        Err(e) => println!(
            "   refused: {e}; partial file left behind: {}",
            dest.exists()
        ),
        Ok(()) => println!("   UNEXPECTED: tampering went unnoticed"),
    }
    bytes[at] ^= 0x01;
    fs::write(&obj, &bytes).map_err(io)?;

    step(8, "Forgot the passphrase? Recover with the recovery key");
    let mut v = Vault::open(&vault_dir)?;
    let rk = coffer_core::recovery::decode(&recovery)?;
    v.unlock(&Credential::Recovery(&rk))?;
    let new_pass = Passphrase::from("a new passphrase for the demo");
    v.replace_slots(
        SlotKind::Passphrase,
        NewSlot::Passphrase(&new_pass, Argon2Params::DEFAULT),
    )?;
    let mut v = Vault::open(&vault_dir)?;
    let old = v.unlock(&Credential::Passphrase(&pass)).is_ok();
    let new = v.unlock(&Credential::Passphrase(&new_pass)).is_ok();
    println!("   old passphrase works: {old}; new passphrase works: {new}");

    step(9, "What a stolen laptop holds: opaque objects, no names");
    let st = v.status()?;
    println!(
        "   {} objects, {} bytes; e.g. {}",
        st.objects,
        st.stored_bytes,
        obj.strip_prefix(&root).unwrap_or(&obj).display()
    );
    println!(
        "\nDone. Try it yourself:\n   export COFFER_VAULT={}\n   coffer status\n   coffer ls --long   (passphrase: {:?})",
        vault_dir.display(),
        "a new passphrase for the demo"
    );
    Ok(())
}

fn walk_files(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .count()
}

fn find_object(vault_dir: &Path, id: &str) -> std::io::Result<PathBuf> {
    let p = vault_dir
        .join("objects")
        .join(&id[..2])
        .join(format!("{id}.obj"));
    fs::metadata(&p).map(|_| p)
}

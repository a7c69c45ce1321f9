//! What support looks at: `coffer status` and `coffer inspect`.

use coffer_core::format::FileId;

use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::show::{fmt_time, human_bytes};

/// `coffer status [--record]`: needs no unlock.
pub fn status(ctx: &Ctx, record: bool) -> Result<(), Failure> {
    let v = ctx.open()?;
    if record {
        v.record_status()?;
    }
    let s = v.status()?;
    let fde = coffer_core::posture::disk_encryption(v.dir());
    if ctx.json {
        let mut v = serde_json::to_value(&s).expect("serializes");
        v["disk_encryption"] = serde_json::to_value(&fde).expect("serializes");
        println!("{v}");
        return Ok(());
    }
    println!("Vault        {}", ctx.dir.display());
    println!("Vault id     {}", s.vault_id);
    println!("State        locked (files are encrypted; new files can still be added)");
    println!(
        "Files        {} versions, {} stored",
        s.objects,
        human_bytes(s.stored_bytes)
    );
    println!("Encryption   AES-256-GCM, 64 KiB chunks, a random key per file");
    println!(
        "Disk         full-disk encryption {}",
        match &fde {
            coffer_core::posture::DiskEncryption::On { how } => format!("on ({how})"),
            coffer_core::posture::DiskEncryption::Off =>
                "OFF: turn on full-disk encryption (LUKS, FileVault, BitLocker)".into(),
            coffer_core::posture::DiskEncryption::Unknown { why } => format!("unknown ({why})"),
        }
    );
    let age_days = (jiff::Timestamp::now().as_second() - s.key_version_created).max(0) / 86_400;
    println!(
        "Key version  {} (created {}, {} days ago)",
        s.key_version,
        fmt_time(s.key_version_created * 1_000_000_000),
        age_days
    );
    if let Some(period) = v.policy().policy.rotation.map(|r| i64::from(r.period_days)) {
        let left = period - age_days;
        if left < 0 {
            println!(
                "Rotation     OVERDUE by {} days (policy: every {period} days): run `coffer rotate`",
                -left
            );
        } else {
            println!("Rotation     due in {left} days (policy: every {period} days)");
        }
    }
    if let Some(r) = &s.rotation {
        println!(
            "Rotation     {:?} to key version {} was interrupted: run `coffer rotate` to finish it",
            r.kind, r.target_version
        );
    }
    for sl in &s.slots {
        match &sl.kdf {
            Some(k) => println!(
                "Unlock       {} [{}] Argon2id m={} MiB t={} p={}",
                sl.kind.as_str(),
                sl.id,
                k.m_kib / 1024,
                k.t,
                k.p
            ),
            None => println!("Unlock       {} [{}]", sl.kind.as_str(), sl.id),
        }
    }
    if s.protected.is_empty() {
        println!("Protected    no folders (add one with `coffer protect DIR`)");
    }
    for f in &s.protected {
        println!("Protected    {} -> {}/", f.path.display(), f.name);
    }
    if s.plaintext.files == 0 {
        if !s.protected.is_empty() {
            println!("Plaintext    none left in the protected folders");
        }
    } else {
        println!(
            "Plaintext    {} files in the protected folders are not encrypted:",
            s.plaintext.files
        );
        for line in s.plaintext.lines() {
            println!("               {line}");
        }
    }
    Ok(())
}

/// `coffer inspect OBJECT`.
pub fn inspect(ctx: &Ctx, object: &str) -> Result<(), Failure> {
    let v = ctx.open()?;
    let id = FileId::from_hex(object.trim()).ok_or_else(|| {
        Failure::usage(
            "an object id is 32 hex digits",
            Some("see `coffer ls --long` or `coffer verify`"),
        )
    })?;
    let i = v.inspect(&id)?;
    if ctx.json {
        println!("{}", serde_json::to_value(&i).expect("serializes"));
    } else {
        println!("object          {}", i.id);
        println!(
            "format          v{}, {}-byte chunks, AES-256-GCM STREAM",
            i.format_version, i.chunk_size
        );
        println!("salt            {}", i.salt);
        println!("commitment      {}", i.commitment);
        println!(
            "key record      {} bytes, key version {}, {}",
            i.record_len,
            i.key_version,
            if i.sidecar { "sidecar" } else { "embedded" }
        );
        println!("metadata        {} bytes (encrypted)", i.metadata_len);
        println!(
            "chunk stream    starts at {}, {} chunks",
            i.stream_offset, i.chunks
        );
        println!(
            "size            {} bytes stored, {} bytes of content",
            i.object_len, i.plaintext_len
        );
    }
    Ok(())
}

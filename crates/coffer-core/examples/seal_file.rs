//! Benchmark helper (bench/compare.sh): Coffer's file encryption and
//! decryption path without any fsync/syncfs, which the CLI has no mode for.
//!
//!   seal_file seal IN OUT   IN -> object OUT (header, key record, chunk
//!                           stream) as `Vault::add` writes it: a fresh
//!                           vault key, `object::Sealed::new` +
//!                           `Sealed::write` into a 1 MiB BufWriter. The
//!                           DEK is left in OUT.dek (hex) for `open`.
//!   seal_file open IN OUT   object IN -> plaintext OUT as `Vault::extract`
//!                           decrypts (unbuffered file to file), using the
//!                           DEK from IN.dek instead of the HPKE unwrap.
//!
//! Neither step syncs: OUT is left in the page cache. Prints
//! "<bytes> <seconds>" on stdout. Not for real data: the DEK file is
//! plaintext key material.

#![allow(missing_docs)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Instant;

use coffer_core::config::VaultConfig;
use coffer_core::format::{FileId, Metadata};
use coffer_core::keys::FileKeys;
use coffer_core::object::{self, Sealed, WrapTarget};
use coffer_core::secret::Key32;

fn dek_path(p: &std::path::Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".dek");
    PathBuf::from(s)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, input, output] = &args[..] else {
        return Err("usage: seal_file seal|open IN OUT".into());
    };
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));
    let t = Instant::now();
    let n = match mode.as_str() {
        "seal" => {
            let (cfg, _keys) = VaultConfig::create();
            let (v, pk) = cfg.current_public_key();
            let target = WrapTarget {
                vault_id: *cfg.vault_id(),
                key_version: v,
                public_key: pk,
            };
            let mut src = File::open(&input)?;
            let meta = Metadata {
                path: input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "file".into()),
                size: src.metadata()?.len(),
                mtime_ns: 0,
                mode: 0o600,
                added_ns: 0,
            };
            let sealed = Sealed::new(&target, Some(FileId::random()), &meta)?;
            let mut w = BufWriter::with_capacity(1 << 20, File::create(&output)?);
            let n = sealed.write(&mut src, &mut w)?;
            w.flush()?;
            std::fs::write(
                dek_path(&output),
                data_encoding::HEXLOWER.encode(sealed.dek.expose()),
            )?;
            n
        }
        "open" => {
            let hex = std::fs::read_to_string(dek_path(&input))?;
            let dek = Key32::from_slice(&data_encoding::HEXLOWER.decode(hex.trim().as_bytes())?)
                .ok_or("bad DEK file")?;
            let mut f = File::open(&input)?;
            let prefix = object::read_prefix(BufReader::new(&mut f))?;
            let keys = FileKeys::derive_checked(&dek, &prefix.header)?;
            f.seek(SeekFrom::Start(prefix.stream_offset))?;
            object::decrypt_stream(&keys, &prefix.header, f, File::create(&output)?)?
        }
        _ => return Err("usage: seal_file seal|open IN OUT".into()),
    };
    println!("{n} {:.6}", t.elapsed().as_secs_f64());
    Ok(())
}

//! Organisation escrow keys: `coffer escrow keygen`, and reading the
//! public key (`init --escrow`, `slots add escrow`) and the private key
//! file (`recover --escrow-key`).

use std::io::Write;
use std::path::Path;

use coffer_core::escrow_key;
use coffer_core::wrap::{PrivateKey, PublicKey};
use serde_json::json;

use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::userfile::{MAX_KEY_FILE_LEN, read_small_text};

/// The organisation public key from `--escrow`: the line `keygen` printed,
/// or a file holding it (read by the core's parser).
pub fn parse_pubkey(s: &str) -> Result<PublicKey, Failure> {
    let text = if Path::new(s).is_file() {
        read_small_text(
            Path::new(s),
            MAX_KEY_FILE_LEN,
            "reading the public key file",
        )?
        .to_string()
    } else {
        s.to_owned()
    };
    escrow_key::public_from_text(&text).map_err(|_| {
        Failure::usage(
            "that is not an organisation public key",
            Some("pass the line printed by `coffer escrow keygen`, or the file holding it"),
        )
    })
}

/// The escrow private key in the file `recover --escrow-key` names.
pub fn read_escrow_private(path: &Path) -> Result<PrivateKey, Failure> {
    let text = read_small_text(path, MAX_KEY_FILE_LEN, "reading the escrow key file")?;
    escrow_private_key_from_text(&text)
}

/// `coffer escrow keygen --out FILE`: never overwrites FILE.
pub fn keygen(ctx: &Ctx, out: &Path) -> Result<(), Failure> {
    let (sk, pk) = coffer_core::wrap::generate_keypair();
    let public = escrow_key::encode_public(&pk);
    let body = escrow_key::encode_key_file(&sk, &pk);
    let mut f = coffer_core::fsutil::create_private(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            // Never overwrite: it may be the key that unlocks every vault.
            return Failure::usage(
                format!("{} already exists; it was left untouched", out.display()),
                Some("choose a new file name with --out FILE"),
            );
        }
        Failure::from(coffer_core::Error::Io {
            context: "creating the escrow key file",
            source: e,
        })
    })?;
    f.write_all(body.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| {
            Failure::from(coffer_core::Error::Io {
                context: "writing the escrow key file",
                source: e,
            })
        })?;
    ctx.say(
        format!("Wrote the private key to {}.\nPublic key for `coffer init --escrow` (safe to distribute):\n{public}", out.display()),
        json!({"private_key_file": out, "public_key": public}),
    );
    Ok(())
}

/// The private key in a key file written by `escrow keygen`.
fn escrow_private_key_from_text(text: &str) -> Result<PrivateKey, Failure> {
    let line = escrow_key::find_private(text).ok_or_else(|| {
        Failure::usage(
            "that file holds no Coffer escrow private key",
            Some("use the file written by `coffer escrow keygen`"),
        )
    })?;
    escrow_key::parse_private(line)
        .map_err(|_| Failure::usage("the escrow key file is damaged", None))
}

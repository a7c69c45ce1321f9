//! Files the user names on the command line: small ones read (bounded),
//! reports written (atomically) or sent to standard output.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::exit::Failure;

/// Largest key file read (`coffer escrow keygen` writes a few hundred bytes).
pub const MAX_KEY_FILE_LEN: u64 = 64 << 10;

/// Reads a small text file the user named, refusing one over `max` bytes
/// before reading it. Zeroized when dropped: it may hold a private key.
pub fn read_small_text(
    path: &Path,
    max: u64,
    context: &'static str,
) -> Result<zeroize::Zeroizing<String>, Failure> {
    let bytes = zeroize::Zeroizing::new(
        match coffer_core::fsutil::read_bounded(path, max, context) {
            Ok(b) => b,
            Err(coffer_core::Error::Corrupt { why, .. }) => {
                return Err(Failure::usage(
                    format!("{}: {why} (at most {max} bytes are read)", path.display()),
                    None,
                ));
            }
            Err(e) => return Err(e.into()),
        },
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{} is not a text file", path.display()), None))?;
    Ok(zeroize::Zeroizing::new(text.to_owned()))
}

/// Reads a whole file the user named (an audit log copy).
pub fn read_file(path: &Path, context: &'static str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::from(coffer_core::Error::Io { context, source: e }))
}

/// Writes a report to `out` (atomically) or to standard output.
pub fn write_output(out: Option<&Path>, body: &[u8], binary: bool) -> Result<(), Failure> {
    match out {
        Some(p) => Ok(coffer_core::fsutil::atomic_write(p, body)?),
        None if binary && std::io::stdout().is_terminal() => Err(Failure::usage(
            "a PDF cannot be shown on the terminal",
            Some("pass --out FILE.pdf"),
        )),
        None => std::io::stdout().write_all(body).map_err(|e| {
            Failure::from(coffer_core::Error::Io {
                context: "writing the report",
                source: e,
            })
        }),
    }
}

//! `coffer man --out DIR` (hidden): the manual pages, for packaging.

use std::path::Path;

use crate::cli::Cli;
use crate::exit::{self, Failure};

/// The manual pages, generated from the clap definitions (`cli.rs`) so they
/// never drift from `--help`.
pub fn man(out: &Path) -> Result<(), Failure> {
    use clap::CommandFactory;
    let io = |e: std::io::Error| Failure {
        code: exit::IO,
        kind: "io",
        message: format!("writing the manual pages to {}: {e}", out.display()),
        hint: None,
    };
    std::fs::create_dir_all(out).map_err(io)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(io)
}

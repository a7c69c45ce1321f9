//! `coffer`: the command-line face of Coffer, for IT admins, support and
//! scripts. Glue only: parse, gather credentials, call coffer-core, print.
//! Exit codes and `--json` shapes are a contract (docs/CLI.md).
//!
//! `cli` holds the clap definitions, `cmd/` one file per command family,
//! `ctx` what every command starts from, `exit` the codes and the failure
//! output.

mod cli;
mod cmd;
mod creds;
mod ctx;
mod demo;
mod exit;
mod keychain;
mod show;
mod userfile;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let as_json = cli.json;
    let code = match cmd::run(cli) {
        Ok(()) => exit::OK,
        Err(f) => {
            f.print(as_json);
            f.code
        }
    };
    std::process::exit(code);
}

//! `coffer add`, and the adding that `protect` shares: gather the
//! sources, encrypt them with a progress bar, report what was left alone.

use std::path::PathBuf;

use coffer_core::vault::{self, AddOptions, AddOutcome, AddSource, Progress, Vault};
use serde_json::json;

use crate::ctx::Ctx;
use crate::exit::{self, Failure};
use crate::show::{human_bytes, skip_text};

/// Prints what was added, skipped and failed; fails with the worst
/// failure's code when any file could not be added.
pub fn report_add(
    ctx: &Ctx,
    sources: &[AddSource],
    outcomes: &[AddOutcome],
    skipped: &[(PathBuf, vault::SkipReason)],
) -> Result<(), Failure> {
    let mut added = 0u64;
    let mut bytes = 0u64;
    let mut failed = Vec::new();
    let mut worst = exit::OK;
    for (src, o) in sources.iter().zip(outcomes) {
        match o {
            AddOutcome::Added { size, .. } => {
                added += 1;
                bytes += size;
            }
            AddOutcome::Skipped(r) => {
                failed.push(json!({"source": src.source.to_string_lossy(), "skipped": r}))
            }
            AddOutcome::Failed(e) => {
                let (code, kind, hint) = exit::classify(e);
                worst = if worst == exit::OK {
                    code
                } else {
                    worst.min(code)
                };
                failed.push(json!({"source": src.source.to_string_lossy(), "error": kind, "message": e.to_string(), "hint": hint}));
                if !ctx.json {
                    eprintln!("could not add {}: {e}", src.source.display());
                    if let Some(h) = hint {
                        eprintln!("  hint: {h}");
                    }
                }
            }
        }
    }
    let skipped_json: Vec<_> = skipped
        .iter()
        .map(|(p, r)| json!({"source": p.to_string_lossy(), "skipped": r}))
        .collect();
    if !ctx.json {
        for (p, r) in skipped {
            eprintln!("left alone ({}): {}", skip_text(r), p.display());
        }
    }
    let failure = (worst != exit::OK).then(|| Failure {
        code: worst,
        kind: "partial",
        message: format!(
            "{} of {} files could not be added; they were left as they are",
            failed.len(),
            sources.len()
        ),
        hint: Some("fix the problem shown above and run the command again".into()),
    });
    let doc = json!({"added": added, "bytes": bytes, "problems": failed, "skipped": skipped_json});
    if ctx.json
        && let Some(f) = failure
    {
        return Err(f.with_json_report(doc));
    }
    ctx.say(
        format!(
            "Encrypted {added} files ({}) into the vault.",
            human_bytes(bytes)
        ),
        doc,
    );
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn gather(v: &Vault, paths: &[PathBuf], to: &str) -> Result<vault::Collected, Failure> {
    let mut all = vault::Collected::default();
    let to = to.trim_matches('/');
    for p in paths {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Failure::usage(format!("{} has no usable name", p.display()), None))?;
        let prefix = if to.is_empty() {
            name.to_owned()
        } else {
            format!("{to}/{name}")
        };
        if p.symlink_metadata()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(Failure {
                code: exit::NOT_FOUND,
                kind: "not_found",
                message: format!("{} does not exist; nothing was added", p.display()),
                hint: Some("check the path (`ls` it); nothing was changed".into()),
            });
        }
        let c = v.collect(p, &prefix)?;
        all.sources.extend(c.sources);
        all.skipped.extend(c.skipped);
    }
    Ok(all)
}

/// Encrypts `sources` into the vault with a progress bar.
pub fn run_add(
    ctx: &Ctx,
    v: &Vault,
    sources: &[AddSource],
    remove: bool,
    what: &str,
) -> Result<Vec<AddOutcome>, Failure> {
    let pb = ctx.progress(sources.len() as u64, what);
    let outcomes = v.add(
        sources,
        AddOptions {
            remove_plaintext: remove,
            ..Default::default()
        },
        &|p: Progress| pb.set_position(p.files),
    )?;
    pb.finish_and_clear();
    Ok(outcomes)
}

/// `coffer add`: works while locked, as adding needs only public keys.
pub fn add(ctx: &Ctx, paths: &[PathBuf], to: &str, remove: bool) -> Result<(), Failure> {
    let v = ctx.open_for_writing()?;
    let c = gather(&v, paths, to)?;
    let outcomes = run_add(ctx, &v, &c.sources, remove, "Encrypting")?;
    report_add(ctx, &c.sources, &outcomes, &c.skipped)
}

//! `coffer verify` (with its quarantine) and `coffer repair`.

use coffer_core::format::FileId;
use coffer_core::vault::{self, Progress};
use serde_json::json;

use crate::ctx::Ctx;
use crate::exit::{self, Failure};

/// `coffer verify [--structure-only] [--quarantine]`.
pub fn verify(ctx: &Ctx, structure_only: bool, quarantine: bool) -> Result<(), Failure> {
    let v = if structure_only {
        ctx.open_for_writing()?
    } else {
        ctx.unlocked()?
    };
    let total = v.object_ids()?.len() as u64;
    let pb = ctx.progress(total, "Verifying");
    let mut r = v.verify(&|p: Progress| pb.set_position(p.files))?;
    pb.finish_and_clear();
    // With --quarantine every failing object is set aside (the core checks
    // each again and refuses any that verifies); what is left then verifies.
    // Also what the comparison with the manifest names as not genuine.
    let suspect: Vec<String> = r
        .integrity
        .iter()
        .flat_map(|i| i.problems.iter())
        .filter(|p| matches!(p.kind.as_str(), "unknown_object" | "changed_object"))
        .flat_map(|p| p.ids.iter().cloned())
        .collect();
    let moved = if quarantine && (!r.failures.is_empty() || !suspect.is_empty()) {
        let ids: Vec<FileId> = r
            .failures
            .iter()
            .map(|(id, _)| id)
            .chain(suspect.iter())
            .filter_map(|id| FileId::from_hex(id))
            .collect();
        let moved = v.quarantine(&ids)?;
        r.quarantined = v.quarantined()?;
        moved
    } else {
        Vec::new()
    };
    let ok = if moved.is_empty() {
        r.ok()
    } else {
        // What was set aside no longer counts: compare again.
        if r.integrity.is_some() {
            r.integrity = Some(v.check_integrity()?);
        }
        let all_moved = r
            .failures
            .iter()
            .all(|(id, _)| moved.iter().any(|q| q.id == *id));
        all_moved && r.integrity.as_ref().is_none_or(|i| i.ok())
    };
    let failure = (!ok).then(|| Failure {
        code: exit::INTEGRITY,
        kind: "integrity",
        message: match (r.failures.len(), r.integrity.as_ref().map_or(0, |i| i.problems.len())) {
            (n, 0) => format!("{n} objects failed verification"),
            (0, k) => format!("the vault differs from its manifest in {k} ways (named above)"),
            (n, k) => format!(
                "{n} objects failed verification, and the vault differs from its manifest in {k} ways"
            ),
        },
        hint: Some(
            "restore the affected files from a backup, or set them aside with \
             `coffer verify --quarantine`; the others are intact"
                .into(),
        ),
    });
    let qdir = v.dir().join("quarantine");
    if ctx.json {
        let mut doc = json!({"ok": ok, "report": r});
        if quarantine {
            doc["quarantined_now"] = json!(moved);
        }
        return match failure {
            Some(f) => Err(f.with_json_report(doc)),
            None => {
                println!("{doc}");
                Ok(())
            }
        };
    } else {
        let what = if r.full {
            "every chunk authenticated"
        } else {
            "structure checked (unlock for a full check)"
        };
        println!(
            "{} objects, {}: {} problems.",
            r.objects,
            what,
            r.failures.len()
        );
        for (id, why) in &r.failures {
            println!("  {id}: {why}");
        }
        match &r.integrity {
            Some(i) => {
                for p in &i.problems {
                    println!("  {}: {}", p.kind.as_str(), p.kind.describe());
                    if let Some((now, seen)) = p.generations {
                        println!(
                            "    manifest generation {now}; this device or the audit trail saw {seen}"
                        );
                    }
                    for id in &p.ids {
                        println!("    {id}");
                    }
                }
                if i.problems.is_empty() {
                    println!(
                        "The vault matches its manifest (generation {}).",
                        i.generation
                    );
                }
            }
            None => println!(
                "The vault was not compared with its manifest: that needs an unlock, or the writer key this computer keeps after one."
            ),
        }
        if r.temp_files > 0 || r.orphan_records > 0 {
            println!(
                "  {} leftover temporary files and {} orphaned key records (removed at the next write)",
                r.temp_files, r.orphan_records
            );
        }
        let ids = |qs: &[vault::QuarantinedObject]| {
            qs.iter()
                .map(|q| q.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !moved.is_empty() {
            println!(
                "Set aside {} damaged objects in {}: {} (they no longer block key rotation; \
                 restore the files from a backup if you need them).",
                moved.len(),
                qdir.display(),
                ids(&moved)
            );
            if r.quarantined.len() > moved.len() {
                println!(
                    "{} objects in all are quarantined there.",
                    r.quarantined.len()
                );
            }
        } else if !r.quarantined.is_empty() {
            println!(
                "{} objects are quarantined in {} (damaged, set aside; not checked above): {}",
                r.quarantined.len(),
                qdir.display(),
                ids(&r.quarantined)
            );
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// `coffer repair --rebuild-index` or `--accept-as-is`.
pub fn repair(ctx: &Ctx, accept_as_is: bool) -> Result<(), Failure> {
    let mut v = ctx.unlocked()?;
    if accept_as_is {
        let r = v.accept_as_is()?;
        ctx.say(
            format!(
                "The vault as it is now is endorsed (manifest generation {}): {} problems were accepted and recorded in the audit trail.",
                r.generation,
                r.problems.len()
            ),
            json!({"accepted": r}),
        );
        return Ok(());
    }
    let n = v.rebuild_index()?;
    ctx.say(
        format!("Index rebuilt from the objects: {n} file versions."),
        json!({"rebuilt_index": true, "entries": n}),
    );
    Ok(())
}

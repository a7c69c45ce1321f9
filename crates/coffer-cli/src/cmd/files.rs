//! Reading the vault back: `ls`, `versions`, `cat`, `extract`, `rm`.

use std::io::Write;
use std::path::{Path, PathBuf};

use coffer_core::vault::{self, Entry, Vault};
use serde_json::json;

use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::show::{fmt_time, human_bytes};

fn matching<'a>(entries: &'a [Entry], path: &str) -> Vec<&'a Entry> {
    let path = path.trim_matches('/');
    entries
        .iter()
        .filter(|e| e.path == path || path.is_empty() || e.path.starts_with(&format!("{path}/")))
        .collect()
}

/// The vault's listing as `ls` and `extract` use it.
struct Shown {
    /// Every stored version.
    all: Vec<Entry>,
    /// The current version of each file.
    current: Vec<Entry>,
    /// How many stored objects could not be read.
    unreadable: usize,
    /// The vault compared with its manifest.
    integrity: vault::IntegrityReport,
}

/// Lists the vault, warning (on the terminal) about objects that could
/// not be read.
fn read_listing(ctx: &Ctx, v: &Vault) -> Result<Shown, Failure> {
    let vault::Listing {
        entries: all,
        unreadable: bad,
        integrity,
    } = v.entries()?;
    // The unlock already warned about what it found; a listing may find
    // more (an object changed since), or a damaged listing cache.
    if !ctx.json
        && v.integrity_at_unlock()
            .is_none_or(|u| u.problems != integrity.problems)
    {
        crate::show::warn_integrity(&integrity);
    }
    if !bad.is_empty() && !ctx.json {
        eprintln!(
            "warning: {} stored objects could not be read (run `coffer verify`)",
            bad.len()
        );
    }
    let current = vault::latest_versions(&all);
    Ok(Shown {
        all,
        current,
        unreadable: bad.len(),
        integrity,
    })
}

/// `coffer ls [PREFIX] [--long]`.
pub fn ls(ctx: &Ctx, prefix: Option<&str>, long: bool) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let Shown {
        all,
        current,
        unreadable,
        integrity,
    } = read_listing(ctx, &v)?;
    let shown = matching(&current, prefix.unwrap_or(""));
    if let Some(p) = prefix
        && shown.is_empty()
    {
        return Err(coffer_core::Error::NotFound(format!("nothing under {p}")).into());
    }
    if ctx.json {
        let files: Vec<_> = shown
            .iter()
            .map(|e| json!({"path": e.path, "id": e.id.to_hex(), "size": e.size, "mtime_ns": e.mtime_ns,
                            "added_ns": e.added_ns, "versions": all.iter().filter(|x| x.path == e.path).count()}))
            .collect();
        println!(
            "{}",
            json!({"files": files, "unreadable": unreadable, "integrity": integrity})
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for e in shown {
        if long {
            let n = all.iter().filter(|x| x.path == e.path).count();
            let _ = writeln!(
                out,
                "{:>10}  {}  v{:<3} {}  {}",
                human_bytes(e.size),
                fmt_time(e.mtime_ns),
                n,
                e.id.to_hex(),
                e.path
            );
        } else {
            let _ = writeln!(out, "{}", e.path);
        }
    }
    Ok(())
}

/// `coffer versions PATH`.
pub fn versions(ctx: &Ctx, path: &str) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let vs = v.versions(path.trim_matches('/'))?;
    if ctx.json {
        let l: Vec<_> = vs.iter().enumerate().map(|(i, e)| json!({"version": i + 1, "id": e.id.to_hex(), "size": e.size, "mtime_ns": e.mtime_ns, "added_ns": e.added_ns})).collect();
        println!("{}", json!({"path": path, "versions": l}));
    } else {
        for (i, e) in vs.iter().enumerate() {
            println!(
                "v{:<3} {:>10}  added {}  {}",
                i + 1,
                human_bytes(e.size),
                fmt_time(e.added_ns),
                e.id.to_hex()
            );
        }
    }
    Ok(())
}

fn pick_version(v: &Vault, path: &str, version: Option<usize>) -> Result<Entry, Failure> {
    pick_from(&v.versions(path.trim_matches('/'))?, version)
}

/// Version `n` (1 = oldest) of `versions` (oldest first), or the newest.
fn pick_from(vs: &[Entry], version: Option<usize>) -> Result<Entry, Failure> {
    if vs.is_empty() {
        return Err(coffer_core::Error::NotFound("file".into()).into());
    }
    match version {
        None => Ok(vs.last().cloned().expect("versions is never empty")),
        Some(n) if n >= 1 && n <= vs.len() => Ok(vs[n - 1].clone()),
        Some(n) => Err(coffer_core::Error::NotFound(format!(
            "version {n} (there are {})",
            vs.len()
        ))
        .into()),
    }
}

/// `coffer cat PATH [--version N]`.
pub fn cat(ctx: &Ctx, path: &str, version: Option<usize>) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let e = pick_version(&v, path, version)?;
    // Not locked: the stream writes from its own writer thread.
    let mut out = std::io::stdout();
    v.decrypt_to(&e.id, &mut out)?;
    out.flush().map_err(|e| {
        Failure::from(coffer_core::Error::Io {
            context: "writing output",
            source: e,
        })
    })?;
    Ok(())
}

/// `coffer extract PATHS --to DIR [--version N]`.
pub fn extract(
    ctx: &Ctx,
    paths: &[String],
    to: &Path,
    version: Option<usize>,
) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let mut targets: Vec<(Entry, PathBuf)> = Vec::new();
    let Shown {
        all,
        current,
        unreadable,
        ..
    } = read_listing(ctx, &v)?;
    for p in paths {
        let p = p.trim_matches('/');
        if version.is_some() || current.iter().any(|e| e.path == p) {
            let mut vs: Vec<Entry> = all.iter().filter(|e| e.path == p).cloned().collect();
            vs.sort_by_key(|e| (e.added_ns, e.id));
            let e = pick_from(&vs, version)?;
            let name = e.path.rsplit('/').next().unwrap_or(&e.path).to_owned();
            targets.push((e, to.join(name)));
        } else {
            let under = matching(&current, p);
            if under.is_empty() {
                return Err(coffer_core::Error::NotFound(format!("{p} in the vault")).into());
            }
            let parent = p.rsplit_once('/').map(|(a, _)| a).unwrap_or("");
            for e in under {
                let rel = e
                    .path
                    .strip_prefix(parent)
                    .unwrap_or(&e.path)
                    .trim_start_matches('/');
                targets.push((e.clone(), to.join(rel)));
            }
        }
    }
    // Refuse before writing anything: a half-done extraction beside files
    // that were already there is harder to sort out than a clear refusal.
    if let Some((_, dest)) = targets.iter().find(|(_, d)| d.symlink_metadata().is_ok()) {
        return Err(Failure::usage(
            format!("{} already exists; nothing was extracted", dest.display()),
            Some("choose an empty folder with --to DIR, or move the existing file away"),
        ));
    }
    let pb = ctx.progress(targets.len() as u64, "Decrypting");
    let mut bytes = 0;
    for (e, dest) in &targets {
        v.extract(e, dest).map_err(|err| {
            pb.finish_and_clear();
            let mut f = Failure::from(err);
            f.message = format!("{} could not be extracted: {}", e.path, f.message);
            f
        })?;
        bytes += e.size;
        pb.inc(1);
    }
    pb.finish_and_clear();
    ctx.say(
        format!(
            "Extracted {} files ({}) to {}.",
            targets.len(),
            human_bytes(bytes),
            to.display()
        ),
        json!({"extracted": targets.len(), "bytes": bytes, "to": to, "unreadable": unreadable}),
    );
    Ok(())
}

/// `coffer rm PATHS`.
pub fn rm(ctx: &Ctx, paths: &[String]) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let mut n = 0;
    for p in paths {
        n += v.remove(p.trim_matches('/'))?;
    }
    ctx.say(
        format!("Removed {n} file versions from the vault."),
        json!({"removed_versions": n}),
    );
    Ok(())
}

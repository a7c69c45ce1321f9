//! The Files screen: the vault's files, adding, opening in the working
//! area, extracting and removing. Adding also serves the Folders screen.

use std::path::{Path, PathBuf};

use coffer_core::vault::{self, Actor, AddOptions, AddOutcome, Vault};
use serde::Serialize;
use tauri::ipc::Channel;

use crate::error::{CmdResult, UiError};
use crate::glue::{AppCore, Core, blocking};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    id: String,
    path: String,
    size: u64,
    mtime_ns: i64,
    added_ns: i64,
    versions: usize,
}

#[tauri::command]
pub async fn list_files(core: Core<'_>) -> CmdResult<Vec<FileRow>> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let all = g.as_ref().expect("unlocked").entries()?.entries;
        let mut counts = std::collections::HashMap::new();
        for e in &all {
            *counts.entry(e.path.clone()).or_insert(0usize) += 1;
        }
        Ok(vault::latest_versions(&all)
            .into_iter()
            .map(|e| FileRow {
                id: e.id.to_hex(),
                versions: counts[&e.path],
                path: e.path,
                size: e.size,
                mtime_ns: e.mtime_ns,
                added_ns: e.added_ns,
            })
            .collect())
    })
    .await
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressMsg {
    files: u64,
    total_files: u64,
    bytes: u64,
}

#[derive(Serialize)]
pub struct Failed {
    path: String,
    message: String,
}

#[derive(Serialize)]
pub struct AddResult {
    added: u64,
    failed: Vec<Failed>,
    skipped: u64,
}

/// Adds what was collected, reporting progress on the channel.
pub(super) fn add_and_report(
    core: &AppCore,
    collected: vault::Collected,
    remove_plaintext: bool,
    on_progress: &Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let v = core.open_vault()?;
    let total = collected.sources.len() as u64;
    let outcomes = v.add(
        &collected.sources,
        AddOptions {
            remove_plaintext,
            by: Actor::App,
        },
        &|p| {
            let _ = on_progress.send(ProgressMsg {
                files: p.files,
                total_files: total,
                bytes: p.bytes,
            });
        },
    )?;
    let mut r = AddResult {
        added: 0,
        failed: Vec::new(),
        skipped: collected.skipped.len() as u64,
    };
    for (s, o) in collected.sources.iter().zip(outcomes) {
        match o {
            AddOutcome::Added { .. } => r.added += 1,
            AddOutcome::Skipped(_) => r.skipped += 1,
            AddOutcome::Failed(e) => r.failed.push(Failed {
                path: s.source.display().to_string(),
                message: UiError::from(e).message,
            }),
        }
    }
    core.emit("files-changed", ());
    Ok(r)
}

#[tauri::command]
pub async fn add_paths(
    core: Core<'_>,
    paths: Vec<String>,
    on_progress: Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let mut all = vault::Collected::default();
        for p in paths {
            let p = PathBuf::from(p);
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| UiError::new("invalid", "That file has no usable name."))?
                .to_owned();
            let c = v.collect(&p, &name)?;
            all.sources.extend(c.sources);
            all.skipped.extend(c.skipped);
        }
        add_and_report(&core, all, false, &on_progress)
    })
    .await
}

fn find_entry(v: &Vault, id: &str) -> CmdResult<vault::Entry> {
    v.entries()?
        .entries
        .into_iter()
        .find(|e| e.id.to_hex() == id)
        .ok_or_else(|| UiError::new("not_found", "That file is no longer in the vault."))
}

/// The system found no program for the file's type (or the one it found
/// failed). The launcher's own text names the working-area copy: it goes
/// to "Details" with the path redacted.
fn no_app(launcher: &str) -> UiError {
    UiError::with_details(
        "no_app",
        "No app on this computer opens this kind of file. Install one that does, or ask IT; \
         the file stays safe in the vault meanwhile.",
        launcher,
    )
}

/// How long a launcher (xdg-open, gio, ...) may take to fail before it
/// counts as having started the app. The opener plugin's 250 ms is shorter
/// than xdg-open's own start on a busy laptop, so "no app for this type"
/// read as "opened" and nothing happened.
const LAUNCH_CHECK: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens `path` with the system's default app for its type (not under
/// `COFFER_APP_NO_OPENER`, for tests without a desktop).
pub(crate) fn open_with_default_app(core: &crate::glue::AppCore, path: &Path) -> CmdResult<()> {
    if std::env::var_os("COFFER_APP_NO_OPENER").is_none() && core.app().is_some() {
        open::that_detached_with_timeout(path, LAUNCH_CHECK).map_err(|e| no_app(&e.to_string()))?;
    }
    Ok(())
}

#[tauri::command]
pub async fn open_file(core: Core<'_>, id: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let path = {
            let g = core.unlocked()?;
            let v = g.as_ref().expect("unlocked");
            let entry = find_entry(v, &id)?;
            core.open_in_workarea(v, &entry)?
        };
        open_with_default_app(&core, &path)?;
        core.touch();
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn extract_file(core: Core<'_>, id: String, dest_dir: String) -> CmdResult<String> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let v = g.as_ref().expect("unlocked");
        let entry = find_entry(v, &id)?;
        let name = entry.path.rsplit('/').next().unwrap_or("file");
        let dest = Path::new(&dest_dir).join(name);
        v.extract(&entry, &dest)?;
        Ok(dest.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn remove_file(core: Core<'_>, path: String) -> CmdResult<usize> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let n = g.as_ref().expect("unlocked").remove(&path)?;
        core.emit("files-changed", ());
        Ok(n)
    })
    .await
}

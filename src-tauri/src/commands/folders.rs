//! The Folders screen: protected folders, what protecting one would take,
//! protecting and unprotecting.

use std::path::Path;

use coffer_core::vault;
use serde::Serialize;
use tauri::ipc::Channel;

use super::files::{AddResult, ProgressMsg, add_and_report};
use crate::error::CmdResult;
use crate::glue::{Core, blocking};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    path: String,
    name: String,
    files: usize,
    last_activity_ns: Option<i64>,
    mandatory: bool,
}

#[tauri::command]
pub async fn protected_folders(core: Core<'_>) -> CmdResult<Vec<FolderView>> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let home = dirs::home_dir().unwrap_or_default();
        let mandatory = v.policy().policy.mandatory_folders(&home);
        // File counts need names, so they are shown only while unlocked.
        let entries = core
            .unlocked()
            .ok()
            .and_then(|g| g.as_ref().and_then(|v| v.entries().ok()))
            .map(|l| vault::latest_versions(&l.entries));
        Ok(v.protected_folders()?
            .into_iter()
            .map(|f| {
                let prefix = format!("{}/", f.name);
                let mine: Vec<&vault::Entry> = entries
                    .iter()
                    .flatten()
                    .filter(|e| e.path.starts_with(&prefix))
                    .collect();
                FolderView {
                    files: mine.len(),
                    last_activity_ns: mine.iter().map(|e| e.added_ns).max(),
                    mandatory: mandatory.contains(&f.path),
                    path: f.path.display().to_string(),
                    name: f.name,
                }
            })
            .collect())
    })
    .await
}

#[derive(Serialize)]
pub struct Preview {
    files: usize,
    bytes: u64,
}

#[tauri::command]
pub async fn preview_protect(core: Core<'_>, path: String) -> CmdResult<Preview> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        if let Some((relation, what)) = v.own_folders().conflict(Path::new(&path)) {
            return Err(coffer_core::Error::UnsafeFolder { relation, what }.into());
        }
        let c = v.collect(Path::new(&path), "x")?;
        let bytes = c
            .sources
            .iter()
            .filter_map(|s| std::fs::metadata(&s.source).ok())
            .map(|m| m.len())
            .sum();
        Ok(Preview {
            files: c.sources.len(),
            bytes,
        })
    })
    .await
}

#[tauri::command]
pub async fn protect_folder(
    core: Core<'_>,
    path: String,
    on_progress: Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let folder = v.register_protected(Path::new(&path))?;
        let c = v.collect(&folder.path, &folder.name)?;
        add_and_report(&core, c, true, &on_progress)
    })
    .await
}

#[tauri::command]
pub async fn unprotect_folder(core: Core<'_>, path: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || Ok(core.open_vault()?.unregister_protected(Path::new(&path))?)).await
}

//! `coffer policy show|check|validate`.

use std::path::Path;

use serde_json::json;

use crate::cli::PolicyCmd;
use crate::ctx::Ctx;
use crate::exit::{self, Failure};
use crate::userfile::read_small_text;

/// `coffer policy ...`.
pub fn policy(ctx: &Ctx, action: PolicyCmd) -> Result<(), Failure> {
    match action {
        PolicyCmd::Show => show(ctx),
        PolicyCmd::Validate { file } => validate(ctx, &file),
        PolicyCmd::Check => check(ctx),
    }
}

/// `policy show`: the effective settings and where they come from.
fn show(ctx: &Ctx) -> Result<(), Failure> {
    let eff = coffer_core::policy::load()?;
    let floor = eff.policy.kdf_floor();
    if ctx.json {
        println!(
            "{}",
            json!({"source": eff.source, "policy": eff.policy,
                   "effective": {"kdf_min": floor}})
        );
        return Ok(());
    }
    match &eff.source {
        Some(p) => println!(
            "Policy from {} (set by your organisation; it cannot be weakened here)",
            p.display()
        ),
        None => println!(
            "No organisation policy ({} not present): Coffer's defaults apply.",
            coffer_core::policy::system_path().display()
        ),
    }
    let p = &eff.policy;
    println!(
        "Key derivation   Argon2id at least m={} MiB, t={}, p={}",
        floor.m_kib / 1024,
        floor.t,
        floor.p
    );
    println!(
        "Unlock methods   {}",
        p.unlock
            .as_ref()
            .map_or("any (passphrase, keychain, recovery, escrow)".into(), |u| u
                .allowed
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "))
    );
    println!(
        "Escrow           {}",
        p.escrow.as_ref().map_or("none".into(), |e| if e.required {
            "required (added at next unlock)".to_string()
        } else {
            "offered".to_string()
        })
    );
    println!(
        "Mandatory folders {}",
        if p.folders.mandatory.is_empty() {
            "none".into()
        } else {
            p.folders.mandatory.join(", ")
        }
    );
    println!(
        "Auto-lock        {}",
        p.lock.map_or("user's choice".into(), |l| format!(
            "at most {} minutes",
            l.max_auto_lock_minutes
        ))
    );
    println!(
        "Key rotation     {}",
        p.rotation.map_or("not scheduled".into(), |r| format!(
            "every {} days",
            r.period_days
        ))
    );
    println!(
        "Disk encryption  {}",
        if p.device.require_disk_encryption {
            "required"
        } else {
            "not required"
        }
    );
    println!(
        "Audit sinks      {}",
        if p.audit.sinks.is_empty() {
            "none".into()
        } else {
            p.audit
                .sinks
                .iter()
                .map(|s| s.describe())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let x = &p.extract;
    println!(
        "Extract to       {}{}",
        if x.allowed_destinations.is_empty() {
            "anywhere".into()
        } else {
            format!("only below {}", x.allowed_destinations.join(", "))
        },
        if x.forbidden_destinations.is_empty() {
            String::new()
        } else {
            format!("; never below {}", x.forbidden_destinations.join(", "))
        }
    );
    Ok(())
}

/// `policy validate FILE`: would Coffer accept this file?
fn validate(ctx: &Ctx, file: &Path) -> Result<(), Failure> {
    let text = read_small_text(
        file,
        coffer_core::policy::MAX_POLICY_LEN,
        "reading the policy file",
    )?;
    // Parsing is all there is to it: ownership is checked where the
    // file is installed, not here.
    let policy = coffer_core::policy::Policy::parse(&text).map_err(|e| Failure {
        code: exit::USAGE,
        kind: "invalid",
        message: match e {
            coffer_core::Error::PolicyInvalid { why } => {
                format!("{} is not a valid policy: {why}", file.display())
            }
            other => format!("{}: {other}", file.display()),
        },
        hint: Some("docs/POLICY.md lists every setting and its limits".into()),
    })?;
    ctx.say(
        format!("{} is a valid Coffer policy.", file.display()),
        json!({"valid": true, "file": file, "policy": policy}),
    );
    Ok(())
}

/// `policy check`: this device and vault against the policy.
fn check(ctx: &Ctx) -> Result<(), Failure> {
    let v = ctx.open()?;
    let checks = v.compliance()?;
    let ok = checks.iter().all(|c| c.ok);
    if ctx.json {
        println!(
            "{}",
            json!({"compliant": ok, "policy_source": v.policy().source, "checks": checks})
        );
    } else {
        for c in &checks {
            println!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.rule,
                c.detail
            );
        }
        println!("{}", if ok { "Compliant." } else { "Not compliant." });
    }
    if !ok {
        return Err(Failure {
            code: exit::FAILURE,
            kind: "non_compliant",
            message: format!(
                "{} of {} policy checks failed",
                checks.iter().filter(|c| !c.ok).count(),
                checks.len()
            ),
            hint: Some("the failed checks above say what to change".into()),
        });
    }
    Ok(())
}

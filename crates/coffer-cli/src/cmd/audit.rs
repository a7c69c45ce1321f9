//! `coffer audit`: the chain, shipping, sinks and the reports.

use std::path::Path;

use coffer_core::{audit, sink};
use serde_json::json;

use crate::cli::{
    AuditCmd, ExportArgs, ExportFormat, FleetFormat, IncidentArgs, IncidentFormat, SinkCmd,
};
use crate::ctx::Ctx;
use crate::exit::{self, Failure};
use crate::userfile::{read_file, write_output};

/// `coffer audit ...`.
pub fn audit(ctx: &Ctx, action: AuditCmd) -> Result<(), Failure> {
    match action {
        AuditCmd::Verify { log } => verify(ctx, log.as_deref()),
        AuditCmd::Export(args) => export(ctx, args),
        AuditCmd::Incident(args) => incident(ctx, args),
        AuditCmd::Receive { log, receipts } => receive(ctx, &log, receipts.as_deref()),
        AuditCmd::Fleet { log, format, out } => fleet(ctx, &log, format, out.as_deref()),
        AuditCmd::Ship => ship(ctx),
        AuditCmd::Sink { action } => sinks(ctx, action),
    }
}

/// `audit verify [--log FILE]`: the hash chain of the vault's log or a copy.
fn verify(ctx: &Ctx, log: Option<&Path>) -> Result<(), Failure> {
    let (report, what) = match &log {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::from(coffer_core::Error::Io {
                    context: "reading the audit log",
                    source: e,
                })
            })?;
            (
                audit::verify_chain(&bytes, None),
                path.display().to_string(),
            )
        }
        None => {
            let v = ctx.open()?;
            (
                audit::verify_vault_log(v.audit())?,
                "the vault's audit log".to_owned(),
            )
        }
    };
    if ctx.json {
        println!("{}", json!({"ok": report.ok(), "report": report}));
    } else if report.ok() {
        println!(
            "{what}: chain verified, {} records (up to record {}){}{}",
            report.verified,
            report.last_seq,
            if report.repaired_tears > 0 {
                format!(
                    "; {} lines torn by crashes, each acknowledged",
                    report.repaired_tears
                )
            } else {
                String::new()
            },
            if report.torn_tail {
                "; the last line was torn by a crash and will be acknowledged by the next record"
            } else {
                ""
            },
        );
    }
    if let Some((line, why)) = &report.broken {
        return Err(Failure {
            code: exit::INTEGRITY,
            kind: "integrity",
            message: format!("{what}: broken at line {line}: {why} (verified up to record {})", report.last_seq),
            hint: Some("compare with a shipped copy (`coffer audit verify --log COPY`) to see what was changed".into()),
        });
    }
    if let Some(t) = &report.truncated {
        return Err(Failure {
            code: exit::INTEGRITY,
            kind: "integrity",
            message: format!("{what}: {t}"),
            hint: Some("the shipped copy holds the missing records".into()),
        });
    }
    Ok(())
}

/// `audit export`: the access report.
fn export(ctx: &Ctx, args: ExportArgs) -> Result<(), Failure> {
    let ExportArgs {
        from,
        to,
        user,
        action,
        file,
        format,
        out,
        names,
        log,
    } = args;
    use coffer_report as report;
    let query = report::AccessQuery {
        from: parse_time(from.as_deref())?,
        to: parse_time(to.as_deref())?,
        user,
        action,
        file,
        file_name: None,
    };
    let fmt = match format {
        ExportFormat::Csv => report::ReportFormat::Csv,
        ExportFormat::Json => report::ReportFormat::Json,
        ExportFormat::Html => report::ReportFormat::Html,
        ExportFormat::Pdf => report::ReportFormat::Pdf,
    };
    let (rep, body) = match &log {
        Some(path) => {
            let bytes = read_file(path, "reading the audit log")?;
            let chain = audit::verify_chain(&bytes, None);
            let rep = report::access_report(&report::parse_records(&bytes), &query, &chain, None);
            let body = rep.render(fmt);
            (rep, body)
        }
        None => {
            let v = if names { ctx.unlocked()? } else { ctx.open()? };
            report::vault::export_access_report(&v, &query, names, fmt)?
        }
    };
    write_output(out.as_deref(), &body, fmt == report::ReportFormat::Pdf)?;
    if out.is_some() {
        ctx.say(
            format!(
                "Wrote an access report of {} events ({}).",
                rep.rows.len(),
                rep.chain.statement
            ),
            json!({"rows": rep.rows.len(), "chain_ok": rep.chain.ok, "out": out}),
        );
    }
    Ok(())
}

/// `audit incident`: the lost-laptop report, from shipped copies alone.
fn incident(ctx: &Ctx, a: IncidentArgs) -> Result<(), Failure> {
    use coffer_report as report;
    use coffer_report::receipts::{Arrivals, default_receipts_dir};
    let lost_at = parse_time(Some(&a.lost_at))?.expect("given");
    let fmt = match a.format {
        IncidentFormat::Json => report::ReportFormat::Json,
        IncidentFormat::Html => report::ReportFormat::Html,
        IncidentFormat::Pdf => report::ReportFormat::Pdf,
    };
    let copies = report::load_shipped_copies(&a.log, &a.device)?;
    let (records, raw) = report::load_shipped(&a.log, &a.device)?;
    let mut opts = report::IncidentOptions::default()
        .max_gap_secs(i64::from(a.max_gap_hours) * 3600)
        .require_authenticated(a.require_authenticated);
    if let Some(path) = &a.escrow_key {
        opts = opts.keys(audit::AuditKeys::escrow(escrow_private_key(path)?));
    }
    // The collector's evidence of arrival: its receipts, and the copy's
    // change time, which the laptop does not set.
    let receipts = a
        .receipts
        .clone()
        .unwrap_or_else(|| default_receipts_dir(&a.log));
    if let Some(copy) = copies.first() {
        opts = opts.arrivals(Arrivals::for_copy(&receipts, &copy.path)?);
    }
    let rep = report::incident_report_with(&records, &raw, &a.device, lost_at, &opts);
    let body = rep.render(fmt)?;
    let out = a.out.as_deref();
    write_output(out, &body, fmt == report::ReportFormat::Pdf)?;
    if out.is_some() {
        ctx.say(
            format!("Incident report written. Verdict: {}", rep.verdict_text),
            json!({"verdict": rep.verdict, "out": out}),
        );
    }
    Ok(())
}

/// The organisation's escrow private key, from a file `escrow keygen` wrote.
fn escrow_private_key(path: &Path) -> Result<coffer_core::wrap::PrivateKey, Failure> {
    use coffer_core::escrow_key;
    let bytes = read_file(path, "reading the escrow key file")?;
    let text = String::from_utf8_lossy(&bytes);
    let line = escrow_key::find_private(&text).ok_or_else(|| {
        Failure::usage(
            "that file holds no Coffer escrow private key",
            Some("use the file written by `coffer escrow keygen`"),
        )
    })?;
    escrow_key::parse_private(line)
        .map_err(|_| Failure::usage("the escrow key file is damaged", None))
}

/// `audit receive`: the collector notes what each copy holds now.
fn receive(ctx: &Ctx, log: &Path, receipts: Option<&Path>) -> Result<(), Failure> {
    use coffer_report::receipts::{default_receipts_dir, note_arrivals};
    let dir = receipts.map_or_else(|| default_receipts_dir(log), Path::to_path_buf);
    let noted = note_arrivals(log, &dir, jiff::Timestamp::now())?;
    ctx.say(
        format!(
            "Noted {} changed cop(ies) in {}.",
            noted.len(),
            dir.display()
        ),
        json!({"noted": noted, "receipts": dir}),
    );
    Ok(())
}

/// `audit fleet`: every device in a sink folder.
fn fleet(ctx: &Ctx, log: &Path, format: FleetFormat, out: Option<&Path>) -> Result<(), Failure> {
    let devices = coffer_report::fleet::summarize(log)?;
    let format = if ctx.json { FleetFormat::Json } else { format };
    match format {
        FleetFormat::Json => {
            let body = json!({ "devices": devices }).to_string() + "\n";
            return write_output(out, body.as_bytes(), false);
        }
        FleetFormat::Html => {
            let now = jiff::Timestamp::now().to_string();
            let body = coffer_report::fleet_html(&devices, &now);
            return write_output(out, body.as_bytes(), false);
        }
        FleetFormat::Table => {}
    }
    println!(
        "{:<18} {:<16} {:<26} {:<10} {:<6} problems",
        "device", "host", "last seen", "compliant", "chain"
    );
    for d in &devices {
        println!(
            "{:<18} {:<16} {:<26} {:<10} {:<6} {}",
            d.device,
            d.host,
            d.last_seen.get(..19).unwrap_or(&d.last_seen),
            match d.compliant {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "unknown",
            },
            if d.chain_ok { "ok" } else { "BROKEN" },
            d.problems.join("; ")
        );
    }
    Ok(())
}

/// `audit ship`: send what the sinks have not received yet.
fn ship(ctx: &Ctx) -> Result<(), Failure> {
    let v = ctx.open()?;
    let reports = sink::ship_all(v.audit())?;
    let behind = reports.iter().filter(|r| r.error.is_some()).count();
    if ctx.json {
        println!("{}", json!({"sinks": reports}));
    } else if reports.is_empty() {
        println!(
            "No audit sinks configured (add one with `coffer audit sink add-dir` or `add-syslog`)."
        );
    } else {
        for r in &reports {
            match &r.error {
                None => println!(
                    "{}: shipped {} records, up to record {}",
                    r.sink, r.shipped, r.shipped_up_to
                ),
                Some(e) => println!("{}: not reachable ({e}); records stay queued", r.sink),
            }
        }
    }
    if behind > 0 {
        return Err(Failure {
            code: exit::IO,
            kind: "io",
            message: format!("{behind} audit sinks could not be reached"),
            hint: Some("records stay queued in the vault and are sent on the next try".into()),
        });
    }
    Ok(())
}

/// `audit sink list|add-dir|add-syslog|remove`.
fn sinks(ctx: &Ctx, action: SinkCmd) -> Result<(), Failure> {
    let v = ctx.open()?;
    let mut sinks = sink::load(v.dir())?;
    match action {
        SinkCmd::List => {
            if ctx.json {
                println!("{}", json!({"sinks": sinks}));
            } else {
                for (i, s) in sinks.iter().enumerate() {
                    println!("{}  {}", i + 1, s.describe());
                }
            }
            return Ok(());
        }
        SinkCmd::AddDir { path } => {
            let abs = std::fs::canonicalize(&path).map_err(|e| {
                Failure::from(coffer_core::Error::Io {
                    context: "finding the sink folder",
                    source: e,
                })
            })?;
            sinks.push(sink::Sink::Directory { path: abs });
        }
        SinkCmd::AddSyslog { url } => sinks.push(sink::Sink::Syslog { url }),
        SinkCmd::Remove { n } => {
            if n == 0 || n > sinks.len() {
                return Err(coffer_core::Error::NotFound(format!("sink {n}")).into());
            }
            sinks.remove(n - 1);
        }
    }
    sink::save(v.dir(), &sinks)?;
    let reports = sink::ship_all(v.audit())?;
    ctx.say(
        format!(
            "Audit sinks: {}.",
            sinks
                .iter()
                .map(|s| s.describe())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        json!({"sinks": sinks, "shipped": reports}),
    );
    Ok(())
}

/// An RFC 3339 time from the command line.
fn parse_time(t: Option<&str>) -> Result<Option<jiff::Timestamp>, Failure> {
    t.map(|t| {
        t.parse::<jiff::Timestamp>().map_err(|e| {
            Failure::usage(
                format!("{t} is not a time: {e}"),
                Some("use RFC 3339, e.g. 2026-11-20T14:30:00Z"),
            )
        })
    })
    .transpose()
}

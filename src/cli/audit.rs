//! `roster audit verify|export`: check the trail's hash chain, and write the trail out as
//! Directory Insights JSON lines or CSV for auditors and spreadsheets.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::exit;
use crate::app;
use crate::config::Config;
use crate::domain::directory_insights::{AuditSearch, render};
use crate::store::audit::{self, Verification};
use crate::store::organization;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no event of the audit trail was altered or removed (exit 3 if one was).
    Verify,
    /// Write events, oldest first, as Directory Insights JSON (one object per line) or CSV.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Only events at or after this time (RFC 3339, for example 2026-01-01T00:00:00Z).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        /// Only events before this time (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        until: Option<DateTime<Utc>>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One Directory Insights event object per line.
    Jsonl,
    /// One row per event with a header line; `changes` and the other details as JSON.
    Csv,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z"))
}

pub fn run(config: &Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify => verify(config),
        AuditCommand::Export {
            format,
            since,
            until,
            output,
        } => {
            let sink: Box<dyn Write> = match &output {
                Some(path) => Box::new(
                    File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                ),
                None => Box::new(io::stdout().lock()),
            };
            export(config, format, since, until, BufWriter::new(sink))
        }
    }
}

#[allow(clippy::print_stdout)] // the verdict is the command's output
fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let store = app::open_store(config)?;
    let mut conn = store.conn()?;
    match audit::verify(&mut conn)? {
        Verification::Intact { events } => {
            println!("audit trail intact: {events} events");
            Ok(ExitCode::SUCCESS)
        }
        Verification::Broken(chain_break) => {
            println!("audit trail BROKEN: {chain_break}");
            Ok(ExitCode::from(exit::AUDIT_BROKEN))
        }
        Verification::Truncated { last_seq, head_seq } => {
            println!(
                "audit trail BROKEN: it ends at event {last_seq} but event {head_seq} was written"
            );
            Ok(ExitCode::from(exit::AUDIT_BROKEN))
        }
    }
}

/// Events read from the database at a time, so memory stays flat on a long trail.
const PAGE: i64 = 1_000;

const CSV_HEADER: [&str; 13] = [
    "seq",
    "id",
    "timestamp",
    "event_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "initiated_by_type",
    "initiated_by_name",
    "initiated_by_source",
    "auth_method",
    "details",
    "hash",
];

fn export(
    config: &Config,
    format: ExportFormat,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    mut sink: impl Write,
) -> anyhow::Result<ExitCode> {
    let store = app::open_store(config)?;
    let mut conn = store.conn()?;
    let organization = organization::get(&mut conn)?.id;
    // The bar draws on standard error only when it is a terminal.
    let progress = ProgressBar::new(audit::count(&mut conn)?.try_into().unwrap_or(0));
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if format == ExportFormat::Csv {
        write_csv_row(&mut sink, CSV_HEADER.iter().map(|s| (*s).to_owned()))?;
    }
    let mut search = AuditSearch {
        // No event predates the Unix epoch, and PostgreSQL cannot store chrono's minimum time.
        start: since.unwrap_or(DateTime::UNIX_EPOCH),
        end: until,
        event_types: Vec::new(),
        resource_ids: Vec::new(),
        after_seq: 0,
        newest_first: false,
        skip: 0,
        limit: PAGE,
    };
    let mut written = 0_u64;
    loop {
        let events = audit::search(&mut conn, &search)?;
        let Some(last) = events.last() else { break };
        search.after_seq = last.seq;
        for event in &events {
            let rendered = render(event, &organization);
            match format {
                ExportFormat::Jsonl => writeln!(sink, "{rendered}")?,
                ExportFormat::Csv => write_csv_row(&mut sink, csv_row(&rendered))?,
            }
        }
        written += events.len() as u64;
        progress.set_position(u64::try_from(last.seq).unwrap_or(0));
    }
    sink.flush().context("cannot write the export")?;
    progress.finish_and_clear();
    tracing::info!(events = written, "audit trail exported");
    Ok(ExitCode::SUCCESS)
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The columns of one event; every field outside the fixed columns goes, as JSON, into
/// `details`.
fn csv_row(event: &Value) -> Vec<String> {
    let fixed = [
        "id",
        "timestamp",
        "event_type",
        "resource",
        "initiated_by",
        "auth_method",
        "chain",
        "service",
        "organization",
    ];
    let details: serde_json::Map<String, Value> = event
        .as_object()
        .map(|all| {
            all.iter()
                .filter(|(key, _)| !fixed.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let resource_name = if event["resource"]["username"].is_null() {
        &event["resource"]["name"]
    } else {
        &event["resource"]["username"]
    };
    vec![
        text(&event["chain"]["seq"]),
        text(&event["id"]),
        text(&event["timestamp"]),
        text(&event["event_type"]),
        text(&event["resource"]["type"]),
        text(&event["resource"]["id"]),
        text(resource_name),
        text(&event["initiated_by"]["type"]),
        text(if event["initiated_by"]["name"].is_null() {
            &event["initiated_by"]["source_metadata"]["name"]
        } else {
            &event["initiated_by"]["name"]
        }),
        text(&event["initiated_by"]["source"]),
        text(&event["auth_method"]),
        Value::Object(details).to_string(),
        text(&event["chain"]["hash"]),
    ]
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
fn write_csv_row(
    sink: &mut impl Write,
    fields: impl IntoIterator<Item = String>,
) -> io::Result<()> {
    let mut line = String::new();
    for (index, field) in fields.into_iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&field);
        }
    }
    line.push_str("\r\n");
    sink.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_separators_are_quoted() {
        let mut out = Vec::new();
        write_csv_row(
            &mut out,
            ["plain", "a,b", "say \"hi\"", "two\nlines"].map(str::to_owned),
        )
        .expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }
}

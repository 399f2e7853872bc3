//! `--input FILE|-`: one call per line of JSON Lines, for any subcommand that makes calls,
//! through one client (one token, one retry budget, one view of the API's pressure).
//!
//! Each line becomes a command line of its own: the command line as typed, then a flag for
//! each of the line's keys. clap reads it as it reads any command line, with the same
//! checks and messages, and a flag from the line replaces the same flag typed once for
//! all lines. So nothing here names a subcommand or a flag: a subcommand that the spec
//! adds takes `--input` as it comes.
//!
//! Lines are read by a thread of their own as the calls need them, so memory stays flat
//! however long the input is; `--concurrency` lines are in flight at once.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    io::{BufRead, IsTerminal, Write},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use clap::{ArgMatches, Args};
use cockpit::Client;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::{
    Connection, Failure, Job, Out, exit,
    journal::{self, Journal, Record, State},
};

/// The calls in flight at once unless `--concurrency` says otherwise.
pub(crate) const DEFAULT_CONCURRENCY: u16 = 8;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Many calls (JSON Lines)")]
pub(crate) struct Bulk {
    /// Make one call per line of FILE (- for stdin). Each line is a JSON object whose keys
    /// are this subcommand's long flags (`user-id`) or the operation's parameter names
    /// (`customerUserId`); a line's value replaces the flag's value given here. A line from
    /// `users list --json` is a user: its `id` is the user id, and the user's properties
    /// in it are left alone (`--fetch-user` and `users update` read what the API holds).
    #[arg(long, value_name = "FILE|-", global = true)]
    pub(crate) input: Option<String>,
    /// With --input: the lines in flight at once
    #[arg(long, value_name = "N", global = true, default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: u16,
    /// With --input: record each line's outcome in FILE (JSON Lines, flushed to disk as
    /// each line ends), and skip what an earlier run with FILE did. A change that was
    /// sent and got no answer (the run was killed, the connection broke) is in doubt, and
    /// is not sent again
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) journal: Option<String>,
    /// With --journal: send again the lines of a change that are in doubt (a line that
    /// only reads is always sent again)
    #[arg(long, global = true)]
    pub(crate) resend_in_doubt: bool,
    /// With --input: start no line after the first that fails
    #[arg(long, global = true)]
    pub(crate) fail_fast: bool,
}

/// Whether the command line asks for `--input`.
pub(crate) fn asked(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--input" || a.to_string_lossy().starts_with("--input="))
}

/// `cmd` with no argument required: with --input, each line's command line is checked in
/// full, and the one typed need not be.
pub(crate) fn relaxed(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| a.required(false)).mut_subcommands(relaxed)
}

/// How one line ended.
enum Outcome {
    Done {
        lines: Vec<String>,
        answered: Option<(u16, cockpit::Uuid)>,
    },
    Failed {
        error: cockpit::Error,
    },
    /// Nothing that changes anything was sent: the line is not a call the API takes.
    Invalid(String),
    /// Done in an earlier run (the journal says so).
    Skipped,
    /// Sent in an earlier run that got no answer, and not sent again.
    InDoubt,
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::Failed { .. } => "failed",
            Outcome::Invalid(_) => "invalid",
            Outcome::Skipped => "skipped",
            Outcome::InDoubt => "in doubt",
        }
    }

    fn ok(&self) -> bool {
        matches!(self, Outcome::Done { .. } | Outcome::Skipped)
    }
}

/// One line of the input: its number (1-based) and text, or why it could not be read.
type Line = (u64, Result<String, String>);

/// Runs the subcommand once per line of `--input`, prints each line's outcome and a
/// summary, and ends with the exit code that says whether every line succeeded.
pub(crate) async fn run(
    conn: Connection,
    bulk: Bulk,
    args: Vec<OsString>,
    matches: &ArgMatches,
) -> Result<(), Failure> {
    let Some(input) = bulk.input.clone() else {
        return Err(Failure::Usage(anyhow::anyhow!("--input is missing")));
    };
    let path = subcommand_path(matches);
    if path.is_empty() {
        return Err(Failure::Usage(anyhow::anyhow!(
            "--input needs a subcommand that makes calls, such as `reset-password`"
        )));
    }
    if input == "-" && args.iter().skip(1).filter(|a| *a == "-").count() > 1 {
        return Err(Failure::Usage(anyhow::anyhow!(
            "stdin is the input (--input -): give the other flag a file"
        )));
    }
    let command_name = path.join(" ");
    let journal = match &bulk.journal {
        Some(file) => Some(Arc::new(
            Journal::open(file, &command_name).map_err(Failure::Usage)?,
        )),
        None => None,
    };
    // As many calls on the wire as lines in flight: the client's shared slowdown then
    // halves what this run sends when the API pushes back.
    let client = crate::client(&conn, Some(usize::from(bulk.concurrency)))?;
    let conn = Arc::new(conn);
    let lines = read_lines(&input).map_err(Failure::Usage)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut cmd = crate::command().args_override_self(true);
    cmd.build();
    let leaf = leaf(&cmd, &path);
    let source = {
        let stop = stop.clone();
        futures::stream::unfold(lines, move |mut rx| {
            let stop = stop.clone();
            async move {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                rx.recv().await.map(|line| (line, rx))
            }
        })
    };
    let settings = Arc::new(Settings {
        resend_in_doubt: bulk.resend_in_doubt,
    });
    let runs = source
        .map(|(number, text): Line| {
            // Read on the driver, one line after another: clap's command is one.
            let prepared = text.and_then(|text| {
                let hash = journal::hash(&text);
                prepare(&mut cmd, &leaf, &args, &text).map(|job| (job, hash))
            });
            let (client, conn, journal, settings) = (
                client.clone(),
                conn.clone(),
                journal.clone(),
                settings.clone(),
            );
            tokio::spawn(async move {
                let outcome = match prepared {
                    Err(why) => Outcome::Invalid(why),
                    Ok((job, hash)) => {
                        line(
                            number,
                            &hash,
                            job,
                            &client,
                            &conn,
                            journal.as_deref(),
                            &settings,
                        )
                        .await
                    }
                };
                (number, outcome)
            })
        })
        .buffer_unordered(usize::from(bulk.concurrency));
    let mut runs = std::pin::pin!(runs);

    let progress = if !conn.json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} lines ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut tally = Tally::default();
    let mut output_gone: Option<std::io::Error> = None;
    while let Some(ended) = runs.next().await {
        let (number, outcome) = match ended {
            Ok(ended) => ended,
            Err(e) => {
                // A line's task panicked: nothing else is known of it.
                eprintln!("error: a line's task ended abnormally: {e}");
                tally.lost += 1;
                continue;
            }
        };
        progress.inc(1);
        if !outcome.ok() && bulk.fail_fast {
            stop.store(true, Ordering::Relaxed);
        }
        if output_gone.is_none()
            && let Err(e) = progress.suspend(|| show(&conn, number, &outcome))
        {
            // Nobody reads the results any more: start no new line, let those in flight
            // end (and be journaled), and say so with exit code 7.
            stop.store(true, Ordering::Relaxed);
            output_gone = Some(e);
        }
        tally.count(number, &outcome);
    }
    progress.finish_and_clear();
    tally.report(conn.json, bulk.fail_fast && stop.load(Ordering::Relaxed));
    if let Some(e) = output_gone {
        eprintln!("error: could not write the results to stdout: {e}");
        return Err(Failure::Lines(exit::DONE_NOT_SHOWN));
    }
    if tally.all_ok() {
        Ok(())
    } else {
        Err(Failure::Lines(exit::SOME_LINES_FAILED))
    }
}

/// How many times a line that the API throttled (429, or 503 with `Retry-After`) past the
/// client's own retries is run again: with the client's 3 attempts, 12 in all.
const THROTTLED_RERUNS: u32 = 3;

struct Settings {
    resend_in_doubt: bool,
}

/// Runs one line's job, minding (and keeping) the journal.
async fn line(
    number: u64,
    hash: &str,
    job: Job,
    client: &Client,
    conn: &Connection,
    journal: Option<&Journal>,
    settings: &Settings,
) -> Outcome {
    let changes = job.changes();
    if let Some(journal) = journal {
        if let Some(past) = journal.past.get(&number) {
            if past.hash != hash {
                return Outcome::Invalid(format!(
                    "this line is not the one the journal recorded as line {number}: the input \
                     changed since that run (give this input another --journal)"
                ));
            }
            let in_doubt = match past.state {
                State::Done => return Outcome::Skipped,
                State::Failed => past.processed,
                State::Started => true,
            };
            if in_doubt && changes && !settings.resend_in_doubt {
                return Outcome::InDoubt;
            }
        }
        if changes
            && let Err(e) = journal
                .append(&Record::of(number, hash, State::Started))
                .await
        {
            return Outcome::Invalid(format!("not sent: {e:#}"));
        }
    }
    // A line that the API throttled past the client's retries was not processed (429, or
    // 503): it goes again, a few times, behind the client's shared slowdown.
    let mut reruns = 0;
    let (result, out) = loop {
        let mut out = Out::buffered();
        let result = job.clone().run(conn, client, &mut out).await;
        match &result {
            Err(Failure::Api(e))
                if reruns < THROTTLED_RERUNS
                    && (e.is_rate_limited() || e.retry_after().is_some())
                    && !e.may_have_been_processed() =>
            {
                reruns += 1;
            }
            _ => break (result, out),
        }
    };
    let outcome = match result {
        Ok(()) => {
            let answered = out.answered;
            Outcome::Done {
                lines: out.into_lines(),
                answered,
            }
        }
        // Refused by the SDK's checks before sending (a value over a limit, a body that is
        // not the spec's): the line is invalid, as one that clap refused.
        Err(Failure::Api(error)) if error.kind() == cockpit::ErrorKind::InvalidInput => {
            Outcome::Invalid(error.to_string())
        }
        Err(Failure::Api(error)) => Outcome::Failed { error },
        Err(Failure::Usage(e)) => Outcome::Invalid(format!("{e:#}")),
        Err(Failure::NotShown { error, .. }) => Outcome::Invalid(error.to_string()),
        Err(Failure::Lines(_)) => Outcome::Invalid("--input inside --input".to_string()),
    };
    if let Some(journal) = journal {
        let mut record = Record::of(
            number,
            hash,
            if matches!(outcome, Outcome::Done { .. }) {
                State::Done
            } else {
                State::Failed
            },
        );
        match &outcome {
            Outcome::Done { answered, .. } => {
                record.status = answered.map(|a| a.0);
                record.correlation_id = answered.map(|a| a.1);
            }
            Outcome::Failed { error } => {
                record.may_have_been_processed = Some(error.may_have_been_processed());
                record.status = error.status().map(|s| s.as_u16());
                record.kind = Some(error.kind().as_str().to_string());
                record.correlation_id = error.correlation_id();
            }
            _ => record.may_have_been_processed = Some(false),
        }
        if let Err(e) = journal.append(&record).await {
            // The outcome happened; the journal could not keep it. Say so on the line.
            eprintln!("error: line {number}: the journal could not record it: {e:#}");
        }
    }
    outcome
}

/// The subcommand's names, from the root down (`["users", "update"]`).
fn subcommand_path(matches: &ArgMatches) -> Vec<String> {
    let mut path = Vec::new();
    let mut at = matches;
    while let Some((name, sub)) = at.subcommand() {
        path.push(name.to_string());
        at = sub;
    }
    path
}

/// The subcommand at `path` of `cmd`.
fn leaf(cmd: &clap::Command, path: &[String]) -> clap::Command {
    let mut at = cmd;
    for name in path {
        match at.find_subcommand(name) {
            Some(sub) => at = sub,
            None => break,
        }
    }
    at.clone()
}

/// Reads `source` line by line on a thread of its own, a few lines ahead of the calls.
fn read_lines(source: &str) -> anyhow::Result<tokio::sync::mpsc::Receiver<Line>> {
    let reader: Box<dyn BufRead + Send> = if source == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(source)
            .map_err(|e| anyhow::anyhow!("reading the input {source:?}: {e}"))?;
        Box::new(std::io::BufReader::new(file))
    };
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    std::thread::Builder::new()
        .name("cockpit-input".into())
        .spawn(move || {
            let mut reader = reader;
            let mut buf = Vec::new();
            let mut number = 0u64;
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.blocking_send((number + 1, Err(format!("reading: {e}"))));
                        break;
                    }
                }
                number += 1;
                let text = match std::str::from_utf8(&buf) {
                    Ok(t) => Ok(t.trim_end_matches(['\n', '\r']).to_string()),
                    Err(e) => Err(format!("not UTF-8: {e}")),
                };
                if matches!(&text, Ok(t) if t.trim().is_empty()) {
                    continue;
                }
                if tx.blocking_send((number, text)).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// One line's job: its keys become flags after the typed command line, and clap reads the
/// whole.
fn prepare(
    cmd: &mut clap::Command,
    leaf: &clap::Command,
    typed: &[OsString],
    text: &str,
) -> Result<Job, String> {
    let flags = line_flags(leaf, typed, text)?;
    let argv = typed
        .iter()
        .cloned()
        .chain(flags.into_iter().map(OsString::from));
    let matches = cmd.try_get_matches_from_mut(argv).map_err(|e| {
        let rendered = e.render().to_string();
        rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string()
    })?;
    Job::from_matches(&matches).map_err(|e| format!("{e:#}"))
}

/// The flags of one line: `--flag=value` for each key, from the subcommand's own flags
/// (`typed`: the command line, which a line's `false` cannot take a switch back from).
fn line_flags(leaf: &clap::Command, typed: &[OsString], text: &str) -> Result<Vec<String>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the line is not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("the line is not a JSON object: {\"flag\": value, …}".to_string());
    };
    // A user from `users list --json`: its id is the user, its other properties are what
    // the API held then, not flags.
    let record = object.contains_key("id") && flag_for(leaf, "id").is_some();
    let mut flags = Vec::new();
    for (key, value) in &object {
        let Some(arg) = flag_for(leaf, key) else {
            if record {
                continue;
            }
            return Err(format!(
                "unknown key {key:?}: the keys are the flags of `{}` (see its --help) or the operation's parameter names",
                leaf.get_name()
            ));
        };
        let Some(long) = arg.get_long() else {
            return Err(format!("key {key:?} is not a flag"));
        };
        match value {
            Value::Null => {}
            Value::Bool(true) if !arg.get_action().takes_values() => {
                flags.push(format!("--{long}"));
            }
            Value::Bool(false) if !arg.get_action().takes_values() => {
                if typed.iter().any(|t| *t == *format!("--{long}")) {
                    return Err(format!(
                        "{key}: false cannot take back --{long}, given on the command line; \
                         leave it off the command line and put \"{key}\": true on the lines that need it"
                    ));
                }
            }
            Value::Bool(b) => flags.push(format!("--{long}={b}")),
            Value::Number(n) => flags.push(format!("--{long}={n}")),
            Value::String(s) if s == "-" && takes_json(arg) => {
                return Err(format!(
                    "{key}: a line cannot read stdin; give the JSON itself or a file"
                ));
            }
            Value::String(s) => flags.push(format!("--{long}={s}")),
            // A JSON flag (`--body-json`, `--user-json`) takes the JSON itself.
            Value::Array(_) | Value::Object(_) if takes_json(arg) => {
                flags.push(format!("--{long}={value}"));
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "{key}: a flag's value is a string, a number or true/false (an object or \
                     an array only for a JSON flag such as body-json)"
                ));
            }
        }
    }
    Ok(flags)
}

/// Whether `arg` reads JSON (its value may be the JSON itself).
fn takes_json(arg: &clap::Arg) -> bool {
    arg.get_value_names()
        .is_some_and(|names| names.iter().any(|n| n.as_str().starts_with("JSON")))
}

/// The subcommand's own flag for a line's key: its long name or an alias, in kebab case.
/// A flag's name is the kebab case of the parameter it stands for, so the spec's name
/// finds it too (`customerId` is `--customer-id`), as does `customer_id`.
fn flag_for<'c>(leaf: &'c clap::Command, key: &str) -> Option<&'c clap::Arg> {
    let kebab = heck::ToKebabCase::to_kebab_case(key);
    let kebab = kebab.as_str();
    leaf.get_arguments().find(|a| {
        !a.is_global_set()
            && (a.get_long() == Some(kebab)
                || a.get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&kebab)))
    })
}

/// Prints one line's outcome: with --json one JSON object on stdout; else the job's own
/// output on stdout, and a failure on stderr.
fn show(conn: &Connection, number: u64, outcome: &Outcome) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if conn.json {
        let mut object = json!({"line": number, "outcome": outcome.word()});
        match outcome {
            Outcome::Done { lines, answered } => {
                if let Some((status, id)) = answered {
                    object["status"] = json!(status);
                    object["correlationId"] = json!(id);
                }
                let results: Vec<Value> = lines
                    .iter()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.clone())))
                    .collect();
                object["result"] = match <[Value; 1]>::try_from(results) {
                    Ok([one]) => one,
                    Err(many) => Value::Array(many),
                };
            }
            Outcome::Failed { error } => {
                object["kind"] = json!(error.kind());
                object["message"] = json!(error.to_string());
                object["status"] = json!(error.status().map(|s| s.as_u16()));
                object["correlationId"] = json!(error.correlation_id());
                object["attempts"] = json!(error.attempts());
                object["mayHaveBeenProcessed"] = json!(error.may_have_been_processed());
                if let Some(hint) = crate::hint(error) {
                    object["hint"] = json!(hint);
                }
            }
            Outcome::Invalid(why) => object["message"] = json!(why),
            Outcome::Skipped => object["message"] = json!("done in an earlier run (the journal)"),
            Outcome::InDoubt => object["message"] = json!(IN_DOUBT),
        }
        writeln!(stdout, "{object}")?;
        return stdout.flush();
    }
    match outcome {
        Outcome::Done { lines, .. } => {
            for l in lines {
                writeln!(stdout, "{l}")?;
            }
            stdout.flush()
        }
        Outcome::Failed { error } => {
            eprintln!("line {number}: error: {error}");
            Ok(())
        }
        Outcome::Invalid(why) => {
            eprintln!("line {number}: invalid: {why}");
            Ok(())
        }
        Outcome::Skipped => Ok(()),
        Outcome::InDoubt => {
            eprintln!("line {number}: in doubt: {IN_DOUBT}");
            Ok(())
        }
    }
}

const IN_DOUBT: &str = "sent by an earlier run that got no answer, so it may have been done: \
     not sent again (check what the API holds, then --resend-in-doubt sends it)";

/// The run's counts, and the lines that did not succeed.
#[derive(Default)]
struct Tally {
    done: u64,
    skipped: u64,
    in_doubt: Vec<u64>,
    invalid: Vec<(u64, String)>,
    /// By kind: the JSON summary names it by its code (`not_found`), the table in words.
    failed: BTreeMap<cockpit::ErrorKind, Vec<(u64, String)>>,
    lost: u64,
}

impl Tally {
    fn count(&mut self, number: u64, outcome: &Outcome) {
        match outcome {
            Outcome::Done { .. } => self.done += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::InDoubt => self.in_doubt.push(number),
            Outcome::Invalid(why) => self.invalid.push((number, why.clone())),
            Outcome::Failed { error } => self
                .failed
                .entry(error.kind())
                .or_default()
                .push((number, error.to_string())),
        }
    }

    fn all_ok(&self) -> bool {
        self.in_doubt.is_empty()
            && self.invalid.is_empty()
            && self.failed.is_empty()
            && self.lost == 0
    }

    /// The summary, on stderr: a table (or one JSON object with --json), then the lines
    /// that did not succeed, in order.
    fn report(&mut self, json: bool, stopped: bool) {
        self.in_doubt.sort_unstable();
        self.invalid.sort_unstable();
        for lines in self.failed.values_mut() {
            lines.sort_unstable();
        }
        let failed: u64 = self.failed.values().map(|l| l.len() as u64).sum();
        if json {
            let by_kind: BTreeMap<_, _> = self
                .failed
                .iter()
                .map(|(k, l)| (k.as_str(), l.len()))
                .collect();
            eprintln!(
                "{}",
                json!({"summary": {
                    "done": self.done,
                    "skipped": self.skipped,
                    "failed": failed,
                    "failedByKind": by_kind,
                    "invalid": self.invalid.len(),
                    "inDoubt": self.in_doubt,
                    "stoppedEarly": stopped,
                }})
            );
            return;
        }
        let mut table = comfy_table::Table::new();
        table.set_header(["outcome", "lines"]);
        table.add_row(["done".to_string(), self.done.to_string()]);
        table.add_row([
            "skipped (done in an earlier run)".to_string(),
            self.skipped.to_string(),
        ]);
        for (kind, lines) in &self.failed {
            table.add_row([format!("failed: {kind}"), lines.len().to_string()]);
        }
        table.add_row([
            "invalid (not sent)".to_string(),
            self.invalid.len().to_string(),
        ]);
        table.add_row([
            "in doubt (not sent)".to_string(),
            self.in_doubt.len().to_string(),
        ]);
        eprintln!("{table}");
        const SHOWN: usize = 20;
        let mut problems: Vec<(u64, String)> = self
            .failed
            .iter()
            .flat_map(|(kind, lines)| lines.iter().map(move |(n, m)| (*n, format!("{kind}: {m}"))))
            .chain(
                self.invalid
                    .iter()
                    .map(|(n, m)| (*n, format!("invalid: {m}"))),
            )
            .chain(self.in_doubt.iter().map(|n| (*n, "in doubt".to_string())))
            .collect();
        problems.sort_unstable();
        for (n, why) in problems.iter().take(SHOWN) {
            eprintln!("  line {n}: {why}");
        }
        if problems.len() > SHOWN {
            eprintln!(
                "  … and {} more (--json lists every line)",
                problems.len() - SHOWN
            );
        }
        if stopped {
            eprintln!("stopped at the first failure (--fail-fast): later lines were not read");
        }
    }
}

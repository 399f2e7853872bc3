//! `--journal FILE`: what became of each line of `--input`, so that a rerun does nothing
//! twice and loses nothing.
//!
//! The journal is JSON Lines, appended to and never rewritten. Its first record names the
//! command it belongs to; then, for each line of the input, by its number and a hash of its
//! text:
//!
//! - `started`, before a call that changes something is sent (a reset, an update, a POST
//!   or PATCH of the spec), so that a run killed before the answer leaves the line in
//!   doubt rather than forgotten;
//! - `done` or `failed` (with whether the request may have been processed) when it ends.
//!
//! Every record is on disk (written and `fsync`ed) before the run goes on: a `started`
//! before the request leaves, an outcome before the line counts as ended. Records that
//! end at the same time share one `fsync`. A kill can tear only the last record, which
//! the next run skips.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::Write,
    path::PathBuf,
    sync::mpsc,
};

use anyhow::{Context, bail};
use cockpit::Uuid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash of a line's text that ties a record to it: the first 16 hex digits of its
/// SHA-256.
pub(crate) fn hash(line: &str) -> String {
    let digest = Sha256::digest(line.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The journal's format, in its header: a journal of another is refused, not misread.
const FORMAT: u32 = 1;

/// One record of the journal.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    /// The header's: the journal's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) journal: Option<u32>,
    /// The header's: the subcommand, as typed (`users update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<State>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) may_have_been_processed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) correlation_id: Option<Uuid>,
}

impl Record {
    /// A record of line `line` (with text hash `hash`) in `state`.
    pub(crate) fn of(line: u64, hash: &str, state: State) -> Record {
        Record {
            line: Some(line),
            hash: Some(hash.to_string()),
            state: Some(state),
            ..Record::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum State {
    Started,
    Done,
    Failed,
}

/// What an earlier run left of one line: its text's hash and its last record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Past {
    pub(crate) hash: String,
    pub(crate) state: State,
    /// For `failed`: whether it may have been processed.
    pub(crate) processed: bool,
}

/// An open journal: what earlier runs recorded, and the writer for this one.
pub(crate) struct Journal {
    pub(crate) past: HashMap<u64, Past>,
    tx: mpsc::Sender<(String, tokio::sync::oneshot::Sender<std::io::Result<()>>)>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for `command`, reading what earlier runs
    /// recorded.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or written, holds a record that is not the journal's
    /// (other than a torn last one), or belongs to another command.
    pub(crate) fn open(path: &str, command: &str) -> anyhow::Result<Journal> {
        let path = PathBuf::from(path);
        let mut past = HashMap::new();
        let mut header = false;
        if path.exists() {
            let text =
                std::fs::read(&path).with_context(|| format!("reading the journal {path:?}"))?;
            // A kill mid-write tears only the last record, which never counted: cut it off,
            // so that the records this run appends start on a line of their own.
            let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if whole < text.len() {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(whole as u64))
                    .with_context(|| format!("cutting the torn last record of {path:?}"))?;
            }
            let text = String::from_utf8_lossy(&text[..whole]);
            for (i, text) in text.lines().enumerate() {
                if text.trim().is_empty() {
                    continue;
                }
                let record: Record = serde_json::from_str(text).with_context(|| {
                    format!(
                        "the journal {path:?} has a record that is not the journal's at its line {}",
                        i + 1
                    )
                })?;
                if let Some(format) = record.journal.filter(|f| *f != FORMAT) {
                    bail!(
                        "the journal {path:?} is in format {format}, which this cockpit does not read (it reads {FORMAT}): give this run another --journal"
                    );
                }
                if let Some(c) = &record.command {
                    if c != command {
                        bail!(
                            "the journal {path:?} belongs to `cockpit {c}`, not `cockpit {command}`: give this run another --journal"
                        );
                    }
                    header = true;
                    continue;
                }
                if let (Some(line), Some(hash), Some(state)) =
                    (record.line, record.hash, record.state)
                {
                    past.insert(
                        line,
                        Past {
                            hash,
                            state,
                            processed: record.may_have_been_processed.unwrap_or(true),
                        },
                    );
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening the journal {path:?}"))?;
        if !header {
            let record = Record {
                journal: Some(FORMAT),
                command: Some(command.to_string()),
                ..Record::default()
            };
            writeln!(file, "{}", serde_json::to_string(&record)?)
                .and_then(|()| file.sync_data())
                .with_context(|| format!("writing the journal {path:?}"))?;
        }
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("cockpit-journal".into())
            .spawn(move || write_records(file, rx))
            .context("starting the journal's writer")?;
        Ok(Journal { past, tx })
    }

    /// Appends `record`, and returns once it is on disk.
    ///
    /// # Errors
    ///
    /// When it could not be written or flushed.
    pub(crate) async fn append(&self, record: &Record) -> anyhow::Result<()> {
        let text = serde_json::to_string(record)?;
        let (done, wait) = tokio::sync::oneshot::channel();
        self.tx
            .send((text, done))
            .map_err(|_| anyhow::anyhow!("the journal's writer stopped"))?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the journal's writer stopped"))?
            .context("writing the journal")
    }
}

/// The writer: takes every record that is waiting, writes them, `fsync`s once, and says
/// so to each.
fn write_records(
    mut file: File,
    rx: mpsc::Receiver<(String, tokio::sync::oneshot::Sender<std::io::Result<()>>)>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let mut text = String::new();
        for (record, _) in &batch {
            text.push_str(record);
            text.push('\n');
        }
        let result = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_data());
        for (_, done) in batch {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_survive_a_reopen_and_a_torn_last_record_is_skipped() {
        let dir = std::env::temp_dir().join(format!("cockpit-journal-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j.jsonl");
        let path = path.to_str().unwrap();
        let journal = Journal::open(path, "reset-password").unwrap();
        assert!(journal.past.is_empty());
        journal
            .append(&Record::of(1, &hash("a"), State::Started))
            .await
            .unwrap();
        journal
            .append(&Record::of(1, &hash("a"), State::Done))
            .await
            .unwrap();
        let mut failed = Record::of(2, &hash("b"), State::Failed);
        failed.may_have_been_processed = Some(false);
        journal.append(&failed).await.unwrap();
        journal
            .append(&Record::of(3, &hash("c"), State::Started))
            .await
            .unwrap();
        drop(journal);
        // A kill in the middle of a record.
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(b"{\"line\":4,\"ha").unwrap();
        drop(file);

        let again = Journal::open(path, "reset-password").unwrap();
        assert_eq!(again.past.len(), 3);
        // The torn record was cut off: what this run appends reads back.
        again
            .append(&Record::of(4, &hash("d"), State::Done))
            .await
            .unwrap();
        drop(again);
        let again = Journal::open(path, "reset-password").unwrap();
        assert_eq!(again.past.len(), 4);
        assert_eq!(again.past[&4].state, State::Done);
        assert_eq!(again.past[&1].state, State::Done);
        assert_eq!(again.past[&1].hash, hash("a"));
        assert_eq!(
            (again.past[&2].state, again.past[&2].processed),
            (State::Failed, false)
        );
        assert_eq!(again.past[&3].state, State::Started);
        drop(again);
        let other = Journal::open(path, "users update")
            .err()
            .unwrap()
            .to_string();
        assert!(
            other.contains("belongs to `cockpit reset-password`"),
            "{other}"
        );
        assert_eq!(hash("a").len(), 16);
        // The header names the format; a journal in another is refused, not misread.
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("{\"journal\":1,\"command\":\"reset-password\"}\n"),
            "{text}"
        );
        std::fs::write(path, text.replacen("{\"journal\":1,", "{\"journal\":2,", 1)).unwrap();
        let newer = Journal::open(path, "reset-password")
            .err()
            .unwrap()
            .to_string();
        assert!(newer.contains("is in format 2"), "{newer}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

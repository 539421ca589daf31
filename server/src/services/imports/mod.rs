//! Imports: a person's history from ChatGPT, Open WebUI or another Parley, uploaded as one file and
//! imported in the background on the durable job queue.
//!
//! - The upload is kept in the database in sealed 1 MiB chunks (never whole in memory, and readable by
//!   whichever instance claims the job); the job copies it to a spool file and deletes the chunks when the
//!   import ends.
//! - Two passes over the file. The first reads every conversation and writes nothing: a file that is not
//!   an export, is truncated, or is a zip bomb fails whole, with nothing imported. The second stores each
//!   conversation in its own transaction (one transaction for a 500 MB import would hold SQLite's only
//!   write lock for minutes). An instance killed during the second pass leaves the job to run again, and
//!   since every conversation and message remembers its source id, the rerun adds only what is missing.
//! - Importing the same export again adds nothing; a newer export of the same account adds what is new.

mod formats;
mod reader;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::{io::AsyncWriteExt, sync::mpsc};
use uuid::Uuid;

pub use self::{formats::Format, reader::ZipLimits};
use self::{
    formats::Read,
    reader::{Flow, NOT_AN_EXPORT, Unreadable, for_each_conversation},
};
use crate::{
    db::{Database, DbError, IMPORT_JOB, Import},
    services::jobs::{JobHandler, JobQueue},
    support::{Missing, Refusal, error_chain, one_field_error},
};

/// How imports are received and read.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    /// The largest upload accepted (`PARLEY_MAX_IMPORT_BYTES`).
    pub max_bytes: u64,
    /// Where the job spools an upload while it reads it.
    pub spool_dir: PathBuf,
    pub zip: ZipLimits,
}

/// Each chunk of an upload kept in the database.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Attempts of an import's job: a database outage is worth waiting out; a bad file fails on the first.
const MAX_ATTEMPTS: i32 = 5;
/// Conversations waiting between the reading thread and the writer.
const IN_FLIGHT: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no such import")]
    NotFound,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("the upload was cut off")]
    CutOff,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<ImportError> for Refusal {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::NotFound => Refusal::NotFound(Missing::Import),
            ImportError::Empty => Refusal::Validation(one_field_error("file", "The file is empty.")),
            ImportError::CutOff => {
                Refusal::Validation(one_field_error("file", "The upload was cut off before the end of the file."))
            }
            ImportError::TooLarge { max } => Refusal::TooLarge { max_bytes: max },
            ImportError::Database(cause) => cause.into(),
        }
    }
}

#[derive(Clone)]
pub struct ImportService {
    db: Database,
    queue: JobQueue,
    settings: Arc<ImportSettings>,
}

impl ImportService {
    pub fn new(db: Database, queue: JobQueue, settings: ImportSettings) -> Self {
        ImportService { db, queue, settings: Arc::new(settings) }
    }

    pub fn max_bytes(&self) -> u64 {
        self.settings.max_bytes
    }

    /// Receives an upload as it arrives and queues its import. An upload that is empty, too large or cut
    /// off leaves nothing behind.
    pub async fn receive<E>(
        &self,
        user_id: Uuid,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<Import, ImportError> {
        let import = self.db.start_import(user_id).await?;
        let received = self.store_chunks(import.id, &mut body).await;
        match received {
            Ok(bytes) if bytes > 0 => {
                let queued = self.db.queue_import(import.id, bytes as i64, MAX_ATTEMPTS).await?;
                self.queue.wake();
                Ok(queued)
            }
            outcome => {
                if let Err(error) = self.db.discard_import(import.id).await {
                    tracing::warn!(error = %error_chain(&error), "could not discard an incomplete upload");
                }
                Err(outcome.err().unwrap_or(ImportError::Empty))
            }
        }
    }

    async fn store_chunks<E>(
        &self,
        import_id: Uuid,
        body: &mut (impl Stream<Item = Result<Bytes, E>> + Unpin),
    ) -> Result<u64, ImportError> {
        let max = self.settings.max_bytes;
        let (mut total, mut seq) = (0u64, 0i32);
        let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|_| ImportError::CutOff)?;
            total += piece.len() as u64;
            if total > max {
                return Err(ImportError::TooLarge { max });
            }
            let mut rest = &piece[..];
            while !rest.is_empty() {
                let take = rest.len().min(CHUNK_BYTES - buffer.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() == CHUNK_BYTES {
                    self.db.add_import_chunk(import_id, seq, &buffer).await?;
                    seq += 1;
                    buffer.clear();
                }
            }
        }
        if !buffer.is_empty() {
            self.db.add_import_chunk(import_id, seq, &buffer).await?;
        }
        Ok(total)
    }

    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Import, ImportError> {
        self.db.find_import(user_id, id).await?.ok_or(ImportError::NotFound)
    }

    /// The user's most recent imports, newest first.
    pub async fn recent(&self, user_id: Uuid) -> Result<Vec<Import>, ImportError> {
        Ok(self.db.list_imports(user_id, 10).await?)
    }

    /// Copies the upload out of the database into a spool file (a chunk at a time).
    async fn spool(&self, import: &Import) -> Result<Spool, String> {
        let path = self.settings.spool_dir.join(format!("parley-import-{}-{}", import.id, Uuid::new_v4()));
        let spool = Spool(path);
        let mut file = tokio::fs::File::create(&spool.0).await.map_err(|e| format!("cannot spool the upload: {e}"))?;
        let mut seq = 0;
        while let Some(chunk) = self.db.import_chunk(import.id, seq).await.map_err(|e| error_chain(&e))? {
            file.write_all(&chunk).await.map_err(|e| format!("cannot spool the upload: {e}"))?;
            seq += 1;
        }
        file.flush().await.map_err(|e| format!("cannot spool the upload: {e}"))?;
        Ok(spool)
    }

    async fn import(&self, import: Import) -> Result<(), String> {
        let spool = self.spool(&import).await?;
        let (path, limits) = (spool.0.clone(), self.settings.zip);
        let checked = tokio::task::spawn_blocking(move || check(&path, limits))
            .await
            .map_err(|e| format!("the check of the file stopped: {e}"))?;
        let checked = match checked {
            Ok(checked) => checked,
            Err(Unreadable(reason)) => {
                tracing::info!(import = %import.id, %reason, "an import was refused");
                return self.db.finish_import(import.id, Some(&reason)).await.map_err(|e| error_chain(&e));
            }
        };
        let format = checked.format.map(Format::name);
        let total = i32::try_from(checked.messages).unwrap_or(i32::MAX);
        self.db.import_running(import.id, format, total, checked.skipped as i32).await.map_err(|e| error_chain(&e))?;

        let (sender, mut received) = mpsc::channel::<Read>(IN_FLIGHT);
        let (path, limits) = (spool.0.clone(), self.settings.zip);
        let reading = tokio::task::spawn_blocking(move || read_again(&path, limits, checked.format, sender));
        while let Some(read) = received.recv().await {
            let Some(conversation) = read.conversation else { continue };
            let added =
                self.db.import_conversation(import.user_id, &conversation).await.map_err(|e| error_chain(&e))?;
            if added.conversation || added.messages > 0 {
                self.db
                    .import_progress(import.id, i32::from(added.conversation), added.messages as i32)
                    .await
                    .map_err(|e| error_chain(&e))?;
            }
        }
        reading.await.map_err(|e| format!("the reading of the file stopped: {e}"))?.map_err(|e| e.0)?;
        self.db.finish_import(import.id, None).await.map_err(|e| error_chain(&e))
    }
}

/// What the first pass found.
struct Checked {
    format: Option<Format>,
    messages: u64,
    skipped: u64,
}

/// The first pass: every conversation read, nothing written.
fn check(path: &Path, limits: ZipLimits) -> Result<Checked, Unreadable> {
    let mut checked = Checked { format: None, messages: 0, skipped: 0 };
    let mut problem = None;
    let mut number = 0;
    for_each_conversation(path, limits, &mut |item| {
        number += 1;
        let format = match checked.format.or_else(|| Format::of(&item)) {
            Some(format) => format,
            None => {
                problem = Some(format!("the file {NOT_AN_EXPORT}: its first conversation has none of their shapes"));
                return Flow::Stop;
            }
        };
        checked.format = Some(format);
        match format.read(&item, number) {
            Ok(read) => {
                checked.skipped += u64::from(read.skipped);
                checked.messages += read.conversation.map_or(0, |c| c.messages.len() as u64);
                Flow::Continue
            }
            Err(reason) => {
                problem = Some(reason);
                Flow::Stop
            }
        }
    })?;
    match problem {
        Some(reason) => Err(Unreadable(reason)),
        None => Ok(checked),
    }
}

/// The second pass: the same conversations again, sent to the writer as they are read.
fn read_again(
    path: &Path,
    limits: ZipLimits,
    format: Option<Format>,
    sender: mpsc::Sender<Read>,
) -> Result<(), Unreadable> {
    let Some(format) = format else { return Ok(()) };
    let mut number = 0;
    for_each_conversation(path, limits, &mut |item| {
        number += 1;
        // The first pass read every one of these without a problem.
        let Ok(read) = format.read(&item, number) else { return Flow::Stop };
        // The writer stopped (a database error): nothing more to read for.
        if sender.blocking_send(read).is_err() { Flow::Stop } else { Flow::Continue }
    })
}

/// A spooled upload, deleted when dropped.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[async_trait]
impl JobHandler for ImportService {
    async fn run(&self, payload: &str) -> Result<(), String> {
        let id: Uuid = payload.parse().map_err(|_| format!("not an import id: {payload}"))?;
        match self.db.import_for_job(id).await.map_err(|e| error_chain(&e))? {
            // Gone with its account, or already ended (a job that outlived its lease).
            None => Ok(()),
            Some(import) if matches!(import.state.as_str(), "done" | "failed") => Ok(()),
            Some(import) => self.import(import).await,
        }
    }

    async fn give_up(&self, payload: &str, error: &str) {
        let Ok(id) = payload.parse::<Uuid>() else { return };
        let reason = format!("the import could not be completed: {error}");
        if let Err(failure) = self.db.finish_import(id, Some(&reason)).await {
            tracing::warn!(error = %error_chain(&failure), "could not record a failed import");
        }
    }
}

/// The job kind imports run under.
pub const JOB_KIND: &str = IMPORT_JOB;

//! Outgoing email: SMTP in production, a folder of `.eml` files (the outbox) in development and tests.
//!
//! Mail is always sent in the background, through the durable job queue (`services::jobs`): a request that
//! triggers one answers at once, whatever the mail server does, and a mail still pending when the process
//! stops is sent by whichever instance runs next. A failed attempt is logged and retried with growing pauses;
//! each attempt is bounded by a timeout. The queued mail (its links included) is sealed like messages.

use std::{path::PathBuf, sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use secrecy::ExposeSecret;

use super::jobs::{JobHandler, JobQueue};
use crate::support::config::{MailConfig, MailTransport};

/// The job kind mail is queued as.
pub const MAIL_JOB: &str = "mail";
/// Attempts before a mail is given up (with the queue's backoff, about a quarter of an hour at the default).
const MAIL_ATTEMPTS: i32 = 8;

/// One message to send: plain text, ASCII only, so that links survive every mail reader unencoded.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("PARLEY_MAIL_FROM is not a valid address: {0}")]
    From(String),
    #[error("PARLEY_SMTP_URL is not valid: {0}")]
    SmtpUrl(String),
}

#[derive(Clone)]
pub struct Mailer(Arc<Inner>);

struct Inner {
    from: Mailbox,
    transport: Transport,
    queue: JobQueue,
}

enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

impl Mailer {
    pub fn new(config: &MailConfig, queue: JobQueue) -> Result<Self, MailError> {
        let from: Mailbox =
            config.from.parse().map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        let transport = match &config.transport {
            MailTransport::Outbox(dir) => Transport::Outbox(dir.clone()),
            MailTransport::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| MailError::SmtpUrl(e.to_string()))?
                    .timeout(Some(ATTEMPT_TIMEOUT))
                    .build(),
            ),
        };
        Ok(Mailer(Arc::new(Inner { from, transport, queue })))
    }

    /// Queues `mail` and returns at once. The queueing itself (one insert) also happens on its own task, so
    /// that a request that sends mail takes as long as one that does not (a reset for an unknown address
    /// must not answer faster than one for a known address).
    pub fn send_in_background(&self, mail: Mail) {
        let queue = self.0.queue.clone();
        tokio::spawn(async move {
            let payload = serde_json::to_string(&mail).expect("a mail serialises");
            if let Err(error) = queue.enqueue(MAIL_JOB, &payload, MAIL_ATTEMPTS).await {
                tracing::error!(error = %crate::support::error_chain(&error), subject = %mail.subject, "could not queue an email");
            }
        });
    }

    /// One attempt at sending `mail`.
    async fn deliver(&self, mail: &Mail) -> Result<(), String> {
        let message = self.message(mail)?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.send_once(&message)).await {
            Ok(Ok(())) => {
                tracing::info!(subject = %mail.subject, "email sent");
                Ok(())
            }
            Ok(Err(error)) => Err(format!("sending an email failed: {error}")),
            Err(_) => Err("sending an email timed out".to_owned()),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, String> {
        let to: Mailbox = mail.to.parse().map_err(|e: lettre::address::AddressError| e.to_string())?;
        // 7bit keeps the text, and its links, exactly as written: lettre would pick quoted-printable for
        // any line over 76 characters (a link with a token is longer), which mail readers undo but a
        // program reading the outbox may not. 7bit only needs ASCII, no NUL and lines under 998 octets.
        let text = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
        if !text.is_ascii() || text.contains('\0') || text.split("\r\n").any(|line| line.len() > 998) {
            return Err("the body must be ASCII with lines under 998 characters".to_owned());
        }
        let body = lettre::message::Body::dangerous_pre_encoded(
            text.into_bytes(),
            lettre::message::header::ContentTransferEncoding::SevenBit,
        );
        Message::builder()
            .from(self.0.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())
    }

    async fn send_once(&self, message: &Message) -> Result<(), String> {
        match &self.0.transport {
            Transport::Smtp(smtp) => smtp.send(message.clone()).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Outbox(dir) => write_to_outbox(dir, &message.formatted()).await.map_err(|e| e.to_string()),
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for Mailer {
    async fn run(&self, payload: &str) -> Result<(), String> {
        let mail: Mail = serde_json::from_str(payload).map_err(|e| format!("a queued mail is not readable: {e}"))?;
        self.deliver(&mail).await
    }
}

/// Writes one message as `<unix-millis>-<sequence>-<uuid>.eml`, so names sort by the moment of writing
/// (the sequence orders two in one millisecond). The file appears whole: it is written under a temporary
/// name and renamed, so a reader never sees half a message.
async fn write_to_outbox(dir: &std::path::Path, message: &[u8]) -> std::io::Result<()> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    tokio::fs::create_dir_all(dir).await?;
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{millis:015}-{sequence:09}-{}", uuid::Uuid::new_v4());
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, message).await?;
    tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue on a database of its own (the tests here deliver directly and never run it).
    async fn queue(dir: &std::path::Path) -> JobQueue {
        let db = crate::db::Database::connect(&format!("sqlite://{}", dir.join("jobs.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        JobQueue::new(db)
    }

    #[tokio::test]
    async fn the_outbox_gets_one_whole_eml_file_with_the_link_unencoded() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(
            &MailConfig {
                from: "Parley <noreply@parley.test>".to_owned(),
                transport: MailTransport::Outbox(dir.path().join("outbox")),
            },
            queue(dir.path()).await,
        )
        .unwrap();
        let link = format!("http://127.0.0.1:3000/reset-password?token={}", "x".repeat(43));
        let mail =
            Mail { to: "ada@example.com".to_owned(), subject: "Reset".to_owned(), body: format!("Open:\n\n{link}\n") };
        mailer.run(&serde_json::to_string(&mail).unwrap()).await.expect("delivered");

        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().unwrap(), "eml");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains(&link), "the link is one unencoded line: {text}");
    }

    #[tokio::test]
    async fn a_malformed_sender_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = MailConfig { from: "not an address".to_owned(), transport: MailTransport::Outbox("x".into()) };
        assert!(matches!(Mailer::new(&config, queue(dir.path()).await), Err(MailError::From(_))));
    }
}

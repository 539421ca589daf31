//! The mail section: who account emails are from, how they leave (SMTP, or a folder of `.eml` files), and
//! the address their links point to.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;

use super::reader::Reader;

const DEV_OUTBOX: &str = "data/outbox";

/// How each message leaves the process.
#[derive(Clone, Debug)]
pub enum MailTransport {
    /// One `.eml` file per message in this folder (created if missing).
    Outbox(PathBuf),
    /// An SMTP URL as lettre reads it: `smtps://user:pass@host:465`, `smtp://host:587?tls=required`.
    Smtp(SecretString),
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransport,
}

/// The mail settings and the public URL (links in emails), which defaults to the listen address.
pub(super) fn read(env: &mut Reader, listen_addr: SocketAddr) -> (MailConfig, String) {
    let from = match env.get("PARLEY_MAIL_FROM") {
        Some(from) => from,
        None if env.production => {
            env.problem("PARLEY_MAIL_FROM is missing (the sender of account emails)");
            String::new()
        }
        None => "Parley <parley@localhost>".to_owned(),
    };
    let transport = match env.get("PARLEY_SMTP_URL") {
        Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => MailTransport::Smtp(url.into()),
        Some(_) => {
            env.problem("PARLEY_SMTP_URL must be an smtp:// or smtps:// URL");
            MailTransport::Outbox(DEV_OUTBOX.into())
        }
        // A folder instead of a mail server, also in production when chosen explicitly (a relay
        // that picks the files up, or a test harness reading them).
        None => match env.get("PARLEY_MAIL_OUTBOX") {
            Some(dir) => MailTransport::Outbox(dir.into()),
            None if env.production => {
                env.problem(
                    "PARLEY_SMTP_URL is missing (the mail server for account emails; or PARLEY_MAIL_OUTBOX, a folder for them)",
                );
                MailTransport::Outbox(DEV_OUTBOX.into())
            }
            None => MailTransport::Outbox(DEV_OUTBOX.into()),
        },
    };
    let public_url = match env.get("PARLEY_PUBLIC_URL") {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => url.trim_end_matches('/').to_owned(),
        Some(_) => {
            env.problem("PARLEY_PUBLIC_URL must be an http:// or https:// URL");
            String::new()
        }
        None => format!("http://{listen_addr}"),
    };
    (MailConfig { from, transport }, public_url)
}

use std::process::ExitCode;

use parley::{
    db::{Database, DatabaseSettings, DbTarget, transfer},
    startup::{Application, shutdown_signal},
    support::{
        config::{self, Config},
        telemetry,
    },
};

// Page renders allocate many small objects on every worker thread; glibc's malloc spent a fifth of the
// chat page's time there (arena locks), mimalloc's thread-local heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: parley                          serve (configured from the environment)
       parley copy-from-sqlite SQLITE_URL  copy a SQLite database's data into the empty PostgreSQL
                                           database named by DATABASE_URL
       parley reencrypt                    seal every stored text under the first of
                                           PARLEY_ENCRYPTION_KEYS and rebuild the search index under
                                           PARLEY_SEARCH_KEY, while instances keep serving
       parley healthcheck                  exit 0 if the instance at LEPTOS_SITE_ADDR answers
                                           /health with 200 within 3 s (a container's HEALTHCHECK)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve().await,
        ["copy-from-sqlite", source] => copy_from_sqlite(source).await,
        ["reencrypt"] => reencrypt().await,
        ["healthcheck"] => healthcheck(),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("parley: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&config);
    let result = async { Application::build(config).await?.run_until(shutdown_signal()).await }.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what failed and why (the database errors name the host, never a password).
            let cause = std::error::Error::source(&error).map(|c| format!(": {c}")).unwrap_or_default();
            tracing::error!("parley stopped: {error}{cause}");
            ExitCode::FAILURE
        }
    }
}

/// Asks the local instance's `/health`, for a container's `HEALTHCHECK` (images carry no curl). A listener
/// on every address (`0.0.0.0:8080`) is asked on loopback. Plain HTTP/1.0 over a socket: the answer's
/// status line is all that is read.
fn healthcheck() -> ExitCode {
    use std::{
        io::{Read, Write},
        net::{SocketAddr, TcpStream},
        time::Duration,
    };
    const WITHIN: Duration = Duration::from_secs(3);
    let configured = std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| config::DEFAULT_LISTEN_ADDR.to_owned());
    let Ok(mut addr) = configured.parse::<SocketAddr>() else {
        eprintln!("parley: LEPTOS_SITE_ADDR must be an address like 127.0.0.1:3000");
        // Not 2: a container's HEALTHCHECK reserves it.
        return ExitCode::FAILURE;
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    let answer = (|| -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, WITHIN)?;
        stream.set_read_timeout(Some(WITHIN))?;
        stream.set_write_timeout(Some(WITHIN))?;
        stream.write_all(format!("GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
        let mut head = [0u8; 64];
        let read = stream.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..read]).into_owned())
    })();
    match answer {
        Ok(head) if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(head) => {
            eprintln!("parley: unhealthy: {}", head.lines().next().unwrap_or("no answer"));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("parley: unhealthy: {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Rewrites every stored text not under the first key (plain text included) and every index entry made with
/// another search key, a batch at a time, printing progress. Safe beside running instances and after a kill
/// (run it again: what is done is passed over).
async fn reencrypt() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("parley: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        let db = Database::connect_with(secrecy::ExposeSecret::expose_secret(&config.database_url), &config.database)
            .await?
            .with_at_rest(config.at_rest.clone());
        db.migrate().await?;
        let report = db
            .reencrypt_all(500, |table, progress| {
                println!("{table}: {} examined, {} rewritten", progress.examined, progress.rewritten);
            })
            .await;
        db.close().await;
        report
    }
    .await;
    match result {
        Ok(report) => {
            let rewritten: u64 = report.tables.iter().map(|(_, p)| p.rewritten).sum();
            let state = if config.at_rest.is_sealing() { "sealed under the first key" } else { "stored as plain text" };
            println!("done: {rewritten} rows rewritten; every stored text is {state}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("parley: reencrypt stopped (run it again to go on): {}", parley::support::error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// Moves an existing SQLite deployment to PostgreSQL: migrates both, then copies every row of every table
/// in one transaction. The destination comes from `DATABASE_URL` (so its password stays out of the process list).
async fn copy_from_sqlite(source: &str) -> ExitCode {
    let Ok(destination) = std::env::var("DATABASE_URL") else {
        eprintln!("parley: set DATABASE_URL to the PostgreSQL database to copy into\n{USAGE}");
        return ExitCode::from(2);
    };
    // Opening a SQLite URL creates a missing file; a mistyped path must not "copy" an empty database.
    match parley::db::target(source) {
        Ok(DbTarget::Sqlite(options)) if options.get_filename().exists() => {}
        Ok(DbTarget::Sqlite(options)) => {
            eprintln!("parley: there is no SQLite database at {}", options.get_filename().display());
            return ExitCode::FAILURE;
        }
        Ok(DbTarget::Postgres(_)) | Err(_) => {
            eprintln!("parley: the source must be a sqlite: URL of an existing file\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let settings = match DatabaseSettings::from_env() {
        Ok(settings) => settings,
        Err(problems) => {
            eprintln!("parley: {problems}");
            return ExitCode::from(2);
        }
    };
    let result = async {
        let from = Database::connect_with(source, &settings).await?;
        let to = Database::connect_with(&destination, &settings).await?;
        from.migrate().await?;
        to.migrate().await?;
        transfer::copy_sqlite_to_postgres(&from, &to).await
    }
    .await;
    match result {
        Ok(report) => {
            for copied in report.tables {
                let repaired = match copied.texts_repaired {
                    0 => String::new(),
                    n => format!(
                        " ({n} texts held a NUL or bytes that are not UTF-8, which PostgreSQL cannot store: copied with U+FFFD in their place)"
                    ),
                };
                println!("{}: {} rows copied{repaired}", copied.table, copied.rows);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("parley: copy failed: {error}");
            ExitCode::FAILURE
        }
    }
}

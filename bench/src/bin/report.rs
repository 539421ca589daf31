//! The benchmark report: run by `bench/run.sh` (see bench/README.md), never by the test command.
//!
//! Starts the release binary on loopback for each backend, seeds it, drives it with `oha`, and prints one
//! table of absolute figures, each with its ratio to the bare axum handler (`bare`) measured in the same
//! run. Every load runs for a fixed time; every wait is bounded.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use parley::{
    db::Database,
    support::at_rest::{AtRest, FernetKey, SearchKey},
};
use parley_bench::{Load, Oha, Table, free_port, gzipped_len, peak_resident_kib, resident_kib};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const PASSWORD: &str = "Bench-pass-1";
const SECRET: &str = "bench-secret-that-is-at-least-32-bytes";
/// Encryption at rest, as production runs it (the specification's example key: a bench, not a secret).
const FERNET_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const SEARCH_KEY: &str = "bench-search-key-that-is-at-least-32-bytes";

/// Whether the server under test seals what people write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sealing {
    On,
    Off,
}

impl Sealing {
    fn env(self) -> [(&'static str, &'static str); 2] {
        match self {
            Sealing::On => [("PARLEY_ENCRYPTION_KEYS", FERNET_KEY), ("PARLEY_SEARCH_KEY", SEARCH_KEY)],
            Sealing::Off => [("PARLEY_ENCRYPTION", "off"), ("PARLEY_SEARCH_KEY", SEARCH_KEY)],
        }
    }

    fn at_rest(self) -> AtRest {
        let key = FernetKey::parse(FERNET_KEY).expect("a Fernet key");
        AtRest::new(vec![key], self == Sealing::On, SearchKey::new(SEARCH_KEY.as_bytes()))
    }
}

/// The bench's database, writing as a server with `sealing` writes.
async fn seeding_db(database_url: &str, sealing: Sealing) -> Database {
    Database::connect(database_url).await.expect("the bench database").with_at_rest(sealing.at_rest())
}

struct Args {
    parley: PathBuf,
    bare: PathBuf,
    site: PathBuf,
    oha: Oha,
    /// An empty PostgreSQL database, or none to measure SQLite only.
    postgres: Option<String>,
    /// Where the SQLite file is made (a temporary directory when unset).
    sqlite_dir: Option<PathBuf>,
    /// The backends to measure ("sqlite", "postgresql"), all when unset.
    backends: Option<Vec<String>>,
}

fn args() -> Args {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let seconds = env("PARLEY_BENCH_SECONDS").and_then(|s| s.parse().ok()).unwrap_or(10);
    Args {
        parley: env("PARLEY_BENCH_BIN").expect("PARLEY_BENCH_BIN: the release parley binary").into(),
        bare: env("PARLEY_BENCH_BARE_BIN").expect("PARLEY_BENCH_BARE_BIN: the bare handler binary").into(),
        site: env("PARLEY_BENCH_SITE").expect("PARLEY_BENCH_SITE: the built site (target/site)").into(),
        oha: Oha { program: env("PARLEY_BENCH_OHA").unwrap_or_else(|| "oha".to_owned()), seconds },
        postgres: env("PARLEY_BENCH_POSTGRES_URL"),
        sqlite_dir: env("PARLEY_BENCH_SQLITE_DIR").map(PathBuf::from),
        backends: env("PARLEY_BENCH_BACKENDS")
            .map(|list| list.split(',').map(|name| name.trim().to_lowercase()).collect()),
    }
}

/// A child process killed when dropped, so an early exit leaves nothing running.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// The release binary on a loopback port, with what it took to become healthy.
struct Parley {
    process: Process,
    base: String,
    started_in: Duration,
}

async fn start_parley(args: &Args, database_url: &str, sealing: Sealing) -> Parley {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(&args.parley)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PARLEY_ENV", "production")
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", &args.site)
        .env("LEPTOS_OUTPUT_NAME", "parley")
        .env("SESSION_SECRET", SECRET)
        .env("JWT_SECRET", SECRET)
        .env("PARLEY_MAIL_FROM", "noreply@parley.test")
        .env("PARLEY_MAIL_OUTBOX", std::env::temp_dir().join(format!("parley-bench-outbox-{port}")))
        .env("RUST_LOG", "error")
        // The login flood measures hashing, not the rate limiter.
        .env("PARLEY_RATE_LIMIT_AUTH_PER_IP", "100000000")
        .env("PARLEY_RATE_LIMIT_LOGIN_FAILURES", "100000000")
        // The search figures load one user's searches for seconds on end.
        .env("PARLEY_RATE_LIMIT_SEARCH_PER_USER", "100000000")
        .env("PARLEY_DEMO_CHUNK_DELAY_MS", "0")
        .envs(sealing.env())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the parley binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = started + Duration::from_secs(60);
    loop {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "parley did not become healthy within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Parley { process: Process(child), base, started_in: started.elapsed() }
}

/// A signed-up user: a bearer token for the API and a session cookie for the pages.
struct User {
    token: String,
    cookie: String,
}

async fn sign_up(base: &str, email: &str) -> User {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signup: Value = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().expect("a token").to_owned();
    // The browser's way in: the login form, posted as a browser posts it.
    let page = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let action = page
        .split("action=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .find(|action| action.contains("login"))
        .expect("the login form")
        .to_owned();
    let response = client
        .post(format!("{base}{action}"))
        .header("Accept", "text/html")
        .form(&[("email", email), ("password", PASSWORD), ("next", "/chat")])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        panic!("{base}: the login form set no cookie ({status}): {}", body.chars().take(2_000).collect::<String>());
    }
    User { token, cookie }
}

/// A new, empty conversation of the user's; its id.
async fn new_conversation(base: &str, user: &User, title: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/conversations"))
        .bearer_auth(&user.token)
        .json(&json!({ "title": title }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().expect("an id").to_owned()
}

/// A conversation of 25 exchanges (50 messages), written through the API as a person would.
async fn chat_of_50(base: &str, user: &User) -> String {
    let client = reqwest::Client::new();
    let id = new_conversation(base, user, "Benchmark chat").await;
    for n in 0..25 {
        let content = format!("Question {n}: what does **keyset pagination** buy over `OFFSET`, in a sentence or two?");
        let sent = client
            .post(format!("{base}/api/v1/conversations/{id}/messages"))
            .bearer_auth(&user.token)
            .json(&json!({ "content": content }))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 201, "sending message {n}");
    }
    id
}

/// A conversation of `messages` messages, stored directly (100,000 through the API would take minutes).
async fn history_of(database_url: &str, base: &str, user: &User, messages: usize, sealing: Sealing) -> String {
    let id = new_conversation(base, user, &format!("{messages} messages")).await;
    let db = seeding_db(database_url, sealing).await;
    let contents: Vec<String> =
        (0..messages).map(|n| format!("message number {n} with some ordinary text in it")).collect();
    for chunk in contents.chunks(10_000) {
        db.add_message_history(id.parse().unwrap(), chunk).await.expect("seeded");
    }
    id
}

/// A word that occurs in no seeded message but the few planted ones, and the number planted per user.
const RARE_WORD: &str = "periwinkle";
const RARE_MESSAGES: usize = 10;

/// Message texts like a person's: a dozen words from a vocabulary of a few thousand, so the full-text index
/// has posting lists of realistic lengths; every `messages / RARE_MESSAGES`-th mentions the rare word.
fn prose(messages: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] =
        ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fe", "go", "hu", "ji", "pe", "zo"];
    let word = |n: u64| -> String { (0..3).map(|i| SYLLABLES[((n >> (4 * i)) & 15) as usize]).collect() };
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let every = (messages / RARE_MESSAGES).max(1);
    (0..messages)
        .map(|n| {
            let mut words: Vec<String> = (0..12).map(|_| word(next() % 4096)).collect();
            if n % every == every / 2 {
                words[5] = RARE_WORD.to_owned();
            }
            words.join(" ")
        })
        .collect()
}

/// A user whose history is `messages` messages of prose, in conversations of 1,000, stored directly.
async fn searcher(database_url: &str, base: &str, email: &str, messages: usize, sealing: Sealing) -> User {
    let user = sign_up(base, email).await;
    let db = seeding_db(database_url, sealing).await;
    let texts = prose(messages);
    for (n, conversation) in texts.chunks(1_000).enumerate() {
        let id = new_conversation(base, &user, &format!("Conversation {n}")).await;
        db.add_message_history(id.parse().unwrap(), conversation).await.expect("seeded");
    }
    user
}

/// After a bulk load, brings PostgreSQL to the state autovacuum keeps a live database in within a minute
/// or so: statistics for the planner, and the GIN index's pending list merged. Measuring before that
/// would measure the minute after an import, not search.
async fn settle(database_url: &str) {
    if !database_url.starts_with("postgres") {
        return;
    }
    let run = Command::new("psql").args([database_url, "-qc", "VACUUM ANALYZE messages"]).kill_on_drop(true).status();
    let status = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("VACUUM within 10 minutes")
        .expect("psql runs");
    assert!(status.success(), "VACUUM ANALYZE messages failed");
}

/// Median and worst time to a hydrated page in Chromium (bench/hydration.mjs), when node and the end2end
/// packages are installed.
async fn hydration(url: &str) -> Option<(f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hydration.mjs");
    let run = Command::new("node").arg(script).arg(url).stderr(Stdio::inherit()).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(120), run).await.ok()?.ok()?;
    let figures: Value = serde_json::from_slice(&output.stdout).ok()?;
    Some((figures["median_ms"].as_f64()?, figures["max_ms"].as_f64()?))
}

struct Backend {
    name: &'static str,
    url: String,
}

async fn measure(args: &Args, backend: &Backend, bare: &Load, table: &mut Table) {
    let parley = start_parley(args, &backend.url, Sealing::On).await;
    let pid = parley.process.0.id().expect("running");
    let idle_rss = resident_kib(pid);
    let base = parley.base.clone();
    let user = sign_up(&base, &format!("bench-{}@example.com", backend.name)).await;
    let chat = chat_of_50(&base, &user).await;
    let small = history_of(&backend.url, &base, &user, 100, Sealing::On).await;
    let large = history_of(&backend.url, &base, &user, 100_000, Sealing::On).await;
    let bearer = format!("Authorization: Bearer {}", user.token);
    let cookie = format!("Cookie: {}", user.cookie);
    let oha = &args.oha;
    let name = backend.name;

    let history = oha.get(&format!("{base}/api/v1/conversations/{chat}/messages?limit=50"), &[&bearer], 64).await;
    table.load(&format!("{name}: JSON history page (50 messages, bearer)"), &history, bare);
    let page = oha.get(&format!("{base}/chat/{chat}"), &[&cookie], 64).await;
    table.load(&format!("{name}: SSR chat page (50 messages, cookie)"), &page, bare);

    // Reads at a modest concurrency, alone and then beside 50 logins at once (argon2id).
    let history_url = format!("{base}/api/v1/conversations/{chat}/messages?limit=50");
    let idle = oha.get(&history_url, &[&bearer], 8).await;
    let body = json!({ "email": format!("bench-{name}@example.com"), "password": PASSWORD }).to_string();
    let login_url = format!("{base}/api/v1/auth/login");
    let bearer_only = [bearer.as_str()];
    let (during, logins) = tokio::join!(oha.get(&history_url, &bearer_only, 8), oha.post_json(&login_url, &body, 50));
    table.row(
        &format!("{name}: read p99 beside 50 concurrent logins"),
        format!("{:.2} ms idle, {:.2} ms beside {:.0} logins/s", idle.p99_ms, during.p99_ms, logins.rps),
        format!("{:.2}x idle", during.p99_ms / idle.p99_ms),
    );

    let newest_small = oha.get(&format!("{base}/api/v1/conversations/{small}/messages?limit=50"), &[&bearer], 8).await;
    let newest_large = oha.get(&format!("{base}/api/v1/conversations/{large}/messages?limit=50"), &[&bearer], 8).await;
    table.row(
        &format!("{name}: newest 50 of 100,000 vs of 100 (median)"),
        format!("{:.2} ms vs {:.2} ms", newest_large.p50_ms, newest_small.p50_ms),
        format!("{:.2}x", newest_large.p50_ms / newest_small.p50_ms),
    );
    // Search: the same query for a user with 1,000 messages and one with 1,000,000 (10 matches each).
    let seeding = Instant::now();
    let small_searcher =
        searcher(&backend.url, &base, &format!("search-small-{name}@example.com"), 1_000, Sealing::On).await;
    let large_searcher =
        searcher(&backend.url, &base, &format!("search-large-{name}@example.com"), 1_000_000, Sealing::On).await;
    let seeded_in = seeding.elapsed();
    settle(&backend.url).await;
    for (what, q) in [("10 matches", RARE_WORD), ("prefix, 10 matches", "periwin"), ("no match", "nothingmatchesthis")]
    {
        let url = format!("{base}/api/v1/search?q={q}&limit=20");
        let small_auth = format!("Authorization: Bearer {}", small_searcher.token);
        let large_auth = format!("Authorization: Bearer {}", large_searcher.token);
        // Alternating rounds, as for encryption on and off: a few milliseconds each, so one round's
        // disturbance would otherwise decide the ratio.
        let (mut smalls, mut larges) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            larges.push(oha.get(&url, &[&large_auth], 8).await);
            smalls.push(oha.get(&url, &[&small_auth], 8).await);
        }
        let (small, large) = (median_round(smalls), median_round(larges));
        table.row(
            &format!(
                "{name}: search ({what}), 1,000,000-message user vs 1,000 (median of {ROUNDS} alternating rounds)"
            ),
            format!("{:.2} ms vs {:.2} ms ({:.0} vs {:.0} req/s)", large.p50_ms, small.p50_ms, large.rps, small.rps),
            format!("{:.2}x", large.p50_ms / small.p50_ms),
        );
    }
    table.row(
        &format!("{name}: seeding 1,001,000 messages (indexed)"),
        format!("{:.0} s", seeded_in.as_secs_f64()),
        String::new(),
    );
    if let Some((median, max)) = hydration(&format!("{base}/signup")).await {
        table.row(
            &format!("{name}: navigation to a hydrated /signup (Chromium)"),
            format!("median {median:.0} ms, max {max:.0} ms"),
            String::new(),
        );
    }
    table.row(
        &format!("{name}: start to healthy"),
        format!("{:.0} ms", parley.started_in.as_secs_f64() * 1000.0),
        String::new(),
    );
    table.row(&format!("{name}: idle resident memory"), format!("{:.1} MiB", idle_rss as f64 / 1024.0), String::new());

    // Encryption on against off: a second instance beside the first, on the same database in the same
    // state, writing plain text; each side gets a new user with the same 50-message chat, written one after
    // the other; then the two are loaded in turn, round after round, and each figure is the median round.
    // (Measuring one before the seeding and the other after it compared two different databases: the first
    // run of this bench reported 1.71x on SQLite and 0.50x on PostgreSQL, both the seeding's doing.)
    let plain = start_parley(args, &backend.url, Sealing::Off).await;
    let plain_base = plain.base.clone();
    let sealed_user = sign_up(&base, &format!("bench-sealed-{name}@example.com")).await;
    let sealed_chat = chat_of_50(&base, &sealed_user).await;
    let plain_user = sign_up(&plain_base, &format!("bench-plain-{name}@example.com")).await;
    let plain_chat = chat_of_50(&plain_base, &plain_user).await;
    let plain_searcher =
        searcher(&backend.url, &plain_base, &format!("search-plain-{name}@example.com"), 1_000, Sealing::Off).await;
    settle(&backend.url).await;
    let sealed = Side {
        history: format!("{base}/api/v1/conversations/{sealed_chat}/messages?limit=50"),
        page: format!("{base}/chat/{sealed_chat}"),
        search: format!("{base}/api/v1/search?q={RARE_WORD}&limit=20"),
        bearer: format!("Authorization: Bearer {}", sealed_user.token),
        cookie: format!("Cookie: {}", sealed_user.cookie),
        searcher: format!("Authorization: Bearer {}", small_searcher.token),
    };
    let open = Side {
        history: format!("{plain_base}/api/v1/conversations/{plain_chat}/messages?limit=50"),
        page: format!("{plain_base}/chat/{plain_chat}"),
        search: format!("{plain_base}/api/v1/search?q={RARE_WORD}&limit=20"),
        bearer: format!("Authorization: Bearer {}", plain_user.token),
        cookie: format!("Cookie: {}", plain_user.cookie),
        searcher: format!("Authorization: Bearer {}", plain_searcher.token),
    };
    let mut on: [Vec<Load>; 3] = Default::default();
    let mut off: [Vec<Load>; 3] = Default::default();
    for _ in 0..ROUNDS {
        for (side, loads) in [(&sealed, &mut on), (&open, &mut off)] {
            loads[0].push(oha.get(&side.history, &[&side.bearer], 64).await);
            loads[1].push(oha.get(&side.page, &[&side.cookie], 64).await);
            loads[2].push(oha.get(&side.search, &[&side.searcher], 8).await);
        }
    }
    let whats = [
        "JSON history page (50 messages, 64 connections)",
        "SSR chat page (50 messages, 64 connections)",
        "search, 1,000 messages, 10 matches (8 connections)",
    ];
    for ((what, on), off) in whats.iter().zip(on).zip(off) {
        let (on, off) = (median_round(on), median_round(off));
        table.row(
            &format!("{name}: encryption on vs off, median of {ROUNDS} alternating rounds: {what}"),
            format!("{:.0} vs {:.0} req/s, p99 {:.1} vs {:.1} ms", on.rps, off.rps, on.p99_ms, off.p99_ms),
            format!("{:.2}x", on.rps / off.rps),
        );
    }
    drop(plain);
    drop(parley);
    import_figures(args, backend, table).await;
}

/// A generated ChatGPT export of about `bytes`: conversations of 40 messages of a few hundred characters.
fn chatgpt_export(bytes: usize) -> (Vec<u8>, usize) {
    let text = "An ordinary paragraph of a conversation about gardens, trains and bread, long enough to be typical. ";
    let mut out = b"[".to_vec();
    let mut messages = 0;
    let mut n = 0u64;
    while out.len() < bytes {
        let mut mapping = serde_json::Map::new();
        let mut parent: Option<String> = None;
        for m in 0..40u64 {
            let id = format!("c{n}-m{m}");
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            mapping.insert(
                id.clone(),
                json!({"id": id, "parent": parent, "children": [], "message": {
                    "id": id, "author": {"role": role}, "create_time": 1_700_000_000 + n * 100 + m,
                    "content": {"content_type": "text", "parts": [text.repeat(4)]},
                    "metadata": {"model_slug": "gpt-4o"}}}),
            );
            parent = Some(id);
        }
        messages += 40;
        let conversation = json!({"id": format!("c{n}"), "conversation_id": format!("c{n}"),
            "title": format!("Conversation {n}"), "create_time": 1_700_000_000 + n * 100,
            "update_time": 1_700_000_000 + n * 100 + 50, "current_node": parent, "mapping": mapping});
        if n > 0 {
            out.push(b',');
        }
        out.extend(serde_json::to_vec(&conversation).expect("serialisable"));
        n += 1;
    }
    out.push(b']');
    (out, messages)
}

/// An instance of its own imports a 200 MB ChatGPT export: its peak resident memory and the rate.
async fn import_figures(args: &Args, backend: &Backend, table: &mut Table) {
    let name = backend.name;
    let importer = start_parley(args, &backend.url, Sealing::On).await;
    let pid = importer.process.0.id().expect("running");
    let user = sign_up(&importer.base, &format!("bench-import-{name}@example.com")).await;
    let (export, messages) = chatgpt_export(200 * 1024 * 1024);
    let before = resident_kib(pid);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let queued: Value = client
        .post(format!("{}/api/v1/imports", importer.base))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body(export)
        .send()
        .await
        .expect("the upload is answered")
        .json()
        .await
        .expect("a JSON answer");
    let id = queued["id"].as_str().unwrap_or_else(|| panic!("an import: {queued}")).to_owned();
    let deadline = Instant::now() + Duration::from_secs(1800);
    let done = loop {
        let status: Value = client
            .get(format!("{}/api/v1/imports/{id}", importer.base))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("JSON");
        if status["state"] == "done" || status["state"] == "failed" {
            break status;
        }
        assert!(Instant::now() < deadline, "the import did not end within 30 minutes: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let took = started.elapsed().as_secs_f64();
    assert_eq!(done["state"], "done", "the bench's import failed: {done}");
    assert_eq!(done["messages"].as_u64(), Some(messages as u64), "{done}");
    table.row(
        &format!("{name}: import of a 200 MB ChatGPT export ({messages} messages), upload to done"),
        format!("{took:.0} s, {:.0} messages/s", messages as f64 / took),
        String::new(),
    );
    table.row(
        &format!("{name}: resident memory of the importing instance"),
        format!(
            "{:.1} MiB before, {:.1} MiB at its peak",
            before as f64 / 1024.0,
            peak_resident_kib(pid) as f64 / 1024.0
        ),
        "goal: under 150 MiB".to_owned(),
    );
}

/// The URLs and credentials of one side of the encryption comparison.
struct Side {
    history: String,
    page: String,
    search: String,
    bearer: String,
    cookie: String,
    searcher: String,
}

/// Rounds per side where two sides are compared in turn.
const ROUNDS: usize = 3;

/// The round with the median throughput.
fn median_round(mut rounds: Vec<Load>) -> Load {
    rounds.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    rounds.swap_remove(rounds.len() / 2)
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut bare_process =
        Command::new(&args.bare).stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("bare starts");
    let mut line = String::new();
    {
        use tokio::io::AsyncBufReadExt;
        let stdout = bare_process.stdout.take().expect("piped");
        tokio::time::timeout(Duration::from_secs(10), tokio::io::BufReader::new(stdout).read_line(&mut line))
            .await
            .expect("bare prints its address")
            .expect("readable");
    }
    let _bare_process = Process(bare_process);
    let bare = args.oha.get(&format!("http://{}/messages", line.trim()), &[], 64).await;

    let mut table = Table::default();
    table.load("bare axum handler (fixed 50-message JSON page)", &bare, &bare);
    // The SQLite file goes to PARLEY_BENCH_SQLITE_DIR when set, and stays there for `perf` and EXPLAIN.
    let sqlite_dir = args.sqlite_dir.clone().unwrap_or_else(|| dir.path().to_owned());
    let mut backends =
        vec![Backend { name: "SQLite", url: format!("sqlite://{}", sqlite_dir.join("bench.db").display()) }];
    if let Some(url) = &args.postgres {
        backends.push(Backend { name: "PostgreSQL", url: url.clone() });
    }
    backends.retain(|backend| args.backends.as_ref().is_none_or(|only| only.contains(&backend.name.to_lowercase())));
    for backend in &backends {
        measure(&args, backend, &bare, &mut table).await;
    }
    let wasm = args.site.join("pkg/parley.wasm");
    let raw = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
    table.row(
        "release WASM",
        format!("{raw} bytes, {} bytes gzipped", gzipped_len(&wasm)),
        "budget 200,000 gzipped".to_owned(),
    );
    println!(
        "\n{} s per load, {} cores, loopback; latencies are oha's, end to end\n",
        args.oha.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print!("{}", table.render());
}

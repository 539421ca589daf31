//! Shared helpers for the benchmarks: an app on a loopback port and simple statistics.

use std::{path::Path, time::Duration};

use parley::{config::Config, startup::Application};

pub const SECRET: &str = "bench-secret-that-is-at-least-32-bytes";

/// The database a benchmark runs on: `PARLEY_BENCH_DATABASE_URL` when set (an empty PostgreSQL database,
/// e.g. on a cluster started with `scripts/pg-test-cluster.sh`), else a fresh SQLite file in `dir`.
pub fn bench_database_url(dir: &Path) -> String {
    std::env::var("PARLEY_BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()))
}

/// Starts the real application on `url`, returning its base URL.
pub async fn start_app(url: &str, extra: &[(&str, &str)]) -> String {
    let url = url.to_owned();
    let config = Config::from_lookup(|key| {
        if let Some((_, v)) = extra.iter().find(|(k, _)| *k == key) {
            return Some((*v).to_owned());
        }
        match key {
            "DATABASE_URL" => Some(url.clone()),
            "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".to_owned()),
            "SESSION_SECRET" | "JWT_SECRET" => Some(SECRET.to_owned()),
            "RUST_LOG" => Some("error".to_owned()),
            "PARLEY_RATE_LIMIT_AUTH_PER_IP" | "PARLEY_RATE_LIMIT_LOGIN_FAILURES" => Some("1000000".to_owned()),
            "PARLEY_DEMO_CHUNK_DELAY_MS" => Some("0".to_owned()),
            _ => None,
        }
    })
    .expect("valid bench configuration");
    let app = Application::build(config).await.expect("app starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

/// Median, 95th percentile and maximum, in milliseconds.
pub fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "n={} median={:.2} ms p95={:.2} ms max={:.2} ms",
        samples.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(*samples.last().unwrap())
    )
}

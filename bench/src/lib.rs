//! Helpers for the benchmark report: the load generator, process facts, and the table.

use std::{fmt::Write as _, path::Path, process::Stdio, time::Duration};

use serde_json::Value;

/// What one load run measured.
#[derive(Clone, Debug, Default)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses with a 2xx status, and all responses.
    pub ok: u64,
    pub total: u64,
}

/// `oha` (crates.io), run for a fixed time per load.
pub struct Oha {
    pub program: String,
    pub seconds: u64,
}

impl Oha {
    pub async fn get(&self, url: &str, headers: &[&str], connections: u32) -> Load {
        self.run(url, headers, connections, &[]).await
    }

    pub async fn post_json(&self, url: &str, body: &str, connections: u32) -> Load {
        self.run(url, &[], connections, &["-m", "POST", "-T", "application/json", "-d", body]).await
    }

    async fn run(&self, url: &str, headers: &[&str], connections: u32, extra: &[&str]) -> Load {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(["--no-tui", "--output-format", "json", "-z", &format!("{}s", self.seconds)])
            .args(["-c", &connections.to_string()])
            .args(extra)
            .kill_on_drop(true)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for header in headers {
            command.args(["-H", header]);
        }
        command.arg(url);
        let bound = Duration::from_secs(self.seconds + 60);
        let output = tokio::time::timeout(bound, command.output())
            .await
            .unwrap_or_else(|_| panic!("oha ran past {} s", bound.as_secs()))
            .expect("oha runs (bench/run.sh installs it)");
        let report: Value = serde_json::from_slice(&output.stdout).expect("oha prints JSON");
        let seconds_to_ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN) * 1000.0;
        let statuses = report["statusCodeDistribution"].as_object().cloned().unwrap_or_default();
        let count = |ok: bool| {
            statuses
                .iter()
                .filter(|(status, _)| !ok || status.starts_with('2'))
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        let load = Load {
            rps: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
            p50_ms: seconds_to_ms(&report["latencyPercentiles"]["p50"]),
            p99_ms: seconds_to_ms(&report["latencyPercentiles"]["p99"]),
            ok: count(true),
            total: count(false),
        };
        assert!(load.total > 0 && load.ok == load.total, "{url}: {} of {} responses were 2xx", load.ok, load.total);
        load
    }
}

/// A free loopback port (the OS picks; a race with another process is possible but harmless here).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The process's resident set, in KiB (Linux).
pub fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The most resident memory the process has had (`VmHWM`), in KiB.
pub fn peak_resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The file's size after `gzip` at its default level (as a server compresses on the fly).
pub fn gzipped_len(path: &Path) -> usize {
    std::process::Command::new("gzip").arg("-c").arg(path).output().map(|out| out.stdout.len()).unwrap_or(0)
}

/// The report: what was measured, the figures, and the ratio that matters.
#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 3]>,
}

impl Table {
    /// A load's throughput and tail latency, with its throughput as a share of the bare handler's.
    pub fn load(&mut self, what: &str, load: &Load, bare: &Load) {
        self.row(
            what,
            format!("{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms", load.rps, load.p50_ms, load.p99_ms),
            format!("{:.1}% of bare", 100.0 * load.rps / bare.rps),
        );
    }

    pub fn row(&mut self, what: &str, figures: String, ratio: String) {
        self.rows.push([what.to_owned(), figures, ratio]);
    }

    pub fn render(&self) -> String {
        let mut out = String::from("| what | measured | ratio |\n|---|---|---|\n");
        for [what, figures, ratio] in &self.rows {
            let _ = writeln!(out, "| {what} | {figures} | {ratio} |");
        }
        out
    }
}

//! All runtime configuration in one struct, read once at start from the environment.
//!
//! Development starts with no variables at all; production refuses to start unless every secret and the
//! database are given, and names every problem in one message so an operator fixes them in one go.

mod accounts;
mod assistant;
mod at_rest;
mod database;
mod external;
mod insights;
mod mail;
mod reader;

pub use accounts::{MIN_SECRET_BYTES, RateLimits, default_hashing_concurrency};
pub use assistant::AssistantConfig;
pub use database::{DatabaseSettings, DbTarget, Pooler};
pub use external::{ExternalKeys, ExternalTokensConfig};
pub use insights::{InsightsConfig, WebhookConfig};
pub use mail::{MailConfig, MailTransport};

use std::{fmt, net::SocketAddr, path::Path, time::Duration};

use leptos::config::{Env, LeptosOptions};
use secrecy::{ExposeSecret, SecretString};

use crate::support::at_rest::AtRest;

use reader::Reader;

const DEV_SECRETS_FILE: &str = "data/dev-secrets.env";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured lines.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where the server listens when `LEPTOS_SITE_ADDR` is not set.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: SecretString,
    pub listen_addr: SocketAddr,
    pub session_secret: SecretString,
    pub jwt_secret: SecretString,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// How long `/health` waits for the database before answering 503.
    pub health_timeout: Duration,
    /// Where the built site (WASM, JS, CSS, public assets) is served from.
    pub site_root: String,
    /// The port `cargo leptos watch` listens on for live reload.
    pub reload_port: u32,
    pub rate_limits: RateLimits,
    /// Browser sessions end after this much inactivity.
    pub session_ttl_days: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_proxy: bool,
    /// How many argon2 hashes may run at once.
    pub hashing_concurrency: usize,
    /// Request bodies larger than this get `413 payload_too_large`.
    pub max_body_bytes: usize,
    /// Uploads to `POST /api/v1/imports` larger than this get `413 payload_too_large`.
    pub max_import_bytes: u64,
    /// The database pool's size and time limits.
    pub database: DatabaseSettings,
    pub assistant: AssistantConfig,
    /// How email leaves (SMTP, or the development outbox folder) and whom it is from.
    pub mail: MailConfig,
    /// The address people reach Parley at, for the links in emails (no trailing slash).
    pub public_url: String,
    /// Origins whose pages may call the JSON API with bearer tokens (CORS); empty allows none.
    pub cors_origins: Vec<String>,
    /// Access tokens from an existing identity provider, when configured.
    pub external_tokens: Option<ExternalTokensConfig>,
    /// The keys that seal stored text and key the search index.
    pub at_rest: AtRest,
    /// Analyses, their webhooks, and the job queue's timings.
    pub insights: InsightsConfig,
    /// Where the signup page's consent box links to; with it, signing up requires consent.
    pub terms_url: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets are `SecretString`, which prints as redacted; the database URL may hold a password too.
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("database_url", &"<redacted>")
            .field("listen_addr", &self.listen_addr)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("site_root", &self.site_root)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the environment, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Reads the process environment (and, in development, a `.env` file if there is one).
    pub fn from_env() -> Result<Self, ConfigError> {
        let is_production = std::env::var("PARLEY_ENV").is_ok_and(|v| v.trim() == "production");
        if !is_production {
            // A missing .env is normal; a malformed one should not stop development either.
            let _ = dotenvy::dotenv();
        }
        let mut config = Self::from_lookup(|key| std::env::var(key).ok())?;
        if config.environment == Environment::Development {
            config.fill_development_secrets();
        }
        Ok(config)
    }

    /// Builds the configuration from any key → value lookup, so tests never touch the process environment.
    /// Development secrets left empty here are filled in by [`Config::from_env`]. Each section reads its
    /// own variables; every problem of every section is reported together.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Reader::new(&lookup);
        let environment = match env.get("PARLEY_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                env.problem(format!("PARLEY_ENV must be `development` or `production`, not `{other}`"));
                Environment::Development
            }
        };
        env.production = environment == Environment::Production;

        let (database_url, database) = database::read(&mut env);
        let listen_addr = match env.get("LEPTOS_SITE_ADDR").as_deref().unwrap_or(DEFAULT_LISTEN_ADDR).parse() {
            Ok(addr) => addr,
            Err(_) => {
                env.problem("LEPTOS_SITE_ADDR must be an address like 127.0.0.1:3000");
                SocketAddr::from(([127, 0, 0, 1], 3000))
            }
        };
        let accounts = accounts::read(&mut env);
        let log_format = match env.get("PARLEY_LOG_FORMAT").as_deref() {
            None if env.production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                env.problem(format!("PARLEY_LOG_FORMAT must be `pretty` or `json`, not `{other}`"));
                LogFormat::Pretty
            }
        };
        let reload_port = match env.get("LEPTOS_RELOAD_PORT").as_deref().unwrap_or("3001").parse() {
            Ok(port) => port,
            Err(_) => {
                env.problem("LEPTOS_RELOAD_PORT must be a port number");
                3001
            }
        };
        let max_body_bytes = env.number("PARLEY_MAX_BODY_BYTES", 64 * 1024, 1024) as usize;
        let max_import_bytes = u64::from(env.number("PARLEY_MAX_IMPORT_BYTES", 1024 * 1024 * 1024, 1024));
        let assistant = assistant::read(&mut env);
        let (mail, public_url) = mail::read(&mut env, listen_addr);
        let cors_origins = cors_origins(&mut env);
        let external_tokens = external::read(&mut env, [&accounts.jwt_secret, &accounts.session_secret]);
        let at_rest = at_rest::read(&mut env);
        let insights = insights::read(&mut env);
        let terms_url = env.get("PARLEY_TERMS_URL");
        if terms_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')))
        {
            env.problem("PARLEY_TERMS_URL must be an http(s):// URL or a path on this site");
        }

        if !env.problems.is_empty() {
            return Err(ConfigError { problems: env.problems });
        }
        Ok(Config {
            environment,
            database_url: database_url.into(),
            listen_addr,
            session_secret: accounts.session_secret.into(),
            jwt_secret: accounts.jwt_secret.into(),
            log_format,
            log_filter: env.get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            health_timeout: Duration::from_millis(800),
            site_root: env.get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()),
            reload_port,
            rate_limits: accounts.rate_limits,
            session_ttl_days: accounts.session_ttl_days,
            trust_proxy: accounts.trust_proxy,
            hashing_concurrency: accounts.hashing_concurrency,
            max_body_bytes,
            max_import_bytes,
            database,
            assistant,
            mail,
            public_url,
            cors_origins,
            external_tokens,
            at_rest,
            insights,
            terms_url,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// The options Leptos needs to render pages and link the hydration scripts.
    pub fn leptos_options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("parley")
            .site_root(self.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(self.listen_addr)
            .reload_port(self.reload_port)
            .env(match self.environment {
                Environment::Development => Env::DEV,
                Environment::Production => Env::PROD,
            })
            .build()
    }

    /// In development, unset secrets come from `data/dev-secrets.env`, generated on first use, so that a
    /// restart (or `cargo leptos watch` rebuilding) keeps everyone signed in.
    fn fill_development_secrets(&mut self) {
        if !self.session_secret.expose_secret().is_empty() && !self.jwt_secret.expose_secret().is_empty() {
            return;
        }
        let stored = accounts::load_or_create_dev_secrets(Path::new(DEV_SECRETS_FILE));
        if self.session_secret.expose_secret().is_empty() {
            self.session_secret = stored.0.into();
        }
        if self.jwt_secret.expose_secret().is_empty() {
            self.jwt_secret = stored.1.into();
        }
    }
}

/// Origins whose pages may call the JSON API with bearer tokens (`PARLEY_CORS_ORIGINS`).
fn cors_origins(env: &mut Reader) -> Vec<String> {
    let origins = env
        .get("PARLEY_CORS_ORIGINS")
        .map(|list| {
            list.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for origin in &origins {
        let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
            && url::Url::parse(origin).is_ok_and(|u| u.path() == "/" && u.query().is_none());
        if !valid {
            env.problem(format!("PARLEY_CORS_ORIGINS: `{origin}` is not an origin like https://app.example.com"));
        }
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| vars.get(key).cloned())
    }

    const GOOD_SECRET: &str = "0123456789abcdef0123456789abcdef";
    const FERNET_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    #[test]
    fn encryption_keys_are_fernet_keys_named_by_position_never_echoed() {
        let error = config_from(&[("PARLEY_ENCRYPTION_KEYS", &format!("{FERNET_KEY}, not-a-key-sekrit"))])
            .expect_err("a malformed key");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(error.problems[0].contains("key 2 is not a Fernet key"), "{error}");
        assert!(!error.to_string().contains("sekrit"), "the value is never printed");
        let short = config_from(&[("PARLEY_SEARCH_KEY", "short")]).expect_err("a short search key");
        assert!(short.to_string().contains("PARLEY_SEARCH_KEY must be at least 32 bytes"), "{short}");
    }

    #[test]
    fn production_may_store_plain_text_only_when_told_explicitly() {
        let base = [
            ("PARLEY_ENV", "production"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("SESSION_SECRET", GOOD_SECRET),
            ("JWT_SECRET", GOOD_SECRET),
            ("PARLEY_MAIL_OUTBOX", "/tmp/outbox"),
            ("PARLEY_MAIL_FROM", "Parley <noreply@example.com>"),
        ];
        let error = config_from(&base).expect_err("no keys in production");
        assert_eq!(error.problems.len(), 2, "{error}");
        let off = config_from(&[&base[..], &[("PARLEY_ENCRYPTION", "off")]].concat()).expect("explicitly off");
        assert!(!off.at_rest.is_sealing());
        let development = config_from(&[]).expect("development needs nothing");
        assert!(!development.at_rest.is_sealing(), "development without keys stays plain text");
    }

    #[test]
    fn a_jwks_must_come_over_tls_in_production_unless_on_loopback() {
        assert_eq!(external::jwks_url_problem("http://idp.example.com/jwks", false), None);
        assert!(external::jwks_url_problem("http://idp.example.com/jwks", true).is_some());
        assert_eq!(external::jwks_url_problem("https://idp.example.com/jwks", true), None);
        for loopback in ["http://127.0.0.1:9/jwks", "http://localhost:9/jwks", "http://[::1]:9/jwks"] {
            assert_eq!(external::jwks_url_problem(loopback, true), None, "{loopback}");
        }
        assert!(external::jwks_url_problem("ftp://idp.example.com/jwks", false).is_some());
        assert!(external::jwks_url_problem("not a url", false).is_some());
    }

    #[test]
    fn development_starts_with_nothing_set() {
        let config = config_from(&[]).expect("development needs no variables");
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.database_url.expose_secret(), database::DEV_URL);
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.log_format, LogFormat::Pretty);
    }

    #[test]
    fn production_with_nothing_set_names_every_missing_variable() {
        let error = config_from(&[("PARLEY_ENV", "production")]).expect_err("must refuse");
        let message = error.to_string();
        let variables = [
            "DATABASE_URL",
            "SESSION_SECRET",
            "JWT_SECRET",
            "PARLEY_SMTP_URL",
            "PARLEY_MAIL_FROM",
            "PARLEY_ENCRYPTION_KEYS",
            "PARLEY_SEARCH_KEY",
        ];
        for variable in variables {
            assert!(message.contains(variable), "{variable} not named in: {message}");
        }
        assert_eq!(error.problems.len(), variables.len(), "{message}");
    }

    #[test]
    fn production_refuses_short_secrets() {
        let error = config_from(&[
            ("PARLEY_ENV", "production"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("SESSION_SECRET", "too-short"),
            ("JWT_SECRET", GOOD_SECRET),
            ("PARLEY_SMTP_URL", "smtp://mail.internal:587"),
            ("PARLEY_MAIL_FROM", "Parley <noreply@example.com>"),
            ("PARLEY_ENCRYPTION", "off"),
        ])
        .expect_err("a short secret must be refused");
        assert_eq!(error.problems, vec!["SESSION_SECRET must be at least 32 bytes long"]);
    }

    #[test]
    fn production_with_everything_set_uses_json_logs() {
        let config = config_from(&[
            ("PARLEY_ENV", "production"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("SESSION_SECRET", GOOD_SECRET),
            ("JWT_SECRET", GOOD_SECRET),
            ("LEPTOS_SITE_ADDR", "0.0.0.0:8080"),
            ("PARLEY_SMTP_URL", "smtps://user:pass@mail.example.com:465"),
            ("PARLEY_MAIL_FROM", "Parley <noreply@example.com>"),
            ("PARLEY_ENCRYPTION_KEYS", FERNET_KEY),
            ("PARLEY_SEARCH_KEY", GOOD_SECRET),
        ])
        .expect("complete production configuration");
        assert!(config.at_rest.is_sealing());
        assert!(matches!(config.mail.transport, MailTransport::Smtp(_)));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn malformed_values_are_named() {
        let error = config_from(&[
            ("PARLEY_ENV", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("LEPTOS_SITE_ADDR", "not an address"),
        ])
        .expect_err("malformed values");
        let message = error.to_string();
        for fragment in ["PARLEY_ENV", "DATABASE_URL", "LEPTOS_SITE_ADDR"] {
            assert!(message.contains(fragment), "{fragment} not named in: {message}");
        }
    }

    #[test]
    fn database_limits_have_defaults_and_can_be_set() {
        let config = config_from(&[]).expect("defaults");
        assert_eq!(config.database, DatabaseSettings::default());
        let config = config_from(&[
            ("PARLEY_DB_MAX_CONNECTIONS", "25"),
            ("PARLEY_DB_ACQUIRE_TIMEOUT_MS", "1500"),
            ("PARLEY_DB_STATEMENT_TIMEOUT_MS", "20000"),
            ("PARLEY_DB_CONNECT_RETRY_SECS", "0"),
            ("PARLEY_DB_POOLER", "transaction"),
        ])
        .expect("valid limits");
        assert_eq!(config.database.pooler, Pooler::Transaction);
        assert_eq!(config.database.max_connections, 25);
        assert_eq!(config.database.acquire_timeout, Duration::from_millis(1500));
        assert_eq!(config.database.statement_timeout, Duration::from_secs(20));
        assert_eq!(config.database.connect_retry, Duration::ZERO);
        let error = config_from(&[
            ("PARLEY_DB_MAX_CONNECTIONS", "0"),
            ("PARLEY_DB_ACQUIRE_TIMEOUT_MS", "soon"),
            ("PARLEY_DB_POOLER", "pgbouncer"),
        ])
        .expect_err("invalid limits");
        assert_eq!(error.problems.len(), 3, "{error}");
        assert!(error.to_string().contains("PARLEY_DB_POOLER"), "{error}");
    }

    #[test]
    fn a_postgres_url_is_accepted_and_a_malformed_one_is_named_without_its_password() {
        let config = config_from(&[("DATABASE_URL", "postgres://parley:hunter2@db.internal:5432/parley")])
            .expect("a PostgreSQL URL is a valid DATABASE_URL");
        assert!(config.database_url.expose_secret().starts_with("postgres://"));
        let error = config_from(&[("DATABASE_URL", "postgres://parley:hunter2@db.internal:port/parley")])
            .expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("DATABASE_URL") && !message.contains("hunter2"), "{message}");
    }

    #[test]
    fn development_mail_goes_to_the_outbox_and_cors_allows_nothing_by_default() {
        let config = config_from(&[]).expect("defaults");
        assert!(matches!(&config.mail.transport, MailTransport::Outbox(dir) if dir.ends_with("outbox")));
        assert!(config.cors_origins.is_empty());
        assert!(config.external_tokens.is_none());
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        let config = config_from(&[("PARLEY_CORS_ORIGINS", "https://a.example.com, http://localhost:5173/")]).unwrap();
        assert_eq!(config.cors_origins, ["https://a.example.com", "http://localhost:5173"]);
        let error = config_from(&[("PARLEY_CORS_ORIGINS", "*,https://x.example.com/path")]).expect_err("not origins");
        assert_eq!(error.problems.len(), 2, "{error}");
    }

    #[test]
    fn an_identity_provider_needs_its_issuer_and_audience() {
        let error = config_from(&[("PARLEY_EXTERNAL_JWKS_URL", "http://127.0.0.1:9/jwks")]).expect_err("incomplete");
        let message = error.to_string();
        assert!(
            message.contains("PARLEY_EXTERNAL_JWT_ISSUER") && message.contains("PARLEY_EXTERNAL_JWT_AUDIENCE"),
            "{message}"
        );
        let config = config_from(&[
            ("PARLEY_EXTERNAL_JWT_SECRET", GOOD_SECRET),
            ("PARLEY_EXTERNAL_JWT_ISSUER", "https://project.supabase.co/auth/v1"),
            ("PARLEY_EXTERNAL_JWT_AUDIENCE", "authenticated"),
        ])
        .unwrap();
        assert!(matches!(config.external_tokens, Some(ExternalTokensConfig { keys: ExternalKeys::Secret(_), .. })));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = config_from(&[("SESSION_SECRET", GOOD_SECRET), ("JWT_SECRET", GOOD_SECRET)]).expect("valid");
        assert!(!format!("{config:?}").contains(GOOD_SECRET));
    }
}

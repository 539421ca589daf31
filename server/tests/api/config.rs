//! The real binary's behaviour at start, before it binds anything.

use std::process::Command;

#[test]
fn production_with_nothing_set_exits_non_zero_naming_every_missing_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_parley"))
        .env_clear()
        .env("PARLEY_ENV", "production")
        .output()
        .expect("the binary runs");

    assert!(!output.status.success(), "must exit non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for variable in ["DATABASE_URL", "SESSION_SECRET", "JWT_SECRET", "PARLEY_ENCRYPTION_KEYS", "PARLEY_SEARCH_KEY"] {
        assert!(stderr.contains(variable), "{variable} not named in: {stderr}");
    }
    assert_eq!(stderr.lines().count(), 1, "one message, not a cascade: {stderr}");
}

/// Issue 21: an identity provider's secret equal to Parley's own would let whoever holds it mint Parley
/// tokens; a JWKS over plain HTTP to another machine could be swapped on the way. Both are refused at start.
#[test]
fn the_binary_refuses_a_provider_secret_equal_to_its_own_and_a_plain_http_jwks_in_production() {
    let secret = "0123456789abcdef0123456789abcdef";
    let run = |extra: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
        command
            .env_clear()
            .env("PARLEY_ENV", "production")
            .env("DATABASE_URL", "sqlite://unused.db")
            .env("SESSION_SECRET", "fedcba9876543210fedcba9876543210")
            .env("JWT_SECRET", secret)
            .env("PARLEY_MAIL_FROM", "Parley <parley@example.com>")
            .env("PARLEY_SMTP_URL", "smtp://127.0.0.1:9")
            .env("PARLEY_ENCRYPTION", "off")
            .env("PARLEY_EXTERNAL_JWT_ISSUER", "https://idp.example.com")
            .env("PARLEY_EXTERNAL_JWT_AUDIENCE", "authenticated");
        for (key, value) in extra {
            command.env(key, value);
        }
        let output = command.output().expect("the binary runs");
        assert!(!output.status.success(), "must exit non-zero");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let same = run(&[("PARLEY_EXTERNAL_JWT_SECRET", secret)]);
    assert!(same.contains("PARLEY_EXTERNAL_JWT_SECRET must differ from JWT_SECRET"), "{same}");
    let plain = run(&[("PARLEY_EXTERNAL_JWKS_URL", "http://idp.example.com/jwks.json")]);
    assert!(plain.contains("PARLEY_EXTERNAL_JWKS_URL must be an https:// URL"), "{plain}");
}

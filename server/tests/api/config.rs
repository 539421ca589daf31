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
    for variable in ["DATABASE_URL", "SESSION_SECRET", "JWT_SECRET"] {
        assert!(stderr.contains(variable), "{variable} not named in: {stderr}");
    }
    assert_eq!(stderr.lines().count(), 1, "one message, not a cascade: {stderr}");
}

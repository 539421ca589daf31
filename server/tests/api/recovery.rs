//! Password reset, email verification and email change: links sent to the outbox, used once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app, spawn_app_with, sql, unique_email};

const NEW_PASSWORD: &str = "Brand-new-pass-42";

async fn ask_reset(app: &crate::helpers::TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password-reset", &json!({ "email": email })).await
}

async fn confirm(app: &crate::helpers::TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password-reset/confirm", &json!({ "token": token, "password": password })).await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let first = app.signup(&email, PASSWORD).await;
    let second = app.login(&email, PASSWORD).await.json::<Value>().await.unwrap();

    let response = ask_reset(&app, &email).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    // Mail goes out in the background, so the signup's verification mail and this one may come in either order.
    let token = app.link_token(&email, 1, "/reset-password").await;
    assert_eq!(token.len(), 43, "256 bits, base64url");

    let weak: Value = confirm(&app, &token, "short").await.json().await.unwrap();
    assert_eq!(weak["error"]["code"], "validation_failed");
    assert!(weak["error"]["fields"]["password"].is_array() && weak["error"]["fields"].get("token").is_none(), "{weak}");
    // A weak password with a bad link names both.
    let both: Value = confirm(&app, "no-such-token", "short").await.json().await.unwrap();
    assert!(both["error"]["fields"]["password"].is_array() && both["error"]["fields"]["token"].is_array(), "{both}");
    // A refused password did not use the token up.
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await.status(), 204);

    assert_eq!(app.login(&email, PASSWORD).await.status(), 401, "the old password is gone");
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status(), 200);
    for login in [&first, &second] {
        let me = app.get_authed("/api/v1/me", login["access_token"].as_str().unwrap()).await;
        assert_eq!(me.status(), 401, "every earlier API login ended");
        assert_eq!(app.refresh(login["refresh_token"].as_str().unwrap()).await.status(), 401);
    }

    let again = confirm(&app, &token, "Another-pass-77").await;
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["fields"]["token"].is_array(), "{body}");
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status(), 200, "a used token changes nothing");
}

#[tokio::test]
async fn reset_answers_alike_for_unknown_addresses_and_sends_them_nothing() {
    let app = spawn_app().await;
    let known = unique_email();
    app.signup(&known, PASSWORD).await;
    let unknown = unique_email();

    let for_known = ask_reset(&app, &known).await;
    let for_unknown = ask_reset(&app, &unknown).await;
    assert_eq!(for_known.status(), for_unknown.status());
    let headers = |r: &reqwest::Response| {
        let mut names: Vec<_> =
            r.headers().keys().map(|k| k.as_str().to_owned()).filter(|k| k != "x-request-id" && k != "date").collect();
        names.sort();
        names
    };
    assert_eq!(headers(&for_known), headers(&for_unknown));
    assert_eq!(for_known.text().await.unwrap(), for_unknown.text().await.unwrap());

    app.wait_for_mail(&known, 2).await;
    assert!(app.mail_to(&unknown).is_empty(), "no mail for an address without an account");
    // Malformed addresses are a plain validation error, not a hint about accounts.
    assert_eq!(error_code(ask_reset(&app, "not-an-email").await, 400).await, "validation_failed");
}

#[tokio::test]
async fn a_reset_token_fails_when_expired_or_for_another_account() {
    let app = spawn_app().await;
    let (ada, bob) = (unique_email(), unique_email());
    app.signup(&ada, PASSWORD).await;
    app.signup(&bob, PASSWORD).await;
    assert_eq!(ask_reset(&app, &ada).await.status(), 202);
    let ada_token = app.link_token(&ada, 1, "/reset-password").await;

    // Ada's token sets Ada's password, never Bob's.
    assert_eq!(confirm(&app, &ada_token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.login(&bob, NEW_PASSWORD).await.status(), 401);
    assert_eq!(app.login(&bob, PASSWORD).await.status(), 200);

    // An expired token is refused.
    assert_eq!(ask_reset(&app, &bob).await.status(), 202);
    let bob_token = app.link_token(&bob, 1, "/reset-password").await;
    sql(&app.db_url, "UPDATE account_tokens SET expires_at = 1 WHERE used_at IS NULL").await;
    assert_eq!(error_code(confirm(&app, &bob_token, NEW_PASSWORD).await, 400).await, "validation_failed");
    assert_eq!(app.login(&bob, PASSWORD).await.status(), 200);

    // Garbage is refused the same way.
    assert_eq!(error_code(confirm(&app, "nonsense", NEW_PASSWORD).await, 400).await, "validation_failed");
}

#[tokio::test]
async fn only_the_latest_reset_link_works() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    ask_reset(&app, &email).await;
    let older = app.link_token(&email, 1, "/reset-password").await;
    ask_reset(&app, &email).await;
    let newer = app.link_token(&email, 2, "/reset-password").await;
    assert_ne!(older, newer);
    assert_eq!(error_code(confirm(&app, &older, NEW_PASSWORD).await, 400).await, "validation_failed");
    assert_eq!(confirm(&app, &newer, NEW_PASSWORD).await.status(), 204);
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_address() {
    let app = spawn_app().await;
    let email = unique_email();
    for _ in 0..3 {
        assert_eq!(ask_reset(&app, &email).await.status(), 202);
    }
    let refused = ask_reset(&app, &email).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused, 429).await, "rate_limited");
    // Another address is not affected.
    assert_eq!(ask_reset(&app, &unique_email()).await.status(), 202);
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_ip() {
    let app = spawn_app_with(&[("PARLEY_RATE_LIMIT_AUTH_PER_IP", "3")]).await;
    for _ in 0..3 {
        assert_eq!(ask_reset(&app, &unique_email()).await.status(), 202);
    }
    assert_eq!(error_code(ask_reset(&app, &unique_email()).await, 429).await, "rate_limited");
}

#[tokio::test]
async fn signup_sends_a_verification_link_that_verifies_the_email_once() {
    let app = spawn_app().await;
    let email = unique_email();
    let login = app.signup(&email, PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();
    assert_eq!(login["user"]["email_verified"], false);

    let link = app.link_token(&email, 1, "/verify-email").await;
    let verify = app.post_json("/api/v1/auth/verify-email", &json!({ "token": link })).await;
    assert_eq!(verify.status(), 204);
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);

    let again = app.post_json("/api/v1/auth/verify-email", &json!({ "token": link })).await;
    assert_eq!(error_code(again, 400).await, "validation_failed");

    // Asking again sends a fresh link.
    let resend = app.send_authed(Method::POST, "/api/v1/me/verification", token, None).await;
    assert_eq!(resend.status(), 202);
    app.link_token(&email, 2, "/verify-email").await;
}

#[tokio::test]
async fn an_email_change_applies_only_after_the_link_sent_to_the_new_address() {
    let app = spawn_app().await;
    let (old, new) = (unique_email(), unique_email());
    let login = app.signup(&old, PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();

    let wrong = app
        .send_authed(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({ "email": new, "current_password": "Wrong-pass-1" })),
        )
        .await;
    assert_eq!(error_code(wrong, 401).await, "invalid_credentials");
    let invalid = app
        .send_authed(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({ "email": "nope", "current_password": PASSWORD })),
        )
        .await;
    assert_eq!(error_code(invalid, 400).await, "validation_failed");

    let asked = app
        .send_authed(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({ "email": new, "current_password": PASSWORD })),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let link = app.link_token(&new, 1, "/verify-email").await;
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["email"], old, "nothing changes before the link is followed");
    assert_eq!(app.login(&old, PASSWORD).await.status(), 200);

    assert_eq!(app.post_json("/api/v1/auth/verify-email", &json!({ "token": link })).await.status(), 204);
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["email"], new);
    assert_eq!(me["email_verified"], true);
    assert_eq!(app.login(&new, PASSWORD).await.status(), 200);
    assert_eq!(app.login(&old, PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn an_email_change_to_a_taken_address_changes_nothing_and_tells_its_owner() {
    let app = spawn_app().await;
    let (ada, bob) = (unique_email(), unique_email());
    let login = app.signup(&ada, PASSWORD).await;
    app.signup(&bob, PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();

    let asked = app
        .send_authed(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({ "email": bob, "current_password": PASSWORD })),
        )
        .await;
    assert_eq!(asked.status(), 202, "the answer does not reveal that the address has an account");
    let notice = app.wait_for_mail_with(&bob, "Subject: Your address and Parley", 1).await;
    assert!(!notice.contains("/verify-email?token="), "no link that could move the address: {notice}");
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["email"], ada);
}

/// A mail server on loopback that speaks just enough SMTP to take messages, and hands each one over.
async fn smtp_sink(answer: bool) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if !answer {
                    // Accept and say nothing: a mail server that hangs. The test learns a sender is stuck.
                    let _ = tx.send("connected".to_owned());
                    let _keep = socket;
                    std::future::pending::<()>().await;
                    return;
                }
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, rx)
}

/// The next message the sink took, waiting at most 10 s.
async fn next_mail(received: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .expect("mail within 10 s")
        .expect("the sink runs")
}

#[tokio::test]
async fn reset_mail_goes_out_over_smtp() {
    let (url, mut received) = smtp_sink(true).await;
    let app = spawn_app_with(&[("PARLEY_SMTP_URL", &url), ("PARLEY_MAIL_FROM", "Parley <noreply@parley.test>")]).await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let verification = next_mail(&mut received).await;
    assert!(
        verification.contains(&format!("To: {email}")) && verification.contains("/verify-email?token="),
        "{verification}"
    );

    assert_eq!(ask_reset(&app, &email).await.status(), 202);
    let reset = next_mail(&mut received).await;
    assert!(reset.contains("From: Parley <noreply@parley.test>"), "{reset}");
    let token = crate::helpers::link_token_in(&reset, "/reset-password").expect("the link");
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_mail_server_that_hangs_holds_up_no_request() {
    let (url, mut connected) = smtp_sink(false).await;
    let app = spawn_app_with(&[("PARLEY_SMTP_URL", &url), ("PARLEY_MAIL_FROM", "noreply@parley.test")]).await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    // The signup's verification mail is now stuck on a connection the server never answers.
    assert_eq!(next_mail(&mut connected).await, "connected");

    // Meanwhile requests that send mail answer at once. The guard is below the 15 s a mail attempt may
    // take, so a request that waited for the mail server would fail it.
    let guard = std::time::Duration::from_secs(10);
    let reset = tokio::time::timeout(guard, ask_reset(&app, &email)).await.expect("the reset request answers");
    assert_eq!(reset.status(), 202);
    let token =
        app.login(&email, PASSWORD).await.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let resend =
        tokio::time::timeout(guard, app.send_authed(Method::POST, "/api/v1/me/verification", &token, None)).await;
    assert_eq!(resend.expect("the resend answers").status(), 202);
}

// Issue 21, finding 1: pending links that outlived the owner taking the account back.

async fn ask_email_change(app: &crate::helpers::TestApp, token: &str, new: &str) {
    let asked = app
        .send_authed(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({ "email": new, "current_password": PASSWORD })),
        )
        .await;
    assert_eq!(asked.status(), 202);
}

/// A new account's access token and a reset link asked for it.
async fn signed_up_with_a_reset_link(app: &crate::helpers::TestApp, email: &str) -> (String, String) {
    let login = app.signup(email, PASSWORD).await;
    assert_eq!(ask_reset(app, email).await.status(), 202);
    let reset = app.link_token(email, 1, "/reset-password").await;
    (login["access_token"].as_str().unwrap().to_owned(), reset)
}

async fn verify(app: &crate::helpers::TestApp, link: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/verify-email", &json!({ "token": link })).await
}

#[tokio::test]
async fn a_password_reset_ends_a_pending_email_change() {
    let app = spawn_app().await;
    let (owner, intruder) = (unique_email(), unique_email());
    let login = app.signup(&owner, PASSWORD).await;
    // Someone who learned the password starts moving the account to their own address.
    ask_email_change(&app, login["access_token"].as_str().unwrap(), &intruder).await;
    let change_link = app.link_token(&intruder, 1, "/verify-email").await;

    // The owner notices and resets the password.
    assert_eq!(ask_reset(&app, &owner).await.status(), 202);
    let reset = app.link_token(&owner, 1, "/reset-password").await;
    assert_eq!(confirm(&app, &reset, NEW_PASSWORD).await.status(), 204);

    // The intruder's link is dead: the address stays the owner's.
    assert_eq!(error_code(verify(&app, &change_link).await, 400).await, "validation_failed");
    let me: Value = app.login(&owner, NEW_PASSWORD).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], owner.as_str());
    assert_eq!(ask_reset(&app, &intruder).await.status(), 202);
    assert!(
        app.mail_to(&intruder).iter().all(|m| !m.contains("/reset-password?token=")),
        "no reset link ever goes to the intruder's address"
    );
}

#[tokio::test]
async fn changing_the_password_ends_every_pending_reset_and_email_change_link() {
    let app = spawn_app().await;
    let (owner, other) = (unique_email(), unique_email());
    let (token, reset) = signed_up_with_a_reset_link(&app, &owner).await;
    let token = token.as_str();
    ask_email_change(&app, token, &other).await;
    let change_link = app.link_token(&other, 1, "/verify-email").await;

    let changed = app
        .send_authed(
            Method::POST,
            "/api/v1/me/password",
            token,
            Some(&json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD })),
        )
        .await;
    assert_eq!(changed.status(), 204);

    assert_eq!(error_code(confirm(&app, &reset, "Another-pass-77").await, 400).await, "validation_failed");
    assert_eq!(error_code(verify(&app, &change_link).await, 400).await, "validation_failed");
    assert_eq!(app.login(&owner, NEW_PASSWORD).await.status(), 200, "neither link changed anything");

    // The address is told, with a way back that works even though the password changed after it was sent.
    let notice = app.wait_for_mail_with(&owner, "Subject: Your Parley account was changed", 1).await;
    assert!(notice.contains("password"), "{notice}");
    let back = crate::helpers::link_token_in(&notice, "/reset-password").expect("a link to take the account back");
    assert_eq!(confirm(&app, &back, "Taken-back-88").await.status(), 204);
    assert_eq!(app.login(&owner, "Taken-back-88").await.status(), 200);
    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 401, "every login ended");
}

#[tokio::test]
async fn an_email_change_ends_earlier_reset_links_and_the_old_address_can_undo_it() {
    let app = spawn_app().await;
    let (owner, intruder) = (unique_email(), unique_email());
    let (token, early_reset) = signed_up_with_a_reset_link(&app, &owner).await;
    let token = token.as_str();

    ask_email_change(&app, token, &intruder).await;
    let change_link = app.link_token(&intruder, 1, "/verify-email").await;
    assert_eq!(verify(&app, &change_link).await.status(), 204);
    assert_eq!(error_code(confirm(&app, &early_reset, NEW_PASSWORD).await, 400).await, "validation_failed");

    // The old address hears of it, with a link that puts it back.
    let notice = app.wait_for_mail_with(&owner, "Subject: Your Parley account was changed", 1).await;
    assert!(notice.contains("email"), "{notice}");
    let back = crate::helpers::link_token_in(&notice, "/reset-password").expect("a link to take the account back");

    // Meanwhile the intruder resets the password from their mailbox: the way back survives it.
    assert_eq!(ask_reset(&app, &intruder).await.status(), 202);
    let theirs = app.link_token(&intruder, 1, "/reset-password").await;
    assert_eq!(confirm(&app, &theirs, "Intruder-pass-1").await.status(), 204);
    let intruder_login: Value = app.login(&intruder, "Intruder-pass-1").await.json().await.unwrap();
    // And takes the freed old address with an account of their own (never verified: the mail goes to the owner).
    app.signup(&owner, "Squatter-pass-1").await;

    assert_eq!(confirm(&app, &back, "Taken-back-88").await.status(), 204);
    let me: Value = app.login(&owner, "Taken-back-88").await.json().await.unwrap();
    assert_eq!(me["user"]["email"], owner.as_str(), "the old address is the account's again");
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(app.login(&intruder, "Intruder-pass-1").await.status(), 401);
    assert_eq!(app.login(&owner, "Squatter-pass-1").await.status(), 401, "the squatter's account let the address go");
    assert_eq!(app.get_authed("/api/v1/me", intruder_login["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(error_code(confirm(&app, &back, "Again-pass-99").await, 400).await, "validation_failed", "used once");
}

#[tokio::test]
async fn deleting_the_account_ends_its_links() {
    let app = spawn_app().await;
    let owner = unique_email();
    let (token, reset) = signed_up_with_a_reset_link(&app, &owner).await;
    let deleted = app.send_authed(Method::DELETE, "/api/v1/me", &token, Some(&json!({ "password": PASSWORD }))).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(error_code(confirm(&app, &reset, NEW_PASSWORD).await, 400).await, "validation_failed");
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM account_tokens").await, Some(0));
}

#[tokio::test]
async fn a_stranger_holds_off_reset_mail_for_minutes_not_an_hour() {
    let app = spawn_app().await;
    let email = unique_email();
    for _ in 0..3 {
        assert_eq!(ask_reset(&app, &email).await.status(), 202);
    }
    let refused = ask_reset(&app, &email).await;
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    assert_eq!(error_code(refused, 429).await, "rate_limited");
}

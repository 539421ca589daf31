//! Access tokens from an existing identity provider (Supabase, Better Auth), verified against its JWKS
//! served by a real HTTP server on loopback inside the test, or with a shared HS256 secret.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app_with, unique_email};

const ISSUER: &str = "https://idp.example.test/auth/v1";
const AUDIENCE: &str = "authenticated";

/// An ES256 key pair: the private half signs tokens, the public half is published as a JWK.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn new_key(kid: &str) -> SigningKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // An uncompressed point: 0x04, then x and y, 32 bytes each.
    let public = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
    });
    SigningKey { kid: kid.to_owned(), encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk }
}

/// The provider's JWKS endpoint: serves whatever keys the test publishes, and counts its fetches. While
/// `hold` holds a sender, every fetch waits until the test drops it (a provider that hangs).
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    hold: Arc<Mutex<Option<tokio::sync::watch::Receiver<()>>>>,
}

async fn jwks_server(initial: &[&SigningKey]) -> JwksServer {
    let keys = Arc::new(Mutex::new(initial.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let hold: Arc<Mutex<Option<tokio::sync::watch::Receiver<()>>>> = Arc::new(Mutex::new(None));
    let (served, counted, held) = (keys.clone(), fetches.clone(), hold.clone());
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (served, counted, held) = (served.clone(), counted.clone(), held.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let gate = held.lock().unwrap().clone();
                if let Some(mut gate) = gate {
                    // Released when the test drops the sender.
                    let _ = gate.changed().await;
                }
                axum::Json(json!({ "keys": *served.lock().unwrap() }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    JwksServer { url, keys, fetches, hold }
}

fn claims(sub: &str, email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub, "email": email, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "role": "authenticated" })
}

/// A Parley account whose email is verified (its signup's link followed): the token body.
async fn signed_up_verified(app: &crate::helpers::TestApp, email: &str) -> Value {
    let owner = app.signup(email, PASSWORD).await;
    let link = app.link_token(email, 1, "/verify-email").await;
    assert_eq!(app.post_json("/api/v1/auth/verify-email", &json!({ "token": link })).await.status(), 204);
    owner
}

/// Claims whose email the provider says it verified.
fn verified_claims(sub: &str, email: &str) -> Value {
    let mut claims = claims(sub, email);
    claims["email_verified"] = json!(true);
    claims
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

async fn app_with_jwks(url: &str) -> crate::helpers::TestApp {
    spawn_app_with(&[
        ("PARLEY_EXTERNAL_JWKS_URL", url),
        ("PARLEY_EXTERNAL_JWT_ISSUER", ISSUER),
        ("PARLEY_EXTERNAL_JWT_AUDIENCE", AUDIENCE),
    ])
    .await
}

#[tokio::test]
async fn a_valid_provider_token_maps_its_subject_to_one_parley_user() {
    let key = new_key("key-1");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();
    let token = sign(&key, &verified_claims("provider-user-1", &email));

    let me = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], email, "created on first use with the token's verified email");
    assert_eq!(me["email_verified"], true);

    // The same subject is the same user: what they create is theirs on the next request.
    let conversation = app.new_conversation(&token).await;
    let again = sign(&key, &claims("provider-user-1", &email));
    let listed: Value = app.get_authed("/api/v1/conversations", &again).await.json().await.unwrap();
    assert_eq!(listed["conversations"][0]["id"], conversation.as_str());
    let me_again: Value = app.get_authed("/api/v1/me", &again).await.json().await.unwrap();
    assert_eq!(me_again["id"], me["id"]);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "the JWKS is cached");

    // Parley's own tokens keep working beside the provider's.
    let own = app.new_user_token().await;
    assert_eq!(app.get_authed("/api/v1/me", &own).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_so_a_rotated_key_works() {
    let old = new_key("old");
    let jwks = jwks_server(&[&old]).await;
    let app = app_with_jwks(&jwks.url).await;
    assert_eq!(app.get_authed("/api/v1/me", &sign(&old, &claims("u-2", &unique_email()))).await.status(), 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);

    // The provider rotates: a token signed with the new key makes Parley look again, and works.
    let new = new_key("new");
    jwks.keys.lock().unwrap().push(new.jwk.clone());
    let token = sign(&new, &claims("u-2", &unique_email()));
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2, "the unknown kid made Parley look again");

    // Made-up key ids right after do not make it look again (at most one refetch per interval).
    for n in 0..5 {
        let bogus = SigningKey { kid: format!("made-up-{n}"), ..new_key("x") };
        let refused = app.get_authed("/api/v1/me", &sign(&bogus, &claims("u-2", "a@b.co"))).await;
        assert_eq!(error_code(refused, 401).await, "unauthorized");
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);

    // A key id pretending to be the new one, signed by another key, fails the signature.
    let impostor = SigningKey { kid: "new".to_owned(), ..new_key("x") };
    assert_eq!(app.get_authed("/api/v1/me", &sign(&impostor, &claims("u-2", "a@b.co"))).await.status(), 401);
}

/// Issue 21, finding 4: a fetch in flight (here one that hangs until the test lets it go) holds up no
/// token whose key is cached, and more unknown ids meanwhile are refused at once instead of queueing.
#[tokio::test]
async fn a_hanging_jwks_fetch_holds_up_no_token_with_a_cached_key() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let good = sign(&key, &claims("u-slow", &unique_email()));
    assert_eq!(app.get_authed("/api/v1/me", &good).await.status(), 200);

    let (release, gate) = tokio::sync::watch::channel(());
    *jwks.hold.lock().unwrap() = Some(gate);
    let bogus = sign(&SigningKey { kid: "unknown".to_owned(), ..new_key("x") }, &claims("u-slow", "a@b.co"));
    let stalled = {
        let (client, url, bogus) = (app.client.clone(), app.url("/api/v1/me"), bogus.clone());
        tokio::spawn(async move { client.get(url).bearer_auth(bogus).send().await.unwrap().status() })
    };
    // Bounded wait until the refetch has reached the provider (and hangs there).
    let started = std::time::Instant::now();
    while jwks.fetches.load(Ordering::SeqCst) < 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the unknown kid never caused a fetch");
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // The fetch is still hanging: a token with the cached key is answered anyway.
    assert_eq!(app.get_authed("/api/v1/me", &sign(&key, &claims("u-slow", &unique_email()))).await.status(), 200);
    assert!(!stalled.is_finished(), "the fetch is still in flight");
    // Another unknown id does not start a second fetch.
    let other = sign(&SigningKey { kid: "unknown-2".to_owned(), ..new_key("y") }, &claims("u-slow", "a@b.co"));
    drop(release);
    assert_eq!(app.get_authed("/api/v1/me", &other).await.status(), 401);
    assert_eq!(stalled.await.unwrap(), 401);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn wrong_issuer_audience_expiry_or_algorithm_is_refused() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();

    let mut wrong_issuer = claims("u-3", &email);
    wrong_issuer["iss"] = json!("https://someone-else.example.test");
    let mut wrong_audience = claims("u-3", &email);
    wrong_audience["aud"] = json!("anon");
    let mut expired = claims("u-3", &email);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    for (why, claims) in [("issuer", wrong_issuer), ("audience", wrong_audience), ("expiry", expired)] {
        let response = app.get_authed("/api/v1/me", &sign(&key, &claims)).await;
        assert_eq!(response.status(), 401, "wrong {why}");
    }

    // HS256 is not allowed with a JWKS, whatever the secret (here: the public key's JSON, the classic
    // algorithm-confusion attack) and whatever the kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k".to_owned());
    let confused = jsonwebtoken::encode(
        &header,
        &claims("u-3", &email),
        &EncodingKey::from_secret(key.jwk.to_string().as_bytes()),
    )
    .unwrap();
    assert_eq!(error_code(app.get_authed("/api/v1/me", &confused).await, 401).await, "unauthorized");
    // Nor `none`.
    let payload = URL_SAFE_NO_PAD.encode(claims("u-3", &email).to_string());
    let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k"}"#));
    assert_eq!(app.get_authed("/api/v1/me", &unsigned).await.status(), 401);
    // Nothing was created for any of them.
    assert_eq!(crate::helpers::sql(&app.db_url, "SELECT count(*) FROM external_identities").await, Some(0));
}

#[tokio::test]
async fn a_provider_email_never_takes_over_an_existing_account() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();
    let existing = app.signup(&email, PASSWORD).await;

    let token = sign(&key, &claims("attacker", &email));
    let me: Value = app.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert_ne!(me["id"], existing["user"]["id"], "a separate account");
    assert_ne!(me["email"], email.as_str());
}

#[tokio::test]
async fn a_shared_secret_provider_accepts_hs256_tokens() {
    let secret = "a-supabase-jwt-secret-of-at-least-32-bytes";
    let app = spawn_app_with(&[
        ("PARLEY_EXTERNAL_JWT_SECRET", secret),
        ("PARLEY_EXTERNAL_JWT_ISSUER", ISSUER),
        ("PARLEY_EXTERNAL_JWT_AUDIENCE", AUDIENCE),
    ])
    .await;
    let token = |secret: &str| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims("supabase-user", &unique_email()),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    assert_eq!(app.get_authed("/api/v1/me", &token(secret)).await.status(), 200);
    assert_eq!(app.get_authed("/api/v1/me", &token("another-secret-of-at-least-32-bytes!!")).await.status(), 401);
}

// Issue 21, finding 2: a provider's email claim reserves nothing and links only where both sides vouch.

#[tokio::test]
async fn an_unverified_provider_email_neither_claims_nor_blocks_the_address() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let victim = unique_email();

    let me: Value = app.get_authed("/api/v1/me", &sign(&key, &claims("attacker", &victim))).await.json().await.unwrap();
    assert_ne!(me["email"], victim.as_str());
    assert!(me["email"].as_str().unwrap().ends_with("@users.invalid"), "{me}");
    // The owner's signup goes through, and the provider's user is not their account.
    let owner = app.signup(&victim, PASSWORD).await;
    assert_ne!(owner["user"]["id"], me["id"]);
    // A verified claim to an address whose account is not verified does not take it over either.
    let claimed: Value =
        app.get_authed("/api/v1/me", &sign(&key, &verified_claims("attacker-2", &victim))).await.json().await.unwrap();
    assert_ne!(claimed["id"], owner["user"]["id"]);
    assert_ne!(claimed["email"], victim.as_str());
}

#[tokio::test]
async fn a_verified_provider_email_links_to_the_account_whose_email_is_verified() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();
    let owner = signed_up_verified(&app, &email).await;

    let me: Value =
        app.get_authed("/api/v1/me", &sign(&key, &verified_claims("same-person", &email))).await.json().await.unwrap();
    assert_eq!(me["id"], owner["user"]["id"], "both vouch for the mailbox: one account");
    assert_eq!(crate::helpers::sql(&app.db_url, "SELECT count(*) FROM users").await, Some(1));
}

#[tokio::test]
async fn provider_logins_are_listed_and_end_like_any_other() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();
    let token = sign(&key, &verified_claims("listed", &email));
    let listed: Value = app.get_authed("/api/v1/me/sessions", &token).await.json().await.unwrap();
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{listed}");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["kind"], "api");

    let id = sessions[0]["id"].as_str().unwrap();
    let ended = app.send_authed(reqwest::Method::DELETE, &format!("/api/v1/me/sessions/{id}"), &token, None).await;
    assert_eq!(ended.status(), 204);
    assert_eq!(error_code(app.get_authed("/api/v1/me", &token).await, 401).await, "unauthorized", "ended at once");
    // Signing in at the provider again (a token issued later) starts a new login.
    let mut later = verified_claims("listed", &email);
    later["iat"] = json!(chrono::Utc::now().timestamp() + 2);
    let fresh = sign(&key, &later);
    assert_eq!(app.get_authed("/api/v1/me", &fresh).await.status(), 200);

    // A password reset ends it too (the account has a real, verified address, so a reset reaches it): a
    // token issued before the reset is refused after it.
    let current = sign(&key, &verified_claims("listed", &email));
    assert_eq!(app.get_authed("/api/v1/me", &current).await.status(), 200);
    assert_eq!(app.post_json("/api/v1/auth/password-reset", &json!({ "email": email })).await.status(), 202);
    let reset = app.link_token(&email, 1, "/reset-password").await;
    let confirmed = app
        .post_json("/api/v1/auth/password-reset/confirm", &json!({ "token": reset, "password": "Brand-new-pass-42" }))
        .await;
    assert_eq!(confirmed.status(), 204);
    assert_eq!(app.get_authed("/api/v1/me", &current).await.status(), 401);
}

// Issue 21, finding 5: not-before honoured, subjects bounded (a 3 KB one answered 503 on PostgreSQL).

#[tokio::test]
async fn a_token_not_yet_valid_or_with_an_oversized_subject_is_refused() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let mut early = claims("u-nbf", &unique_email());
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 3600);
    assert_eq!(error_code(app.get_authed("/api/v1/me", &sign(&key, &early)).await, 401).await, "unauthorized");

    let huge = sign(&key, &claims(&"s".repeat(3 * 1024), &unique_email()));
    for _ in 0..2 {
        assert_eq!(error_code(app.get_authed("/api/v1/me", &huge).await, 401).await, "unauthorized");
    }
    let longest = sign(&key, &claims(&"s".repeat(255), &unique_email()));
    assert_eq!(app.get_authed("/api/v1/me", &longest).await.status(), 200);
}

/// Review of issue 21: an identity linked through an address that was later taken back does not survive the
/// owner's recovery link.
#[tokio::test]
async fn a_recovery_link_unlinks_identity_providers() {
    let key = new_key("k");
    let jwks = jwks_server(&[&key]).await;
    let app = app_with_jwks(&jwks.url).await;
    let email = unique_email();
    let owner = signed_up_verified(&app, &email).await;
    let linked: Value =
        app.get_authed("/api/v1/me", &sign(&key, &verified_claims("linked", &email))).await.json().await.unwrap();
    assert_eq!(linked["id"], owner["user"]["id"]);

    // A password change mails the owner a way back; following it unlinks every identity.
    let changed = app
        .send_authed(
            reqwest::Method::POST,
            "/api/v1/me/password",
            owner["access_token"].as_str().unwrap(),
            Some(&json!({ "current_password": PASSWORD, "new_password": "Brand-new-pass-42" })),
        )
        .await;
    assert_eq!(changed.status(), 204);
    let back = app.link_token(&email, 1, "/reset-password").await;
    let confirmed = app
        .post_json("/api/v1/auth/password-reset/confirm", &json!({ "token": back, "password": "Taken-back-88" }))
        .await;
    assert_eq!(confirmed.status(), 204);
    assert_eq!(crate::helpers::sql(&app.db_url, "SELECT count(*) FROM external_identities").await, Some(0));
}

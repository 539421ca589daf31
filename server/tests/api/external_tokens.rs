//! Access tokens from an existing identity provider (Supabase, Better Auth), verified against its JWKS
//! served by a real HTTP server on loopback inside the test, or with a shared HS256 secret.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, unique_email, PASSWORD};

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

/// The provider's JWKS endpoint: serves whatever keys the test publishes, and counts its fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(initial: &[&SigningKey]) -> JwksServer {
    let keys = Arc::new(Mutex::new(initial.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (keys.clone(), fetches.clone());
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (served, counted) = (served.clone(), counted.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({ "keys": *served.lock().unwrap() }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    JwksServer { url, keys, fetches }
}

fn claims(sub: &str, email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub, "email": email, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "role": "authenticated" })
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
    let token = sign(&key, &claims("provider-user-1", &email));

    let me = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], email, "created on first use with the token's email");

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

    // A token signed with a key the provider has not published is refused, even after a refetch.
    let new = new_key("new");
    let token = sign(&new, &claims("u-2", &unique_email()));
    assert_eq!(error_code(app.get_authed("/api/v1/me", &token).await, 401).await, "unauthorized");
    let after_unknown = jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(after_unknown, 2, "the unknown kid made Parley look again");

    // The provider rotates: the new key is published. The same token now works.
    jwks.keys.lock().unwrap().push(new.jwk.clone());
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 3);

    // A key id pretending to be the new one, signed by another key, fails the signature.
    let impostor = SigningKey { kid: "new".to_owned(), ..new_key("x") };
    assert_eq!(app.get_authed("/api/v1/me", &sign(&impostor, &claims("u-2", "a@b.co"))).await.status(), 401);
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
    let confused = jsonwebtoken::encode(&header, &claims("u-3", &email), &EncodingKey::from_secret(key.jwk.to_string().as_bytes())).unwrap();
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
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims("supabase-user", &unique_email()), &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap()
    };
    assert_eq!(app.get_authed("/api/v1/me", &token(secret)).await.status(), 200);
    assert_eq!(app.get_authed("/api/v1/me", &token("another-secret-of-at-least-32-bytes!!")).await.status(), 401);
}

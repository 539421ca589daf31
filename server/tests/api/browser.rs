//! The browser's side of accounts, as a browser without JavaScript drives it: form posts to the server
//! functions, cookie sessions, redirects, CSRF and security headers.

use app::server_fns::accounts::{
    EndSession, Login, Logout, RequestPasswordReset, ResetPassword, Signup, UpdateDisplayName,
};
use app::server_fns::chat::EditMessage;
use leptos::server_fn::ServerFn;
use reqwest::{Response, header};

use crate::helpers::{PASSWORD, TestApp, spawn_app, sql, unique_email};

/// A plain HTML form post from one of our own pages.
async fn form_post(app: &TestApp, path: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, format!("http://{}", app.addr))
        .header(header::REFERER, app.url("/signup"))
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("parley_session={cookie}"));
    }
    request.send().await.expect("request reaches the server")
}

fn session_cookie(response: &Response) -> Option<(String, String)> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("parley_session="))
        .map(|full| {
            let value = full.trim_start_matches("parley_session=").split(';').next().unwrap_or("").to_owned();
            (value, full.to_owned())
        })
}

fn location(response: &Response) -> String {
    response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> Response {
    let mut request = app.client.get(app.url(path)).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("parley_session={cookie}"));
    }
    request.send().await.unwrap()
}

async fn signed_up(app: &TestApp, email: &str) -> String {
    let response = form_post(
        app,
        Signup::PATH,
        &[("email", email), ("display_name", "Ada"), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        None,
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/chat");
    session_cookie(&response).expect("a session cookie").0
}

/// A user signed up by form (its session cookie) who also logged in over the API (its access token),
/// so a test can seed data through the API and read it as pages.
async fn signed_up_with_token(app: &TestApp) -> (String, String) {
    let email = unique_email();
    let cookie = signed_up(app, &email).await;
    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    (cookie, login["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn signup_by_form_signs_in_with_a_safe_cookie() {
    let app = spawn_app().await;
    let response = form_post(
        &app,
        Signup::PATH,
        &[("email", &unique_email()), ("display_name", ""), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        None,
    )
    .await;

    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/chat");
    let (cookie, attributes) = session_cookie(&response).expect("session cookie set");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(attributes.contains(attribute), "{attribute} missing from {attributes}");
    }
    let chat = page(&app, "/chat", Some(&cookie)).await;
    assert_eq!(chat.status(), 200);
    assert!(chat.text().await.unwrap().contains("Your conversations"));
}

#[tokio::test]
async fn pages_that_need_an_account_redirect_to_login_with_next() {
    let app = spawn_app().await;
    for (path, next) in [("/chat", "/chat"), ("/account", "/account"), ("/account?tab=1", "/account%3Ftab%3D1")] {
        let response = page(&app, path, None).await;
        assert_eq!(response.status(), 302, "{path}");
        assert_eq!(location(&response), format!("/login?next={next}"), "{path}");
    }
}

/// curl, link checkers and some proxies send `Accept: */*` (or nothing): a redirect is still a redirect.
#[tokio::test]
async fn protected_pages_redirect_whatever_the_accept_header() {
    let app = spawn_app().await;
    for accept in [Some("*/*"), Some("application/json"), None] {
        for path in ["/chat", "/account", "/tasks", "/search"] {
            let mut request = app.client.get(app.url(path));
            if let Some(accept) = accept {
                request = request.header(header::ACCEPT, accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 302, "{path} with Accept {accept:?}");
            assert_eq!(location(&response), format!("/login?next={path}"), "{path}");
            assert!(!response.headers().contains_key("serverfnredirect"), "{path}");
        }
    }
}

#[tokio::test]
async fn login_follows_a_relative_next_and_ignores_an_external_one() {
    let app = spawn_app().await;
    let email = unique_email();
    signed_up(&app, &email).await;

    for (next, expected) in
        [("/account", "/account"), ("https://evil.example/", "/chat"), ("//evil.example", "/chat"), ("", "/chat")]
    {
        let response =
            form_post(&app, Login::PATH, &[("email", &email), ("password", PASSWORD), ("next", next)], None).await;
        assert_eq!(response.status(), 302, "{next:?}");
        assert_eq!(location(&response), expected, "{next:?}");
    }
}

#[tokio::test]
async fn login_issues_a_new_session_id_and_the_old_one_dies() {
    let app = spawn_app().await;
    let email = unique_email();
    let before = signed_up(&app, &email).await;

    let response = form_post(&app, Login::PATH, &[("email", &email), ("password", PASSWORD)], Some(&before)).await;
    let (after, _) = session_cookie(&response).expect("a new session cookie");

    assert_ne!(after, before, "the session id is cycled at login");
    assert_eq!(page(&app, "/chat", Some(&after)).await.status(), 200);
    assert_eq!(page(&app, "/chat", Some(&before)).await.status(), 302, "the pre-login id no longer works");
}

#[tokio::test]
async fn logout_destroys_the_session() {
    let app = spawn_app().await;
    let cookie = signed_up(&app, &unique_email()).await;

    let response = form_post(&app, Logout::PATH, &[], Some(&cookie)).await;

    assert_eq!(response.status(), 302);
    let (cleared, attributes) = session_cookie(&response).expect("the cookie is cleared");
    assert!(cleared.is_empty() || attributes.contains("Max-Age=0"), "{attributes}");
    assert_eq!(page(&app, "/chat", Some(&cookie)).await.status(), 302, "a copy of the old cookie is worthless");
}

#[tokio::test]
async fn a_weak_password_posted_straight_to_the_server_is_refused() {
    let app = spawn_app().await;
    let email = unique_email();

    let response =
        form_post(&app, Signup::PATH, &[("email", &email), ("password", "abc"), ("password_confirm", "abc")], None)
            .await;

    assert_eq!(response.status(), 302);
    assert!(location(&response).contains("__err="), "the error travels back to the form: {}", location(&response));
    assert!(session_cookie(&response).is_none(), "nobody is signed in");
    assert_eq!(app.login(&email, "abc").await.status(), 401, "no account was created");
}

#[tokio::test]
async fn a_cross_site_post_with_a_valid_session_cookie_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    let cookie = signed_up(&app, &email).await;

    for (header_name, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let response = app
            .client
            .post(app.url(UpdateDisplayName::PATH))
            .header(header::COOKIE, format!("parley_session={cookie}"))
            .header(header_name, value)
            .form(&[("display_name", "Hacked")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header_name}: {value}");
    }

    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    assert_eq!(login["user"]["display_name"], "Ada", "the display name is unchanged");

    let same_site = form_post(&app, UpdateDisplayName::PATH, &[("display_name", "Grace")], Some(&cookie)).await;
    assert_eq!(same_site.status(), 302, "the same request from our own page works");
    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    assert_eq!(login["user"]["display_name"], "Grace");
}

#[tokio::test]
async fn a_cross_site_login_form_without_a_cookie_is_refused() {
    // Login CSRF: another site's page posting our login form would sign the visitor in to its account.
    let app = spawn_app().await;
    let email = unique_email();
    signed_up(&app, &email).await;

    for (header_name, value) in
        [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")]
    {
        let response = app
            .client
            .post(app.url(Login::PATH))
            .header(header::ACCEPT, "text/html")
            .header(header_name, value)
            .form(&[("email", email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header_name}: {value}");
        assert!(session_cookie(&response).is_none(), "no session is started");
    }

    let ours = form_post(&app, Login::PATH, &[("email", email.as_str()), ("password", PASSWORD)], None).await;
    assert_eq!(ours.status(), 302, "the same form from our own page works");
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200, "API clients, which send no Origin, are unaffected");
}

#[tokio::test]
async fn pages_carry_a_nonce_based_content_security_policy_and_other_security_headers() {
    let app = spawn_app().await;
    let response = page(&app, "/signup", None).await;

    let headers = response.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.contains_key(header::REFERRER_POLICY));
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the policy");
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the policy's nonce");

    let api = app.get("/health").await;
    assert!(api.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
}

#[tokio::test]
async fn an_oversized_form_post_gets_413_in_the_error_shape() {
    let app = spawn_app().await;
    let huge = "x".repeat(100 * 1024);
    let response = form_post(&app, Login::PATH, &[("email", "a@b.co"), ("password", &huge)], None).await;
    assert_eq!(crate::helpers::error_code(response, 413).await, "payload_too_large");
}

#[tokio::test]
async fn the_chat_page_streams_through_the_api_with_its_session_and_cross_site_writes_are_refused() {
    let app = spawn_app().await;
    let cookie = signed_up(&app, &unique_email()).await;
    let with_cookie =
        |request: reqwest::RequestBuilder| request.header(header::COOKIE, format!("parley_session={cookie}"));

    let created = with_cookie(app.client.post(app.url("/api/v1/conversations")))
        .header(header::ORIGIN, format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "a same-origin write with the session works");
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let forged = with_cookie(app.client.post(app.url(&format!("/api/v1/conversations/{id}/messages"))))
        .header(header::ORIGIN, "https://evil.example")
        .json(&serde_json::json!({ "content": "sent by another site" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let history: serde_json::Value =
        with_cookie(app.client.get(app.url(&format!("/api/v1/conversations/{id}/messages"))))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 0, "the forged message was not stored");
}

#[tokio::test]
async fn load_older_without_javascript_shows_the_newest_n_messages() {
    let app = spawn_app().await;
    let (cookie, token) = signed_up_with_token(&app).await;
    let token = token.as_str();
    let id = app.new_conversation(token).await;
    for n in 0..60 {
        app.say(token, &id, &format!("note {n}")).await;
    }
    let articles = |html: &str| {
        html.matches("aria-label=\"You said\"").count() + html.matches("aria-label=\"Assistant reply\"").count()
    };

    let first = page(&app, &format!("/chat/{id}"), Some(&cookie)).await.text().await.unwrap();
    assert_eq!(articles(&first), 50);
    assert!(first.contains(&format!("/chat/{id}?show=100")), "the Load older link asks for 50 more");

    let more = page(&app, &format!("/chat/{id}?show=100"), Some(&cookie)).await.text().await.unwrap();
    assert_eq!(articles(&more), 100);
    let all = page(&app, &format!("/chat/{id}?show=150"), Some(&cookie)).await.text().await.unwrap();
    assert_eq!(articles(&all), 120);
    assert!(all.contains("note 0") && !all.contains("?show="), "the first message is there and nothing is older");
}

/// Under concurrent requests Leptos may render a route more than once and dispose the copies it throws
/// away; the conversation page once read its title from such a disposed signal, panicked, and the
/// browser got an empty reply about one request in fifteen. Every response must be a whole page.
#[tokio::test]
async fn concurrent_renders_of_the_conversation_page_all_answer_whole() {
    let app = spawn_app().await;
    let (cookie, token) = signed_up_with_token(&app).await;
    let token = token.as_str();
    let id = app.new_conversation(token).await;
    app.say(token, &id, "Concurrent hello").await;
    let missing = "/chat/00000000-0000-7000-8000-000000000000";

    for (path, status, title) in [
        (format!("/chat/{id}"), 200, "<title>Concurrent hello · Parley</title>"),
        (missing.to_owned(), 404, "<title>Conversation not found · Parley</title>"),
    ] {
        // 10 rounds of 20 at once, the load that showed the fault.
        for _ in 0..10 {
            let requests = (0..20).map(|_| async {
                let response = page(&app, &path, Some(&cookie)).await;
                (response.status().as_u16(), response.text().await)
            });
            for (got, body) in futures_util::future::join_all(requests).await {
                assert_eq!(got, status, "{path}");
                let body = body.expect("a complete body");
                assert!(body.contains(title), "{path}: the title is there");
                assert!(body.contains("__INCOMPLETE_CHUNKS=[]"), "{path}: the page was streamed to its end");
            }
        }
    }
}

/// Search without JavaScript: the results page lists the matching messages with the words marked, each a
/// link that opens its conversation at that message, however far back, and only ever the user's own.
#[tokio::test]
async fn search_results_open_the_conversation_at_the_message() {
    let app = spawn_app().await;
    let (cookie, token) = signed_up_with_token(&app).await;
    let conversation = app.new_conversation(&token).await;
    let old = app.say(&token, &conversation, "The combination is written under the teapot").await["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..40 {
        app.say(&token, &conversation, &format!("Later chatter {n}")).await;
    }

    let results = page(&app, "/search?q=teapot", Some(&cookie)).await;
    assert_eq!(results.status(), 200);
    let html = results.text().await.unwrap();
    assert!(html.contains("<mark>teapot</mark>"), "{html}");
    let link = format!("/chat/{conversation}?around={old}#m-{old}");
    assert!(html.contains(&link), "a result links to its message: {html}");

    let opened = page(&app, &format!("/chat/{conversation}?around={old}"), Some(&cookie)).await;
    assert_eq!(opened.status(), 200);
    let html = opened.text().await.unwrap();
    assert!(html.contains(&format!(r#"id="m-{old}" aria-current="true""#)), "the message is marked: {html}");
    assert!(html.contains("Load newer"), "newer messages are one link away");
    assert!(!html.contains("Later chatter 39"), "the window is around the message, not the newest page");

    // Someone else's message, or a malformed id, names nothing.
    let (other_cookie, _) = signed_up_with_token(&app).await;
    let theirs = page(&app, &format!("/chat/{conversation}?around={old}"), Some(&other_cookie)).await;
    assert_eq!(theirs.status(), 404);
    let unknown = page(&app, &format!("/chat/{conversation}?around=not-an-id"), Some(&cookie)).await;
    assert_eq!(unknown.status(), 404);
    let nothing = page(&app, "/search?q=teapot", Some(&other_cookie)).await.text().await.unwrap();
    assert!(nothing.contains("No messages match"), "{nothing}");
    let empty = page(&app, "/search?q=", Some(&cookie)).await;
    assert_eq!(empty.status(), 200);
    assert!(empty.text().await.unwrap().contains("Type something to search for."));
}

#[tokio::test]
async fn forgot_password_by_form_answers_alike_and_the_link_sets_a_new_password() {
    let app = spawn_app().await;
    let email = unique_email();
    signed_up(&app, &email).await;

    for address in [email.as_str(), "nobody-here@example.com"] {
        let asked = form_post(&app, RequestPasswordReset::PATH, &[("email", address)], None).await;
        assert_eq!(asked.status(), 302);
        assert_eq!(location(&asked), "/forgot-password?sent=1");
    }
    let token = app.link_token(&email, 1, "/reset-password").await;
    let reset_page = page(&app, &format!("/reset-password?token={token}"), None).await.text().await.unwrap();
    assert!(reset_page.contains("Choose a new password") && reset_page.contains(&token), "the form carries the token");

    let fields =
        [("token", token.as_str()), ("password", "Brand-new-pass-42"), ("password_confirm", "Brand-new-pass-42")];
    let reset = form_post(&app, ResetPassword::PATH, &fields, None).await;
    assert_eq!(reset.status(), 302);
    assert_eq!(location(&reset), "/login?reset=1");
    assert_eq!(app.login(&email, "Brand-new-pass-42").await.status(), 200);

    // Used once: the second post goes back to the form with the reason.
    let again = form_post(&app, ResetPassword::PATH, &fields, None).await;
    assert_ne!(location(&again), "/login?reset=1", "a used link does not reset again");
}

#[tokio::test]
async fn the_verification_link_page_verifies_once() {
    let app = spawn_app().await;
    let email = unique_email();
    let cookie = signed_up(&app, &email).await;
    let token = app.link_token(&email, 1, "/verify-email").await;

    let first = page(&app, &format!("/verify-email?token={token}"), None).await.text().await.unwrap();
    assert!(first.contains("Your email is verified"), "{first}");
    let account = page(&app, "/account", Some(&cookie)).await.text().await.unwrap();
    assert!(account.contains(">Verified<"), "the account page says so");
    let second = page(&app, &format!("/verify-email?token={token}"), None).await.text().await.unwrap();
    assert!(second.contains("not valid any more"), "{second}");
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_ends_another_by_form() {
    let app = spawn_app().await;
    let email = unique_email();
    let mine = signed_up(&app, &email).await;
    let login = form_post(&app, Login::PATH, &[("email", &email), ("password", PASSWORD)], None).await;
    let other = session_cookie(&login).expect("a second browser session").0;
    let token: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();

    let account = page(&app, "/account", Some(&mine)).await.text().await.unwrap();
    assert_eq!(
        account.matches("class=\"session").count() - account.matches("class=\"session-").count(),
        3,
        "two browsers and an API login"
    );
    assert_eq!(account.matches("This browser").count(), 1);

    // The other browser's id: the entry its own account page marks as current.
    let other_page = page(&app, "/account", Some(&other)).await.text().await.unwrap();
    let entry = &other_page[other_page.find("class=\"session current\"").expect("its own entry is marked")..];
    let at = entry.find("name=\"id\" value=\"").unwrap() + "name=\"id\" value=\"".len();
    let other_id = entry[at..at + 36].to_owned();

    let ended = form_post(&app, EndSession::PATH, &[("id", &other_id)], Some(&mine)).await;
    assert_eq!(ended.status(), 302);
    assert!(location(&ended).starts_with("/account?updated=session"), "{}", location(&ended));
    let signed_out = page(&app, "/account", Some(&other)).await;
    assert_eq!(signed_out.status(), 302, "the other browser is signed out");
    assert_eq!(page(&app, "/account", Some(&mine)).await.status(), 200, "this one is not");
    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 200, "nor the API login");
}

#[tokio::test]
async fn editing_a_message_by_form_replaces_only_the_later_messages() {
    let app = spawn_app().await;
    let (cookie, token) = signed_up_with_token(&app).await;
    let id = app.new_conversation(&token).await;
    let first = app.say(&token, &id, "first question").await;
    let second = app.say(&token, &id, "second question").await;
    app.say(&token, &id, "third question").await;

    let page_html = page(&app, &format!("/chat/{id}"), Some(&cookie)).await.text().await.unwrap();
    assert!(page_html.contains("New wording") && page_html.contains("Regenerate reply"));

    let message_id = second["message"]["id"].as_str().unwrap();
    let fields = [("conversation_id", id.as_str()), ("message_id", message_id), ("content", "second, edited")];
    let edited = form_post(&app, EditMessage::PATH, &fields, Some(&cookie)).await;
    assert_eq!(edited.status(), 302);
    assert_eq!(location(&edited), format!("/chat/{id}#latest"));

    let history = crate::helpers::all_messages(&app.client, &format!("http://{}", app.addr), &token, &id).await;
    let contents: Vec<&str> = history.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(history.len(), 4, "{contents:?}");
    assert_eq!(history[0]["id"], first["message"]["id"]);
    assert_eq!(contents[2], "second, edited");
    assert_eq!(history[3]["role"], "assistant");
    assert!(!contents.contains(&"third question"));
}

#[tokio::test]
async fn page_views_write_nothing_to_the_session_and_never_store_the_user_read_with_it() {
    let app = spawn_app().await;
    let cookie = signed_up(&app, &unique_email()).await;
    assert_eq!(page(&app, "/chat", Some(&cookie)).await.status(), 200);
    // A sentinel that any save of the session would overwrite with the time of the save.
    sql(&app.db_url, "UPDATE sessions SET last_seen_at = 12345").await;

    for path in ["/chat", "/account", "/chat", "/tasks", "/chat", "/account"] {
        assert_eq!(page(&app, path, Some(&cookie)).await.status(), 200, "{path}");
    }

    assert_eq!(
        sql(&app.db_url, "SELECT count(*) FROM sessions WHERE last_seen_at <> 12345").await,
        Some(0),
        "no view saved the session"
    );
    assert_eq!(
        sql(&app.db_url, "SELECT count(*) FROM sessions WHERE data LIKE '%user_row%'").await,
        Some(0),
        "the user read with the session is not stored"
    );
}

#[tokio::test]
async fn a_user_row_found_in_stored_session_data_is_never_believed() {
    let app = spawn_app().await;
    let email = unique_email();
    let cookie = signed_up(&app, &email).await;
    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let id = login["user"]["id"].as_str().unwrap();
    // As if someone had written a user into the stored session: the key under which a loaded session
    // carries its user's row for one request.
    let forged = format!(
        r#"{{"_user_row":{{"id":"{id}","email":"impostor@example.com","display_name":"Impostor","instructions":null,"email_verified_at":null,"created_at":"2026-01-01T00:00:00Z"}},"#
    );
    sql(&app.db_url, &format!("UPDATE sessions SET data = '{forged}' || substr(data, 2)")).await;

    let account = page(&app, "/account", Some(&cookie)).await;
    assert_eq!(account.status(), 200);
    let body = account.text().await.unwrap();
    assert!(body.contains(&email), "the real email is shown");
    assert!(!body.contains("impostor@example.com") && !body.contains("Impostor"), "the forged row is not");
}

/// Issue 21, finding 3: the CSRF guard reads cookies as the session layer does, so no spelling of the
/// session cookie's name that signs a request in can slip a cross-site write past the guard.
#[tokio::test]
async fn a_cross_site_write_is_refused_whatever_the_spelling_of_the_session_cookie() {
    let allowed = "https://app.example.com";
    let app = crate::helpers::spawn_app_with(&[("PARLEY_CORS_ORIGINS", allowed)]).await;
    let cookie = signed_up(&app, &unique_email()).await;
    for spelling in ["parley_session", "parley%5Fsession", "parley%5fsession", "parley_session ", "%70arley_session"] {
        let response = app
            .client
            .post(app.url("/api/v1/conversations"))
            .header(header::COOKIE, format!("{spelling}={cookie}"))
            .header(header::ORIGIN, allowed)
            .header("sec-fetch-site", "cross-site")
            .json(&serde_json::json!({ "title": "forged" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{spelling:?}");
    }
    let conversations = sql(&app.db_url, "SELECT count(*) FROM conversations").await;
    assert_eq!(conversations, Some(0), "nothing was created");
}

/// Issue 21, finding 1: "Sign out everywhere" ends the account's pending reset and email-change links too.
#[tokio::test]
async fn signing_out_everywhere_ends_pending_links() {
    use app::server_fns::accounts::SignOutEverywhere;
    let app = spawn_app().await;
    let email = unique_email();
    let cookie = signed_up(&app, &email).await;
    let asked = app.post_json("/api/v1/auth/password-reset", &serde_json::json!({ "email": email })).await;
    assert_eq!(asked.status(), 202);
    let reset = app.link_token(&email, 1, "/reset-password").await;

    let signed_out = form_post(&app, SignOutEverywhere::PATH, &[], Some(&cookie)).await;
    assert_eq!(signed_out.status(), 302);
    let confirm = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &serde_json::json!({ "token": reset, "password": "Brand-new-pass-42" }),
        )
        .await;
    assert_eq!(crate::helpers::error_code(confirm, 400).await, "validation_failed");
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200, "the password is unchanged");
}

/// The account page's import form as a browser posts it: `multipart/form-data` with the file in `file`.
async fn import_form_post(app: &TestApp, file: &[u8], cookie: Option<&str>, origin: &str) -> Response {
    let boundary = "----parley-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"conversations.json\"\r\n\
         Content-Type: application/json\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = app
        .client
        .post(app.url("/account/import"))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("parley_session={cookie}"));
    }
    request.send().await.expect("request reaches the server")
}

#[tokio::test]
async fn the_import_form_streams_the_file_into_an_import_and_shows_its_page() {
    let app = spawn_app().await;
    let (cookie, token) = signed_up_with_token(&app).await;
    let origin = format!("http://{}", app.addr);
    // Parley's own export of another account is the simplest file there is.
    let other = app.new_user_token().await;
    let conversation = app.new_conversation(&other).await;
    app.say(&other, &conversation, "Tea or coffee at the harbour?").await;
    let export = app.get_authed("/api/v1/me/export", &other).await.bytes().await.unwrap();

    let posted = import_form_post(&app, &export, Some(&cookie), &origin).await;
    assert_eq!(posted.status(), 303, "a See Other to the import's page");
    let to = location(&posted);
    assert!(to.starts_with("/imports/"), "{to}");
    let id = to.trim_start_matches("/imports/");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status: serde_json::Value =
            app.get_authed(&format!("/api/v1/imports/{id}"), &token).await.json().await.unwrap();
        if status["state"] == "done" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let html = page(&app, &to, Some(&cookie)).await.text().await.unwrap();
    assert!(html.contains("Done: 1 conversation and 2 messages added from Parley."), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""), "a finished import's page stays put");
    let account = page(&app, "/account", Some(&cookie)).await.text().await.unwrap();
    assert!(account.contains(&format!("href=\"/imports/{id}\"")), "the account page lists it");

    // An empty file goes back to the form with a message; so does a post without a file.
    let empty = import_form_post(&app, b"", Some(&cookie), &origin).await;
    assert_eq!(location(&empty), "/account?import=empty#import-heading");
    let account = page(&app, "/account?import=empty", Some(&cookie)).await.text().await.unwrap();
    assert!(account.contains("The file you chose is empty."), "the message is on the page");
    // Another site's form cannot make someone import a file, and a signed-out browser is sent to log in.
    let cross_site = import_form_post(&app, &export, Some(&cookie), "https://evil.example").await;
    assert_eq!(cross_site.status(), 403);
    let signed_out = import_form_post(&app, &export, None, &origin).await;
    assert!(location(&signed_out).starts_with("/login"), "{}", location(&signed_out));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM imports").await, Some(1), "only the first was kept");
    let other_page = page(&app, &to, Some(&signed_up(&app, &unique_email()).await)).await.text().await.unwrap();
    assert!(other_page.contains("This import does not exist."), "another user's import is not shown");
}

//! Sign-in, sessions, passwords, throttling, CSRF, two-factor, invitations and resets.

use axum::http::StatusCode;
use caremarket::accounts::{LOCKED, WRONG_CREDENTIALS};
use caremarket::config::Config;
use caremarket_core::Role;
use chrono::Duration;

use crate::support::smtp::{SmtpSink, link_in};
use crate::support::{ClockExt, TestApp, secret_in};

fn path_of(link: &str) -> String {
    let after_scheme = link.split_once("://").unwrap().1;
    format!("/{}", after_scheme.split_once('/').unwrap().1)
}

#[tokio::test]
async fn sign_in_then_sign_out_ends_the_session() {
    let app = TestApp::new().await;
    let (_, pw) = app.user("broker@leeds.test", Role::Broker, None).await;
    let c = app.client();
    // Signed out, a page sends you to sign in and remembers where you were going.
    let r = c.get("/account").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/sign-in?next=%2Faccount");

    c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[
                ("email", "Broker@Leeds.test "),
                ("password", &pw),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/account");
    let session = c.cookie("cm_session").expect("session cookie");
    let set_cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("broker@leeds.test"));

    let r = c.post_form("/sign-out", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("sessions").await, 0);
    // Replaying the old cookie after sign-out gets nothing.
    let replay = app.client();
    replay
        .cookies
        .lock()
        .unwrap()
        .insert("cm_session".into(), session);
    assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER);
    // An open redirect through ?next= is refused.
    let r = c
        .post_form(
            "/sign-in",
            &[
                ("email", "broker@leeds.test"),
                ("password", &pw),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/");
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = TestApp::new().await;
    app.user("viewer@leeds.test", Role::Viewer, None).await;
    let c = app.client();
    let a = c
        .post_form(
            "/sign-in",
            &[
                ("email", "viewer@leeds.test"),
                ("password", "not the password at all"),
            ],
        )
        .await;
    let b = c
        .post_form(
            "/sign-in",
            &[
                ("email", "nobody@leeds.test"),
                ("password", "not the password at all"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains(WRONG_CREDENTIALS) && b.body.contains(WRONG_CREDENTIALS));
    assert!(a.body.contains("govuk-error-summary"));
    // The e-mail typed is kept in the form, the password is not.
    assert!(b.body.contains("value=\"nobody@leeds.test\""));
    let empty = c
        .post_form("/sign-in", &[("email", ""), ("password", "")])
        .await;
    assert!(
        empty.body.contains("Enter your email address")
            && empty.body.contains("Enter your password")
    );
}

#[tokio::test]
async fn repeated_failures_lock_sign_in_until_the_window_passes() {
    let app = TestApp::new().await;
    let (_, pw) = app
        .user("commissioner@leeds.test", Role::Commissioner, None)
        .await;
    let c = app.client();
    for i in 0..10 {
        let r = c
            .post_form(
                "/sign-in",
                &[
                    ("email", "commissioner@leeds.test"),
                    ("password", "wrong password guess"),
                ],
            )
            .await;
        let expect = if i < 9 { WRONG_CREDENTIALS } else { LOCKED };
        assert!(r.body.contains(expect), "attempt {i}: {}", r.status);
    }
    // Locked: even the right password is refused, with the same message as for anyone.
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "commissioner@leeds.test"), ("password", &pw)],
        )
        .await;
    assert!(r.body.contains(LOCKED));
    assert!(c.cookie("cm_session").is_none());
    // An account that does not exist locks the same way: the lock reveals nothing.
    for _ in 0..10 {
        c.post_form(
            "/sign-in",
            &[
                ("email", "ghost@leeds.test"),
                ("password", "wrong password guess"),
            ],
        )
        .await;
    }
    let r = c
        .post_form(
            "/sign-in",
            &[
                ("email", "ghost@leeds.test"),
                ("password", "wrong password guess"),
            ],
        )
        .await;
    assert!(r.body.contains(LOCKED));
    // After the 15-minute window the right password works again.
    app.clock.advance(Duration::minutes(16));
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "commissioner@leeds.test"), ("password", &pw)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_locked() {
    let app = TestApp::new().await;
    let (_, pw) = app.user("viewer@leeds.test", Role::Viewer, None).await;
    let c = app.client();
    // Password spraying: 100 failures from one address over many accounts lock that address
    // (an address that has not failed is not stopped: see sign_in_security).
    for i in 0..100 {
        let email = format!("guess{i}@leeds.test");
        c.post_form(
            "/sign-in",
            &[("email", &email), ("password", "wrong password guess")],
        )
        .await;
    }
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "viewer@leeds.test"), ("password", &pw)],
        )
        .await;
    assert!(r.body.contains(LOCKED));
}

#[tokio::test]
async fn sessions_time_out_when_idle_and_after_the_absolute_limit() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Viewer).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        c.get("/").await.status,
        StatusCode::SEE_OTHER,
        "idle 31 minutes"
    );

    let (c, _) = app.signed_in(Role::Viewer).await;
    for _ in 0..(12 * 3) {
        app.clock.advance(Duration::minutes(20));
        if c.get("/").await.status != StatusCode::OK {
            break;
        }
    }
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        c.get("/").await.status,
        StatusCode::SEE_OTHER,
        "past 12 hours"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Broker).await;
    let before = app.count("api_tokens").await;
    let r = c
        .post_form_without_csrf("/account/tokens", &[("name", "forged")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("The form has expired"));
    let r = c
        .post_form_without_csrf(
            "/account/tokens",
            &[
                ("name", "forged"),
                ("csrf_token", "0123456789abcdef0123456789abcdef"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("api_tokens").await, before);
    // Sign-in itself needs the token too (login CSRF).
    let anon = app.client();
    let r = anon
        .post_form_without_csrf("/sign-in", &[("email", "a@b.test"), ("password", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The API with a session cookie needs the header; with the token it works.
    let r = c
        .request(
            axum::http::Method::POST,
            "/api/v1/tokens",
            Some("application/json"),
            r#"{"name":"x"}"#.into(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = c
        .post_json("/api/v1/tokens", serde_json::json!({"name": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn password_rules_follow_ncsc_and_a_change_ends_other_sessions() {
    let app = TestApp::new().await;
    let (_, pw) = app.user("qa@leeds.test", Role::Commissioner, None).await;
    let c = app.client();
    c.sign_in("qa@leeds.test", &pw, &app).await;
    let other = app.client();
    other.sign_in("qa@leeds.test", &pw, &app).await;

    let cases = [
        ("short", "short", "12 characters or more"),
        ("password1234", "password1234", "too common"),
        (
            "a long enough passphrase",
            "a different passphrase",
            "do not match",
        ),
        ("qa@leeds.test-mine", "qa@leeds.test-mine", "email address"),
    ];
    for (new, confirm, msg) in cases {
        let r = c
            .post_form(
                "/account/password",
                &[
                    ("current_password", &pw),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        assert!(r.body.contains(msg), "{new}: expected {msg}");
    }
    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong one entirely"),
                ("new_password", "purple tractor umbrella"),
                ("confirm_password", "purple tractor umbrella"),
            ],
        )
        .await;
    assert!(r.body.contains("current password is not correct"));
    // No composition rules: three lower-case words are fine.
    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", &pw),
                ("new_password", "purple tractor umbrella"),
                ("confirm_password", "purple tractor umbrella"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        c.get("/").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        other.get("/").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    let fresh = app.client();
    let r = fresh
        .post_form("/sign-in", &[("email", "qa@leeds.test"), ("password", &pw)])
        .await;
    assert!(r.body.contains(WRONG_CREDENTIALS));
    fresh
        .sign_in("qa@leeds.test", "purple tractor umbrella", &app)
        .await;
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_and_can_be_revoked() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Broker).await;
    let page = c
        .post_form("/account/tokens", &[("name", "Vacancy feed")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let i = page.body.find("id=\"new-token\">").unwrap() + "id=\"new-token\">".len();
    let token = page.body[i..i + 43].to_string();
    assert!(token.starts_with("cm_"));
    // Stored hashed: the token itself is nowhere in the database.
    let stored: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all("SELECT token_hash FROM api_tokens", vec![])
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| !h.contains(&token[3..])));
    // Shown once: the list shows only the prefix.
    let list = c.get("/account/tokens").await;
    assert!(!list.body.contains(&token));
    assert!(list.body.contains(&token[..9]));

    let api = app.client().with_bearer(&token);
    let me = api.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["role"], "broker");
    // The token has the user's role: admin API refused.
    assert_eq!(api.get("/api/v1/users").await.status, StatusCode::FORBIDDEN);
    // Bearer requests need no CSRF token.
    let r = api
        .post_json("/api/v1/tokens", serde_json::json!({"name": "second"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let id: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT id FROM api_tokens WHERE name = 'Vacancy feed'",
            vec![],
        )
        .await
        .unwrap();
    let r = c
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = api.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(
        app.client()
            .with_bearer("cm_nonsense")
            .get("/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_disabled_user_is_refused_everywhere() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (_, pw) = app.user("leaver@leeds.test", Role::Broker, None).await;
    let c = app.client();
    c.sign_in("leaver@leeds.test", &pw, &app).await;
    let token_page = c.post_form("/account/tokens", &[("name", "t")]).await;
    let i = token_page.body.find("id=\"new-token\">").unwrap() + 15;
    let token = token_page.body[i..i + 43].to_string();
    let id: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT id FROM users WHERE email = 'leaver@leeds.test'",
            vec![],
        )
        .await
        .unwrap();

    let r = admin
        .post_form(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        c.get("/").await.status,
        StatusCode::SEE_OTHER,
        "session ended"
    );
    assert_eq!(
        app.client()
            .with_bearer(&token)
            .get("/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .client()
        .post_form(
            "/sign-in",
            &[("email", "leaver@leeds.test"), ("password", &pw)],
        )
        .await;
    assert!(
        r.body.contains(WRONG_CREDENTIALS),
        "no hint that the account exists but is disabled"
    );
}

#[tokio::test]
async fn two_factor_is_required_for_admins_and_codes_are_single_use() {
    let app = TestApp::new().await;
    let (_, pw) = app.user("admin@leeds.test", Role::Admin, None).await;
    let c = app.client();
    c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "admin@leeds.test"), ("password", &pw)],
        )
        .await;
    assert_eq!(r.location(), "/account/two-factor/set-up");
    // Until set up, nothing else is reachable.
    let r = c.get("/admin/users").await;
    assert_eq!(r.location(), "/account/two-factor/set-up");
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let page = c.get("/account/two-factor/set-up").await;
    let secret = secret_in(&page.body);
    let bad = c
        .post_form("/account/two-factor/set-up", &[("code", "000000")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = caremarket::accounts::totp::current_code(&secret, app.clock.now_utc()).unwrap();
    let done = c
        .post_form(
            "/account/two-factor/set-up",
            &[("code", &format!("{code:06}"))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    let codes: Vec<String> = done
        .body
        .split("<code class=\"app-code\">")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(c.get("/admin/users").await.status, StatusCode::OK);
    c.post_form("/sign-out", &[]).await;

    // Next sign-in asks for a code; the code used at set-up cannot be replayed.
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "admin@leeds.test"), ("password", &pw)],
        )
        .await;
    assert_eq!(r.location(), "/sign-in/two-factor");
    assert_eq!(
        c.get("/admin/users").await.location(),
        "/sign-in/two-factor"
    );
    let r = c
        .post_form("/sign-in/two-factor", &[("code", &format!("{code:06}"))])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "replayed code refused"
    );
    app.clock.advance(Duration::seconds(60));
    let code = caremarket::accounts::totp::current_code(&secret, app.clock.now_utc()).unwrap();
    let r = c
        .post_form(
            "/sign-in/two-factor",
            &[("code", &format!("{:03} {:03}", code / 1000, code % 1000))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(c.get("/admin/users").await.status, StatusCode::OK);
    c.post_form("/sign-out", &[]).await;

    // A recovery code works once.
    for expect_ok in [true, false] {
        c.post_form(
            "/sign-in",
            &[("email", "admin@leeds.test"), ("password", &pw)],
        )
        .await;
        let r = c
            .post_form("/sign-in/two-factor", &[("code", &codes[3])])
            .await;
        assert_eq!(r.status == StatusCode::SEE_OTHER, expect_ok, "{}", r.body);
        c.post_form("/sign-out", &[]).await;
    }
}

#[tokio::test]
async fn invitation_by_email_sets_a_password_once_and_expires() {
    let sink = SmtpSink::start().await;
    let mut config = Config::for_tests();
    config.smtp_url = Some(sink.url.clone());
    let app = TestApp::with_config(config).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "New.Broker@Leeds.test"),
                ("display_name", "Sam"),
                ("role", "broker"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        !r.body.contains("/set-password/"),
        "with mail configured the link is not shown to the admin"
    );
    let mail = sink.wait_for("new.broker@leeds.test", 0).await;
    assert!(mail.data.contains("Subject: You have been invited"));
    let link = path_of(&link_in(&mail.data));

    let c = app.client();
    let form = c.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("new.broker@leeds.test"));
    let r = c
        .post_form(
            &link,
            &[("new_password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post_form(
            &link,
            &[
                ("new_password", "kettle harbour lantern"),
                ("confirm_password", "kettle harbour lantern"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        c.get(&link).await.status,
        StatusCode::NOT_FOUND,
        "single use"
    );
    c.sign_in("new.broker@leeds.test", "kettle harbour lantern", &app)
        .await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    // The message is also kept in-app.
    let n = c.get("/notifications").await;
    assert!(n.body.contains("You have been invited"));

    // An invitation not used within 7 days expires.
    admin
        .post_form(
            "/admin/users",
            &[("email", "late@leeds.test"), ("role", "viewer")],
        )
        .await;
    let mail = sink.wait_for("late@leeds.test", 0).await;
    let link = path_of(&link_in(&mail.data));
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    assert_eq!(app.client().get(&link).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn password_reset_by_email_is_single_use_expires_and_reveals_nothing() {
    let sink = SmtpSink::start().await;
    let mut config = Config::for_tests();
    config.smtp_url = Some(sink.url.clone());
    let app = TestApp::with_config(config).await;
    let (_, old) = app.user("forgetful@leeds.test", Role::Viewer, None).await;
    let c = app.client();
    let known = c
        .post_form("/password-reset", &[("email", "forgetful@leeds.test")])
        .await;
    let unknown = c
        .post_form("/password-reset", &[("email", "nobody@leeds.test")])
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(
        known.body.replace("forgetful@leeds.test", "X"),
        unknown.body.replace("nobody@leeds.test", "X")
    );
    let mail = sink.wait_for("forgetful@leeds.test", 0).await;
    let link = path_of(&link_in(&mail.data));
    let r = c
        .post_form(
            &link,
            &[
                ("new_password", "seven orange giraffes"),
                ("confirm_password", "seven orange giraffes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c
        .post_form(
            &link,
            &[
                ("new_password", "eight orange giraffes"),
                ("confirm_password", "eight orange giraffes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "used link refused");
    let r = app
        .client()
        .post_form(
            "/sign-in",
            &[("email", "forgetful@leeds.test"), ("password", &old)],
        )
        .await;
    assert!(r.body.contains(WRONG_CREDENTIALS));
    app.client()
        .sign_in("forgetful@leeds.test", "seven orange giraffes", &app)
        .await;

    // A reset link lasts 2 hours.
    c.post_form("/password-reset", &[("email", "forgetful@leeds.test")])
        .await;
    let mail = sink.wait_for("forgetful@leeds.test", 1).await;
    let link = path_of(&link_in(&mail.data));
    app.clock.advance(Duration::hours(2) + Duration::seconds(1));
    assert_eq!(c.get(&link).await.status, StatusCode::NOT_FOUND);
}

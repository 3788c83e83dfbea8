//! Sign-in under attack, after the NCSC's guidance: delays first, locks only where the
//! failures are, second-factor guesses counted on their own, one-time passwords changed at
//! once, tokens that end with their owner's password, throttled password resets, and a
//! trace of every failure in the audit log.

use axum::http::StatusCode;
use caremarket::accounts::{LOCKED, WRONG_CREDENTIALS};
use caremarket::audit::Actor;
use caremarket::config::Config;
use caremarket_core::Role;
use chrono::Duration;

use crate::support::{ClockExt, TestApp};

/// An app that takes the client address from X-Forwarded-For, so tests can come from
/// several addresses.
async fn behind_proxy() -> TestApp {
    let mut config = Config::for_tests();
    config.trust_proxy = true;
    TestApp::with_config(config).await
}

async fn actions(app: &TestApp, like: &str) -> Vec<(String, Option<String>)> {
    app.db()
        .q()
        .fetch_all(
            "SELECT action, after_json FROM audit_log WHERE action LIKE $1 ORDER BY id",
            caremarket::args![like],
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_guesser_never_locks_out_the_right_password_from_an_address_that_has_not_failed() {
    let app = behind_proxy().await;
    let (_, pw) = app.user("lead@leeds.test", Role::Commissioner, None).await;
    let attacker = app.client().with_header("x-forwarded-for", "203.0.113.9");
    let mut answers = Vec::new();
    for _ in 0..60 {
        let r = attacker
            .post_form(
                "/sign-in",
                &[
                    ("email", "lead@leeds.test"),
                    ("password", "a wrong guess here"),
                ],
            )
            .await;
        answers.push(if r.body.contains(LOCKED) {
            "locked"
        } else if r.body.contains(WRONG_CREDENTIALS) {
            "wrong"
        } else {
            "other"
        });
    }
    assert_eq!(answers[..9], ["wrong"; 9], "{answers:?}");
    assert!(answers[9..].iter().all(|a| *a == "locked"), "{answers:?}");
    // The guesser's address is locked out of the account even with the right password...
    let r = attacker
        .post_form(
            "/sign-in",
            &[("email", "lead@leeds.test"), ("password", &pw)],
        )
        .await;
    assert!(r.body.contains(LOCKED));
    // ...but the person, at an address that has not failed, signs in.
    let person = app.client().with_header("x-forwarded-for", "198.51.100.7");
    person.get("/sign-in").await;
    let r = person
        .post_form(
            "/sign-in",
            &[("email", "lead@leeds.test"), ("password", &pw)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Every failure is in the audit log (never the password), with the lock it led to;
    // the refused attempts after the lock are counted, not audited one by one.
    let failed = actions(&app, "session.sign_in_failed").await;
    assert_eq!(failed.len(), 10);
    assert!(failed.iter().all(|(_, j)| {
        let j = j.as_deref().unwrap_or("");
        j.contains("lead@leeds.test") && j.contains("wrong password") && !j.contains("guess")
    }));
    let locked = actions(&app, "session.locked").await;
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert!(
        locked[0]
            .1
            .as_deref()
            .unwrap()
            .contains("this address, this account")
    );
    let refused: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT CAST(SUM(n) AS BIGINT) FROM refused_requests WHERE kind = 'sign_in_while_locked'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused, 51);
    // The successful sign-in later keeps the record.
    assert_eq!(actions(&app, "session.sign_in_failed").await.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_colleagues_behind_one_address_all_sign_in_at_once() {
    // A council's staff come through one proxy address. Correct passwords are never counted
    // as failures, however many arrive together.
    let app = behind_proxy().await;
    let (_, pw) = app.user("u0@leeds.test", Role::Viewer, None).await;
    // The same password hash for 199 more (hashing 199 passwords would be the slow part).
    for i in 1..200 {
        app.db()
            .q()
            .execute(
                "INSERT INTO users (email, display_name, role, password_hash, created_at) \
                 SELECT $1, '', 'viewer', password_hash, created_at FROM users WHERE email = 'u0@leeds.test'",
                caremarket::args![format!("u{i}@leeds.test")],
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..200 {
        let c = app.client().with_header("x-forwarded-for", "192.0.2.44");
        let pw = pw.clone();
        tasks.push(tokio::spawn(async move {
            c.get("/sign-in").await;
            let r = c
                .post_form(
                    "/sign-in",
                    &[("email", &format!("u{i}@leeds.test")), ("password", &pw)],
                )
                .await;
            r.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::SEE_OTHER {
            ok += 1;
        }
    }
    assert_eq!(ok, 200, "every correct sign-in succeeds");
}

#[tokio::test]
async fn wrong_second_factor_codes_count_apart_from_passwords_and_lock() {
    let app = TestApp::new().await;
    let (_, pw) = app.user("admin@leeds.test", Role::Admin, None).await;
    let c = app.client();
    c.sign_in("admin@leeds.test", &pw, &app).await; // sets up TOTP
    let secret: String = app
        .db()
        .q()
        .scalar(
            "SELECT totp_secret FROM users WHERE email = 'admin@leeds.test'",
            vec![],
        )
        .await
        .unwrap();
    c.post_form("/sign-out", &[]).await;
    let mut answers = vec![];
    // Five wrong codes, then the right password again (which used to clear the count), then
    // five more: the tenth wrong code locks.
    for round in 0..2 {
        let c = app.client();
        c.get("/sign-in").await;
        let r = c
            .post_form(
                "/sign-in",
                &[("email", "admin@leeds.test"), ("password", &pw)],
            )
            .await;
        assert_eq!(r.location(), "/sign-in/two-factor", "round {round}");
        for _ in 0..5 {
            let r = c
                .post_form("/sign-in/two-factor", &[("code", "000000")])
                .await;
            answers.push(r.body.contains(LOCKED));
        }
        if round == 1 {
            // Locked: even the right code is refused now.
            app.clock.advance(Duration::seconds(31));
            let code =
                caremarket::accounts::totp::current_code(&secret, app.clock.now_utc()).unwrap();
            let r = c
                .post_form("/sign-in/two-factor", &[("code", &format!("{code:06}"))])
                .await;
            assert!(r.body.contains(LOCKED), "{}", r.status);
            // After the window the right code works.
            app.clock.advance(Duration::minutes(16));
            let code =
                caremarket::accounts::totp::current_code(&secret, app.clock.now_utc()).unwrap();
            let r = c
                .post_form("/sign-in/two-factor", &[("code", &format!("{code:06}"))])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
    }
    assert_eq!(
        answers,
        [
            false, false, false, false, false, false, false, false, false, true
        ]
    );
    assert_eq!(
        actions(&app, "session.second_factor_failed").await.len(),
        10
    );
    assert_eq!(actions(&app, "session.second_factor_locked").await.len(), 1);
}

#[tokio::test]
async fn a_one_time_password_from_the_cli_must_be_changed_at_first_sign_in() {
    let app = TestApp::new().await;
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args([
            "user",
            "add",
            "--email",
            "new@leeds.test",
            "--role",
            "commissioner",
        ])
        .env("CAREMARKET_DATABASE_URL", &app.db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let otp = out
        .split("One-time password: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .trim()
        .to_string();
    let c = app.client();
    c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "new@leeds.test"), ("password", &otp)],
        )
        .await;
    assert_eq!(r.location(), "/account/password");
    // Nothing else opens until it is changed: pages redirect, the API refuses.
    assert_eq!(c.get("/market").await.location(), "/account/password");
    let r = c.post_form("/account/tokens", &[("name", "feed")]).await;
    assert_eq!(r.location(), "/account/password");
    assert_eq!(app.count("api_tokens").await, 0);
    let page = c.get("/account/password").await;
    assert!(
        page.body.contains("Choose your own password"),
        "{}",
        page.body
    );
    // The one-time password again is not a password of one's own.
    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", &otp),
                ("new_password", &otp),
                ("confirm_password", &otp),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("different from the one you have now"));
    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", &otp),
                ("new_password", "three quiet herons"),
                ("confirm_password", "three quiet herons"),
                ("end_tokens", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(c.get("/market").await.status, StatusCode::OK);
    // reset-password gives a new one-time password: the same again.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["user", "reset-password", "--email", "new@leeds.test"])
        .env("CAREMARKET_DATABASE_URL", &app.db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let otp = out.rsplit(": ").next().unwrap().trim().to_string();
    let c = app.client();
    c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[("email", "new@leeds.test"), ("password", &otp)],
        )
        .await;
    assert_eq!(r.location(), "/account/password");
}

#[tokio::test]
async fn api_tokens_end_with_the_password_with_their_parent_and_when_they_expire() {
    let app = TestApp::new().await;
    let (id, pw) = app.user("feed@leeds.test", Role::Broker, None).await;
    let make = |name: &'static str, days: Option<i64>| {
        let state = app.state.clone();
        async move {
            caremarket::accounts::tokens::create(
                &state,
                &Actor::cli("t"),
                id,
                &caremarket::accounts::tokens::NewToken {
                    name,
                    days,
                    parent: None,
                },
            )
            .await
            .unwrap()
            .1
        }
    };
    // A token made with a token ends with it.
    let parent = make("parent", None).await;
    let p = app.client().with_bearer(&parent);
    let r = p
        .post_json("/api/v1/tokens", serde_json::json!({"name": "child"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let child = r.json()["secret"].as_str().unwrap().to_string();
    let c = app.client().with_bearer(&child);
    let r = c
        .post_json("/api/v1/tokens", serde_json::json!({"name": "grandchild"}))
        .await;
    let grandchild = r.json()["secret"].as_str().unwrap().to_string();
    let parent_id = r.json()["parent_id"].as_i64().unwrap();
    assert!(parent_id > 0);
    assert_eq!(
        app.client()
            .with_bearer(&grandchild)
            .get("/api/v1/me")
            .await
            .status,
        200
    );
    let parent_row: i64 = app
        .db()
        .q()
        .scalar("SELECT MIN(id) FROM api_tokens", vec![])
        .await
        .unwrap();
    assert_eq!(
        p.delete(&format!("/api/v1/tokens/{parent_row}"))
            .await
            .status,
        204
    );
    for t in [&parent, &child, &grandchild] {
        assert_eq!(
            app.client().with_bearer(t).get("/api/v1/me").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // A password change ends the user's tokens (the form's default).
    let kept = make("kept", None).await;
    let s = app.client();
    s.sign_in("feed@leeds.test", &pw, &app).await;
    let page = s.get("/account/password").await;
    assert!(
        page.body.contains("Also revoke my 1 API token"),
        "{}",
        page.body
    );
    let r = s
        .post_form(
            "/account/password",
            &[
                ("current_password", &pw),
                ("new_password", "four calm otters swim"),
                ("confirm_password", "four calm otters swim"),
                ("end_tokens", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.client()
            .with_bearer(&kept)
            .get("/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Tokens expire: the default is the service's, the longest is capped.
    let r = app
        .client()
        .with_bearer(&make("short", Some(2)).await)
        .post_json(
            "/api/v1/tokens",
            serde_json::json!({"name": "too long", "days": 4000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("1 to 365 days"), "{}", r.body);
    // A child never outlives its parent.
    let short_parent = make("short parent", Some(2)).await;
    let r = app
        .client()
        .with_bearer(&short_parent)
        .post_json(
            "/api/v1/tokens",
            serde_json::json!({"name": "long child", "days": 300}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let child_expires = r.json()["expires_at"].as_str().unwrap().to_string();
    let child_expires: chrono::DateTime<chrono::Utc> = child_expires.parse().unwrap();
    assert!(child_expires <= app.clock.now_utc() + Duration::days(2));
    let short = make("short2", Some(2)).await;
    assert_eq!(
        app.client()
            .with_bearer(&short)
            .get("/api/v1/me")
            .await
            .status,
        200
    );
    app.clock.advance(Duration::days(2) + Duration::seconds(1));
    assert_eq!(
        app.client()
            .with_bearer(&short)
            .get("/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // The page shows when each expires and was last used.
    let s = app.client();
    s.sign_in("feed@leeds.test", "four calm otters swim", &app)
        .await;
    let page = s.get("/account/tokens").await;
    assert!(
        page.body.contains("Expires") && page.body.contains("Expired"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_password_reset_requests_sends_one_link_and_writes_one_audit_row() {
    let app = TestApp::new().await;
    let (uid, _) = app.user("target@leeds.test", Role::Viewer, None).await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = app.client();
        tasks.push(tokio::spawn(async move {
            c.get("/password-reset").await;
            c.post_form("/password-reset", &[("email", "target@leeds.test")])
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            StatusCode::OK,
            "every request gets the same page"
        );
    }
    let links: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM one_time_links WHERE user_id = $1",
            caremarket::args![uid],
        )
        .await
        .unwrap();
    assert_eq!(links, 1, "one live link");
    assert_eq!(actions(&app, "user.password_reset_link").await.len(), 1);
    let mails: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1",
            caremarket::args![uid],
        )
        .await
        .unwrap();
    assert_eq!(mails, 1);
    let refused: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT CAST(SUM(n) AS BIGINT) FROM refused_requests WHERE kind LIKE 'password_reset%'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused, 199);
    // The link still works: nobody's request cancelled it.
    let live: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM one_time_links WHERE user_id = $1 AND used_at IS NULL",
            caremarket::args![uid],
        )
        .await
        .unwrap();
    assert_eq!(live, 1);
    // An hour later the person can ask again.
    app.clock.advance(Duration::minutes(61));
    app.client()
        .post_form("/password-reset", &[("email", "target@leeds.test")])
        .await;
    assert_eq!(actions(&app, "user.password_reset_link").await.len(), 2);
}

#[tokio::test]
async fn argon2_work_is_bounded_however_many_sign_ins_arrive_at_once() {
    // Each Argon2 check takes 19 MB: 49 at once took 1.2 GB. Now they queue for a few slots.
    let db = crate::support::TestDb::new().await;
    let served = std::sync::Arc::new(crate::support::served::Served::start(&db, &[]));
    let csrf = "0123456789abcdef0123456789abcdef";
    let threads: Vec<_> = (0..49)
        .map(|i| {
            let s = served.clone();
            std::thread::spawn(move || {
                let body = format!("email=nobody{i}%40leeds.test&password=guess+number+{i}");
                let cookie = format!("cm_csrf={csrf}");
                s.request(
                    "POST",
                    "/sign-in",
                    &[
                        ("Content-Type", "application/x-www-form-urlencoded"),
                        ("Cookie", &cookie),
                        ("X-CSRF-Token", csrf),
                    ],
                    body.as_bytes(),
                )
                .0
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| *s == 422 || *s == 200),
        "{statuses:?}"
    );
    let peak = served.peak_mib();
    let slots = caremarket::accounts::password::argon2_parallelism() as f64;
    eprintln!("49 sign-ins at once: server peak {peak:.0} MB ({slots} Argon2 slots)");
    assert!(peak < 60.0 + 25.0 * slots, "peak {peak:.0} MB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_from_one_address_at_many_accounts_meets_the_address_lock() {
    // Password spraying in one burst: each attempt at a different account, all at once.
    // Attempts from one address are checked a few at a time, so the address's failures are
    // seen and it is locked after 100, not after the whole burst.
    let app = behind_proxy().await;
    let mut tasks = Vec::new();
    for i in 0..130 {
        let c = app.client().with_header("x-forwarded-for", "203.0.113.50");
        tasks.push(tokio::spawn(async move {
            c.get("/sign-in").await;
            c.post_form(
                "/sign-in",
                &[
                    ("email", &format!("staff{i}@leeds.test")),
                    ("password", "Winter2026!Winter"),
                ],
            )
            .await
            .body
            .contains(LOCKED)
        }));
    }
    let mut locked = 0;
    for t in tasks {
        if t.await.unwrap() {
            locked += 1;
        }
    }
    assert!(
        locked >= 25,
        "only {locked} of 130 refused by the address lock"
    );
    let failed = actions(&app, "session.sign_in_failed").await.len();
    assert!(failed <= 105, "{failed} guesses were checked");
}

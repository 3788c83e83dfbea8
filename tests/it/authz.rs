//! The authorisation matrix: every route the router knows, called as every role and signed
//! out, against a table written here by hand. A route added without an entry here fails.

use axum::http::{Method, StatusCode};
use caremarket::web::{Access, token_hash};
use caremarket_core::Role;
use std::collections::BTreeSet;

use crate::support::{Client, TestApp, form_body, random_name};

/// Who may call each route: "public", "second_factor" (signed in, second factor possibly
/// still to give), "signed_in" (any role), or the one role allowed.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/static/app.css", "public"),
    ("GET", "/api/v1/openapi.json", "public"),
    ("GET", "/api/v1/me", "signed_in"),
    ("GET", "/api/v1/tokens", "signed_in"),
    ("POST", "/api/v1/tokens", "signed_in"),
    ("DELETE", "/api/v1/tokens/{id}", "signed_in"),
    ("GET", "/api/v1/areas", "signed_in"),
    ("POST", "/api/v1/areas", "admin"),
    ("GET", "/api/v1/users", "admin"),
    ("POST", "/api/v1/users", "admin"),
    ("GET", "/api/v1/audit", "admin"),
    ("GET", "/api/v1/settings", "admin"),
    ("GET", "/", "signed_in"),
    ("GET", "/accessibility", "public"),
    ("GET", "/healthz", "public"),
    ("GET", "/readyz", "public"),
    ("GET", "/sign-in", "public"),
    ("POST", "/sign-in", "public"),
    ("GET", "/sign-in/two-factor", "second_factor"),
    ("POST", "/sign-in/two-factor", "second_factor"),
    ("GET", "/account/two-factor/set-up", "second_factor"),
    ("POST", "/account/two-factor/set-up", "second_factor"),
    ("POST", "/sign-out", "second_factor"),
    ("GET", "/account", "signed_in"),
    ("GET", "/account/password", "signed_in"),
    ("POST", "/account/password", "signed_in"),
    ("POST", "/account/two-factor/recovery-codes", "signed_in"),
    ("GET", "/account/tokens", "signed_in"),
    ("POST", "/account/tokens", "signed_in"),
    ("POST", "/account/tokens/{id}/revoke", "signed_in"),
    ("GET", "/notifications", "signed_in"),
    ("GET", "/password-reset", "public"),
    ("POST", "/password-reset", "public"),
    ("GET", "/set-password/{token}", "public"),
    ("POST", "/set-password/{token}", "public"),
    ("GET", "/admin", "admin"),
    ("GET", "/admin/users", "admin"),
    ("GET", "/admin/users/new", "admin"),
    ("POST", "/admin/users", "admin"),
    ("GET", "/admin/users/{id}", "admin"),
    ("POST", "/admin/users/{id}/role", "admin"),
    ("POST", "/admin/users/{id}/disable", "admin"),
    ("POST", "/admin/users/{id}/enable", "admin"),
    ("POST", "/admin/users/{id}/reset-password", "admin"),
    ("POST", "/admin/users/{id}/reset-two-factor", "admin"),
    ("GET", "/admin/quality", "admin"),
    ("GET", "/admin/bed-types", "admin"),
    ("POST", "/admin/bed-types", "admin"),
    ("POST", "/admin/bed-types/{key}/retire", "admin"),
    ("POST", "/admin/quality", "admin"),
    ("GET", "/admin/areas", "admin"),
    ("POST", "/admin/areas", "admin"),
    ("POST", "/admin/areas/{id}/remove", "admin"),
    ("GET", "/admin/settings", "admin"),
    ("POST", "/admin/settings", "admin"),
    ("GET", "/admin/audit", "admin"),
    ("GET", "/admin/audit.csv", "admin"),
    ("GET", "/locations", "signed_in"),
    ("GET", "/locations/{id}", "signed_in"),
    ("GET", "/providers/{id}", "signed_in"),
    ("GET", "/data-quality", "signed_in"),
    ("GET", "/imports", "admin+commissioner"),
    ("GET", "/imports/new", "admin"),
    ("POST", "/imports", "admin"),
    ("GET", "/imports/{id}/rejects.csv", "admin"),
    ("GET", "/api/v1/locations", "signed_in"),
    ("GET", "/api/v1/locations/{id}", "signed_in"),
    ("GET", "/api/v1/providers/{id}", "signed_in"),
    ("GET", "/api/v1/imports", "admin+commissioner"),
    ("GET", "/market", "signed_in"),
    ("GET", "/market/locations", "signed_in"),
    ("GET", "/market/export.csv", "signed_in"),
    ("GET", "/market/export.xlsx", "signed_in"),
    ("GET", "/market/change", "signed_in"),
    ("GET", "/market/report", "signed_in"),
    ("GET", "/market/report.pdf", "signed_in"),
    ("GET", "/api/v1/market/summary", "signed_in"),
    ("GET", "/api/v1/market/breakdown", "signed_in"),
    ("GET", "/quality", "admin+commissioner+broker+viewer"),
    ("GET", "/quality/contracts", "admin+commissioner+broker"),
    ("POST", "/quality/contracts", "admin+commissioner"),
    ("GET", "/quality/visits", "admin+commissioner+provider"),
    ("GET", "/quality/visits/new", "admin+commissioner"),
    ("POST", "/quality/visits", "admin+commissioner"),
    ("GET", "/quality/visits/{id}", "admin+commissioner+provider"),
    ("POST", "/quality/visits/{id}/submit", "admin+commissioner"),
    ("POST", "/quality/visits/{id}/confirm", "admin+commissioner"),
    ("GET", "/quality/visits/{id}/correct", "admin+commissioner"),
    ("POST", "/quality/visits/{id}/correct", "admin+commissioner"),
    (
        "GET",
        "/api/v1/quality/summary",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/api/v1/quality/visits",
        "admin+commissioner+provider",
    ),
    (
        "GET",
        "/api/v1/quality/visits/{id}",
        "admin+commissioner+provider",
    ),
    ("GET", "/quality/plans", "admin+commissioner+provider"),
    ("POST", "/quality/plans", "admin+commissioner"),
    ("GET", "/quality/plans/{id}", "admin+commissioner+provider"),
    ("POST", "/quality/plans/{id}/items", "admin+commissioner"),
    (
        "POST",
        "/quality/items/{id}/progress",
        "admin+commissioner+provider",
    ),
    ("POST", "/quality/items/{id}/sign-off", "admin+commissioner"),
    (
        "GET",
        "/api/v1/quality/plans/{id}",
        "admin+commissioner+provider",
    ),
    ("GET", "/quality/concerns", "admin+commissioner"),
    ("POST", "/quality/concerns", "admin+commissioner"),
    ("GET", "/quality/risk", "admin+commissioner"),
    ("GET", "/quality/risk.csv", "admin+commissioner"),
    ("GET", "/api/v1/quality/risk", "admin+commissioner"),
    ("GET", "/quality/themes", "admin+commissioner+broker+viewer"),
    ("GET", "/quality/themes/manage", "admin+commissioner"),
    ("GET", "/quality/themes/new", "admin+commissioner"),
    ("POST", "/quality/themes/new", "admin+commissioner"),
    ("GET", "/quality/themes/{id}", "admin+commissioner"),
    ("POST", "/quality/themes/{id}", "admin+commissioner"),
    ("GET", "/quality/issues", "admin+commissioner"),
    ("POST", "/quality/issues", "admin+commissioner"),
    ("POST", "/quality/issues/upload", "admin+commissioner"),
    (
        "GET",
        "/quality/training",
        "admin+commissioner+broker+viewer",
    ),
    ("POST", "/quality/training", "admin+commissioner"),
    (
        "POST",
        "/quality/training/{id}/withdraw",
        "admin+commissioner",
    ),
    ("GET", "/quality/report", "admin+commissioner+broker+viewer"),
    (
        "GET",
        "/quality/report.pdf",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/api/v1/quality/themes",
        "admin+commissioner+broker+viewer",
    ),
    ("GET", "/api/v1/quality/issues", "admin+commissioner"),
    ("POST", "/api/v1/quality/issues", "admin+commissioner"),
    ("GET", "/capacity", "admin+commissioner+broker+viewer"),
    ("GET", "/capacity/homes", "admin+commissioner+provider"),
    ("POST", "/capacity/homes", "admin+commissioner+provider"),
    ("GET", "/capacity/homes.csv", "admin+commissioner+provider"),
    (
        "POST",
        "/capacity/homes/upload",
        "admin+commissioner+provider",
    ),
    ("GET", "/capacity/homes/{id}", "admin+commissioner+provider"),
    (
        "POST",
        "/capacity/homes/{id}",
        "admin+commissioner+provider",
    ),
    (
        "GET",
        "/api/v1/capacity/search",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/capacity/dashboard",
        "admin+commissioner+broker+viewer",
    ),
    ("GET", "/capacity/placements", "admin+commissioner+broker"),
    ("POST", "/capacity/placements", "admin+commissioner+broker"),
    (
        "GET",
        "/capacity/placements.csv",
        "admin+commissioner+broker",
    ),
    (
        "POST",
        "/capacity/placements/upload",
        "admin+commissioner+broker",
    ),
    (
        "POST",
        "/capacity/placements/{id}/end",
        "admin+commissioner+broker",
    ),
    (
        "GET",
        "/api/v1/capacity/placements",
        "admin+commissioner+broker",
    ),
    ("GET", "/capacity/at-risk", "admin+commissioner+broker"),
    ("POST", "/capacity/at-risk", "admin+commissioner"),
    ("GET", "/capacity/at-risk/{id}", "admin+commissioner+broker"),
    (
        "POST",
        "/capacity/at-risk/{id}/status",
        "admin+commissioner",
    ),
    (
        "POST",
        "/capacity/at-risk/{id}/remove",
        "admin+commissioner",
    ),
    (
        "POST",
        "/capacity/at-risk/{id}/actions",
        "admin+commissioner",
    ),
    (
        "POST",
        "/capacity/at-risk/actions/{id}/done",
        "admin+commissioner",
    ),
    (
        "POST",
        "/capacity/at-risk/checklist/{id}/moved",
        "admin+commissioner+broker",
    ),
    (
        "GET",
        "/api/v1/capacity/at-risk",
        "admin+commissioner+broker",
    ),
    (
        "GET",
        "/api/v1/capacity/at-risk/{id}",
        "admin+commissioner+broker",
    ),
    ("GET", "/capacity/returns", "provider"),
    ("GET", "/capacity/returns/{def}/{period}", "provider"),
    ("POST", "/capacity/returns/{def}/{period}", "provider"),
    ("GET", "/capacity/returns/overview", "admin+commissioner"),
    ("POST", "/capacity/returns/definitions", "admin"),
    (
        "GET",
        "/api/v1/capacity/returns/trend",
        "admin+commissioner",
    ),
    ("GET", "/capacity/contingency", "admin+commissioner+broker"),
    (
        "GET",
        "/capacity/contingency/{provider}",
        "admin+commissioner+broker+provider",
    ),
    (
        "POST",
        "/capacity/contingency/{provider}/contacts",
        "admin+commissioner+broker+provider",
    ),
    (
        "POST",
        "/capacity/contingency/{provider}/plan",
        "admin+commissioner+broker+provider",
    ),
    (
        "POST",
        "/capacity/contingency/contacts/{id}/remove",
        "admin+commissioner+broker+provider",
    ),
    ("GET", "/quality/self-assessments", "admin+commissioner"),
    (
        "GET",
        "/quality/self-assessments/{location}",
        "admin+commissioner+provider",
    ),
    (
        "POST",
        "/quality/self-assessments/{location}",
        "admin+commissioner+provider",
    ),
    ("GET", "/quality/questionnaires", "admin+commissioner"),
    (
        "POST",
        "/quality/questionnaires/{id}/responses",
        "admin+commissioner",
    ),
    ("GET", "/quality/survey", "provider"),
    ("POST", "/quality/survey", "provider"),
    (
        "GET",
        "/api/v1/quality/questionnaires/{id}/results",
        "admin+commissioner",
    ),
    (
        "GET",
        "/api/v1/capacity/dashboard",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/api/v1/capacity/homes/{id}",
        "admin+commissioner+provider",
    ),
    (
        "PUT",
        "/api/v1/capacity/homes/{id}",
        "admin+commissioner+provider",
    ),
    ("GET", "/sufficiency", "admin+commissioner+viewer"),
    ("GET", "/sufficiency/download", "admin+commissioner+viewer"),
    ("GET", "/sufficiency/report", "admin+commissioner+viewer"),
    (
        "GET",
        "/sufficiency/report.pdf",
        "admin+commissioner+viewer",
    ),
    ("POST", "/sufficiency/assumptions", "admin+commissioner"),
    ("POST", "/sufficiency/changes", "admin+commissioner"),
    (
        "POST",
        "/sufficiency/changes/{id}/delete",
        "admin+commissioner",
    ),
    (
        "GET",
        "/sufficiency/population",
        "admin+commissioner+viewer",
    ),
    ("POST", "/sufficiency/population", "admin+commissioner"),
    ("GET", "/api/v1/sufficiency", "admin+commissioner+viewer"),
    ("GET", "/api/v1/population", "admin+commissioner+viewer"),
    ("GET", "/cost-of-care", "admin+commissioner+viewer"),
    ("POST", "/cost-of-care/fees", "admin+commissioner"),
    ("POST", "/cost-of-care/scenarios", "admin+commissioner"),
    (
        "GET",
        "/cost-of-care/scenarios/{id}",
        "admin+commissioner+viewer",
    ),
    (
        "GET",
        "/cost-of-care/scenarios/{id}/report",
        "admin+commissioner+viewer",
    ),
    (
        "POST",
        "/cost-of-care/scenarios/{id}/delete",
        "admin+commissioner",
    ),
    (
        "GET",
        "/cost-of-care/models/{service}",
        "admin+commissioner+viewer",
    ),
    (
        "POST",
        "/cost-of-care/models/{service}",
        "admin+commissioner",
    ),
    ("GET", "/api/v1/cost-of-care", "admin+commissioner+viewer"),
    (
        "GET",
        "/api/v1/cost-of-care/models/{service}",
        "admin+commissioner+viewer",
    ),
    (
        "GET",
        "/api/v1/cost-of-care/scenarios/{id}",
        "admin+commissioner+viewer",
    ),
    (
        "GET",
        "/cost-of-care/returns",
        "admin+commissioner+viewer+provider",
    ),
    ("POST", "/cost-of-care/returns", "provider"),
    (
        "GET",
        "/cost-of-care/returns/download",
        "admin+commissioner+viewer",
    ),
    (
        "GET",
        "/api/v1/cost-of-care/returns",
        "admin+commissioner+viewer+provider",
    ),
    ("POST", "/sufficiency/projections", "admin+commissioner"),
    (
        "POST",
        "/sufficiency/rates-from-register",
        "admin+commissioner",
    ),
    ("GET", "/brokerage/lots", "admin+commissioner+broker"),
    ("POST", "/brokerage/lots", "admin+commissioner"),
    ("GET", "/brokerage/lots/{id}", "admin+commissioner+broker"),
    (
        "POST",
        "/brokerage/lots/{id}/providers",
        "admin+commissioner",
    ),
    (
        "POST",
        "/brokerage/lots/{id}/providers/{row}/withdraw",
        "admin+commissioner",
    ),
    ("GET", "/api/v1/brokerage/lots", "admin+commissioner+broker"),
    (
        "GET",
        "/brokerage/awaiting",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/brokerage/awaiting/download",
        "admin+commissioner+broker+viewer",
    ),
    ("POST", "/brokerage/awaiting/import", "admin+broker"),
    (
        "GET",
        "/api/v1/brokerage/awaiting",
        "admin+commissioner+broker+viewer",
    ),
    ("GET", "/brokerage/packages", "admin+commissioner+broker"),
    ("POST", "/brokerage/requests/{id}/package", "admin+broker"),
    (
        "GET",
        "/brokerage/packages/{id}",
        "admin+commissioner+broker",
    ),
    ("POST", "/brokerage/packages/{id}/review", "admin+broker"),
    ("POST", "/brokerage/packages/{id}/end", "admin+broker"),
    ("GET", "/packages", "provider"),
    ("GET", "/packages/{id}", "provider"),
    ("POST", "/packages/{id}/hours", "provider"),
    ("POST", "/packages/hours/import", "provider"),
    (
        "GET",
        "/api/v1/packages",
        "admin+commissioner+broker+provider",
    ),
    (
        "GET",
        "/api/v1/packages/{id}",
        "admin+commissioner+broker+provider",
    ),
    ("POST", "/api/v1/packages/{id}/hours", "provider"),
    (
        "GET",
        "/brokerage/lots/{id}/ranking",
        "admin+commissioner+broker",
    ),
    ("POST", "/brokerage/lots/{id}/ranking", "admin+commissioner"),
    (
        "GET",
        "/brokerage/rankings/{id}",
        "admin+commissioner+broker",
    ),
    (
        "POST",
        "/brokerage/rankings/{id}/approve",
        "admin+commissioner",
    ),
    (
        "POST",
        "/brokerage/rankings/{id}/reject",
        "admin+commissioner",
    ),
    (
        "GET",
        "/api/v1/brokerage/lots/{id}/rankings",
        "admin+commissioner+broker",
    ),
    ("GET", "/brokerage/matching", "admin+commissioner+broker"),
    ("POST", "/brokerage/matching", "admin+broker"),
    ("POST", "/offers/capacity", "provider"),
    (
        "GET",
        "/api/v1/brokerage/matching",
        "admin+commissioner+broker",
    ),
    ("POST", "/api/v1/offers/capacity", "provider"),
    (
        "GET",
        "/brokerage/report",
        "admin+commissioner+broker+viewer",
    ),
    (
        "GET",
        "/brokerage/report.pdf",
        "admin+commissioner+broker+viewer",
    ),
    ("GET", "/brokerage/rules", "admin+commissioner"),
    ("POST", "/brokerage/rules", "admin+commissioner"),
    ("GET", "/brokerage/requests", "admin+commissioner+broker"),
    ("GET", "/brokerage/requests/new", "admin+broker"),
    ("POST", "/brokerage/requests", "admin+broker"),
    (
        "GET",
        "/brokerage/requests/{id}",
        "admin+commissioner+broker",
    ),
    ("POST", "/brokerage/requests/{id}/skip", "admin+broker"),
    ("POST", "/brokerage/requests/{id}/reorder", "admin+broker"),
    ("POST", "/brokerage/requests/{id}/reopen", "admin+broker"),
    ("POST", "/brokerage/requests/{id}/spot", "admin+broker"),
    ("POST", "/brokerage/requests/{id}/withdraw", "admin+broker"),
    ("GET", "/offers", "provider"),
    ("GET", "/offers/{id}", "provider"),
    ("POST", "/offers/{id}/accept", "provider"),
    ("POST", "/offers/{id}/decline", "provider"),
    (
        "GET",
        "/api/v1/brokerage/requests",
        "admin+commissioner+broker",
    ),
    ("POST", "/api/v1/brokerage/requests", "admin+broker"),
    (
        "GET",
        "/api/v1/brokerage/requests/{id}",
        "admin+commissioner+broker",
    ),
    ("GET", "/api/v1/offers", "provider"),
    ("POST", "/api/v1/offers/{id}/accept", "provider"),
    ("POST", "/api/v1/offers/{id}/decline", "provider"),
];

fn declared(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::SecondFactor => "second_factor".into(),
        Access::SignedIn => "signed_in".into(),
        Access::Roles(rs) => rs.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("+"),
    }
}

#[test]
fn every_route_has_an_entry_in_the_expected_table() {
    let actual: BTreeSet<(String, String, String)> = caremarket::app::route_table()
        .into_iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), declared(a)))
        .collect();
    let expected: BTreeSet<(String, String, String)> = EXPECTED
        .iter()
        .map(|(m, p, w)| (m.to_string(), p.to_string(), w.to_string()))
        .collect();
    let missing: Vec<_> = actual.difference(&expected).collect();
    let stale: Vec<_> = expected.difference(&actual).collect();
    assert!(
        missing.is_empty(),
        "routes whose access differs from, or is missing in, the table: {missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "entries in the table the router does not have: {stale:#?}"
    );
}

/// A fresh, fully signed-in session for the user (inserted directly: the matrix is about the
/// guard, not the sign-in form, and a fresh session per call survives routes like sign-out).
async fn session_client(app: &TestApp, user_id: i64) -> (Client, String) {
    let token = caremarket::web::random_hex(32);
    let csrf = caremarket::web::random_hex(16);
    let now = app.state.clock.now();
    app.db()
        .q()
        .execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, mfa_passed, created_at, last_seen_at) VALUES ($1, $2, $3, TRUE, $4, $5)",
            caremarket::args![token_hash(&token), user_id, &csrf, now, now],
        )
        .await
        .unwrap();
    let c = app.client();
    c.cookies.lock().unwrap().insert("cm_session".into(), token);
    (c, csrf)
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Allowed,
    SentToSignIn,
    Refused,
}

async fn call(
    c: &Client,
    csrf: &str,
    method: &Method,
    path: &str,
) -> (Outcome, StatusCode, String) {
    let api = path.starts_with("/api/");
    let r = match *method {
        Method::GET => c.get(path).await,
        _ if api => {
            c.request(
                method.clone(),
                path,
                Some("application/json"),
                "{}".into(),
                &[("x-csrf-token", csrf)],
            )
            .await
        }
        _ => {
            c.request(
                method.clone(),
                path,
                Some("application/x-www-form-urlencoded"),
                form_body(&[("csrf_token", csrf)]),
                &[],
            )
            .await
        }
    };
    let outcome = match r.status {
        StatusCode::UNAUTHORIZED => Outcome::SentToSignIn,
        StatusCode::SEE_OTHER if r.location().starts_with("/sign-in?next=") => {
            Outcome::SentToSignIn
        }
        StatusCode::FORBIDDEN => Outcome::Refused,
        _ => Outcome::Allowed,
    };
    (outcome, r.status, r.body)
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    let app = TestApp::new().await;
    let mut users = Vec::new();
    for role in Role::ALL {
        let provider = (role == Role::Provider).then_some("1-101641521");
        let (id, _) = app
            .user(
                &format!("{}-{}@matrix.test", role.as_str(), random_name()),
                role,
                provider,
            )
            .await;
        users.push((role, id));
    }
    let (victim, _) = app.user("victim@matrix.test", Role::Viewer, None).await;
    let area = caremarket::admin::areas::add(
        &app.state,
        &caremarket::audit::Actor::cli("t"),
        "Leeds",
        "E08000035",
    )
    .await
    .unwrap();

    let mut failures = Vec::new();
    for (m, p, who) in EXPECTED {
        let method: Method = m.parse().unwrap();
        let path = p
            .replace(
                "{id}",
                &if p.contains("/areas/") {
                    area.id
                } else {
                    victim
                }
                .to_string(),
            )
            .replace("{token}", "0000");
        // Signed out.
        let anon = app.client();
        let anon_csrf = anon.csrf().await;
        let (o, status, _) = call(&anon, &anon_csrf, &method, &path).await;
        let want = if *who == "public" {
            Outcome::Allowed
        } else {
            Outcome::SentToSignIn
        };
        if o != want {
            failures.push(format!(
                "{m} {p} signed out: got {o:?} ({status}), want {want:?}"
            ));
        }
        for (role, id) in &users {
            let (c, csrf) = session_client(&app, *id).await;
            let (o, status, body) = call(&c, &csrf, &method, &path).await;
            let allowed = matches!(*who, "public" | "second_factor" | "signed_in")
                || who.split('+').any(|w| w == role.as_str());
            let want = if allowed {
                Outcome::Allowed
            } else {
                Outcome::Refused
            };
            if o != want {
                failures.push(format!(
                    "{m} {p} as {role}: got {o:?} ({status}), want {want:?}: {}",
                    &body[..body.len().min(200)]
                ));
            }
            if status.is_server_error() {
                failures.push(format!("{m} {p} as {role}: server error {status}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_provider_user_cannot_touch_another_providers_user_rows() {
    let app = TestApp::new().await;
    let (a, _) = app
        .user("staff@provider-a.test", Role::Provider, Some("1-101641521"))
        .await;
    let (b, _) = app
        .user("staff@provider-b.test", Role::Provider, Some("1-102643046"))
        .await;
    let (ca, csrf_a) = session_client(&app, a).await;
    let (cb, csrf_b) = session_client(&app, b).await;
    let _ = csrf_a;
    let created = cb
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some("application/json"),
            r#"{"name":"b's token"}"#.into(),
            &[("x-csrf-token", &csrf_b)],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_i64().unwrap();
    let secret = created.json()["secret"].as_str().unwrap().to_string();
    // A cannot see or revoke B's token, through the API or the page.
    let list = ca.get("/api/v1/tokens").await.json();
    assert_eq!(list.as_array().unwrap().len(), 0);
    let csrf_a = ca.csrf().await;
    let r = ca
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            String::new(),
            &[("x-csrf-token", &csrf_a)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ca
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nothing changed: B's token still works and is not revoked.
    assert_eq!(
        app.client()
            .with_bearer(&secret)
            .get("/api/v1/me")
            .await
            .json()["provider_id"],
        "1-102643046"
    );
    let revoked: Option<chrono::DateTime<chrono::Utc>> = app
        .db()
        .q()
        .scalar(
            "SELECT revoked_at FROM api_tokens WHERE id = $1",
            caremarket::args![id],
        )
        .await
        .unwrap();
    assert!(revoked.is_none());
    // A provider cannot use the admin API either, even with an extra "role" field.
    let r = ca
        .post_json(
            "/api/v1/users",
            serde_json::json!({"email": "x@y.test", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

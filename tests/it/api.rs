//! The JSON API: its OpenAPI document covers every route, and errors are problem+json.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::support::TestApp;

#[tokio::test]
async fn the_openapi_document_lists_every_api_route() {
    let app = TestApp::new().await;
    let r = app.client().get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path, _) in caremarket::app::route_table() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Each capability brings its own part of the document: every tag is described once,
    // and every schema a part refers to is in the merged components.
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{t}"
            );
            t["name"].as_str().unwrap()
        })
        .collect();
    let mut sorted = tags.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), tags.len(), "{tags:?}");
    for t in [
        "accounts",
        "admin",
        "cqc",
        "market",
        "quality",
        "capacity",
        "sufficiency",
        "cost_of_care",
        "brokerage",
    ] {
        assert!(tags.contains(&t), "tag {t} in {tags:?}");
    }
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => refs(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect(&r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in the document"
        );
    }
}

#[tokio::test]
async fn api_errors_are_problem_json() {
    let app = TestApp::new().await;
    let anon = app.client();
    let r = anon.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.json()["status"], 401);
    assert!(r.json()["request_id"].is_string());
    let r = anon.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.content_type(), "application/problem+json");

    let (admin, _) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_json("/api/v1/users", serde_json::json!({"email": "x@y.test"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = admin
        .post_json(
            "/api/v1/users",
            serde_json::json!({"email": "x@y.test", "role": "superuser"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("unknown role")
    );
    let r = admin
        .post_json(
            "/api/v1/users",
            serde_json::json!({"email": "p@y.test", "role": "provider"}),
        )
        .await;
    assert!(r.json()["detail"].as_str().unwrap().contains("provider_id"));
    let r = admin.post_json("/api/v1/users", serde_json::json!({"email": "p@y.test", "role": "provider", "provider_id": "1-101641521"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(
        r.json()["invitation_link"]
            .as_str()
            .unwrap()
            .contains("/set-password/")
    );
    let users = admin.get("/api/v1/users").await.json();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "p@y.test" && u["status"] == "invited")
    );

    // Pages get an HTML error page in the service's style instead.
    let r = admin.get("/no-such-page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Page not found") && r.body.contains("govuk-header"));
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let r = viewer.get("/admin/users").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("You do not have access"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let c = app.client();
    assert_eq!(c.get("/healthz").await.body, "ok");
    assert_eq!(c.get("/readyz").await.body, "ready");
    let r = c.get("/sign-in").await;
    assert!(r.headers.get("x-request-id").is_some());
    assert!(
        r.headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    app.state.db.close().await;
    assert_eq!(
        c.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

//! Test support: an app with its own fresh database on the engine named by
//! `CAREMARKET_TEST_ENGINE` (sqlite, the default, or postgres), a manual clock, and clients
//! that keep cookies and CSRF tokens like a browser does.

#![allow(dead_code)]

pub mod fake_cqc;
pub mod served;
pub mod sheets;
pub mod smtp;
pub mod webdriver;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use caremarket::accounts::{self, NewAccount};
use caremarket::audit::Actor;
use caremarket::clock::ManualClock;
use caremarket::config::Config;
use caremarket::db::{Db, Engine};
use caremarket::{AppState, app};
use caremarket_core::Role;
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub fn engine() -> Engine {
    match std::env::var("CAREMARKET_TEST_ENGINE").as_deref() {
        Ok("postgres") | Ok("pg") => Engine::Postgres,
        _ => Engine::Sqlite,
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("CAREMARKET_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn random_name() -> String {
    caremarket::web::random_hex(6)
}

/// A fresh, empty database on the engine under test; removed when dropped.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    None,
    File(std::path::PathBuf),
    Pg(String),
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::new_on(engine()).await
    }

    pub async fn new_on(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join("caremarket-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("t{}.db", random_name()));
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::File(path),
                }
            }
            Engine::Postgres => {
                let name = format!("cm_test_{}", random_name());
                let admin = Db::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL for tests");
                admin
                    .q()
                    .execute(&format!("CREATE DATABASE {name}"), vec![])
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = pg_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => panic!("bad PG URL"),
                };
                TestDb {
                    url,
                    cleanup: Cleanup::Pg(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::None => {}
            Cleanup::File(p) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Cleanup::Pg(name) => {
                let name = name.clone();
                // Drop runs outside async: use a small runtime on its own thread.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(admin) = Db::connect(&pg_admin_url()).await {
                            let _ = admin
                                .q()
                                .execute(
                                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                                    vec![],
                                )
                                .await;
                            admin.close().await;
                        }
                    })
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub state: AppState,
    pub router: axum::Router,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(Config::for_tests()).await
    }

    pub async fn with_config(config: Config) -> TestApp {
        Self::build(TestDb::new().await, config).await
    }

    /// An app on a given engine, whatever the run's engine (for tests that cross engines).
    pub async fn on(engine: Engine) -> TestApp {
        Self::build(TestDb::new_on(engine).await, Config::for_tests()).await
    }

    /// An app over a database that already exists (not removed afterwards by this app).
    pub async fn on_existing(url: &str) -> TestApp {
        let tdb = TestDb {
            url: url.to_string(),
            cleanup: Cleanup::None,
        };
        Self::build(tdb, Config::for_tests()).await
    }

    async fn build(tdb: TestDb, config: Config) -> TestApp {
        let db = Db::connect(&tdb.url).await.expect("connect");
        caremarket::db::migrate(&db).await.expect("migrate");
        let clock = ManualClock::new(chrono::Utc::now());
        let state = AppState::new(db, config, clock.clone())
            .await
            .expect("state");
        let router = app::router(state.clone());
        TestApp {
            state,
            router,
            clock,
            db: tdb,
        }
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// A new API token for a user (the service's default lifetime).
    pub async fn token(&self, user_id: i64) -> String {
        accounts::tokens::create(
            &self.state,
            &Actor::cli("test"),
            user_id,
            &accounts::tokens::NewToken::named("test"),
        )
        .await
        .expect("token")
        .1
    }

    /// Creates a user with a known password, straight through the accounts area.
    pub async fn user(&self, email: &str, role: Role, provider_id: Option<&str>) -> (i64, String) {
        let pw = format!("correct horse {}", random_name());
        let id = accounts::create_with_password(
            &self.state,
            &Actor::cli("test"),
            &NewAccount {
                email: email.into(),
                display_name: String::new(),
                role,
                provider_id: provider_id.map(str::to_string),
            },
            &pw,
        )
        .await
        .expect("create user");
        (id, pw)
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: Arc::new(Mutex::new(HashMap::new())),
            headers: HeaderMap::new(),
        }
    }

    /// A client signed in as a new user of this role (two-factor set up where the role needs
    /// it, exactly as a person would).
    pub async fn signed_in(&self, role: Role) -> (Client, i64) {
        let email = format!("{}-{}@council.test", role.as_str(), random_name());
        let provider = (role == Role::Provider).then_some("1-101641521");
        let (id, pw) = self.user(&email, role, provider).await;
        let c = self.client();
        c.sign_in(&email, &pw, self).await;
        (c, id)
    }

    /// A new app with the bundled Devon and Plymouth CQC API records loaded (421 care homes).
    pub async fn with_api_records() -> TestApp {
        let app = TestApp::new().await;
        let bytes = std::fs::read(crate::cqc::api_path()).unwrap();
        caremarket::cqc::import_file(
            &app.state,
            &Actor::cli("test"),
            caremarket::cqc::Kind::ApiRecords,
            "api.jsonl",
            &bytes,
            &Default::default(),
        )
        .await
        .unwrap();
        app
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.db()
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM {table}"), vec![])
            .await
            .unwrap()
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        let rows: Vec<(String,)> = self
            .db()
            .q()
            .fetch_all("SELECT action FROM audit_log ORDER BY id", vec![])
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0).collect()
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser-like client: keeps cookies, sends the CSRF token with forms.
#[derive(Clone)]
pub struct Client {
    router: axum::Router,
    pub cookies: Arc<Mutex<HashMap<String, String>>>,
    pub headers: HeaderMap,
}

pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[i + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// An attribute value as a browser reads it: askama writes `&` in an href as `&amp;` or `&#38;`.
pub fn attr_decoded(value: &str) -> String {
    value.replace("&amp;", "&").replace("&#38;", "&")
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

impl Client {
    pub fn with_bearer(&self, token: &str) -> Client {
        let mut c = Client {
            router: self.router.clone(),
            cookies: Arc::new(Mutex::new(HashMap::new())),
            headers: self.headers.clone(),
        };
        c.headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        c
    }

    /// The same client sending one more header on every request (say an `X-Forwarded-For`
    /// behind a trusted proxy, to come from another address).
    pub fn with_header(&self, name: &'static str, value: &str) -> Client {
        let mut c = Client {
            router: self.router.clone(),
            cookies: Arc::new(Mutex::new(HashMap::new())),
            headers: self.headers.clone(),
        };
        c.headers.insert(name, value.parse().unwrap());
        c
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: String,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in self.headers.iter() {
            b = b.header(k, v);
        }
        let cookie = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie);
        }
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let res = self
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for sc in headers.get_all(header::SET_COOKIE) {
            let s = sc.to_str().unwrap();
            let (kv, attrs) = s.split_once(';').unwrap_or((s, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(k);
            } else {
                self.cookies
                    .lock()
                    .unwrap()
                    .insert(k.to_string(), v.to_string());
            }
        }
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    /// A GET whose body is kept as bytes (downloads such as XLSX).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let mut b = Request::builder().method(Method::GET).uri(path);
        for (k, v) in self.headers.iter() {
            b = b.header(k, v);
        }
        let cookie = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie);
        }
        let res = self
            .router
            .clone()
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap().to_bytes().to_vec()
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None, String::new(), &[])
            .await
    }

    /// The CSRF token a page would carry right now.
    pub async fn csrf(&self) -> String {
        let page = self.get("/accessibility").await;
        csrf_in(&page.body)
            .or_else(|| self.cookie("cm_csrf"))
            .expect("a CSRF token on the page or in the cookie")
    }

    /// Posts a form as a browser would, with the page's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.request(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            form_body(&all),
            &[],
        )
        .await
    }

    /// Posts without any CSRF token (what a forged cross-site form would do).
    pub async fn post_form_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.request(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            form_body(fields),
            &[],
        )
        .await
    }

    /// A signed-in browser's file upload: a multipart form with the CSRF token, the `fields`
    /// and one text file as `file`.
    pub async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        content: &str,
    ) -> Resp {
        let csrf = self.csrf().await;
        let b = "BoUnDaRy";
        let mut body = String::new();
        for (k, v) in std::iter::once(("csrf_token", csrf.as_str())).chain(fields.iter().copied()) {
            body.push_str(&format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n--{b}--\r\n"
        ));
        self.request(
            Method::POST,
            path,
            Some(&format!("multipart/form-data; boundary={b}")),
            body,
            &[],
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> Resp {
        let csrf = if self.headers.contains_key(header::AUTHORIZATION) {
            String::new()
        } else {
            self.csrf().await
        };
        self.request(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
            &[("x-csrf-token", &csrf)],
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        let csrf = if self.headers.contains_key(header::AUTHORIZATION) {
            String::new()
        } else {
            self.csrf().await
        };
        self.request(
            Method::DELETE,
            path,
            None,
            String::new(),
            &[("x-csrf-token", &csrf)],
        )
        .await
    }

    /// Signs in through the form, and sets up or answers the second factor when asked.
    pub async fn sign_in(&self, email: &str, password: &str, app: &TestApp) -> Resp {
        self.get("/sign-in").await;
        let r = self
            .post_form("/sign-in", &[("email", email), ("password", password)])
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            r.body
        );
        match r.location() {
            "/account/two-factor/set-up" => {
                let page = self.get("/account/two-factor/set-up").await;
                let secret = secret_in(&page.body);
                let code = format!(
                    "{:06}",
                    accounts::totp::current_code(&secret, app.clock.now_utc()).unwrap()
                );
                let done = self
                    .post_form("/account/two-factor/set-up", &[("code", &code)])
                    .await;
                assert_eq!(
                    done.status,
                    StatusCode::OK,
                    "TOTP set-up failed: {}",
                    done.body
                );
                done
            }
            _ => r,
        }
    }
}

pub fn secret_in(html: &str) -> String {
    let i = html
        .find("data-secret=\"")
        .expect("TOTP secret on the page");
    let rest = &html[i + 13..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub trait ClockExt {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockExt for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        use caremarket::clock::Clock;
        self.now()
    }
}

/// Runs one of tests/it/scripts (the independent counts, written with nothing of
/// caremarket's) and reads the JSON it prints.
pub fn script_json(script: &str, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg(format!(
            "{}/tests/it/scripts/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(args)
        .output()
        .expect("python3 runs the independent script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

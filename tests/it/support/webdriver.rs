//! A small async W3C WebDriver client for the browser integration tests.
//!
//! It drives Debian's headless Chromium through `chromedriver`, speaking the
//! W3C WebDriver protocol (JSON over HTTP/1.1) with hyper, so the tests need
//! no extra crates (no fantoccini/thirtyfour/reqwest).
//!
//! ```ignore
//! if !webdriver::available() { eprintln!("skipping: no chromium"); return; }
//! let b = webdriver::Browser::start().await?;
//! b.goto(&format!("{base}/login")).await?;
//! b.fill("#email", "a@example.org").await?;
//! b.click("button[type=submit]").await?;
//! assert!(b.find("h1").await?.text().await?.contains("Dashboard"));
//! assert_eq!(b.axe_check().await?, Vec::<String>::new());
//! b.close().await?;
//! ```
//!
//! Binaries: `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian packages
//! `chromium-driver` and `chromium`), overridable with the environment
//! variables `CHROMEDRIVER` and `CHROMIUM`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// The W3C key under which an element reference travels in JSON.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// axe-core, vendored (see tests/it/vendor/README.md).
const AXE_JS: &str = include_str!("../vendor/axe.min.js");

/// Tags passed to `axe.run` by [`Browser::axe_check`].
pub const AXE_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// Timeout for a single WebDriver HTTP command (page loads and scripts have
/// their own, shorter, WebDriver timeouts set in the session capabilities).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long chromedriver may take to answer `/status` with `ready: true`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// True when both chromedriver and chromium exist, so browser tests can run.
/// Tests should skip (not fail) when this is false.
pub fn available() -> bool {
    chromedriver_path().is_file() && chromium_path().is_file()
}

/// Cheap "did the page actually render something" check on a screenshot,
/// without decoding it (no image crates).
///
/// Heuristic: the data must start with the PNG signature and an IHDR chunk,
/// and the file must be larger than 3 KiB **and** larger than one byte per
/// 170 pixels (width and height read from IHDR). PNG pixel data is
/// deflate-compressed, so the file size tracks how much is drawn. Measured
/// with Chromium 156, viewport 1280x881 (what `--window-size=1280,1024`
/// gives in new headless mode): an empty white page is 5.2 KB (about one
/// byte per 218 px), a solid-colour page about the same; one `<h1>` is
/// 7.9 KB, a one-line message 9.7 KB, a small form 13 KB; the threshold
/// here is 6.6 KB. So this catches the "white screen" / nothing-rendered /
/// crashed-renderer case, but a page showing only a word or two, or a tiny
/// box, also counts as blank; and it can not tell whether the *right*
/// content is shown — assert on the DOM for that.
pub fn png_looks_nonblank(png: &[u8]) -> bool {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 33 || !png.starts_with(SIG) || &png[12..16] != b"IHDR" {
        return false;
    }
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]) as u64;
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]) as u64;
    let len = png.len() as u64;
    len > 3 * 1024 && len > w * h / 170
}

/// Decode standard (RFC 4648) base64, ignoring whitespace.
fn base64_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in s.as_bytes() {
        if c == b'=' {
            break;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        let v = val(c).ok_or_else(|| anyhow!("invalid base64 byte {c:#04x}"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Percent-encode one URL path segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Quote a string as a CSS string literal (for attribute selectors).
pub fn css_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\a "),
            '\r' => out.push_str("\\d "),
            '\0' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn unique_temp_dir() -> anyhow::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "caremarket-webdriver-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding a free port")?;
    Ok(l.local_addr()?.port())
}

fn tail(path: &std::path::Path, max: usize) -> String {
    let s = std::fs::read(path).unwrap_or_default();
    let start = s.len().saturating_sub(max);
    String::from_utf8_lossy(&s[start..]).into_owned()
}

/// Turn a WebDriver message into something short enough for a test failure.
fn short_message(code: &str, msg: &str) -> String {
    // chromedriver appends "\n  (Session info: chrome=...)" and starts the
    // message with the error code again.
    let msg = msg.split("\n  (Session info").next().unwrap_or(msg).trim();
    let msg = msg
        .strip_prefix(code)
        .and_then(|m| m.strip_prefix(':'))
        .unwrap_or(msg)
        .trim();
    if msg.len() > 1500 {
        let mut end = 1500;
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &msg[..end])
    } else {
        msg.to_string()
    }
}

/// The HTTP side of a session: cheap to clone, shared by `Browser` and every
/// `Element`.
#[derive(Clone)]
struct Wd {
    client: Client<HttpConnector, Full<Bytes>>,
    /// e.g. `http://127.0.0.1:9515`
    base: String,
    /// e.g. `http://127.0.0.1:9515/session/<id>` once a session exists.
    session: String,
}

impl Wd {
    /// Send one command; returns the `value` member of the reply, or an error
    /// carrying the WebDriver error code and message.
    async fn raw(&self, method: &str, url: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let what = format!(
            "WebDriver {method} {}",
            url.strip_prefix(&self.base).unwrap_or(url)
        );
        let bytes = match &body {
            Some(v) => Bytes::from(serde_json::to_vec(v)?),
            None => Bytes::new(),
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/json");
        if body.is_some() {
            req = req.header("content-type", "application/json; charset=utf-8");
        }
        let req = req.body(Full::new(bytes)).with_context(|| what.clone())?;
        let fut = async {
            let resp = self.client.request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(COMMAND_TIMEOUT, fut)
            .await
            .map_err(|_| anyhow!("{what}: no answer within {COMMAND_TIMEOUT:?}"))?
            .with_context(|| what.clone())?;
        let json: Value = serde_json::from_slice(&body).map_err(|e| {
            anyhow!(
                "{what}: HTTP {status}, reply is not JSON ({e}): {}",
                String::from_utf8_lossy(&body[..body.len().min(500)])
            )
        })?;
        let value = json.get("value").cloned().unwrap_or(Value::Null);
        if let Some(err) = value.get("error").and_then(Value::as_str) {
            let msg = value.get("message").and_then(Value::as_str).unwrap_or("");
            bail!("{what}: {err}: {}", short_message(err, msg));
        }
        if !status.is_success() {
            bail!("{what}: HTTP {status}: {json}");
        }
        Ok(value)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.raw("GET", &format!("{}{path}", self.session), None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.raw("POST", &format!("{}{path}", self.session), Some(body))
            .await
    }

    fn element_from(&self, v: &Value, what: &str) -> anyhow::Result<Element> {
        let id = v
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{what}: reply is not an element reference: {v}"))?;
        Ok(Element {
            wd: self.clone(),
            id: id.to_string(),
            css: what.to_string(),
        })
    }

    async fn find_from(&self, prefix: &str, css: &str) -> anyhow::Result<Element> {
        let v = self
            .post(
                &format!("{prefix}/element"),
                json!({"using": "css selector", "value": css}),
            )
            .await
            .with_context(|| format!("finding `{css}`"))?;
        self.element_from(&v, css)
    }

    async fn find_all_from(&self, prefix: &str, css: &str) -> anyhow::Result<Vec<Element>> {
        let v = self
            .post(
                &format!("{prefix}/elements"),
                json!({"using": "css selector", "value": css}),
            )
            .await
            .with_context(|| format!("finding all `{css}`"))?;
        v.as_array()
            .ok_or_else(|| anyhow!("finding all `{css}`: reply is not a list: {v}"))?
            .iter()
            .map(|e| self.element_from(e, css))
            .collect()
    }
}

/// A headless Chromium driven through its own chromedriver process.
///
/// Call [`Browser::close`] at the end of a test to end the session cleanly;
/// dropping a `Browser` without it still ends the session (with a short
/// blocking request) and kills chromedriver.
pub struct Browser {
    wd: Wd,
    port: u16,
    session_id: String,
    driver: Child,
    temp_dir: PathBuf,
    closed: bool,
}

impl Browser {
    /// Start chromedriver on a free loopback port and open a headless
    /// Chromium session with a fresh profile.
    pub async fn start() -> anyhow::Result<Browser> {
        // Picking a free port and handing it to chromedriver is racy (another
        // process may grab it in between): retry a few times.
        let mut last_err = None;
        for _ in 0..3 {
            match Self::start_once().await {
                Ok(b) => return Ok(b),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap())
    }

    async fn start_once() -> anyhow::Result<Browser> {
        let driver_bin = chromedriver_path();
        let chromium_bin = chromium_path();
        if !driver_bin.is_file() {
            bail!(
                "chromedriver not found at {} (set CHROMEDRIVER)",
                driver_bin.display()
            );
        }
        if !chromium_bin.is_file() {
            bail!(
                "chromium not found at {} (set CHROMIUM)",
                chromium_bin.display()
            );
        }
        let temp_dir = unique_temp_dir()?;
        let profile = temp_dir.join("profile");
        std::fs::create_dir_all(&profile)?;
        let log_path = temp_dir.join("chromedriver.log");
        let log = std::fs::File::create(&log_path)?;
        let port = free_port()?;
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", driver_bin.display()))?;

        let base = format!("http://127.0.0.1:{port}");
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build_http();
        let mut browser = Browser {
            wd: Wd {
                client,
                base: base.clone(),
                session: String::new(),
            },
            port,
            session_id: String::new(),
            driver,
            temp_dir,
            // Nothing to delete until the session exists.
            closed: true,
        };

        // Wait for chromedriver to be ready.
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(st) = browser.driver.try_wait()? {
                bail!(
                    "chromedriver exited early ({st}) on port {port}: {}",
                    tail(&log_path, 2000)
                );
            }
            let status = browser.wd.raw("GET", &format!("{base}/status"), None).await;
            if let Ok(v) = &status
                && v.get("ready").and_then(Value::as_bool) == Some(true)
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver on port {port} not ready after {STARTUP_TIMEOUT:?} \
                     (last status: {status:?}); log: {}",
                    tail(&log_path, 2000)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--window-size=1280,1024".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {"implicit": 0, "pageLoad": 60_000, "script": 60_000},
                    "goog:chromeOptions": {
                        "binary": chromium_bin.to_string_lossy(),
                        "args": args,
                    }
                }
            }
        });
        let v = browser
            .wd
            .raw("POST", &format!("{base}/session"), Some(caps))
            .await
            .with_context(|| {
                format!(
                    "creating a Chromium session; chromedriver log: {}",
                    tail(&log_path, 2000)
                )
            })?;
        let id = v
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("new session reply has no sessionId: {v}"))?
            .to_string();
        browser.wd.session = format!("{base}/session/{id}");
        browser.session_id = id;
        browser.closed = false;
        Ok(browser)
    }

    /// End the session (Chromium quits), then stop chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let r = if self.closed {
            Ok(Value::Null)
        } else {
            self.wd.raw("DELETE", &self.wd.session.clone(), None).await
        };
        self.closed = true;
        // Drop kills chromedriver and removes the temp dir.
        r.map(|_| ())
    }

    /// The WebDriver session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Navigate and wait for the page load to complete.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.wd
            .post("/url", json!({"url": url}))
            .await
            .with_context(|| format!("navigating to {url}"))?;
        Ok(())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        value_string(self.wd.get("/url").await?, "current url")
    }

    pub async fn title(&self) -> anyhow::Result<String> {
        value_string(self.wd.get("/title").await?, "title")
    }

    /// The current DOM serialised as HTML.
    pub async fn source(&self) -> anyhow::Result<String> {
        value_string(self.wd.get("/source").await?, "page source")
    }

    pub async fn back(&self) -> anyhow::Result<()> {
        self.wd.post("/back", json!({})).await.map(|_| ())
    }

    pub async fn refresh(&self) -> anyhow::Result<()> {
        self.wd.post("/refresh", json!({})).await.map(|_| ())
    }

    /// The first element matching a CSS selector; an error if there is none.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.wd.find_from("", css).await
    }

    /// All elements matching a CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        self.wd.find_all_from("", css).await
    }

    /// Poll until an element matching `css` exists, up to `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Ok(e) => return Ok(e),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("waited {timeout:?} for `{css}`")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Clear a form field and type `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        el.clear().await?;
        el.send_keys(text).await
    }

    /// Click the first element matching `css` (waits for a navigation it
    /// starts to finish, as chromedriver does for clicks).
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css).await?.click().await
    }

    /// Choose the `<option value=value>` of the `<select>` matching
    /// `css_select`, by clicking the option as a user would (this fires
    /// `input` and `change`), then checks the select's value took it.
    pub async fn select_by_value(&self, css_select: &str, value: &str) -> anyhow::Result<()> {
        let select = self.find(css_select).await?;
        let option_css = format!("option[value={}]", css_string(value));
        let option = self
            .wd
            .find_from(&format!("/element/{}", select.id), &option_css)
            .await
            .with_context(|| format!("no option with value {value:?} in `{css_select}`"))?;
        option
            .click()
            .await
            .with_context(|| format!("selecting {value:?} in `{css_select}`"))?;
        let now = self
            .execute("return arguments[0].value;", vec![select.to_json()])
            .await?;
        if now.as_str() != Some(value) {
            bail!("selecting {value:?} in `{css_select}`: select's value is {now} afterwards");
        }
        Ok(())
    }

    /// Run `script` as the body of a function (`arguments` holds `args`;
    /// elements may be passed with [`Element::to_json`]) and return what it
    /// returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.wd
            .post("/execute/sync", json!({"script": script, "args": args}))
            .await
            .context("executing script")
    }

    /// Like [`execute`](Self::execute), but the script finishes by calling
    /// its last argument (`arguments[arguments.length - 1]`) with the result.
    /// Times out after the session's script timeout (60 s).
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.wd
            .post("/execute/async", json!({"script": script, "args": args}))
            .await
            .context("executing async script")
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> anyhow::Result<Vec<u8>> {
        let v = self
            .wd
            .get("/screenshot")
            .await
            .context("taking a screenshot")?;
        let b64 = v
            .as_str()
            .ok_or_else(|| anyhow!("screenshot reply is not a string"))?;
        base64_decode(b64).context("decoding the screenshot")
    }

    /// Run axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on the current page
    /// and return one line per violation of impact "serious" or "critical".
    /// An empty list means the page passed at that level.
    pub async fn axe_check(&self) -> anyhow::Result<Vec<String>> {
        // Inject through WebDriver (not a <script> tag) so a page's
        // Content-Security-Policy does not block it. axe sets `window.axe`.
        self.execute(
            &format!("if (!window.axe) {{\n{AXE_JS}\n}}\nreturn typeof window.axe;"),
            vec![],
        )
        .await
        .context("injecting axe-core")
        .and_then(|v| match v.as_str() {
            Some("object") => Ok(()),
            _ => Err(anyhow!("injecting axe-core: window.axe is {v} afterwards")),
        })?;
        let script = r#"
            var done = arguments[arguments.length - 1];
            var tags = arguments[0];
            window.axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations']
            }).then(function (r) {
                done({ok: true, violations: r.violations.map(function (v) {
                    return {id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                            targets: v.nodes.map(function (n) { return n.target; })};
                })});
            }, function (e) {
                done({ok: false, error: String((e && e.stack) || e)});
            });
        "#;
        let r = self
            .execute_async(script, vec![json!(AXE_TAGS)])
            .await
            .context("running axe-core")?;
        if r.get("ok").and_then(Value::as_bool) != Some(true) {
            bail!("axe.run failed: {}", r.get("error").unwrap_or(&r));
        }
        let mut out = Vec::new();
        for v in r["violations"].as_array().into_iter().flatten() {
            let impact = v["impact"].as_str().unwrap_or("");
            if impact != "serious" && impact != "critical" {
                continue;
            }
            let targets: Vec<String> = v["targets"]
                .as_array()
                .map(|t| t.iter().map(target_string).collect())
                .unwrap_or_default();
            let shown = targets
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if targets.len() > 3 {
                format!(" (+{} more)", targets.len() - 3)
            } else {
                String::new()
            };
            out.push(format!(
                "{} [{}] {} — {}{} <{}>",
                v["id"].as_str().unwrap_or("?"),
                impact,
                v["help"].as_str().unwrap_or(""),
                shown,
                more,
                v["helpUrl"].as_str().unwrap_or(""),
            ));
        }
        Ok(out)
    }
}

/// An axe target is a list of selectors (one per frame / shadow root level),
/// each a string or, inside shadow DOM, a list of strings.
fn target_string(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(target_string)
            .collect::<Vec<_>>()
            .join(" >>> "),
        other => other.to_string(),
    }
}

fn value_string(v: Value, what: &str) -> anyhow::Result<String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(anyhow!("{what}: expected a string, got {other}")),
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // Not closed explicitly (e.g. a test failed): end the session with
            // a blocking request so Chromium does not outlive chromedriver.
            let _ = blocking_delete(self.port, &format!("/session/{}", self.session_id));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.temp_dir);
    }
}

/// A minimal synchronous `DELETE` for use in `Drop` (no runtime needed).
fn blocking_delete(port: u16, path: &str) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        s,
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    Ok(())
}

/// A reference to an element in the current page.
#[derive(Clone)]
pub struct Element {
    wd: Wd,
    id: String,
    /// The selector it was found by, for error messages.
    css: String,
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({:?})", self.css)
    }
}

impl Element {
    fn path(&self, what: &str) -> String {
        format!("/element/{}{what}", self.id)
    }

    /// The W3C JSON reference, to pass the element to `execute`.
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub async fn click(&self) -> anyhow::Result<()> {
        self.wd
            .post(&self.path("/click"), json!({}))
            .await
            .with_context(|| format!("clicking `{}`", self.css))?;
        Ok(())
    }

    /// Type `text` (WebDriver key codes such as "\u{E007}" for Enter work).
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.wd
            .post(&self.path("/value"), json!({"text": text}))
            .await
            .with_context(|| format!("typing into `{}`", self.css))?;
        Ok(())
    }

    pub async fn clear(&self) -> anyhow::Result<()> {
        self.wd
            .post(&self.path("/clear"), json!({}))
            .await
            .with_context(|| format!("clearing `{}`", self.css))?;
        Ok(())
    }

    /// The rendered (visible) text.
    pub async fn text(&self) -> anyhow::Result<String> {
        let v = self
            .wd
            .get(&self.path("/text"))
            .await
            .with_context(|| format!("text of `{}`", self.css))?;
        value_string(v, "element text")
    }

    /// An HTML attribute as written in the markup; `None` if absent. Note
    /// that chromedriver (156) follows the W3C spec here: `attr("value")` of
    /// an input is its *initial* value, not what was typed — use
    /// [`value`](Self::value) or [`prop`](Self::prop) for the live state.
    pub async fn attr(&self, name: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .wd
            .get(&self.path(&format!("/attribute/{}", path_segment(name))))
            .await
            .with_context(|| format!("attribute {name:?} of `{}`", self.css))?;
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }

    /// A DOM property (e.g. `value`, `checked`), as JSON.
    pub async fn prop(&self, name: &str) -> anyhow::Result<Value> {
        self.wd
            .get(&self.path(&format!("/property/{}", path_segment(name))))
            .await
            .with_context(|| format!("property {name:?} of `{}`", self.css))
    }

    /// The live `value` property of an input, select or textarea.
    pub async fn value(&self) -> anyhow::Result<String> {
        match self.prop("value").await? {
            Value::String(s) => Ok(s),
            Value::Null => Ok(String::new()),
            other => Ok(other.to_string()),
        }
    }

    pub async fn is_displayed(&self) -> anyhow::Result<bool> {
        let v = self.wd.get(&self.path("/displayed")).await?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// The first descendant matching `css`.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.wd.find_from(&self.path(""), css).await
    }

    /// All descendants matching `css`.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        self.wd.find_all_from(&self.path(""), css).await
    }
}

//! PDF through headless Chromium, where it is installed (Debian's `chromium`). Where it is
//! not, the caller says so plainly instead of producing something else.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CAREMARKET_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

pub const NO_CHROMIUM: &str = "PDF needs Chromium, which is not installed on this server (on Debian: apt-get install chromium). The HTML report prints to A4 from any browser.";

/// Renders a complete HTML document (with its CSS inline) to an A4 PDF.
pub fn html_to_pdf(html: &str) -> Result<Vec<u8>, String> {
    let bin = chromium().ok_or_else(|| NO_CHROMIUM.to_string())?;
    let dir = std::env::temp_dir().join(format!("caremarket-pdf-{}", crate::web::random_hex(6)));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let input = dir.join("report.html");
    let output = dir.join("report.pdf");
    std::fs::write(&input, html).map_err(|e| e.to_string())?;
    // The flags keep Chromium off the network (none is needed, and none is reachable on a
    // council's locked-down server) and away from any user profile.
    let mut child = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            &format!("--print-to-pdf={}", output.display()),
            &format!("file://{}", input.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("Chromium could not start: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            return Err("Chromium took too long to make the PDF".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pdf = std::fs::read(&output);
    let _ = std::fs::remove_dir_all(&dir);
    match pdf {
        Ok(b) if status.success() && b.starts_with(b"%PDF") => Ok(b),
        _ => Err(format!("Chromium did not produce a PDF ({status})")),
    }
}

/// Serves a complete HTML document as a PDF download. Each PDF starts a Chromium: at most two
/// at a time, whoever asks.
pub async fn respond(html: String, filename: &str) -> crate::Result<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    static PDFS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _permit = PDFS
        .acquire()
        .await
        .map_err(|e| crate::AppError::Internal(anyhow::anyhow!("{e}")))?;
    let pdf = tokio::task::spawn_blocking(move || html_to_pdf(&html))
        .await
        .map_err(|e| crate::AppError::Internal(anyhow::anyhow!("{e}")))?;
    match pdf {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(msg) => Err(crate::AppError::Unavailable(msg)),
    }
}

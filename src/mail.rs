//! Outgoing mail. Every message is first kept as an in-app notification for its user (so
//! nothing depends on mail arriving), then sent through the configured SMTP relay, if any.
//!
//! The SMTP client is deliberately small: plain SMTP to a relay the council runs (EHLO, MAIL,
//! RCPT, DATA). Relays that need STARTTLS or AUTH are not supported yet (README, "Mail").

use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::db::Tx;
use crate::{AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub subject: String,
    pub body: String,
    pub email_status: String,
    pub read_at: Option<DateTime<Utc>>,
}

/// Keeps the message for the user inside the caller's transaction; returns its id, to be
/// passed to [`send_after_commit`] once the transaction has committed.
pub async fn queue(
    tx: &mut Tx,
    user_id: i64,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(tx
        .scalar(
            "INSERT INTO notifications (user_id, created_at, subject, body, email_status) VALUES ($1, $2, $3, $4, 'queued') RETURNING id",
            args![user_id, now, subject, body],
        )
        .await?)
}

/// Sends a kept message by e-mail in the background and records the outcome on it.
pub fn send_after_commit(state: &AppState, notification_id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = deliver(&state, notification_id).await {
            tracing::warn!(notification_id, error = %e, "e-mail not sent");
        }
    });
}

pub async fn deliver(state: &AppState, notification_id: i64) -> anyhow::Result<()> {
    #[derive(sqlx::FromRow)]
    struct Msg {
        email: String,
        subject: String,
        body: String,
    }
    let m: Msg = state
        .db
        .q()
        .fetch_one(
            "SELECT u.email, n.subject, n.body FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1",
            args![notification_id],
        )
        .await?;
    let status = match &state.config.smtp_url {
        None => "in_app_only".to_string(),
        Some(url) => {
            match send_smtp(url, &state.config.mail_from, &m.email, &m.subject, &m.body).await {
                Ok(()) => "sent".to_string(),
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP delivery failed");
                    "failed".to_string()
                }
            }
        }
    };
    state
        .db
        .q()
        .execute(
            "UPDATE notifications SET email_status = $1 WHERE id = $2",
            args![status, notification_id],
        )
        .await?;
    Ok(())
}

fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| anyhow::anyhow!("SMTP URL must look like smtp://host:port"))?;
    let rest = rest.trim_end_matches('/');
    Ok(if rest.contains(':') {
        rest.to_string()
    } else {
        format!("{rest}:25")
    })
}

/// Plain SMTP (RFC 5321) to a relay.
pub async fn send_smtp(
    url: &str,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    let addr = host_port(url)?;
    let fut = async {
        let stream = TcpStream::connect(&addr).await?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        expect(&mut r, 220).await?;
        w.write_all(b"EHLO caremarket\r\n").await?;
        expect(&mut r, 250).await?;
        w.write_all(format!("MAIL FROM:<{from}>\r\n").as_bytes())
            .await?;
        expect(&mut r, 250).await?;
        w.write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .await?;
        expect(&mut r, 250).await?;
        w.write_all(b"DATA\r\n").await?;
        expect(&mut r, 354).await?;
        let date = chrono::Utc::now().to_rfc2822();
        let mut msg = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            subject.replace(['\r', '\n'], " ")
        );
        for line in body.lines() {
            // Dot-stuffing (RFC 5321 §4.5.2).
            if line.starts_with('.') {
                msg.push('.');
            }
            msg.push_str(line);
            msg.push_str("\r\n");
        }
        msg.push_str(".\r\n");
        w.write_all(msg.as_bytes()).await?;
        expect(&mut r, 250).await?;
        w.write_all(b"QUIT\r\n").await?;
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .map_err(|_| anyhow::anyhow!("SMTP relay {addr} timed out"))?
}

async fn expect<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R, code: u16) -> anyhow::Result<()> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            anyhow::bail!("SMTP relay closed the connection");
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if got != code {
            anyhow::bail!("SMTP relay answered {:?}, expected {code}", line.trim_end());
        }
        // "250-..." continues, "250 ..." ends a multi-line reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

pub async fn list_for(state: &AppState, user_id: i64) -> Result<Vec<Notification>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200",
            args![user_id],
        )
        .await?)
}

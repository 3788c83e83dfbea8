//! An SMTP sink on a loopback port: accepts every message and keeps it for the test to read.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub url: String,
    pub inbox: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let inbox2 = inbox.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let inbox = inbox2.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut to = String::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_string();
                        let upper = cmd.to_uppercase();
                        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await;
                        } else if upper.starts_with("RCPT TO:") {
                            to = cmd[8..].trim().trim_matches(['<', '>']).to_string();
                            let _ = w.write_all(b"250 OK\r\n").await;
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 go on\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            inbox.lock().unwrap().push(Mail {
                                to: to.clone(),
                                data,
                            });
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            let _ = w.write_all(b"250 OK\r\n").await;
                        }
                    }
                });
            }
        });
        SmtpSink { url, inbox }
    }

    /// Waits (up to 10 s) for a message to this address and returns it.
    pub async fn wait_for(&self, to: &str, nth: usize) -> Mail {
        for _ in 0..200 {
            let found: Vec<Mail> = self
                .inbox
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.to == to)
                .cloned()
                .collect();
            if found.len() > nth {
                return found[nth].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail #{nth} to {to} arrived");
    }
}

/// The first link to this service in a message.
pub fn link_in(mail: &str) -> String {
    let i = mail.find("http://").expect("a link in the mail");
    mail[i..].split_whitespace().next().unwrap().to_string()
}

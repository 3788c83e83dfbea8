//! `caremarket serve` as its own process on a loopback port, for what only a real server can
//! show: its peak memory (read from /proc), that it still answers after a hostile request,
//! and how it recovers. Requests go over a plain HTTP/1.1 socket.

use std::io::{BufRead, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::TestDb;

pub struct Served {
    child: Child,
    pub addr: String,
}

impl Served {
    /// Starts the server on the database (migrated already, or migrated by the server).
    pub fn start(db: &TestDb, extra_env: &[(&str, &str)]) -> Served {
        Self::start_url(&db.url, extra_env)
    }

    /// The same on a database given by its URL.
    pub fn start_url(url: &str, extra_env: &[(&str, &str)]) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_caremarket"));
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("CAREMARKET_DATABASE_URL", url)
            .env("CAREMARKET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start caremarket serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("caremarket is running at http://") {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(90))
            .expect("the server says where it listens");
        Served { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of /proc/<pid>/status in kB (VmHWM: the peak resident set; VmRSS: now).
    pub fn status_kib(&self, key: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn peak_mib(&self) -> f64 {
        self.status_kib("VmHWM") as f64 / 1024.0
    }

    /// Whether the process is still running (it has not aborted).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// One request; the status and body as text.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("send");
        // The server may answer (413) and close before the whole body is sent.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// A multipart upload with a bearer token (no CSRF needed), `fields` then `file`.
    pub fn upload(
        &self,
        token: &str,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        content: &[u8],
    ) -> (u16, String) {
        let b = "HoStIlEbOuNdArY";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(
                format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend(content);
        body.extend(format!("\r\n--{b}--\r\n").as_bytes());
        let auth = format!("Bearer {token}");
        let ct = format!("multipart/form-data; boundary={b}");
        self.request(
            "POST",
            path,
            &[("Authorization", &auth), ("Content-Type", &ct)],
            &body,
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

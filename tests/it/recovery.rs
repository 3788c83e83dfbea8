//! A server that recovers by itself: from a full disk under SQLite, and from PostgreSQL not
//! being there yet when it starts.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use caremarket_core::Role;

use crate::support::served::Served;
use crate::support::{TestApp, engine};

/// A small tmpfs of our own, unmounted when dropped.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir =
            std::env::temp_dir().join(format!("caremarket-disk-{}", crate::support::random_name()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.flush();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[tokio::test]
async fn sqlite_on_a_full_disk_refuses_writes_clearly_and_recovers_when_space_is_freed() {
    if engine() != caremarket::db::Engine::Sqlite {
        return; // a SQLite file's disk
    }
    let Some(disk) = SmallDisk::mount(8) else {
        println!("SKIPPED sqlite_on_a_full_disk: cannot mount a tmpfs here (not root?)");
        return;
    };
    let url = format!("sqlite://{}", disk.dir.join("c.db").display());
    let token = {
        let app = TestApp::on_existing(&url).await;
        let (id, _) = app.user("admin@council.test", Role::Admin, None).await;
        let t = app.token(id).await;
        app.state.db.close().await;
        t
    };
    let mut server = Served::start_url(&url, &[]);
    let auth = format!("Bearer {token}");
    let add = |s: &Served, i: u32| {
        s.request(
            "POST",
            "/api/v1/areas",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            serde_json::json!({"name": format!("Area {i}"), "ons_code": format!("E06{:06}", 500 + i)})
                .to_string()
                .as_bytes(),
        )
    };
    let read = |s: &Served| s.request("GET", "/api/v1/areas", &[("Authorization", &auth)], b"");
    assert_eq!(add(&server, 0).0, 201);
    let filler = disk.fill();
    let mut refused = 0;
    for i in 1..=6 {
        let (status, body) = add(&server, i);
        if status != 201 {
            assert_eq!(status, 503, "{body}");
            assert!(body.contains("run out of disk space"), "{body}");
            refused += 1;
        }
        // Reads go on while nothing can be written.
        assert_eq!(read(&server).0, 200);
    }
    assert!(
        refused >= 5,
        "writes on a full disk were refused: {refused} of 6"
    );
    std::fs::remove_file(filler).unwrap();
    // Space is back: writes work again at once, without a restart.
    let started = Instant::now();
    for i in 10..30 {
        let (status, body) = add(&server, i);
        assert_eq!(status, 201, "write {i} after space was freed: {body}");
        assert_eq!(read(&server).0, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "recovered in {:?}",
        started.elapsed()
    );
    assert!(server.alive());
    drop(server);
}

#[tokio::test]
async fn serve_waits_for_postgres_and_says_why_when_it_never_comes() {
    // Nothing listens on this port: the server waits its time, then says what is wrong.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env(
            "CAREMARKET_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/caremarket"),
        )
        .env("CAREMARKET_DB_WAIT_SECONDS", "2")
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success());
    assert!(
        out.contains(&format!("cannot reach PostgreSQL at 127.0.0.1:{port}"))
            && out.contains("Is it running"),
        "{out}"
    );
    assert!(
        out.contains("trying again"),
        "it said it was waiting: {out}"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));

    // PostgreSQL appearing while it waits (here: a relay to the real one, opened late).
    let relay = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    drop(relay);
    let db = crate::support::TestDb::new_on(caremarket::db::Engine::Postgres).await;
    let pg = url::Url::parse(&db.url).unwrap();
    let (pg_host, pg_port) = (
        pg.host_str().unwrap().to_string(),
        pg.port().unwrap_or(5432),
    );
    let relayed = {
        let mut u = pg.clone();
        u.set_port(Some(relay_port)).unwrap();
        u.to_string()
    };
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let l = std::net::TcpListener::bind(("127.0.0.1", relay_port)).unwrap();
        for c in l.incoming().flatten() {
            let up = std::net::TcpStream::connect((pg_host.as_str(), pg_port)).unwrap();
            let (mut a, mut b) = (c.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut c2, mut up2) = (c, up);
            std::thread::spawn(move || std::io::copy(&mut a, &mut up2));
            std::thread::spawn(move || std::io::copy(&mut b, &mut c2));
        }
    });
    let mut s = Served::start_url(&relayed, &[("CAREMARKET_DB_WAIT_SECONDS", "60")]);
    assert_eq!(s.request("GET", "/readyz", &[], b"").0, 200);
    assert!(s.alive());
}

//! The CLI as a process: users, migrations, serving with graceful shutdown.

use std::process::{Command, Stdio};

use crate::support::TestDb;

fn caremarket(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(args)
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .expect("run caremarket")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn user_commands_create_disable_and_reset() {
    let db = TestDb::new().await;
    let o = caremarket(&db, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = caremarket(
        &db,
        &[
            "user",
            "add",
            "--email",
            "Lead@Leeds.test",
            "--role",
            "commissioner",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("lead@leeds.test") && out.contains("One-time password: "));
    let o = caremarket(
        &db,
        &[
            "user",
            "add",
            "--email",
            "lead@leeds.test",
            "--role",
            "viewer",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"));
    let o = caremarket(
        &db,
        &[
            "user",
            "add",
            "--email",
            "p@care.test",
            "--role",
            "provider",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("provider-id"), "{}", text(&o));
    let o = caremarket(
        &db,
        &["user", "add", "--email", "x@care.test", "--role", "owner"],
    );
    assert!(text(&o).contains("unknown role"));
    let o = caremarket(
        &db,
        &["user", "reset-password", "--email", "lead@leeds.test"],
    );
    assert!(o.status.success() && text(&o).contains("New one-time password"));
    let o = caremarket(&db, &["user", "disable", "--email", "lead@leeds.test"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = caremarket(&db, &["user", "disable", "--email", "nobody@leeds.test"]);
    assert!(!o.status.success() && text(&o).contains("no user"));

    let check = caremarket::db::Db::connect(&db.url).await.unwrap();
    let disabled: bool = check
        .q()
        .scalar(
            "SELECT disabled FROM users WHERE email = 'lead@leeds.test'",
            vec![],
        )
        .await
        .unwrap();
    assert!(disabled);
    let actions: Vec<(String, String)> = check
        .q()
        .fetch_all("SELECT action, actor FROM audit_log ORDER BY id", vec![])
        .await
        .unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        names,
        ["user.create", "user.reset_password", "user.disable"]
    );
    assert!(actions.iter().all(|a| a.1.starts_with("cli:")));
    check.close().await;
}

#[tokio::test]
async fn serve_answers_and_stops_cleanly_on_sigterm() {
    let db = TestDb::new().await;
    // Port 0: the server takes a free port itself and prints where it listens.
    let mut child = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
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
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server says where it listens");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    {
        use std::io::{Read, Write};
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        assert!(
            buf.starts_with("HTTP/1.1 200") && buf.ends_with("ready"),
            "{buf}"
        );
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

/// The quality commands as a process: the contracts register and a file of issues loaded
/// from the command line, and the QA report written as HTML.
#[tokio::test]
async fn contracts_issues_and_the_quality_report_from_the_command_line() {
    let db = TestDb::new().await;
    let o = caremarket(&db, &["import", "api-records", &crate::cqc::api_path()]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = tempfile_dir();
    let contracts = dir.join("register.csv");
    // Two real Devon care homes from the bundled API records: one Good, one Requires
    // improvement.
    std::fs::write(
        &contracts,
        "Location ID,Contract type,Start date\n1-1000587219,Residential,01/04/2019\n1-106875865,Residential,01/04/2019\n",
    )
    .unwrap();
    let o = caremarket(&db, &["import", "contracts", contracts.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 contracts loaded from register.csv"));
    let issues = dir.join("issues.csv");
    std::fs::write(
        &issues,
        "Location ID,Date,Issue,Themes\n1-106875865,01/12/2020,Medicines were not stored safely,\n",
    )
    .unwrap();
    let o = caremarket(&db, &["import", "issues", issues.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the key phrases suggest: Medication")
            && text(&o).contains("--accept-suggestions")
    );
    let o = caremarket(
        &db,
        &[
            "import",
            "issues",
            issues.to_str().unwrap(),
            "--accept-suggestions",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 issues loaded from issues.csv"),
        "{}",
        text(&o)
    );
    let out = dir.join("qa.html");
    let o = caremarket(
        &db,
        &[
            "report",
            "quality",
            "--since",
            "2020-01-01",
            "--as-at",
            "2021-02-01",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    // The register's two homes as CQC rated them on 1 February 2021 (from the API records).
    assert!(
        html.contains("2 contracted providers in force on 1 February 2021"),
        "{html}"
    );
    assert!(
        html.contains("50.0% of those rated by CQC are rated Good or Outstanding"),
        "{html}"
    );
    assert!(html.contains("Medication (1 specific issue)"));
    assert!(html.contains("<style>"), "CSS inline for a file");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("caremarket-cli-{}", crate::support::random_name()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An ONS postcode directory loaded from the command line gives the district centres the
/// brokers' distance search measures from (terminated and coordinate-less rows left out).
#[tokio::test]
async fn postcode_directory_centres_for_the_distance_search() {
    let db = TestDb::new().await;
    let o = caremarket(&db, &["import", "api-records", &crate::cqc::api_path()]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = tempfile_dir();
    let onspd = dir.join("ONSPD_NOV_2026_UK.csv");
    // ONSPD's shape: pcd, pcds, doterm, ..., lat, long. Two live PL6 postcodes, one
    // terminated, one without coordinates (ONS writes 99.999999), one elsewhere.
    std::fs::write(
        &onspd,
        "pcd,pcds,doterm,oscty,lat,long\n\
         PL6 5AA,PL6 5AA,,E06000026,50.400000,-4.100000\n\
         PL6 5AB,PL6 5AB,,E06000026,50.420000,-4.120000\n\
         PL6 9ZZ,PL6 9ZZ,200012,E06000026,51.000000,-3.000000\n\
         PL6 8ZZ,PL6 8ZZ,,E06000026,99.999999,0.000000\n\
         EX1 1AA,EX1 1AA,,E10000008,50.720000,-3.530000\n",
    )
    .unwrap();
    let o = caremarket(&db, &["import", "postcodes", onspd.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "2 postcode districts from 3 live postcodes in ONSPD_NOV_2026_UK.csv (2 rows skipped"
        ),
        "{}",
        text(&o)
    );
    // Manor House, with vacant beds, measured from PL6's directory centre (50.41, -4.11).
    let app = crate::support::TestApp::on_existing(&db.url).await;
    let (_, pw) = app
        .user(
            "m@homes.test",
            caremarket_core::Role::Provider,
            Some("1-101667957"),
        )
        .await;
    let p = app.client();
    p.sign_in("m@homes.test", &pw, &app).await;
    let csrf = p.csrf().await;
    let r = p
        .request(
            axum::http::Method::PUT,
            "/api/v1/capacity/homes/1-131732334",
            Some("application/json"),
            serde_json::json!({"version": 0, "figures": [{"bed_type": "residential", "capacity": 30, "occupied": 29, "vacant": 1, "reserved": 0, "closed": 0}]}).to_string(),
            &[("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    let (b, _) = app.signed_in(caremarket_core::Role::Broker).await;
    let hits = b.get("/api/v1/capacity/search?district=PL6").await.json();
    let d = hits["hits"][0]["distance_km"].as_f64().unwrap();
    // Independently: haversine from (50.41, -4.11) to Manor House (50.419069, -4.124924).
    let (la1, lo1, la2, lo2) = (
        50.41f64.to_radians(),
        -4.11f64,
        50.419069f64.to_radians(),
        -4.124924f64,
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1).to_radians() / 2.0).sin().powi(2);
    let want = 2.0 * 6371.0 * h.sqrt().asin();
    assert!((d - want).abs() < 0.001, "{d} vs {want}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// ONS population estimates from the command line (the year from the file name), then the
/// sufficiency report for Leeds as a file.
#[tokio::test]
async fn population_and_the_sufficiency_report_from_the_command_line() {
    let db = TestDb::new().await;
    let path = crate::sufficiency::ons_path();
    let o = caremarket(&db, &["import", "population", &path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Mid-2020 population estimates for 420 areas loaded"),
        "{}",
        text(&o)
    );
    let dir = tempfile_dir();
    let renamed = dir.join("population.csv.gz");
    std::fs::copy(&path, &renamed).unwrap();
    let o = caremarket(&db, &["import", "population", renamed.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("say which year"), "{}", text(&o));
    let out = dir.join("sufficiency.html");
    let o = caremarket(
        &db,
        &[
            "report",
            "sufficiency",
            "--council",
            "Leeds",
            "--to",
            "2030",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("ONS estimates 123784 people aged 65 and over in Leeds in mid-2020, of whom 57254 were 75 or over and 16280 were 85 or over"),
        "{html}"
    );
    assert!(html.contains("<style>"), "CSS inline for a file");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The benchmark's file generator refuses an output path that looks like an option and
/// writes nothing (a mistyped `--help` once left a 41 MB file of that name in the tree).
#[test]
fn the_benchmark_generator_refuses_an_option_as_its_output() {
    let dir = std::env::temp_dir().join(format!("gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gen_ = format!(
        "{}/scripts/bench/gen_directory.py",
        env!("CARGO_MANIFEST_DIR")
    );
    for (arg, ok) in [
        ("--help", true),
        ("-h", true),
        ("--rows", false),
        ("-", false),
    ] {
        let o = Command::new("python3")
            .arg(&gen_)
            .arg(arg)
            .arg("10")
            .current_dir(&dir)
            .output()
            .expect("python3");
        assert_eq!(o.status.success(), ok, "{arg}: {}", text(&o));
        assert!(
            text(&o).contains("usage: gen_directory.py OUT.csv"),
            "{arg}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
    // And a real path is written.
    let o = Command::new("python3")
        .arg(&gen_)
        .args(["out.csv", "10"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11, "a header and ten rows");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// No two top-level modules depend on each other, however indirectly (scripts/module-cycles
/// reads every `crate::` path in src/ and looks for strongly connected components).
#[test]
fn no_module_cycles_between_capabilities() {
    let o = Command::new("python3")
        .arg(format!(
            "{}/scripts/module-cycles",
            env!("CARGO_MANIFEST_DIR")
        ))
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("no module cycles"), "{}", text(&o));
}

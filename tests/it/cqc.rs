//! CQC data in: the real files give the published figures (checked against an independent
//! script over the raw files and against PRODUCT.md), bad files are refused whole with
//! row-level reasons, imports are idempotent and all-or-nothing, and the pages show it.

use axum::http::StatusCode;
use caremarket::audit::Actor;
use caremarket::cqc::{ImportFailure, ImportOptions, ImportOutcome, Kind, import_file};
use caremarket_core::Role;
use serde_json::Value;
use std::process::Command;
use std::sync::OnceLock;

use crate::support::sheets::{Entry, ods, xlsx, zip};
use crate::support::{TestApp, TestDb, attr_decoded};

pub const RATINGS_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/cqc_latest_ratings_2021-02/cqc_latest_ratings_overall_domain_national_2021-02.csv"
);
pub const API_JSONL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/cqc_api_sw_care_homes_2021-02/cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl"
);

/// The raw shared files when present (CI has ../shared beside the clone), else the bundled
/// gzip copies (a clone on its own).
pub fn data_file(raw: &str, bundled: &str) -> String {
    if std::path::Path::new(raw).exists() {
        raw.to_string()
    } else {
        format!("{}/data/cqc/{bundled}", env!("CARGO_MANIFEST_DIR"))
    }
}

pub fn ratings_path() -> String {
    data_file(
        RATINGS_CSV,
        "cqc_latest_ratings_overall_domain_national_2021-02.csv.gz",
    )
}

pub fn api_path() -> String {
    data_file(
        API_JSONL,
        "cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl.gz",
    )
}

/// Figures worked out by tests/it/scripts/expected_cqc.py from the raw files: no caremarket
/// code involved.
fn expected() -> &'static Value {
    static E: OnceLock<Value> = OnceLock::new();
    E.get_or_init(|| crate::support::script_json("expected_cqc.py", &[RATINGS_CSV, API_JSONL]))
}

pub(crate) fn cli(db: &TestDb, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(args)
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

pub(crate) fn summary(db: &TestDb, extra: &[&str]) -> Value {
    let mut args = vec!["market", "summary", "--format", "json"];
    args.extend(extra);
    let (ok, out) = cli(db, &args);
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn the_national_ratings_file_gives_the_published_figures() {
    let db = TestDb::new().await;
    let (ok, out) = cli(&db, &["import", "ratings", &ratings_path()]);
    assert!(ok, "{out}");
    // CQC's own repeats are kept by the rule and reported, never failing the file.
    assert!(out.contains("3 repeated location"), "{out}");
    assert!(
        out.contains("1-543895080 \"People with long term conditions\" Overall: rows"),
        "{out}"
    );
    assert!(
        out.contains("edition 2021-01-30, 74184 rows read, 74184 in, 0 rejected"),
        "{out}"
    );

    let e = &expected()["ratings"];
    // PRODUCT.md's figures, and the independent script's, for each slice.
    let published = [
        ("", 14840, 14839, 82.8),
        ("Leeds", 146, 146, 84.9),
        ("Leicester", 101, 101, 78.2),
        ("Liverpool", 81, 80, 78.8),
        ("Devon", 321, 321, 87.9),
        ("Trafford", 53, 53, 75.5),
    ];
    for (area, locations, rated, pct) in published {
        let mut extra = vec!["--service-type", "care-home"];
        if !area.is_empty() {
            extra.extend(["--area", area]);
        }
        let s = summary(&db, &extra);
        let key = if area.is_empty() { "England" } else { area };
        let x = &e["care_homes"][key];
        assert_eq!(s["locations"], locations, "{key}");
        assert_eq!(s["rated"], rated, "{key}");
        assert_eq!(s["good_or_outstanding_pct"].as_f64(), Some(pct), "{key}");
        assert_eq!(s["locations"], x["locations"], "{key} vs script");
        assert_eq!(s["rated"], x["rated"], "{key} vs script");
        assert_eq!(
            s["good"].as_u64().unwrap() + s["outstanding"].as_u64().unwrap(),
            x["good_or_outstanding"].as_u64().unwrap()
        );
        assert_eq!(s["good_or_outstanding_pct"], x["pct"], "{key} vs script");
        // The ratings file has no beds: the answer says so instead of showing 0 as a figure.
        assert_eq!(s["coverage"]["beds_known_for"], 0);
        assert!(
            s["coverage"]["notes"]
                .to_string()
                .contains("Beds known for 0 of"),
            "{key}"
        );
        assert_eq!(s["coverage"]["editions"][0]["edition"], "2021-01-30");
    }
    let check = caremarket::db::Db::connect(&db.url).await.unwrap();
    let n: i64 = check
        .q()
        .scalar("SELECT COUNT(DISTINCT location_id) FROM cqc_ratings WHERE domain = 'Overall' AND service_group = 'Overall'", vec![])
        .await
        .unwrap();
    assert_eq!(n, 31959);
    assert_eq!(n, e["overall_locations"].as_i64().unwrap());
    // The repeat with the same date keeps the later row: Requires improvement.
    let r: String = check
        .q()
        .scalar("SELECT rating FROM cqc_ratings WHERE location_id = '1-543895080' AND service_group = 'People with long term conditions'", vec![])
        .await
        .unwrap();
    assert_eq!(r, "Requires improvement");

    // The same file again changes nothing.
    let before: i64 = check
        .q()
        .scalar("SELECT COUNT(*) FROM cqc_ratings", vec![])
        .await
        .unwrap();
    let (ok, out) = cli(&db, &["import", "ratings", &ratings_path()]);
    assert!(ok && out.contains("already imported"), "{out}");
    let after: i64 = check
        .q()
        .scalar("SELECT COUNT(*) FROM cqc_ratings", vec![])
        .await
        .unwrap();
    assert_eq!(before, after);
    let imports: i64 = check
        .q()
        .scalar("SELECT COUNT(*) FROM cqc_imports", vec![])
        .await
        .unwrap();
    assert_eq!(imports, 1);

    // As at a date before the data: ratings published by then only, and a note saying what is
    // not known.
    let s = summary(
        &db,
        &[
            "--service-type",
            "care-home",
            "--area",
            "Leeds",
            "--as-at",
            "2019-04-01",
        ],
    );
    assert!(
        s["coverage"]["notes"]
            .to_string()
            .contains("No data loaded is as old as 2019-04-01"),
        "{s}"
    );
    assert!(s["rated"].as_u64().unwrap() < 146);
    check.close().await;
}

#[tokio::test]
async fn api_records_give_beds_service_types_and_key_questions() {
    let db = TestDb::new().await;
    let (ok, out) = cli(&db, &["import", "api-records", &api_path()]);
    assert!(ok, "{out}");
    assert!(out.contains("421 rows read, 421 in"), "{out}");
    assert!(out.contains("before CQC ratings began"), "{out}");
    let e = &expected()["api"];
    assert_eq!(e["records"], 421);
    for area in ["Devon", "Plymouth"] {
        let x = &e["areas"][area];
        let s = summary(&db, &["--service-type", "care-home", "--area", area]);
        for (ours, theirs) in [
            ("locations", "locations"),
            ("rated", "rated"),
            ("beds", "beds"),
            ("beds_known_for", "beds_known_for"),
            ("beds_in_rated", "beds_rated"),
            ("beds_good_or_outstanding", "beds_go"),
        ] {
            assert_eq!(s[ours], x[theirs], "{area} {ours}");
        }
        assert_eq!(s["good_or_outstanding_pct"], x["pct"], "{area}");
        assert_eq!(s["beds_good_or_outstanding_pct"], x["beds_pct"], "{area}");
        let nursing = summary(
            &db,
            &["--service-type", "care-home-with-nursing", "--area", area],
        );
        assert_eq!(nursing["locations"], x["nursing"], "{area} nursing");
        let residential = summary(
            &db,
            &[
                "--service-type",
                "care-home-without-nursing",
                "--area",
                area,
            ],
        );
        assert_eq!(
            residential["locations"], x["residential"],
            "{area} residential"
        );
    }
    // Key question ratings and history through the API of a running app on this database.
    let app = TestApp::on_existing(&db.url).await;
    let (c, _) = app.signed_in(Role::Viewer).await;
    let loc = c.get("/api/v1/locations/1-1000587219").await.json();
    assert_eq!(loc["name"], "Highlands Borders Care Home");
    assert_eq!(loc["beds"], 28);
    assert_eq!(
        loc["overall_rating"], "Good",
        "Inspected but not rated (Dec 2020) does not replace the rating"
    );
    assert!(
        loc["specialisms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "Dementia")
    );
    assert!(
        loc["ratings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["domain"] == "Well-led")
    );
    let dementia: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM cqc_location_services s JOIN cqc_locations l ON l.location_id = s.location_id WHERE s.kind = 'specialism' AND s.value = 'Dementia' AND l.local_authority = 'Devon'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dementia, e["areas"]["Devon"]["dementia"].as_i64().unwrap());
    // Key questions below Good: latest key question ratings per location.
    let rows: Vec<(String, String, String, chrono::NaiveDate)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT r.location_id, r.domain, r.rating, r.publication_date FROM cqc_ratings r JOIN cqc_locations l ON l.location_id = r.location_id \
             WHERE l.local_authority = 'Devon' AND r.domain <> 'Overall'",
            vec![],
        )
        .await
        .unwrap();
    let mut latest: std::collections::HashMap<(String, String), (chrono::NaiveDate, String)> =
        Default::default();
    for (l, d, r, date) in rows {
        if r == "Inspected but not rated" || r == "No published rating" {
            continue;
        }
        let e = latest.entry((l, d)).or_insert((date, r.clone()));
        if date > e.0 {
            *e = (date, r);
        }
    }
    let below = |kq: &str| {
        latest
            .iter()
            .filter(|((_, d), (_, r))| {
                d == kq && (r == "Requires improvement" || r == "Inadequate")
            })
            .count() as i64
    };
    for kq in ["Safe", "Effective", "Caring", "Responsive", "Well-led"] {
        assert_eq!(
            below(kq),
            e["areas"]["Devon"]["kq_below_good"][kq].as_i64().unwrap(),
            "{kq}"
        );
    }
    // Registration changes are kept.
    let rels: i64 = app
        .db()
        .q()
        .scalar("SELECT COUNT(*) FROM cqc_relationships", vec![])
        .await
        .unwrap();
    assert!(rels > 0);
    app.state.db.close().await;
}

/// Every row of every table, for "nothing changed" checks.
async fn snapshot(app: &TestApp) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in caremarket::db::tables::TABLES
        .iter()
        .filter(|t| t.starts_with("cqc_"))
    {
        out.push((t.to_string(), app.count(t).await));
    }
    out
}

fn ratings_csv(rows: &[&str]) -> String {
    let mut s = String::from(
        "Location ID,Location Name,Care Home?,Location Local Authority,Location Region,Service / Population Group,Domain,Latest Rating,Publication Date,Provider ID,Provider Name\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

const GOOD_ROW: &str = "1-100,Acorn House,Y,Leeds,Yorkshire and The Humber,Overall,Overall,Good,14/08/2018,1-200,Acorn Care Ltd";

async fn try_import(
    app: &TestApp,
    kind: Kind,
    name: &str,
    bytes: &[u8],
) -> Result<caremarket::cqc::ImportResult, ImportFailure> {
    import_file(
        &app.state,
        &Actor::cli("test"),
        kind,
        name,
        bytes,
        &ImportOptions::default(),
    )
    .await
}

#[tokio::test]
async fn malformed_files_are_refused_whole_with_reasons_and_change_nothing() {
    let app = TestApp::new().await;
    // Something already there, which must survive every refused file untouched.
    try_import(
        &app,
        Kind::Ratings,
        "seed.csv",
        ratings_csv(&[GOOD_ROW]).as_bytes(),
    )
    .await
    .unwrap();
    let before = snapshot(&app).await;

    let valid_xlsx = xlsx(&[(
        "Ratings",
        ratings_csv(&[GOOD_ROW])
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect(),
    )]);
    let mut bomb_entries = vec![Entry {
        name: "[Content_Types].xml".into(),
        data: b"<Types/>".to_vec(),
        deflate: true,
    }];
    bomb_entries.push(Entry {
        name: "xl/worksheets/sheet1.xml".into(),
        data: vec![b'A'; 300_000_000],
        deflate: true,
    });
    let bomb = zip(&bomb_entries);
    assert!(
        bomb.len() < 2_000_000,
        "the bomb is small on disk: {}",
        bomb.len()
    );
    let big_field = format!(
        "{}\n1-100,{},Y,Leeds,X,Overall,Overall,Good,14/08/2018,1-200,P\n",
        ratings_csv(&[]).trim_end(),
        "x".repeat(10_000_000)
    );
    let long_field = format!(
        "{}\n1-100,{},Y,Leeds,X,Overall,Overall,Good,14/08/2018,1-200,P\n",
        ratings_csv(&[]).trim_end(),
        "x".repeat(20_000)
    );
    let png: Vec<u8> = [
        &[0x89u8, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
        &[0u8; 64],
        &[7u8; 500],
    ]
    .concat();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "is empty"),
        (
            "header-only.csv",
            ratings_csv(&[]).into_bytes(),
            "no data rows",
        ),
        (
            "no-rating-column.csv",
            b"Location ID,Domain,Publication Date\n1-100,Overall,14/08/2018\n".to_vec(),
            "missing required column: latest rating",
        ),
        (
            "bad-date.csv",
            ratings_csv(&[
                GOOD_ROW,
                "1-101,Beech,Y,Leeds,Y,Overall,Overall,Good,31/02/2020,1-200,P",
            ])
            .into_bytes(),
            "row 3, column \"Publication Date\", value \"31/02/2020\"",
        ),
        (
            "bad-rating.csv",
            ratings_csv(&["1-101,Beech,Y,Leeds,Y,Overall,Overall,Excellent,14/08/2018,1-200,P"])
                .into_bytes(),
            "value \"Excellent\": is not a CQC rating",
        ),
        (
            "truncated.xlsx",
            valid_xlsx[..valid_xlsx.len() / 2].to_vec(),
            "damaged or incomplete",
        ),
        ("bomb.xlsx", bomb, "ZIP bomb"),
        ("picture.csv", png, "not a spreadsheet or a text file"),
        // A cell far beyond anything real stops the read at once, naming where it is...
        (
            "big-field.csv",
            big_field.into_bytes(),
            "the cell in row 2, column B holds 64 KB or more; a cell may hold at most 64 KB",
        ),
        // ...one merely too long for its column is a problem in its row.
        ("long-field.csv", long_field.into_bytes(), "at most 10000"),
        ("nul.csv", b"Location ID,Domain\x00\n".to_vec(), "NUL"),
    ];
    for (name, bytes, expect) in cases {
        let err = match try_import(&app, Kind::Ratings, name, &bytes).await {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        assert!(err.contains(expect), "{name}: expected {expect:?} in {err}");
        assert_eq!(snapshot(&app).await, before, "{name} changed the database");
    }
    // The row report gives the first 50 problems and a count.
    let many: Vec<String> = (0..120)
        .map(|i| {
            format!(
                "1-{},N{i},Y,Leeds,Y,Overall,Overall,Great,14/08/2018,1-200,P",
                1000 + i
            )
        })
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = try_import(
        &app,
        Kind::Ratings,
        "many.csv",
        ratings_csv(&refs).as_bytes(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("120 problems found; nothing was imported"),
        "{err}"
    );
    assert!(err.contains("... and 70 more"), "{err}");
    assert_eq!(err.matches("is not a CQC rating").count(), 50);
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn skip_invalid_imports_the_valid_rows_and_writes_the_rejects() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("cm-rejects-{}", crate::support::random_name()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.csv");
    std::fs::write(
        &file,
        ratings_csv(&[
            GOOD_ROW,
            "1-101,Beech,Y,Leeds,Y,Overall,Overall,Good,31/02/2020,1-200,P",
            "1-102,=HYPERLINK(\"x\"),Y,Leeds,Y,Overall,Overall,Superb,14/08/2018,1-200,P",
            "1-103,Cedar,Y,Leeds,Y,Overall,Overall,Inadequate,01/03/2019,1-200,P",
        ]),
    )
    .unwrap();
    let rejects = dir.join("rejects.csv");
    let (ok, out) = cli(&db, &["import", "ratings", file.to_str().unwrap()]);
    assert!(!ok && out.contains("2 problems found"), "{out}");
    let (ok, out) = cli(
        &db,
        &[
            "import",
            "ratings",
            "--skip-invalid",
            "--rejects",
            rejects.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("4 rows read, 2 in, 2 rejected"), "{out}");
    let csv = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("row,problem,Location ID"));
    assert!(lines[1].starts_with("3,") && lines[1].contains("31/02/2020"));
    assert!(
        lines[2].starts_with("4,") && lines[2].contains("'=HYPERLINK"),
        "formula neutralised: {}",
        lines[2]
    );
    let s = summary(&db, &["--area", "Leeds"]);
    assert_eq!(s["locations"], 2);
    assert_eq!(s["inadequate"], 1);
    // The header is copied from the upload too: a formula there is neutralised as well.
    let text = ratings_csv(&[
        "1-104,Elm,Y,Leeds,Y,Overall,Overall,Great,14/08/2018,1-200,P",
        "1-105,Fir,Y,Leeds,Y,Overall,Overall,Good,14/08/2018,1-200,P",
    ]);
    let mut lines_in: Vec<String> = text.lines().map(str::to_string).collect();
    lines_in[0].push_str(",=HYPERLINK(\"http://evil.example\")");
    for l in lines_in.iter_mut().skip(1) {
        l.push_str(",x");
    }
    let hostile = dir.join("hostile-header.csv");
    std::fs::write(&hostile, lines_in.join("\n") + "\n").unwrap();
    let rejects2 = dir.join("rejects2.csv");
    let (ok, out) = cli(
        &db,
        &[
            "import",
            "ratings",
            "--skip-invalid",
            "--rejects",
            rejects2.to_str().unwrap(),
            hostile.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let csv = std::fs::read_to_string(&rejects2).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("'=HYPERLINK"),
        "header neutralised: {header}"
    );
    assert!(
        !header.contains(",=HYPERLINK") && !header.contains("\"=HYPERLINK"),
        "{header}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn spreadsheets_encodings_and_old_headers_read_the_same() {
    let header = [
        "Location ID",
        "Location Name",
        "Care Home?",
        "Location Local Authority",
        "Service / Population Group",
        "Key Question",
        "Latest Rating",
        "Publication Date",
    ];
    let data = [
        [
            "1-100",
            "Acorn House",
            "Y",
            "Leeds",
            "Overall",
            "Overall",
            "Good",
            "14/08/2018",
        ],
        [
            "1-101",
            "Bryn Tŷ £",
            "Y",
            "Leeds",
            "Overall",
            "Overall",
            "Requires Improvement",
            "2019-03-01",
        ],
        [
            "1-102",
            "Cedar",
            "N",
            "Leeds",
            "Overall",
            "Overall",
            "Outstanding",
            "43326",
        ],
    ];
    let mut rows: Vec<Vec<String>> = vec![
        vec!["CQC care directory with ratings".into()],
        vec![],
        vec!["This data was produced on 01/02/2021".into()],
        vec![],
        vec![],
        vec![],
    ];
    rows.push(header.iter().map(|s| s.to_string()).collect());
    rows.extend(
        data.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect()),
    );
    let csv_text: String = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    if c.contains(',') {
                        format!("\"{c}\"")
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        })
        .collect();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(csv_text.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let cp1252: Vec<u8> = csv_text
        .replace("Tŷ", "Ty")
        .chars()
        .map(|c| if c == '£' { 0xA3 } else { c as u8 })
        .collect();
    let bom: Vec<u8> = [0xEF, 0xBB, 0xBF]
        .into_iter()
        .chain(csv_text.bytes())
        .collect();
    let semicolons = csv_text.replace(',', ";").into_bytes();
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "ratings.xlsx",
            xlsx(&[
                ("README", vec![vec!["Read me first".into()]]),
                ("Ratings", rows.clone()),
            ]),
        ),
        ("ratings.ods", ods("Ratings", &rows)),
        ("ratings-utf16.csv", utf16),
        ("ratings-1252.csv", cp1252),
        ("ratings-bom.csv", bom),
        ("ratings-semicolon.csv", semicolons),
    ];
    for (name, bytes) in files {
        let app = TestApp::new().await;
        let r = try_import(&app, Kind::Ratings, name, &bytes)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ImportOutcome::Imported(row) = r.outcome else {
            panic!("{name}")
        };
        assert_eq!(row.rows_in, 3, "{name}");
        let got: Vec<(String, String, chrono::NaiveDate)> = app
            .db()
            .q()
            .fetch_all("SELECT location_id, rating, publication_date FROM cqc_ratings ORDER BY location_id", vec![])
            .await
            .unwrap();
        let d = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(
            got,
            vec![
                ("1-100".into(), "Good".into(), d(2018, 8, 14)),
                ("1-101".into(), "Requires improvement".into(), d(2019, 3, 1)),
                ("1-102".into(), "Outstanding".into(), d(2018, 8, 14))
            ],
            "{name}"
        );
        let name_1: String = app
            .db()
            .q()
            .scalar(
                "SELECT name FROM cqc_locations WHERE location_id = '1-101'",
                vec![],
            )
            .await
            .unwrap();
        assert!(name_1.ends_with('£'), "{name}: {name_1}");
    }
}

#[tokio::test]
async fn an_interrupted_import_leaves_no_partial_data() {
    let db = TestDb::new().await;
    let (ok, _) = cli(&db, &["migrate"]);
    assert!(ok);
    let path = ratings_path();
    // The import writes everything, says so, and waits before committing: killed then.
    let mut child = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["import", "ratings", &path])
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .env("CAREMARKET_TEST_PAUSE_BEFORE_COMMIT_MS", "120000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("pausing before commit") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the import reached the point before commit");
    // Mid-transaction, other connections see nothing of it.
    let check = caremarket::db::Db::connect(&db.url).await.unwrap();
    let ratings: i64 = check
        .q()
        .scalar("SELECT COUNT(*) FROM cqc_ratings", vec![])
        .await
        .unwrap();
    assert_eq!(ratings, 0, "uncommitted rows are not visible");
    child.kill().unwrap();
    child.wait().unwrap();
    for t in [
        "cqc_imports",
        "cqc_ratings",
        "cqc_locations",
        "cqc_providers",
        "cqc_location_editions",
    ] {
        let n: i64 = check
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM {t}"), vec![])
            .await
            .unwrap();
        assert_eq!(n, 0, "{t}: partial data left after the kill");
    }
    check.close().await;
    // And the database is fine afterwards: the import runs to the end.
    let (ok, out) = cli(&db, &["import", "ratings", &path]);
    assert!(ok, "{out}");
    assert!(out.contains("74184 in"), "{out}");
}

#[tokio::test]
async fn pages_search_profile_quality_and_upload() {
    let app = TestApp::new().await;
    let api = std::fs::read(api_path()).unwrap();
    try_import(&app, Kind::ApiRecords, "api.jsonl", &api)
        .await
        .unwrap();
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = c.get("/locations?area=Plymouth&care_home=yes").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("97 locations"),
        "Plymouth has 97 care homes in the API file"
    );
    // 97 rows at 50 a page: two pages, each linking to the other with the filters kept.
    assert!(r.body.contains("1 of 2") && r.body.contains("rel=\"next\""));
    assert!(!r.body.contains("rel=\"prev\""));
    let next = r
        .body
        .split("href=\"")
        .find(|h| h.starts_with("/locations?") && h.contains("page=2"))
        .and_then(|h| h.split('"').next())
        .map(attr_decoded)
        .expect("a link to page 2");
    let r2 = c.get(&next).await;
    assert!(r2.body.contains("2 of 2") && r2.body.contains("rel=\"prev\""));
    assert!(!r2.body.contains("rel=\"next\""));
    assert!(
        r2.body.contains("97 locations"),
        "the filters survive paging"
    );
    let r = c.get("/locations?postcode=EX1&rating=good").await;
    assert!(r.body.contains("Highlands Borders Care Home"));
    let api_count = c
        .get("/api/v1/locations?area=Devon&rating=outstanding")
        .await
        .json();
    assert_eq!(api_count["total"], 33);
    let p = c.get("/locations/1-1000587219").await;
    assert!(
        p.body.contains("Highlands Borders Care Home")
            && p.body.contains("Rating history")
            && p.body.contains("Inspected but not rated")
    );
    assert!(p.body.contains("Dementia"));
    assert!(p.body.contains("/providers/1-101693962"));
    assert_eq!(c.get("/providers/1-101693962").await.status, StatusCode::OK);
    assert_eq!(
        c.get("/locations/1-nope").await.status,
        StatusCode::NOT_FOUND
    );

    // Every number on the data quality page links to a list of exactly that length.
    let q = c.get("/data-quality?area=Devon").await;
    let mut links = 0;
    for part in q.body.split("href=\"/locations?quality=").skip(1) {
        let href = &part[..part.find('"').unwrap()];
        let n: i64 = part[part.find('>').unwrap() + 1..part.find('<').unwrap()]
            .parse()
            .unwrap();
        let list = c
            .get(&format!("/api/v1/locations?quality={}", attr_decoded(href)))
            .await
            .json();
        assert_eq!(list["total"].as_i64().unwrap(), n, "{href}");
        links += 1;
    }
    assert_eq!(links, 7);

    // Upload through the page (admin), with a warning shown and history listed.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let csrf = admin.csrf().await;
    let boundary = "XyZ123";
    let file = ratings_csv(&[
        GOOD_ROW,
        GOOD_ROW.replace("14/08/2018", "15/08/2018").as_str(),
    ]);
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nratings\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"edition\"\r\n\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/leeds.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    );
    let r = admin
        .request(
            axum::http::Method::POST,
            "/imports",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body.clone(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("leeds.csv imported") && r.body.contains("1 repeated location"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("../"), "the path is not kept");
    let r = admin
        .request(
            axum::http::Method::POST,
            "/imports",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
            &[],
        )
        .await;
    assert!(r.body.contains("already imported"));
    // A file over axum's 2 MB default goes through (the national files are tens of MB).
    let rows: Vec<String> = (0..22_000)
        .map(|i| format!("1-{},Location number {i} with a long name,Y,Leeds,Yorkshire and The Humber,Overall,Overall,Good,14/08/2018,1-200,Acorn Care Ltd", 500_000 + i))
        .collect();
    let big = ratings_csv(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(big.len() > 2_500_000, "{} bytes", big.len());
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nratings\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n{big}\r\n--{boundary}--\r\n"
    );
    let r = admin
        .request(
            axum::http::Method::POST,
            "/imports",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        &r.body[..r.body.len().min(500)]
    );
    assert!(
        r.body.contains("22000 rows read, 22000 imported"),
        "{}",
        &r.body[..r.body.len().min(2000)]
    );
    // A token in the query string is not accepted (it would end up in logs and history).
    let r = admin
        .request(
            axum::http::Method::POST,
            &format!("/imports?csrf_token={csrf}"),
            Some("multipart/form-data; boundary=x"),
            "--x--".into(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let history = c.get("/imports").await;
    assert!(history.body.contains("leeds.csv") && history.body.contains("api.jsonl"));
    // Without the CSRF token the upload is refused.
    let r = admin
        .request(
            axum::http::Method::POST,
            "/imports",
            Some("multipart/form-data; boundary=x"),
            "--x--".into(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn care_directory_files_old_and_new_give_beds_service_types_and_bands() {
    let app = TestApp::new().await;
    // The 2021+ "HSCA Active Locations" shape: flag columns, beds, a repeated ID.
    let header = "Location ID,Location HSCA start date,Dormant (Y/N),Care home?,Location Name,Registered manager,Care homes beds,Location Latest Overall Rating,Publication Date,Location Region,Location Local Authority,Location Postal Code,Location Latitude,Location Longitude,Provider ID,Provider Name,Service type - Care home service with nursing,Service type - Care home service without nursing,Service user band - Dementia,Service user band - Older People,Some New Column";
    let rows = [
        "1-500,01/04/2011,N,Y,Oak Lodge,A Manager,40,Good,02/02/2020,North West,Liverpool,l1 8jq,53.4,-2.98,1-900,Oak Care Ltd,Y,,Y,Y,x",
        "1-501,01/05/2012,Y,Y,Pine View,,9,Inadequate,03/03/2020,North West,Liverpool,L2 2AA,53.41,-2.97,1-900,Oak Care Ltd,,Y,,Y,x",
        "1-500,01/04/2011,N,Y,Oak Lodge (renamed),A Manager,42,Good,02/02/2020,North West,Liverpool,L1 8JQ,53.4,-2.98,1-900,Oak Care Ltd,Y,,Y,Y,x",
    ];
    let file = format!("{header}\n{}\n", rows.join("\n"));
    let r = try_import(
        &app,
        Kind::Directory,
        "HSCA_Active_Locations.csv",
        file.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        r.unknown_columns,
        vec!["Some New Column".to_string()],
        "flag columns are read, not unknown"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("1-500 appears more than once") && w.contains("row 4")),
        "{:?}",
        r.warnings
    );
    let loc = |id: &'static str| {
        let app = &app;
        async move {
            caremarket::cqc::queries::location(app.db(), id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let oak = loc("1-500").await;
    assert_eq!(
        (
            oak.name.as_str(),
            oak.beds,
            oak.registered_manager,
            oak.postcode.as_deref()
        ),
        ("Oak Lodge (renamed)", Some(42), Some(true), Some("L1 8JQ"))
    );
    let pine = loc("1-501").await;
    assert_eq!(
        (pine.beds, pine.registered_manager, pine.dormant),
        (Some(9), Some(false), Some(true))
    );
    let services = caremarket::cqc::queries::services_of(app.db(), "1-500")
        .await
        .unwrap();
    assert!(services.contains(&(
        "service_type".into(),
        "Care home service with nursing".into()
    )));
    assert!(services.contains(&("specialism".into(), "Dementia".into())));
    let s = caremarket::cqc::summary::summary(
        app.db(),
        &caremarket::cqc::summary::Slice {
            area: Some("Liverpool".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            s.figures.locations,
            s.figures.beds,
            s.figures.rated,
            s.figures.good
        ),
        (2, 51, 2, 1)
    );

    // The older "CQC care directory" CSV: 4 preamble lines, dates with times, pipe lists,
    // "&" in council names, "Local authority" spelled differently.
    let old = "CQC Locations data\n\nThis data was produced on 16/11/2015\n\nLocation ID,Location Name,Care home?,Care homes beds,Local authority,Region,Postcode,Service types,Service user bands,Location HSCA start date\n\
               1-600,Elm House,Y,12,Barking & Dagenham,London,RM10 7XX,Residential homes|Supported living,Dementia|Older People,16/11/2015 - 00:00\n";
    let r = try_import(&app, Kind::Directory, "old-directory.csv", old.as_bytes())
        .await
        .unwrap();
    assert!(matches!(r.outcome, ImportOutcome::Imported(_)));
    let elm = loc("1-600").await;
    assert_eq!(elm.local_authority.as_deref(), Some("Barking and Dagenham"));
    assert_eq!(
        elm.registration_date,
        chrono::NaiveDate::from_ymd_opt(2015, 11, 16)
    );
    let services = caremarket::cqc::queries::services_of(app.db(), "1-600")
        .await
        .unwrap();
    assert_eq!(services.len(), 4, "{services:?}");
}

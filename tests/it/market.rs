//! The market dashboard: figures against an independent script over the raw API records,
//! every number's drill-down list as long as the number, exports equal to the page.

use axum::http::StatusCode;
use caremarket::audit::Actor;
use caremarket::cqc::{Kind, import_file};
use caremarket_core::Role;
use serde_json::Value;

use crate::support::{Client, TestApp, attr_decoded};

async fn app_with_api_records() -> TestApp {
    TestApp::with_api_records().await
}

fn expected() -> Value {
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/scripts/expected_cqc.py"
        ))
        .arg(crate::cqc::RATINGS_CSV)
        .arg(crate::cqc::API_JSONL)
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["api"].clone()
}

#[tokio::test]
async fn dashboard_figures_match_an_independent_count_of_the_raw_records() {
    let app = app_with_api_records().await;
    let (c, _) = app.signed_in(Role::Viewer).await;
    let e = expected();
    for area in ["Devon", "Plymouth"] {
        let x = &e["areas"][area];
        let d = c
            .get(&format!("/api/v1/market/summary?area={area}"))
            .await
            .json();
        let h = &d["care_homes"];
        for (ours, theirs) in [
            ("locations", "locations"),
            ("rated", "rated"),
            ("good_or_outstanding", "good_or_outstanding"),
            ("beds", "beds"),
            ("beds_in_rated", "beds_rated"),
            ("beds_good_or_outstanding", "beds_go"),
        ] {
            assert_eq!(h[ours], x[theirs], "{area} {ours}");
        }
        assert_eq!(h["good_or_outstanding_pct"], x["pct"], "{area}");
        assert_eq!(h["beds_good_or_outstanding_pct"], x["beds_pct"], "{area}");
        let cell = |by: &str, key: &str| {
            d[by]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["key"] == key)
                .unwrap()["summary"]
                .clone()
        };
        assert_eq!(
            cell("by_service_type", "care-home-with-nursing")["locations"],
            x["nursing"]
        );
        assert_eq!(
            cell("by_service_type", "care-home-without-nursing")["locations"],
            x["residential"]
        );
        assert_eq!(
            cell("by_specialism", "dementia")["locations"],
            x["dementia"]
        );
        for band in ["small", "medium", "large"] {
            let s = cell("by_size_band", band);
            let want = &x["size"][band];
            assert_eq!(
                (
                    s["locations"].clone(),
                    s["rated"].clone(),
                    s["good_or_outstanding"].clone()
                ),
                (want[0].clone(), want[1].clone(), want[2].clone()),
                "{area} {band}"
            );
        }
        for k in d["by_key_question"].as_array().unwrap() {
            let name = k["label"].as_str().unwrap();
            assert_eq!(
                k["figure"]["below_good"], x["kq_below_good"][name],
                "{area} {name}"
            );
        }
        let weakest = x["kq_below_good"]
            .as_object()
            .unwrap()
            .iter()
            .max_by_key(|(_, v)| v.as_i64().unwrap())
            .unwrap()
            .0
            .clone();
        assert_eq!(d["weakest_key_question"], weakest.as_str(), "{area}");
        // Against England and the region, and the 80% target.
        assert_eq!(d["target_pct"], 80.0);
        let gap = d["gap_to_target"].as_f64().unwrap();
        assert!((gap - (x["pct"].as_f64().unwrap() - 80.0)).abs() < 0.05);
        let names: Vec<&str> = d["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["England", "South West"]);
    }
    // The breakdown API gives the same cells.
    let b = c
        .get("/api/v1/market/breakdown?area=Devon&by=size_band")
        .await
        .json();
    assert_eq!(b["cells"].as_array().unwrap().len(), 3);
    assert_eq!(
        c.get("/api/v1/market/breakdown?by=colour").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// Every link to a drill-down on the page, with the number it shows.
fn links(html: &str) -> Vec<(String, i64)> {
    html.split("href=\"/market/locations?")
        .skip(1)
        .map(|part| {
            let href = attr_decoded(&part[..part.find('"').unwrap()]);
            let text = &part[part.find('>').unwrap() + 1..];
            let digits: String = text
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let n: f64 = digits.trim_end_matches('.').parse().unwrap_or_else(|_| {
                panic!("no number in link {href}: {}", &text[..40.min(text.len())])
            });
            (href, n as i64)
        })
        .collect()
}

async fn walk(c: &Client, page: &str) -> usize {
    let html = c.get(page).await.body;
    let mut checked = 0;
    for (href, n) in links(&html) {
        let list = c.get(&format!("/market/locations?{href}")).await;
        assert_eq!(list.status, StatusCode::OK, "{href}");
        let count: i64 = between(&list.body, "<span id=\"drill-count\">", "</span>")
            .parse()
            .unwrap();
        let beds: i64 = between(&list.body, "<span id=\"drill-beds\">", "</span>")
            .parse()
            .unwrap();
        let rows = list.body.matches("href=\"/locations/").count() as i64;
        assert_eq!(count, rows, "{href}: caption and rows agree");
        if href.contains("measure=beds") && !href.contains("by=care_homes") {
            assert_eq!(beds, n, "{href}: the beds figure is the sum over the list");
        } else if href.contains("group=all&measure=good_or_outstanding") {
            // This link shows a percentage; its list is the homes counted in it.
            let api = c
                .get(&format!(
                    "/api/v1/market/summary?{}",
                    href.split("&by=").next().unwrap()
                ))
                .await
                .json();
            assert_eq!(
                count,
                api["care_homes"]["good_or_outstanding"].as_i64().unwrap(),
                "{href}"
            );
        } else {
            assert_eq!(count, n, "{href}: the list is as long as the number");
        }
        checked += 1;
    }
    checked
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let i = s.find(a).unwrap_or_else(|| panic!("{a} not found")) + a.len();
    &s[i..i + s[i..].find(b).unwrap()]
}

#[tokio::test]
async fn every_number_drills_down_to_a_list_of_that_length() {
    let app = app_with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let page = c.get("/market?area=Plymouth").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("In Plymouth, 88.3% of rated care homes (83 of 94) are rated Good or Outstanding, 8.3 percentage points above the target of 80%."), "{}", between(&page.body, "id=\"headline\">", "</div>"));
    assert!(
        page.body.contains("<svg class=\"app-chart\"")
            && page.body.contains("<desc id=\"chart-comparison-desc\">")
    );
    let n = walk(&c, "/market?area=Plymouth").await;
    assert!(n >= 40, "only {n} links walked");
    // Each list downloads with the same rows.
    let list = c
        .get("/market/locations?area=Plymouth&by=size_band&group=medium&measure=locations")
        .await;
    let csv = c.get("/market/locations?area=Plymouth&by=size_band&group=medium&measure=locations&format=csv").await;
    assert_eq!(
        csv.body.lines().count() as i64 - 1,
        between(&list.body, "<span id=\"drill-count\">", "</span>")
            .parse::<i64>()
            .unwrap()
    );
    let change = c
        .get("/market/change?area=Plymouth&from=2019-01-19&to=2021-01-19&format=csv")
        .await;
    assert_eq!(
        change.body.lines().count(),
        4,
        "three dates and a header: {}",
        change.body
    );
}

#[tokio::test]
async fn partnership_exports_and_missing_data_notes() {
    let app = app_with_api_records().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    admin
        .post_form(
            "/admin/areas",
            &[("name", "Devon"), ("ons_code", "E10000008")],
        )
        .await;
    admin
        .post_form(
            "/admin/areas",
            &[("name", "Plymouth"), ("ons_code", "E06000026")],
        )
        .await;
    let d = admin.get("/api/v1/market/summary").await.json();
    assert_eq!(d["name"], "The partnership (Devon, Plymouth)");
    assert_eq!(d["care_homes"]["locations"], 421);
    // England's own page, whatever the areas in scope.
    let e = admin
        .get("/api/v1/market/summary?england=true")
        .await
        .json();
    assert_eq!(e["name"], "England");
    // The CSV export has the page's numbers.
    let csv = admin
        .get("/market/export.csv?area=Devon&by=size_band")
        .await;
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    let api = admin
        .get("/api/v1/market/breakdown?area=Devon&by=size_band")
        .await
        .json();
    for (line, cell) in csv
        .body
        .lines()
        .skip(1)
        .zip(api["cells"].as_array().unwrap())
    {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            f[1].parse::<u64>().unwrap(),
            cell["summary"]["locations"].as_u64().unwrap()
        );
        assert_eq!(
            f[3].parse::<u64>().unwrap(),
            cell["summary"]["good_or_outstanding"].as_u64().unwrap()
        );
        assert_eq!(
            f[5].parse::<i64>().unwrap(),
            cell["summary"]["beds"].as_i64().unwrap()
        );
    }
    // The XLSX has the same numbers, read back with an independent reader.
    let x = admin
        .get("/market/export.xlsx?area=Devon&by=size_band")
        .await;
    assert_eq!(
        x.content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let raw = app_get_bytes(&admin, "/market/export.xlsx?area=Devon&by=size_band").await;
    use calamine::{DataType, Reader};
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(raw)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    assert_eq!(range.get((0, 0)).unwrap().to_string(), "Group");
    for (i, cell) in api["cells"].as_array().unwrap().iter().enumerate() {
        let row = i + 1;
        assert_eq!(
            range.get((row, 0)).unwrap().to_string(),
            cell["label"].as_str().unwrap()
        );
        assert_eq!(
            range.get((row, 1)).unwrap().as_f64().unwrap() as u64,
            cell["summary"]["locations"].as_u64().unwrap()
        );
        assert_eq!(
            range.get((row, 5)).unwrap().as_f64().unwrap() as i64,
            cell["summary"]["beds"].as_i64().unwrap()
        );
        assert_eq!(
            range.get((row, 4)).unwrap().as_f64(),
            cell["summary"]["good_or_outstanding_pct"].as_f64()
        );
    }
    let kq = admin
        .get("/market/export.csv?area=Devon&by=key_question")
        .await;
    assert!(kq.body.contains("\"Safe\",") && kq.body.lines().count() == 6);
    // With only the ratings file, beds are unknown and the page says so.
    let only = TestApp::new().await;
    let csv = "Location ID,Location Name,Care Home?,Location Local Authority,Location Region,Service / Population Group,Domain,Latest Rating,Publication Date\n1-1,A,Y,Leeds,Yorkshire and The Humber,Overall,Overall,Good,01/01/2020\n";
    import_file(
        &only.state,
        &Actor::cli("t"),
        Kind::Ratings,
        "r.csv",
        csv.as_bytes(),
        &Default::default(),
    )
    .await
    .unwrap();
    let (c, _) = only.signed_in(Role::Viewer).await;
    let page = c.get("/market?area=Leeds").await;
    assert!(
        page.body.contains("Beds known for 0 of 1 care homes"),
        "the page says what it does not know"
    );
}

#[tokio::test]
async fn change_over_time_and_watch_list_match_the_raw_records() {
    let app = app_with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let e = expected();
    for area in ["Devon", "Plymouth"] {
        let x = &e["areas"][area];
        let page = c
            .get(&format!(
                "/market/change?area={area}&from=2019-01-19&to=2021-01-19"
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let then = &x["as_at_2019_01_19"];
        let sentence =
            between(&page.body, "id=\"change-sentence\">", "</div>").replace("&#32;", " ");
        let want = format!(
            "beds in care homes rated Good or Outstanding went from {} to {}",
            then["beds_go"], x["beds_go"]
        );
        assert!(sentence.contains(&want), "{area}: {sentence} / {want}");
        let want = format!(
            "Care homes rated Good or Outstanding went from {} to {}.",
            then["good_or_outstanding"], x["good_or_outstanding"]
        );
        assert!(sentence.contains(&want), "{area}: {sentence} / {want}");
        assert!(page.body.contains("id=\"chart-trend\""));
        // The earliest edition is 2021: the page says which locations the past rests on.
        assert!(page.body.contains("No data loaded is as old as 2019-01-19"));
        let d = c
            .get(&format!("/api/v1/market/summary?area={area}"))
            .await
            .json();
        let w = |k: &str| {
            d["watch"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["key"] == k)
                .unwrap()["count"]
                .clone()
        };
        assert_eq!(w("no-registered-manager"), x["no_manager"], "{area}");
        assert_eq!(
            w("never-rated").as_u64().unwrap(),
            x["locations"].as_u64().unwrap() - x["rated"].as_u64().unwrap(),
            "{area}"
        );
    }
}

#[tokio::test]
async fn registrations_and_closures_between_two_editions() {
    let app = TestApp::new().await;
    let head = "Location ID,Location Name,Care Home?,Location Local Authority,Location Region,Service / Population Group,Domain,Latest Rating,Publication Date,Provider ID\n";
    let jan = format!(
        "{head}1-1,A,Y,Leeds,Y,Overall,Overall,Good,01/01/2020,1-900\n1-2,B,Y,Leeds,Y,Overall,Overall,Good,01/01/2020,1-901\n1-3,C,Y,Bradford,Y,Overall,Overall,Inadequate,01/01/2020,1-900\n"
    );
    let feb = format!(
        "{head}1-1,A,Y,Leeds,Y,Overall,Overall,Good,01/01/2020,1-900\n1-3,C,Y,Bradford,Y,Overall,Overall,Inadequate,01/01/2020,1-900\n1-4,D,Y,Leeds,Y,Overall,Overall,Requires improvement,02/02/2020,1-902\n"
    );
    let (c, _) = app.signed_in(Role::Viewer).await;
    for (name, file, ed) in [
        ("jan.csv", jan, "2020-01-31"),
        ("feb.csv", feb, "2020-02-29"),
    ] {
        // Asked before each import, so a stale cached answer would show below.
        let _ = c.get("/api/v1/market/summary?area=Leeds").await;
        let opts = caremarket::cqc::ImportOptions {
            edition: Some(ed.parse().unwrap()),
            skip_invalid: false,
            ..Default::default()
        };
        import_file(
            &app.state,
            &Actor::cli("t"),
            Kind::Ratings,
            name,
            file.as_bytes(),
            &opts,
        )
        .await
        .unwrap();
    }
    let d = c.get("/api/v1/market/summary?area=Leeds").await.json();
    let w = |k: &str| {
        d["watch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["key"] == k)
            .map(|w| w["count"].clone())
    };
    assert_eq!(w("new-registrations"), Some(1.into()), "1-4 is new");
    assert_eq!(w("deregistrations"), Some(1.into()), "1-2 has gone");
    assert_eq!(d["care_homes"]["locations"], 2);
    // As at January, the market was January's edition.
    let jan = c
        .get("/api/v1/market/summary?area=Leeds&as_at=2020-02-01")
        .await
        .json();
    assert_eq!(jan["care_homes"]["locations"], 2);
    assert_eq!(jan["editions"][0]["edition"], "2020-01-31");
    // A provider in Leeds and Bradford is shared when both are in scope.
    let (admin, _) = app.signed_in(Role::Admin).await;
    admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds"), ("ons_code", "E08000035")],
        )
        .await;
    admin
        .post_form(
            "/admin/areas",
            &[("name", "Bradford"), ("ons_code", "E08000032")],
        )
        .await;
    let p = c.get("/api/v1/market/summary").await.json();
    let shared = p["watch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["key"] == "shared-providers")
        .unwrap()["count"]
        .clone();
    assert_eq!(
        shared, 2,
        "1-1 (Leeds) and 1-3 (Bradford) of provider 1-900"
    );
    let list = c
        .get("/market/locations?by=watch&group=deregistrations&measure=locations")
        .await;
    assert!(list.body.contains(">B</a>"));
}

/// The raw bytes of a response (for binary downloads).
async fn app_get_bytes(c: &Client, path: &str) -> Vec<u8> {
    c.get_bytes(path).await
}

#[tokio::test]
async fn the_scrutiny_report_as_html_and_pdf() {
    let app = app_with_api_records().await;
    let (c, _) = app.signed_in(Role::Viewer).await;
    let r = c.get("/market/report?area=Plymouth").await;
    assert_eq!(r.status, StatusCode::OK);
    for want in [
        "Care market quality: Plymouth",
        "1. Purpose of this report",
        "In Plymouth, 88.3% of rated care homes (83 of 94) are rated Good or Outstanding, 8.3 percentage points above the target of 80%.",
        "Contains public sector information licensed under the Open Government Licence v3.0",
        "CQC api_records data, edition of 2021-01-19",
    ] {
        assert!(r.body.contains(want), "report lacks {want:?}");
    }
    // The CLI writes the same report to a file, as HTML with its CSS inline, or as PDF.
    let dir = std::env::temp_dir().join(format!("cm-report-{}", crate::support::random_name()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["html", "pdf"] {
        let out = dir.join(format!("plymouth.{ext}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
            .args([
                "report",
                "market",
                "--area",
                "Plymouth",
                "--out",
                out.to_str().unwrap(),
            ])
            .env("CAREMARKET_DATABASE_URL", &app.db.url)
            .env("CAREMARKET_LOG", "warn")
            .output()
            .unwrap();
        if ext == "pdf" && caremarket::export::pdf::chromium().is_none() {
            assert!(!o.status.success());
            assert!(String::from_utf8_lossy(&o.stderr).contains("PDF needs Chromium"));
            continue;
        }
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&out).unwrap();
        if ext == "html" {
            let html = String::from_utf8(bytes).unwrap();
            assert!(html.contains("<style>") && html.contains("88.3%"));
        } else {
            assert!(
                bytes.starts_with(b"%PDF") && bytes.len() > 20_000,
                "{} bytes",
                bytes.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let pdf = c.get_bytes("/market/report.pdf?area=Plymouth").await;
    if caremarket::export::pdf::chromium().is_some() {
        assert!(pdf.starts_with(b"%PDF"));
    }
}

/// The dashboard's headline for the councils the product quotes, from the national file
/// (PRODUCT.md's figures, and the independent script's).
#[tokio::test]
async fn national_dashboards_give_the_published_figures() {
    let app = TestApp::new().await;
    let bytes = std::fs::read(crate::cqc::ratings_path()).unwrap();
    import_file(
        &app.state,
        &Actor::cli("test"),
        Kind::Ratings,
        "ratings.csv",
        &bytes,
        &Default::default(),
    )
    .await
    .unwrap();
    let (c, _) = app.signed_in(Role::Viewer).await;
    for (area, rated, pct) in [
        ("", 14839, 82.8),
        ("Leeds", 146, 84.9),
        ("Leicester", 101, 78.2),
        ("Liverpool", 80, 78.8),
        ("Devon", 321, 87.9),
        ("Trafford", 53, 75.5),
    ] {
        let q = if area.is_empty() {
            "england=true".to_string()
        } else {
            format!("area={area}")
        };
        let d = c.get(&format!("/api/v1/market/summary?{q}")).await.json();
        assert_eq!(d["care_homes"]["rated"], rated, "{area}");
        assert_eq!(d["care_homes"]["good_or_outstanding_pct"], pct, "{area}");
        let gap: f64 = (pct * 10.0_f64 - 800.0).round() / 10.0;
        assert_eq!(d["gap_to_target"].as_f64(), Some(gap), "{area}");
    }
    // Leeds against England and its region, as on the page.
    let page = c.get("/market?area=Leeds").await;
    assert!(page.body.contains("In Leeds, 84.9% of rated care homes (124 of 146) are rated Good or Outstanding, 4.9 percentage points above the target of 80%."));
    let d = c.get("/api/v1/market/summary?area=Leeds").await.json();
    let names: Vec<&str> = d["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["England", "Yorkshire and The Humber"]);
    assert_eq!(d["comparisons"][0]["good_or_outstanding_pct"], 82.8);
}

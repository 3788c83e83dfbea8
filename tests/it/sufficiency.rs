//! Sufficiency: ONS population loaded from the real mid-2020 file (checked against sums the
//! test makes from the raw file and the figures), today's beds from the real Plymouth
//! records (checked against the records' own bed counts), assumptions and planned changes
//! through the forms, and the projection through the API, the downloads and the report.

use axum::http::{Method, StatusCode};
use caremarket_core::Role;
use std::collections::HashMap;
use std::io::Read;

use crate::support::{Client, TestApp};

const ONS_RAW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/ons_population/ons_mid2020_population_single_year_of_age_uk_areas.csv"
);

/// The raw file when ../shared is beside the clone, else the bundled gzip copy.
pub fn ons_path() -> String {
    if std::path::Path::new(ONS_RAW).exists() {
        ONS_RAW.to_string()
    } else {
        format!(
            "{}/data/ons/ons_mid2020_population_single_year_of_age_uk_areas.csv.gz",
            env!("CARGO_MANIFEST_DIR")
        )
    }
}

fn ons_bytes() -> Vec<u8> {
    let raw = std::fs::read(ons_path()).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// (65+, 75+, 85+) by area code, summed here from the raw file's age columns.
fn raw_sums() -> HashMap<String, (i64, i64, i64)> {
    let bytes = ons_bytes();
    let mut rdr = csv::Reader::from_reader(&bytes[..]);
    let headers = rdr.headers().unwrap().clone();
    let idx = |age: u32| {
        headers
            .iter()
            .position(|h| h == format!("age_{age}"))
            .unwrap()
    };
    let mut out = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let sum = |from: u32| -> i64 {
            (from..=90)
                .map(|a| rec[idx(a)].parse::<f64>().unwrap() as i64)
                .sum()
        };
        out.insert(rec[0].to_string(), (sum(65), sum(75), sum(85)));
    }
    out
}

async fn upload(c: &Client, name: &str, bytes: &[u8], year: &str) -> crate::support::Resp {
    let text = std::str::from_utf8(bytes).expect("the test files are text");
    c.post_file("/sufficiency/population", &[("year", year)], name, text)
        .await
}

/// A commissioner, signed in, who has loaded the mid-2020 estimates through the page.
async fn commissioner_with_population(app: &TestApp) -> Client {
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = upload(
        &c,
        "ons_mid2020_population_single_year_of_age_uk_areas.csv",
        &ons_bytes(),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c
}

#[tokio::test]
async fn ons_estimates_load_whole_and_match_the_raw_file() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let bytes = ons_bytes();
    let r = upload(
        &c,
        "ons_mid2020_population_single_year_of_age_uk_areas.csv",
        &bytes,
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let raw = raw_sums();
    let api = c.get("/api/v1/population").await.json();
    let rows = api.as_array().unwrap();
    assert_eq!(rows.len(), raw.len(), "every area in the file");
    let by_code: HashMap<&str, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["area_code"].as_str().unwrap(), r))
        .collect();
    for (code, (p65, p75, p85)) in &raw {
        let r = by_code[code.as_str()];
        assert_eq!(r["year"], 2020);
        assert_eq!(
            (
                r["aged_65_plus"].as_i64(),
                r["aged_75_plus"].as_i64(),
                r["aged_85_plus"].as_i64()
            ),
            (Some(*p65), Some(*p75), Some(*p85)),
            "{code}"
        );
    }
    // The figures.
    assert_eq!(by_code["E92000001"]["aged_65_plus"], 10_464_019);
    let leeds = by_code["E08000035"];
    assert_eq!(leeds["area_name"], "Leeds");
    assert_eq!(
        (
            leeds["aged_65_plus"].as_i64(),
            leeds["aged_75_plus"].as_i64(),
            leeds["aged_85_plus"].as_i64()
        ),
        (Some(123_784), Some(57_254), Some(16_280))
    );
    // Loading it again replaces, never doubles.
    let n = app.count("population").await;
    let again = upload(
        &c,
        "ons_mid2020_population_single_year_of_age_uk_areas.csv",
        &bytes,
        "",
    )
    .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("population").await, n);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "population.import")
    );

    // A bad cell: the file is refused whole, with its row and column; nothing changes.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col70 = header.iter().position(|h| *h == "age_70").unwrap();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    cells[col70] = "lots".into();
    lines[5] = cells.join(",");
    let broken = lines.join("\n");
    let r = upload(&c, "mid2021.csv", broken.as_bytes(), "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("row 6"), "{}", r.body);
    assert!(r.body.contains("age_70"), "{}", r.body);
    assert!(r.body.contains("is not a whole number of people"));
    assert!(r.body.contains("nothing has changed"));
    assert_eq!(app.count("population").await, n);
    // No year in the name or the form: asked for, not guessed.
    let r = upload(&c, "population.csv", &bytes, "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("say which year"), "{}", r.body);
    // A viewer (scrutiny) reads the list but cannot load.
    let (v, _) = app.signed_in(Role::Viewer).await;
    assert_eq!(
        v.get("/sufficiency/population").await.status,
        StatusCode::OK
    );
    let csrf = v.csrf().await;
    let r = v
        .request(Method::POST, "/sufficiency/population", Some("multipart/form-data; boundary=x"), format!("--x\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--x--\r\n"), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Beds by type in Plymouth from the raw API records, by the stated rule: with nursing ->
/// nursing, Dementia specialism -> the dementia type.
fn plymouth_beds_from_records() -> HashMap<String, i64> {
    let raw = std::fs::read(crate::cqc::api_path()).unwrap();
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["localAuthority"] != "Plymouth" || r["registrationStatus"] != "Registered" {
            continue;
        }
        let has = |list: &str, field: &str, v: &str| {
            r[list]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s[field] == v))
        };
        let nursing = has(
            "gacServiceTypes",
            "description",
            "Care home service with nursing",
        );
        let dementia = has("specialisms", "name", "Dementia");
        let key = match (nursing, dementia) {
            (false, false) => "residential",
            (true, false) => "nursing",
            (false, true) => "dementia_residential",
            (true, true) => "dementia_nursing",
        };
        *out.entry(key.to_string()).or_default() += r["numberOfBeds"].as_i64().unwrap_or(0);
    }
    out
}

/// Every field of the assumptions form: residential rates 2, 10 and 50 per 1,000; other bed
/// types 1, 5 and 20; flow 26 per 10,000 staying 104 weeks; no growth; 90% occupancy.
fn assumption_form(council: &str, occupancy: &str) -> Vec<(String, String)> {
    let mut f = vec![("council".to_string(), council.to_string())];
    for k in [
        "residential",
        "nursing",
        "dementia_residential",
        "dementia_nursing",
    ] {
        let rates = if k == "residential" {
            ["2", "10", "50"]
        } else {
            ["1", "5", "20"]
        };
        for (band, v) in ["65_74", "75_84", "85_plus"].iter().zip(rates) {
            f.push((format!("rate_{k}_{band}"), v.to_string()));
        }
        f.push((format!("admissions_{k}"), "26".into()));
        f.push((format!("stay_{k}"), "104".into()));
    }
    for k in [
        "growth_65_74",
        "growth_75_84",
        "growth_85_plus",
        "admission_change",
        "length_of_stay_change",
    ] {
        f.push((k.to_string(), "0".into()));
    }
    f.push(("target_occupancy".into(), occupancy.into()));
    f
}

pub fn refs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn plymouth_demand_supply_and_gap_from_real_data() {
    let app = TestApp::with_api_records().await;
    let c = commissioner_with_population(&app).await;

    // Today's beds: the records' own counts, split by the stated rule.
    let s = c
        .get("/api/v1/sufficiency?council=Plymouth&to=2030")
        .await
        .json();
    let expected = plymouth_beds_from_records();
    for k in [
        "residential",
        "nursing",
        "dementia_residential",
        "dementia_nursing",
    ] {
        assert_eq!(
            s["supply"]["beds"][k].as_i64(),
            Some(expected.get(k).copied().unwrap_or(0)),
            "{k}"
        );
    }
    assert_eq!(
        s["supply"]["homes"], 97,
        "Plymouth's 97 care homes in the records"
    );

    // Assumptions through the form: a bad occupancy is refused with the field named.
    let bad = assumption_form("Plymouth", "0");
    let r = c.post_form("/sufficiency/assumptions", &refs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("govuk-error-summary"));
    assert!(r.body.contains("Target occupancy must be more than 0%"));
    let mut typo = assumption_form("Plymouth", "90");
    typo.iter_mut()
        .find(|(k, _)| k == "rate_nursing_75_84")
        .unwrap()
        .1 = "5.123".into();
    let r = c.post_form("/sufficiency/assumptions", &refs(&typo)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("value=\"5.123\""),
        "what was typed is shown again"
    );
    let good = assumption_form("Plymouth", "90");
    let r = c.post_form("/sufficiency/assumptions", &refs(&good)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "sufficiency.assumptions")
    );

    // Demand, worked here from the raw population with the rates entered above.
    let (p65, p75, p85) = raw_sums()["E06000026"];
    let (b1, b2, b3) = ((p65 - p75) as f64, (p75 - p85) as f64, p85 as f64);
    let stock = |r: [f64; 3]| ((b1 * r[0] + b2 * r[1] + b3 * r[2]) / 1000.0 / 0.9).round() as i64;
    let flow = ((p65 as f64) * 26.0 / 10_000.0 * 2.0 / 0.9).round() as i64;
    let s = c
        .get("/api/v1/sufficiency?council=Plymouth&to=2030")
        .await
        .json();
    let rows = s["rows"].as_array().unwrap();
    let from = s["from_year"].as_i64().unwrap();
    assert_eq!(rows.len() as i64, (2030 - from + 1) * 4);
    for r in rows {
        let k = r["kind"].as_str().unwrap();
        let want = if k == "residential" {
            stock([2.0, 10.0, 50.0])
        } else {
            stock([1.0, 5.0, 20.0])
        };
        assert_eq!(r["demand"].as_i64(), Some(want), "{k} {}", r["year"]);
        assert_eq!(r["flow_demand"].as_i64(), Some(flow));
        let supply = expected.get(k).copied().unwrap_or(0);
        assert_eq!(r["supply"].as_i64(), Some(supply));
        assert_eq!(r["gap"].as_i64(), Some(supply - want));
    }

    // A planned 60-bed nursing home from 2028 counts from 2028 on.
    let r = c
        .post_form(
            "/sufficiency/changes",
            &[
                ("council", "Plymouth"),
                ("bed_type", "nursing"),
                ("beds", "sixty"),
                ("effective_date", "01/04/2028"),
                ("description", "New nursing home"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"sixty\""));
    let r = c
        .post_form(
            "/sufficiency/changes",
            &[
                ("council", "Plymouth"),
                ("bed_type", "nursing"),
                ("beds", "60"),
                ("effective_date", "01/04/2028"),
                ("description", "New nursing home, Derriford"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let s = c
        .get("/api/v1/sufficiency?council=Plymouth&to=2030")
        .await
        .json();
    let nursing = |y: i64| {
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["year"] == y && r["kind"] == "nursing")
            .unwrap()["supply"]
            .as_i64()
            .unwrap()
    };
    let base = expected.get("nursing").copied().unwrap_or(0);
    assert_eq!(nursing(2027), base);
    assert_eq!(nursing(2028), base + 60);
    assert_eq!(nursing(2030), base + 60);

    // The page, the downloads and the report show the same figures.
    let page = c.get("/sufficiency?council=Plymouth&to=2030").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("New nursing home, Derriford"));
    assert!(page.body.contains("sufficiency-chart"));
    let csv = c
        .get("/sufficiency/download?council=Plymouth&to=2030&format=csv")
        .await;
    assert!(csv.content_type().starts_with("text/csv"));
    let first = csv.body.lines().next().unwrap();
    assert!(first.contains("Beds needed (stock method)"));
    assert_eq!(csv.body.lines().count() as i64, 1 + (2030 - from + 1) * 4);
    let line_2030 = csv
        .body
        .lines()
        .find(|l| l.starts_with("2030,\"Residential\""))
        .unwrap();
    let want = stock([2.0, 10.0, 50.0]);
    assert!(
        line_2030.ends_with(&format!(
            ",{want},{flow},{},{}",
            expected["residential"],
            expected["residential"] - want
        )),
        "{line_2030}"
    );
    let xlsx = c
        .get_bytes("/sufficiency/download?council=Plymouth&to=2030&format=xlsx")
        .await;
    assert!(xlsx.starts_with(b"PK"));
    let report = c.get("/sufficiency/report?council=Plymouth&to=2030").await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report
            .body
            .contains(&format!("{p65} people aged 65 and over in Plymouth"))
    );
    assert!(report.body.contains("New nursing home, Derriford"));

    // A viewer reads but does not change.
    let (v, _) = app.signed_in(Role::Viewer).await;
    assert_eq!(
        v.get("/sufficiency?council=Plymouth").await.status,
        StatusCode::OK
    );
    let r = v.post_form("/sufficiency/assumptions", &refs(&good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Removing the change puts supply back.
    let id = app
        .db()
        .q()
        .scalar::<i64>("SELECT id FROM supply_changes", vec![])
        .await
        .unwrap();
    let r = c
        .post_form(
            &format!("/sufficiency/changes/{id}/delete"),
            &[("council", "Plymouth")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("supply_changes").await, 0);
}

#[tokio::test]
async fn a_council_without_population_says_so() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Admin).await;
    let page = c.get("/sufficiency?council=Nowhere").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("No population estimates are loaded for Nowhere")
    );
    let s = c.get("/api/v1/sufficiency?council=Nowhere").await.json();
    assert_eq!(s["rows"].as_array().unwrap().len(), 0);
    assert_eq!(
        c.get("/api/v1/sufficiency?to=soon").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn upload_projections(c: &Client, name: &str, csv: &str) -> crate::support::Resp {
    c.post_file("/sufficiency/projections", &[], name, csv)
        .await
}

/// An ONS SNPP-shaped file for this year and next: persons rows count, male rows do not;
/// "90 and over" is 90+. This year: 65+ = 2,900 + 2,000 + 1,800 + 900 + 700 + 1,500 = 9,800;
/// 75+ = 4,900; 85+ = 2,200. Next year: 65+ = 2,950 + 2,100 + 1,850 + 950 + 720 + 1,600 =
/// 10,170; 75+ = 5,120; 85+ = 2,320.
fn snpp(y: i64) -> String {
    format!(
        "AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,{y},{}
E06000026,Plymouth,Population,persons,64,3000,3100
E06000026,Plymouth,Population,persons,65,2900,2950
E06000026,Plymouth,Population,persons,74,2000,2100
E06000026,Plymouth,Population,persons,75,1800,1850
E06000026,Plymouth,Population,persons,84,900,950
E06000026,Plymouth,Population,persons,85,700,720
E06000026,Plymouth,Population,persons,90 and over,1500,1600
E06000026,Plymouth,Population,persons,All ages,265000,266000
E06000026,Plymouth,Population,male,65,1400,1450
",
        y + 1
    )
}

#[tokio::test]
async fn an_ons_projection_replaces_growth_for_the_years_it_covers() {
    let app = TestApp::new().await;
    let c = commissioner_with_population(&app).await;
    let y0 = c.get("/api/v1/sufficiency?council=Plymouth").await.json()["from_year"]
        .as_i64()
        .unwrap();
    let broken = snpp(y0).replace("persons,84,", "persons,eighty-four,");
    let r = upload_projections(&c, "snpp.csv", &broken).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("row 6"), "{}", r.body);
    assert!(r.body.contains("is not an age"));
    assert_eq!(app.count("population_projections").await, 0);
    let r = upload_projections(&c, "snpp.csv", &snpp(y0)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("population_projections").await, 2);

    let s = c
        .get("/api/v1/sufficiency?council=Plymouth&to=2040")
        .await
        .json();
    let pop = |y: i64| {
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["year"] == y)
            .map(|r| r["population"].clone())
            .unwrap()
    };
    for (y, p65, p75, p85) in [(y0, 9_800, 4_900, 2_200), (y0 + 1, 10_170, 5_120, 2_320)] {
        let p = pop(y);
        let b = (
            p["aged_65_74"].as_i64().unwrap(),
            p["aged_75_84"].as_i64().unwrap(),
            p["aged_85_plus"].as_i64().unwrap(),
        );
        assert_eq!(b, (p65 - p75, p75 - p85, p85), "{y}");
    }
    // After the projection, growth carries on from its last year (85+ at 3% a year by
    // default: 2,320 × 1.03 = 2,389.6 -> 2,390).
    assert_eq!(pop(y0 + 2)["aged_85_plus"], 2_390);
    let page = c.get("/sufficiency?council=Plymouth").await;
    assert!(page.body.contains(&format!(
        "ONS projections for {y0} to {} from snpp.csv",
        y0 + 1
    )));
}

/// The stock rates set from the placements register: 3 residential and 1 nursing placement
/// in Plymouth's homes, funded for half of all residents, make 6 and 2 residents today.
#[tokio::test]
async fn stock_rates_set_from_the_placements_register() {
    let app = TestApp::with_api_records().await;
    let c = commissioner_with_population(&app).await;
    let r = c
        .post_form(
            "/sufficiency/assumptions",
            &refs(&assumption_form("Plymouth", "90")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let homes: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT location_id FROM cqc_locations WHERE local_authority = $1 AND care_home = $2 ORDER BY location_id LIMIT 4",
            caremarket::args!["Plymouth", true],
        )
        .await
        .unwrap();
    for (i, (home,)) in homes.iter().enumerate() {
        let bed = if i < 3 { "residential" } else { "nursing" };
        let case = format!("ASC-{i}");
        let r = c
            .post_form(
                "/capacity/placements",
                &[
                    ("case_reference", case.as_str()),
                    ("location_id", home.as_str()),
                    ("bed_type", bed),
                    ("funder", "council"),
                    ("weekly_fee", "700.00"),
                    ("top_up", ""),
                    ("start_date", "01/01/2024"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let page = c.get("/sufficiency?council=Plymouth").await;
    assert!(
        page.body
            .contains("3 residential, 1 nursing open council- and NHS-funded placements"),
        "{}",
        page.body
    );
    assert!(page.body.contains("50.8 in June 2021"));
    let r = c
        .post_form(
            "/sufficiency/rates-from-register",
            &[("council", "Plymouth"), ("funded_share", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter the share of care home residents"));
    let r = c
        .post_form(
            "/sufficiency/rates-from-register",
            &[("council", "Plymouth"), ("funded_share", "50")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let s = c
        .get("/api/v1/sufficiency?council=Plymouth&to=2030")
        .await
        .json();
    let (p65, p75, p85) = raw_sums()["E06000026"];
    let bands = [(p65 - p75) as f64, (p75 - p85) as f64, p85 as f64];
    let rates = s["assumptions"]["rates"].as_array().unwrap();
    let residents = |kind: &str| -> (f64, [f64; 3]) {
        let r = &rates.iter().find(|r| r[0] == kind).unwrap()[1];
        let v = [
            r["aged_65_74"].as_f64().unwrap(),
            r["aged_75_84"].as_f64().unwrap(),
            r["aged_85_plus"].as_f64().unwrap(),
        ];
        (
            bands
                .iter()
                .zip(v)
                .map(|(b, r)| b * r / 100.0 / 1000.0)
                .sum(),
            v,
        )
    };
    let (res, v) = residents("residential");
    assert!((res - 6.0).abs() < 0.5, "{res}");
    // The shape of the rates entered (2, 10, 50 per 1,000) is kept, within each rate's
    // rounding to hundredths (half a hundredth, times the ratio).
    assert!((v[1] - 5.0 * v[0]).abs() <= 3.0, "{v:?}");
    assert!((v[2] - 25.0 * v[0]).abs() <= 13.0, "{v:?}");
    let (nur, _) = residents("nursing");
    assert!((nur - 2.0).abs() < 0.5, "{nur}");
    // Bed types without placements keep their rates (1, 5 and 20 per 1,000).
    let (_, d) = residents("dementia_nursing");
    assert_eq!(d, [100.0, 500.0, 2000.0]);
}

/// As the demo loads them: the national ratings file first (newer, with no service types
/// or specialisms), then the API records (older, with them). The records' lists must still
/// count, so the split of beds by type is the same as from the records alone.
#[tokio::test]
async fn a_newer_ratings_file_does_not_hide_the_records_service_lists() {
    let app = TestApp::new().await;
    let raw = std::fs::read(crate::cqc::api_path()).unwrap();
    let text = String::from_utf8(
        caremarket::import::gunzip_if_needed("api.jsonl.gz", &raw)
            .unwrap()
            .into_owned(),
    )
    .unwrap();
    // Every Plymouth home rated Good on 30 January 2021, after the records' edition.
    let mut csv = String::from(
        "Location ID,Location Name,Care Home?,Location Local Authority,Location Region,Service / Population Group,Domain,Latest Rating,Publication Date,Provider ID\n",
    );
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["localAuthority"] == "Plymouth" {
            csv.push_str(&format!(
                "{},\"{}\",Y,Plymouth,South West,Overall,Overall,Good,30/01/2021,{}\n",
                r["locationId"].as_str().unwrap(),
                r["name"].as_str().unwrap().replace('"', ""),
                r["providerId"].as_str().unwrap()
            ));
        }
    }
    let actor = caremarket::audit::Actor::cli("test");
    for (kind, name, bytes) in [
        (
            caremarket::cqc::Kind::Ratings,
            "ratings.csv",
            csv.into_bytes(),
        ),
        (caremarket::cqc::Kind::ApiRecords, "api.jsonl", raw),
    ] {
        caremarket::cqc::import_file(&app.state, &actor, kind, name, &bytes, &Default::default())
            .await
            .unwrap();
    }
    let c = commissioner_with_population(&app).await;
    let s = c.get("/api/v1/sufficiency?council=Plymouth").await.json();
    let expected = plymouth_beds_from_records();
    for k in [
        "residential",
        "nursing",
        "dementia_residential",
        "dementia_nursing",
    ] {
        assert_eq!(
            s["supply"]["beds"][k].as_i64(),
            Some(expected.get(k).copied().unwrap_or(0)),
            "{k}: {}",
            s["supply"]
        );
    }
    assert!(
        expected.get("nursing").copied().unwrap_or(0) > 0,
        "the records have nursing homes"
    );
}

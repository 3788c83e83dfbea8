//! Cost of care through the pages a commissioner uses: a model edited line by line (the
//! UKHCA's published 2020/21 minimum price reproduced from its inputs), fee rates with their
//! uplift history and the gap's budget effect worked out by hand, and a scenario.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::sufficiency::refs;
use crate::support::TestApp;

/// The UKHCA "Minimum Price for Homecare" April 2020 – March 2021 inputs: NLW £8.72, travel
/// 11 min 42 s per contact hour, 3.02 miles at 45p, holiday 12.07%, sickness 2.5%, training
/// 4.3%, employer NI 13.8% above £8,788 a year, pension 3% above £6,240, a 34-hour week,
/// £5.20 of running costs and a 3% surplus. Published: £20.69 an hour, of which contact time
/// £8.72, travel time £1.70, NI and pension £1.14, other on-costs £1.97, mileage £1.36,
/// running the business £5.20 and surplus £0.60.
const UKHCA_2020: [(&str, &str); 15] = [
    ("care_pay_pence_per_hour", "8.72"),
    ("travel_seconds_per_contact_hour", "702"),
    ("mileage_hundredths_per_contact_hour", "3.02"),
    ("pence_per_mile", "0.45"),
    ("holiday_bps", "12.07"),
    ("sickness_bps", "2.50"),
    ("training_bps", "4.30"),
    ("employer_ni_bps", "13.80"),
    ("ni_secondary_threshold_pence_per_year", "8788"),
    ("pension_bps", "3"),
    ("pension_lower_limit_pence_per_year", "6240"),
    ("paid_hours_per_week_per_worker", "34"),
    ("business_costs_pence_per_contact_hour", "5.20"),
    ("head_office_bps", "0"),
    ("return_on_operations_bps", "3"),
];

#[tokio::test]
async fn a_model_read_line_by_line_reproduces_the_published_minimum_price() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let page = c.get("/cost-of-care/models/home_care").await;
    assert_eq!(page.status, StatusCode::OK);
    // The default pays the National Living Wage from April 2025 for an hour of contact.
    assert!(page.body.contains("£12.21"), "{}", page.body);
    assert!(page.body.contains("£32.14"), "the comparison figure");
    // A typo is refused with the field named, what was typed kept, nothing saved.
    let mut bad: Vec<(&str, &str)> = UKHCA_2020.to_vec();
    bad[0].1 = "eight pounds";
    let r = c.post_form("/cost-of-care/models/home_care", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("govuk-error-summary"));
    assert!(r.body.contains("value=\"eight pounds\""));
    assert_eq!(app.count("cost_models").await, 0);

    let r = c
        .post_form("/cost-of-care/models/home_care", &UKHCA_2020)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let m = c.get("/api/v1/cost-of-care/models/home_care").await.json();
    assert_eq!(m["total_pence"], 2069, "£20.69 as published: {m}");
    let line = |k: &str| {
        m["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == k)
            .unwrap_or_else(|| panic!("no line {k}"))
            .clone()
    };
    assert_eq!(line("contact_time_pay")["pence"], 872);
    assert_eq!(line("travel_time_pay")["pence"], 170);
    assert_eq!(line("mileage")["pence"], 136);
    assert_eq!(line("business_costs")["pence"], 520);
    assert_eq!(line("return_on_operations")["pence"], 60);
    let parts = |keys: &[&str]| -> i64 {
        line("pay_on_costs")["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| keys.contains(&p["key"].as_str().unwrap()))
            .map(|p| p["pence"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(parts(&["employer_ni", "pension"]), 114);
    assert_eq!(parts(&["holiday", "sickness", "training"]), 197);
    let sum: i64 = m["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["pence"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 2069, "the lines shown add up to the total shown");
    let page = c.get("/cost-of-care/models/home_care").await;
    assert!(page.body.contains("£20.69 per contact hour"));
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "cost_model.update")
    );
    // A scrutiny member reads the model but gets no form.
    let (v, _) = app.signed_in(Role::Viewer).await;
    let page = v.get("/cost-of-care/models/home_care").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Save the model"));
    assert_eq!(
        v.post_form("/cost-of-care/models/home_care", &UKHCA_2020)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get("/cost-of-care/models/day_care").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn fees_their_uplifts_the_gap_and_a_scenario() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = c
        .post_form("/cost-of-care/models/home_care", &UKHCA_2020)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let fee = |rate: &'static str, from: &'static str| {
        [
            ("service", "home_care"),
            ("band", "standard"),
            ("rate", rate),
            ("effective_from", from),
            ("volume", "10000"),
            ("note", ""),
        ]
    };
    let r = c
        .post_form("/cost-of-care/fees", &fee("", "01/04/2019"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter the rate in pounds"));
    assert_eq!(
        c.post_form("/cost-of-care/fees", &fee("18.00", "01/04/2019"))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        c.post_form("/cost-of-care/fees", &fee("19.00", "01/04/2020"))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = c.get("/cost-of-care").await;
    // £18.00 to £19.00 is a 5.56% uplift (1/18 = 5.555…%).
    assert!(page.body.contains("5.56%"), "{}", page.body);
    // The gap: £20.69 modelled − £19.00 paid = £1.69 an hour; × 10,000 hours × 52 weeks =
    // £878,800.00 a year.
    let gaps = c.get("/api/v1/cost-of-care").await.json();
    let hc = gaps
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == "home_care")
        .unwrap();
    assert_eq!(hc["fee_pence"], 1900);
    assert_eq!(hc["gap_pence"], 169);
    assert_eq!(hc["annual_effect_pence"], 87_880_000);
    assert!(page.body.contains("+£878,800.00"));

    // A new NLW of £12.71: contact pay £12.71; travel 702 s = 0.195 h × £12.71 = £2.478… ->
    // £2.48.
    let r = c
        .post_form(
            "/cost-of-care/scenarios",
            &[
                ("name", ""),
                ("pay_to", "12.71"),
                ("pay_percent", ""),
                ("pension_to", ""),
                ("non_staff_percent", ""),
                ("flat_percents", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Name the scenario"));
    let r = c
        .post_form(
            "/cost-of-care/scenarios",
            &[
                ("name", "NLW 2026"),
                ("pay_to", "12.71"),
                ("pay_percent", ""),
                ("pension_to", ""),
                ("non_staff_percent", ""),
                ("flat_percents", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r.location().rsplit('/').next().unwrap().to_string();
    let s = c
        .get(&format!("/api/v1/cost-of-care/scenarios/{id}"))
        .await
        .json();
    let hc = s["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service"] == "home_care")
        .unwrap();
    let after = |k: &str| {
        hc["comparison"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == k)
            .unwrap()["scenario"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(after("contact_time_pay"), 1271);
    assert_eq!(after("travel_time_pay"), 248);
    assert_eq!(after("mileage"), 136, "mileage is not pay");
    let diff = hc["comparison"]["difference"].as_i64().unwrap();
    assert_eq!(hc["annual_effect_pence"].as_i64(), Some(diff * 10_000 * 52));
    let page = c.get(&format!("/cost-of-care/scenarios/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("NLW 2026"));
    let report = c.get(&format!("/cost-of-care/scenarios/{id}/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.contains("Whole budget"));

    // Seed 000's "two 2% uplifts" compound: a £5.20 running cost becomes £5.30 then £5.41.
    let r = c
        .post_form(
            "/cost-of-care/scenarios",
            &[
                ("name", "Two 2% uplifts"),
                ("pay_to", ""),
                ("pay_percent", ""),
                ("pension_to", ""),
                ("non_staff_percent", ""),
                ("flat_percents", "2, 2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let id2 = r.location().rsplit('/').next().unwrap().to_string();
    let s = c
        .get(&format!("/api/v1/cost-of-care/scenarios/{id2}"))
        .await
        .json();
    let hc = s["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service"] == "home_care")
        .unwrap();
    let business = hc["comparison"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == "business_costs")
        .unwrap()["scenario"]
        .clone();
    assert_eq!(business, 541);
    // From 1 October 2026: 182 days of the year to 31 March 2027 (31 + 30 + 31 + 31 + 28 +
    // 31), so 182/365 of the year's effect.
    let dated = |from: &'static str| {
        [
            ("name", "NLW from October"),
            ("pay_to", "12.71"),
            ("pay_percent", ""),
            ("pension_to", ""),
            ("non_staff_percent", ""),
            ("flat_percents", ""),
            ("effective_from", from),
        ]
    };
    let r = c
        .post_form("/cost-of-care/scenarios", &dated("October"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter the date the uplifts take effect"));
    let r = c
        .post_form("/cost-of-care/scenarios", &dated("01/10/2026"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let id3 = r.location().rsplit('/').next().unwrap().to_string();
    let s3 = c
        .get(&format!("/api/v1/cost-of-care/scenarios/{id3}"))
        .await
        .json();
    let annual = s3["annual_effect_pence"].as_i64().unwrap() as i128;
    let want = ((annual * 182 * 2 + 365) / (2 * 365)) as i64;
    assert_eq!(s3["in_year"], serde_json::json!([want, 2026]));
    let page = c.get(&format!("/cost-of-care/scenarios/{id3}")).await;
    assert!(page.body.contains("From 1 October 2026"), "{}", page.body);
    let r = c
        .post_form(&format!("/cost-of-care/scenarios/{id2}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("cost_scenarios").await, 2);
    let actions = app.audit_actions().await;
    for a in [
        "fee_rate.create",
        "cost_scenario.create",
        "cost_scenario.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

/// QUARTILE.INC worked here in floating point, rounded to the penny: the independent check.
fn quartile_inc(values: &[f64], p: f64) -> i64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = p * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    let x = if i + 1 < v.len() {
        v[i] + (v[i + 1] - v[i]) * frac
    } else {
        v[i]
    };
    (x * 100.0).round() as i64
}

/// Every line field of the provider's form for a service, all 0 except care staff.
async fn return_form(
    c: &crate::support::Client,
    home: &str,
    care_staff: &str,
) -> Vec<(String, String)> {
    let page = c.get("/cost-of-care/returns?service=residential").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut f = vec![
        ("service".to_string(), "residential".to_string()),
        ("location_id".to_string(), home.to_string()),
        ("year".to_string(), "2025/26".to_string()),
    ];
    for part in page.body.split("name=\"line_").skip(1) {
        let key = part.split('"').next().unwrap();
        let v = if key == "care_staff" { care_staff } else { "0" };
        f.push((format!("line_{key}"), v.to_string()));
    }
    assert!(f.len() > 8, "the residential model's lines are asked for");
    f
}

/// Provider 1-101667957 runs six Devon and Plymouth homes; 1-101693962 runs Highlands
/// Borders (from the bundled records).
#[tokio::test]
async fn providers_send_cost_returns_and_the_council_sees_quartiles_and_outliers() {
    let app = TestApp::with_api_records().await;
    let homes_a = [
        "1-131732227",
        "1-131732289",
        "1-131732304",
        "1-131732317",
        "1-131732334",
        "1-131732349",
    ];
    let (_, pw) = app
        .user("costs@a.test", Role::Provider, Some("1-101667957"))
        .await;
    let a = app.client();
    a.sign_in("costs@a.test", &pw, &app).await;
    let (_, pw) = app
        .user("costs@b.test", Role::Provider, Some("1-101693962"))
        .await;
    let b = app.client();
    b.sign_in("costs@b.test", &pw, &app).await;

    // Not another provider's home, and every line filled in.
    let f = return_form(&a, "1-1000587219", "300.00").await;
    let r = a.post_form("/cost-of-care/returns", &refs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Select one of your care homes"));
    let mut f = return_form(&a, homes_a[0], "300.00").await;
    f.retain(|(k, _)| k != "line_food");
    let r = a.post_form("/cost-of-care/returns", &refs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("0 if you have none"));
    assert_eq!(app.count("cost_returns").await, 0);

    let weekly = [300.0, 320.0, 340.0, 360.0, 380.0, 400.0];
    for (home, w) in homes_a.iter().zip(weekly) {
        let f = return_form(&a, home, &format!("{w:.2}")).await;
        let r = a.post_form("/cost-of-care/returns", &refs(&f)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let f = return_form(&b, "1-1000587219", "1500.00").await;
    assert_eq!(
        b.post_form("/cost-of-care/returns", &refs(&f)).await.status,
        StatusCode::SEE_OTHER
    );
    // Sending again replaces.
    assert_eq!(
        b.post_form("/cost-of-care/returns", &refs(&f)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count("cost_returns").await, 7);

    // The council: quartiles against the independent working; Highlands Borders flagged.
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let all = c.get("/api/v1/cost-of-care/returns?year=2025").await.json();
    assert_eq!(all["returns"].as_array().unwrap().len(), 7);
    let total = all["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["service"] == "residential" && l["key"] == "total")
        .unwrap()
        .clone();
    let mut values = weekly.to_vec();
    values.push(1500.0);
    assert_eq!(total["count"], 7);
    assert_eq!(
        total["lower_quartile_pence"].as_i64(),
        Some(quartile_inc(&values, 0.25))
    );
    assert_eq!(
        total["median_pence"].as_i64(),
        Some(quartile_inc(&values, 0.5))
    );
    assert_eq!(
        total["upper_quartile_pence"].as_i64(),
        Some(quartile_inc(&values, 0.75))
    );
    assert_eq!(
        (quartile_inc(&values, 0.25), quartile_inc(&values, 0.5)),
        (33_000, 36_000)
    );
    assert_eq!(total["outliers"].as_array().unwrap().len(), 1);
    let page = c.get("/cost-of-care/returns?year=2025").await;
    assert!(
        page.body
            .contains("Highlands Borders Care Home (1-101693962)"),
        "{}",
        page.body
    );
    let csv = c
        .get("/cost-of-care/returns/download?year=2025&format=csv")
        .await;
    assert!(
        csv.body
            .contains("\"Residential care\",\"Total\",7,330.00,360.00,390.00,1"),
        "{}",
        csv.body
    );
    let every = c
        .get("/cost-of-care/returns/download?year=2025&format=csv&what=returns")
        .await;
    assert_eq!(every.body.lines().count(), 8);

    // A provider sees its own returns only: never another's home or figures.
    let own = a.get("/api/v1/cost-of-care/returns").await.json();
    assert_eq!(own["returns"].as_array().unwrap().len(), 6);
    assert!(own["summary"].as_array().unwrap().is_empty());
    assert!(!own.to_string().contains("1-101693962"));
    let page = a.get("/cost-of-care/returns").await;
    assert!(!page.body.contains("Highlands Borders"));
    assert!(!page.body.contains("£1,500.00"));
    assert_eq!(
        a.get("/cost-of-care/returns/download?year=2025")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The 2014-15 unit costs of another council, from the bundled PSS-EX1 file, uplifted by the
/// index given: Cumbria's residential £581.16 and England's £533.74 (data/README.md), × 1.25.
#[tokio::test]
async fn other_councils_unit_costs_uplifted_by_a_stated_index() {
    let app = TestApp::new().await;
    let (c, _) = app.signed_in(Role::Viewer).await;
    let page = c
        .get("/cost-of-care?council=Cumbria&from_index=100&to_index=125")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for want in ["£581.16", "£726.45", "£533.74", "£667.18"] {
        assert!(page.body.contains(want), "{want}");
    }
    let page = c.get("/cost-of-care").await;
    assert!(page.body.contains("2014 average 99.6, 2024 average 133.9"));
    let page = c.get("/cost-of-care?council=Cumbria&to_index=none").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Enter the index as a number above 0"));
}

/// Without placements entered beside a fee, the register's open placements count; and its
/// third-party top-ups are summarised. Two residential placements at real Plymouth homes.
#[tokio::test]
async fn the_register_gives_volumes_and_top_ups() {
    let app = TestApp::with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let homes: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT location_id FROM cqc_locations WHERE local_authority = $1 AND care_home = $2 ORDER BY location_id LIMIT 2",
            caremarket::args!["Plymouth", true],
        )
        .await
        .unwrap();
    for (i, ((home,), top_up)) in homes.iter().zip(["50.00", ""]).enumerate() {
        let case = format!("ASC-{i}");
        let r = c
            .post_form(
                "/capacity/placements",
                &[
                    ("case_reference", case.as_str()),
                    ("location_id", home.as_str()),
                    ("bed_type", "residential"),
                    ("funder", "council"),
                    ("weekly_fee", "700.00"),
                    ("top_up", top_up),
                    ("start_date", "01/01/2024"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = c
        .post_form(
            "/cost-of-care/fees",
            &[
                ("service", "residential"),
                ("band", "standard"),
                ("rate", "700.00"),
                ("effective_from", "01/04/2023"),
                ("volume", ""),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let gaps = c.get("/api/v1/cost-of-care").await.json();
    let g = gaps
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == "residential")
        .unwrap();
    assert_eq!(g["volume_hundredths"], 200);
    assert_eq!(g["volume_from_register"], true);
    let gap = g["gap_pence"].as_i64().unwrap();
    assert_eq!(g["modelled_pence"].as_i64().unwrap() - 70_000, gap);
    assert_eq!(g["annual_effect_pence"].as_i64(), Some(gap * 2 * 52));
    let page = c.get("/cost-of-care").await;
    let row = page.body.split("id=\"top-ups\"").nth(1).unwrap();
    assert!(row.contains("Residential care"));
    assert!(row.contains("£50.00"), "{row}");
}

//! Quality assurance: the contracts register, QAF visits (draft, submitted, confirmed, and
//! corrected by a new version), the 2018 Leicester domiciliary support report §4.9 tables from record-level fixtures, and
//! provider users seeing only their own visits.

use axum::http::StatusCode;
use caremarket::audit::Actor;
use caremarket::cqc::{Kind, import_file};
use caremarket_core::Role;

use crate::support::{Client, ClockExt, TestApp};

/// 24 home care agencies (1-70000 .. 1-70023), each its own provider except the last two,
/// which belong to provider 1-99999; CQC ratings: 14 Good, 3 Requires improvement, the
/// rest never rated. Plus a care home under a residential contract.
pub(crate) async fn market(app: &TestApp) {
    let mut csv = String::from(
        "Location ID,Location Name,Care Home?,Location Local Authority,Location Region,Service / Population Group,Domain,Latest Rating,Publication Date,Provider ID,Provider Name\n",
    );
    for i in 0..24 {
        let provider = if i >= 22 {
            "1-99999".to_string()
        } else {
            format!("1-8{:04}", i)
        };
        let rating = match i {
            0..14 => Some("Good"),
            14..17 => Some("Requires improvement"),
            _ => None,
        };
        if let Some(r) = rating {
            csv.push_str(&format!("1-7{:04},Agency {i},N,Leicester,East Midlands,Overall,Overall,{r},01/06/2018,{provider},Provider {i}\n", i));
        }
    }
    // Locations never rated still need to be known: they come from the care directory.
    let mut dir =
        String::from("Location ID,Location Name,Care home?,Location Local Authority,Provider ID\n");
    for i in 0..24 {
        let provider = if i >= 22 {
            "1-99999".to_string()
        } else {
            format!("1-8{:04}", i)
        };
        dir.push_str(&format!("1-7{:04},Agency {i},N,Leicester,{provider}\n", i));
    }
    dir.push_str("1-60000,Oak House,Y,Leicester,1-80100\n");
    let opts = |d: &str| caremarket::cqc::ImportOptions {
        edition: Some(d.parse().unwrap()),
        skip_invalid: false,
        ..Default::default()
    };
    import_file(
        &app.state,
        &Actor::cli("t"),
        Kind::Ratings,
        "ratings.csv",
        csv.as_bytes(),
        &opts("2018-06-30"),
    )
    .await
    .unwrap();
    import_file(
        &app.state,
        &Actor::cli("t"),
        Kind::Directory,
        "dir.csv",
        dir.as_bytes(),
        &opts("2018-06-30"),
    )
    .await
    .unwrap();
}

pub(crate) async fn upload_register(c: &Client, csv: &str) -> crate::support::Resp {
    c.post_file("/quality/contracts", &[], "register.csv", csv)
        .await
}

pub(crate) fn register() -> String {
    let mut csv =
        String::from("Location ID,Contract type,Start date,End date,Lots,Status,Reference\n");
    for i in 0..22 {
        csv.push_str(&format!(
            "1-7{i:04},Home care framework,01/04/2018,,Lot {},active,HC-{i}\n",
            i % 3 + 1
        ));
    }
    // Not in the home care tables: an ended framework contract and a residential one.
    csv.push_str("1-70023,home care framework,01/04/2017,31/03/2018,Lot 1,ended,HC-OLD\n");
    csv.push_str("1-60000,residential,01/04/2018,,,active,RES-1\n");
    csv
}

pub(crate) async fn visit(c: &Client, loc: &str, date: &str, grades: [&str; 5]) -> i64 {
    let r = c
        .post_form(
            "/quality/visits",
            &[
                ("location_id", loc),
                ("visit_type", "planned"),
                ("announced", "yes"),
                ("visit_date", date),
                ("officers", "QA team"),
                ("grade_0", grades[0]),
                ("grade_1", grades[1]),
                ("grade_2", grades[2]),
                ("grade_3", grades[3]),
                ("grade_4", grades[4]),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location().rsplit('/').next().unwrap().parse().unwrap()
}

pub(crate) async fn confirm(c: &Client, id: i64) {
    assert_eq!(
        c.post_form(&format!("/quality/visits/{id}/submit"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        c.post_form(&format!("/quality/visits/{id}/confirm"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_seed_003_tables_from_record_level_fixtures() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = upload_register(&c, &register()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // QAF visits: B x1, C x7, D x2 confirmed; one visit confirmed as B then corrected to C;
    // a draft and a visit after the date that do not count.
    let b = visit(&c, "1-70000", "01/05/2018", ["A", "B", "B", "A", "B"]).await;
    confirm(&c, b).await;
    for i in 1..7 {
        let id = visit(
            &c,
            &format!("1-7{i:04}"),
            "02/05/2018",
            ["B", "C", "B", "B", "B"],
        )
        .await;
        confirm(&c, id).await;
    }
    let corrected = visit(&c, "1-70007", "03/05/2018", ["B", "B", "B", "B", "B"]).await;
    confirm(&c, corrected).await;
    let r = c
        .post_form(
            &format!("/quality/visits/{corrected}/correct"),
            &[
                ("correction_reason", "Medicines finding missed"),
                ("location_id", "1-70007"),
                ("visit_type", "planned"),
                ("announced", "yes"),
                ("visit_date", "03/05/2018"),
                ("officers", "QA team"),
                ("grade_0", "C"),
                ("grade_1", "B"),
                ("grade_2", "B"),
                ("grade_3", "B"),
                ("grade_4", "B"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let correction: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    confirm(&c, correction).await;
    for i in 8..10 {
        let id = visit(
            &c,
            &format!("1-7{i:04}"),
            "04/05/2018",
            ["D", "C", "B", "B", "C"],
        )
        .await;
        confirm(&c, id).await;
    }
    visit(&c, "1-70010", "05/05/2018", ["A", "A", "A", "A", "A"]).await; // a draft only
    let later = visit(&c, "1-70011", "01/09/2018", ["A", "A", "A", "A", "A"]).await;
    confirm(&c, later).await;

    // Worked by hand: 22 framework contracts in force on 30/06/2018 (the ended one and the
    // residential one excluded). CQC: 14 Good, 3 RI, 5 never rated. QAF: B 1; C 6 + the
    // correction = 7; D 2; the draft, the later visit and 11 others not yet visited = 12.
    let t = c
        .get("/api/v1/quality/summary?contract_type=home_care_framework&as_at=2018-06-30")
        .await
        .json();
    assert_eq!(t["contracted"], 22);
    let counts = |k: &str| {
        t[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x[1].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(counts("by_cqc"), [0, 14, 3, 0, 5]);
    assert_eq!(counts("by_qaf"), [0, 1, 7, 2, 12]);
    assert_eq!(t["good_or_outstanding_pct"], 82.4, "14 of 17 rated");
    // After the September visit, one more at A.
    let t = c
        .get("/api/v1/quality/summary?contract_type=home_care_framework&as_at=2018-09-30")
        .await
        .json();
    assert_eq!(counts_of(&t, "by_qaf"), [1, 1, 7, 2, 11]);
    // The residential market on its own.
    let t = c
        .get("/api/v1/quality/summary?contract_type=residential&as_at=2018-06-30")
        .await
        .json();
    assert_eq!(t["contracted"], 1);
    // The page shows the same tables.
    let page = c
        .get("/quality?contract_type=home_care_framework&as_at=2018-06-30")
        .await;
    assert!(page.body.contains("22 contracted providers"));
    // A confirmed visit is never changed in place; its correction superseded it.
    let old = c
        .get(&format!("/api/v1/quality/visits/{corrected}"))
        .await
        .json();
    assert_eq!(old["status"], "superseded");
    assert_eq!(
        c.post_form(&format!("/quality/visits/{correction}/submit"), &[])
            .await
            .status,
        StatusCode::CONFLICT
    );
    let new = c
        .get(&format!("/api/v1/quality/visits/{correction}"))
        .await
        .json();
    assert_eq!(
        (
            new["overall_grade"].as_str(),
            new["version"].as_i64(),
            new["supersedes_id"].as_i64()
        ),
        (Some("C"), Some(2), Some(corrected))
    );
    // The re-uploaded register updates instead of doubling.
    upload_register(&c, &register()).await;
    assert_eq!(app.count("contracts").await, 24);
}

fn counts_of(t: &serde_json::Value, k: &str) -> Vec<u64> {
    t[k].as_array()
        .unwrap()
        .iter()
        .map(|x| x[1].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_bad_register_loads_nothing_and_says_where() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let bad = "Location ID,Contract type,Start date,End date,Status\n1-70000,home care framework,01/04/2018,,active\n1-70001,weekly,01/04/2018,,active\nnot an id,spot,31/02/2018,,paused\n1-70002,spot,01/04/2018,01/01/2018,active\n";
    let r = upload_register(&c, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.body.replace("&#34;", "\"").replace("&quot;", "\"");
    for want in [
        "row 3, column \"Contract type\", value \"weekly\"",
        "row 4, column \"Location ID\"",
        "31/02/2018",
        "value \"paused\"",
        "is before the start date",
        "nothing was imported",
    ] {
        assert!(text.contains(want), "{want}");
    }
    assert_eq!(app.count("contracts").await, 0);
}

#[tokio::test]
async fn visit_forms_check_what_they_need() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = c
        .post_form(
            "/quality/visits",
            &[
                ("location_id", "1-nope"),
                ("announced", "no"),
                ("visit_date", "31/02/2026"),
                ("grade_0", "E"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "location in the CQC data",
        "planned or reactive",
        "why the visit was not announced",
        "Enter the visit date",
        "Enter the officers",
        "Select a grade for Safe",
        "Select a grade for Well-led",
    ] {
        assert!(r.body.contains(want), "{want}");
    }
    assert_eq!(app.count("qaf_visits").await, 0);
}

#[tokio::test]
async fn provider_users_see_only_their_own_visits() {
    let app = TestApp::new().await;
    market(&app).await;
    let (officer, _) = app.signed_in(Role::Commissioner).await;
    let theirs = visit(&officer, "1-70022", "01/05/2018", ["B", "B", "B", "B", "C"]).await;
    let others = visit(&officer, "1-70001", "01/05/2018", ["A", "A", "A", "A", "A"]).await;
    let (_, pw) = app
        .user("manager@agency.test", Role::Provider, Some("1-99999"))
        .await;
    let p = app.client();
    p.sign_in("manager@agency.test", &pw, &app).await;
    assert_eq!(
        p.get(&format!("/quality/visits/{theirs}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        p.get(&format!("/quality/visits/{others}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.get(&format!("/api/v1/quality/visits/{others}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = p.get("/api/v1/quality/visits").await.json();
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [theirs]);
    // No recording, confirming or summary tables for a provider.
    assert_eq!(
        p.post_form(&format!("/quality/visits/{theirs}/submit"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(p.get("/quality").await.status, StatusCode::FORBIDDEN);
    let status = officer
        .get(&format!("/api/v1/quality/visits/{theirs}"))
        .await
        .json()["status"]
        .clone();
    assert_eq!(status, "draft", "nothing changed");
}

#[tokio::test]
async fn action_plans_follow_a_low_grade_and_the_provider_records_progress() {
    let app = TestApp::new().await;
    market(&app).await;
    let (officer, _) = app.signed_in(Role::Commissioner).await;
    // A D grade confirmed: an action plan is opened for the visit.
    let v = visit(&officer, "1-70022", "01/05/2018", ["B", "D", "B", "B", "C"]).await;
    confirm(&officer, v).await;
    let plans: Vec<(i64, Option<i64>)> = app
        .db()
        .q()
        .fetch_all("SELECT id, visit_id FROM action_plans", vec![])
        .await
        .unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].1, Some(v));
    let plan = plans[0].0;
    // A B grade does not open one.
    let b = visit(&officer, "1-70001", "01/05/2018", ["B", "B", "A", "B", "B"]).await;
    confirm(&officer, b).await;
    assert_eq!(app.count("action_plans").await, 1);

    let today = app.clock.now_utc().date_naive();
    let fmt = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    for (what, due) in [
        ("Medicines audit", today + chrono::Duration::days(5)),
        ("Staff training plan", today + chrono::Duration::days(30)),
    ] {
        let r = officer
            .post_form(
                &format!("/quality/plans/{plan}/items"),
                &[
                    ("description", what),
                    ("owner", "Registered manager"),
                    ("due_date", &fmt(due)),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = officer
        .post_form(
            &format!("/quality/plans/{plan}/items"),
            &[("description", ""), ("owner", ""), ("due_date", "soon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rags = |d: &serde_json::Value| {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["rag"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let d = officer
        .get(&format!("/api/v1/quality/plans/{plan}"))
        .await
        .json();
    assert_eq!(rags(&d), ["amber", "green"]);
    let first = d["items"][0]["id"].as_i64().unwrap();

    // The provider's own user sees the plan and records progress; nothing of others'.
    let (_, pw) = app
        .user("manager@agency.test", Role::Provider, Some("1-99999"))
        .await;
    let p = app.client();
    p.sign_in("manager@agency.test", &pw, &app).await;
    assert_eq!(
        p.get(&format!("/quality/plans/{plan}")).await.status,
        StatusCode::OK
    );
    let r = p
        .post_form(
            &format!("/quality/items/{first}/progress"),
            &[
                ("status", "done"),
                ("evidence", "Audit of 20 charts, no errors"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        p.post_form(&format!("/quality/items/{first}/sign-off"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (_, pw2) = app
        .user("other@agency.test", Role::Provider, Some("1-80001"))
        .await;
    let other = app.client();
    other.sign_in("other@agency.test", &pw2, &app).await;
    assert_eq!(
        other.get(&format!("/quality/plans/{plan}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post_form(
                &format!("/quality/items/{first}/progress"),
                &[("status", "open"), ("evidence", "x")]
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The council signs it off; the other item becomes overdue when its day passes.
    assert_eq!(
        officer
            .post_form(&format!("/quality/items/{first}/sign-off"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app.clock.advance(chrono::Duration::days(31));
    let (officer, _) = app.signed_in(Role::Commissioner).await;
    let d = officer
        .get(&format!("/api/v1/quality/plans/{plan}"))
        .await
        .json();
    assert_eq!(rags(&d), ["complete", "red"]);
    assert_eq!(d["items"][0]["evidence"], "Audit of 20 charts, no errors");
    let actions = app.audit_actions().await;
    for a in [
        "action_plan.create",
        "action_item.create",
        "action_item.progress",
        "action_item.sign_off",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

#[tokio::test]
async fn concerns_warn_on_names_and_nhs_numbers_before_saving() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let base = [
        ("location_id", "1-70003"),
        ("received_date", "02/06/2018"),
        ("source", "safeguarding"),
        ("severity", "high"),
    ];
    let with = |summary: &'static str, confirm: bool| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        f.push(("summary", summary));
        if confirm {
            f.push(("confirm_no_names", "yes"));
        }
        f
    };
    let r = c
        .post_form(
            "/quality/concerns",
            &with(
                "Mrs Patel was left without her medication; NHS 943 476 5919",
                false,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("looks like a person") && r.body.contains("looks like an NHS number"));
    assert!(
        r.body.contains("confirm_no_names"),
        "the confirmation box is offered"
    );
    assert!(
        r.body.contains("Mrs Patel was left"),
        "nothing typed is lost"
    );
    assert_eq!(app.count("concerns").await, 0);
    // Plain text saves at once; flagged text only when the officer confirms.
    let r = c
        .post_form(
            "/quality/concerns",
            &with("Two medication errors on nights in one week", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c
        .post_form(
            "/quality/concerns",
            &with(
                "Raised by Dr Jones at the GP surgery (a professional, not a resident)",
                true,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("concerns").await, 2);
    let r = c
        .post_form(
            "/quality/concerns",
            &[
                ("location_id", "1-nope"),
                ("received_date", "x"),
                ("summary", ""),
            ],
        )
        .await;
    for want in [
        "location in the CQC data",
        "date the concern was received",
        "where the concern came from",
        "Select the severity",
        "Describe the concern",
    ] {
        assert!(r.body.contains(want), "{want}");
    }
    assert!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "concern.create")
            .count()
            == 2
    );
}

#[tokio::test]
async fn the_risk_tool_ranks_by_points_that_add_up() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    assert_eq!(
        upload_register(&c, &register()).await.status,
        StatusCode::SEE_OTHER
    );
    let today = app.clock.now_utc().date_naive();
    let fmt = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    // 1-70014 (Requires improvement): a high concern this year, a D grade a month ago (which
    // opens a plan) and an item overdue since yesterday.
    let r = c
        .post_form(
            "/quality/concerns",
            &[
                ("location_id", "1-70014"),
                ("received_date", &fmt(today - chrono::Duration::days(40))),
                ("source", "complaint"),
                ("severity", "high"),
                ("summary", "Missed calls on three days"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A concern older than 12 months does not count.
    c.post_form(
        "/quality/concerns",
        &[
            ("location_id", "1-70014"),
            ("received_date", &fmt(today - chrono::Duration::days(400))),
            ("source", "complaint"),
            ("severity", "high"),
            ("summary", "Old matter"),
        ],
    )
    .await;
    let v = visit(
        &c,
        "1-70014",
        &fmt(today - chrono::Duration::days(30)),
        ["D", "C", "B", "B", "C"],
    )
    .await;
    confirm(&c, v).await;
    let plan: i64 = app
        .db()
        .q()
        .scalar("SELECT id FROM action_plans", vec![])
        .await
        .unwrap();
    c.post_form(
        &format!("/quality/plans/{plan}/items"),
        &[
            ("description", "Call monitoring"),
            ("owner", "Manager"),
            ("due_date", &fmt(today - chrono::Duration::days(1))),
        ],
    )
    .await;
    let list = c.get("/api/v1/quality/risk").await.json();
    let rows = list.as_array().unwrap();
    assert_eq!(
        rows.len(),
        23,
        "every contract in force: 22 framework and 1 residential"
    );
    // Worked by hand: RI 20, no key questions known 0, rated June 2018 and the data is of
    // 30 June 2018 (a rating's age is measured from the data's own date, as on the dashboard:
    // see cqc_today::one_clock) so age 0, manager unknown 0, one high concern 8, QAF D 15,
    // graded a month ago 0, one overdue item 5.
    assert_eq!(rows[0]["location_id"], "1-70014");
    assert_eq!(rows[0]["score"], 48);
    let points: Vec<i64> = rows[0]["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["points"].as_i64().unwrap())
        .collect();
    assert_eq!(points, [20, 0, 0, 0, 8, 15, 0, 5, 0, 0]);
    for r in rows {
        let sum: i64 = r["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["points"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, r["score"].as_i64().unwrap(), "{}", r["location_id"]);
    }
    // Good, rated at the data's date, never visited: 5 + 0 + 5 = 10; never rated, never
    // visited: 15 + 5.
    let score_of = |id: &str| {
        rows.iter().find(|r| r["location_id"] == id).unwrap()["score"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(score_of("1-70000"), 10);
    assert_eq!(score_of("1-70020"), 20);
    assert_eq!(
        score_of("1-70015"),
        25,
        "Requires improvement 20 + age 0 + never visited 5"
    );
    let plan_csv = c.get("/quality/risk.csv?top=3").await;
    assert_eq!(plan_csv.body.lines().count(), 4);
    assert!(
        plan_csv
            .body
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1,\"1-70014\"")
    );
    assert_eq!(c.get("/quality/risk").await.status, StatusCode::OK);
}

/// The back-test runs end to end on a history file of the real shape; here a small one where
/// services with a poor rating are rated poorly again, so the score must find it.
#[test]
fn eval_risk_prints_its_definition_and_aucs() {
    let dir = std::env::temp_dir().join(format!("cm-eval-{}", crate::support::random_name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.csv");
    let mut csv = String::from(
        "\"\",\"reportdate\",\"overall\",\"ownership\",\"locationid\",\"location_start_2025\",\"location_end_2025\",\"good\",\"rating\"\n",
    );
    let mut n = 0;
    for i in 0..400 {
        let poor = i % 4 == 0;
        // Registered in 2012 (Stata day 19000 is 2012-01-08), rated each spring.
        for (k, year) in (2015..=2024).step_by(2).enumerate() {
            let rating = if poor && k % 2 == 0 {
                "Requires improvement"
            } else if poor {
                "Inadequate"
            } else {
                "Good"
            };
            n += 1;
            csv.push_str(&format!("\"{n}\",{year}-0{}-15,\"{rating}\",\"For-profit\",\"1-{}\",19000,,0,\"{rating}\"\n", 3 + i % 6, 500000 + i));
        }
    }
    std::fs::write(&path, csv).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["eval", "risk", "--file", path.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("Outcome: the next rating published in the 24 months"),
        "{out}"
    );
    assert!(
        out.contains("time to the next inspection"),
        "the leak is named: {out}"
    );
    let auc_of = |label: &str| -> f64 {
        let line = out.lines().find(|l| l.starts_with(label)).unwrap();
        line.split("AUC ").nth(1).unwrap()[..5].parse().unwrap()
    };
    // Poor services alternate Requires improvement and Inadequate: the risk tool's points
    // for the current rating alone rank them first.
    assert!(auc_of("Risk tool score") > 0.9, "{out}");
    assert!(auc_of("Baseline") > 0.9, "{out}");
    assert!(auc_of("Fitted model") > 0.9, "{out}");
    // The care-home back-test on the bundled API records: all 421 Devon and Plymouth homes.
    assert!(out.contains("Care homes: 421 records"), "{out}");
    assert!(out.contains("survivor"), "its bias is named");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An admin sets the council's own QAF (two domains with standards, a numeric four-grade
/// scale, the median rule) and risk weights; visits, action plans, the summary tables and
/// the risk tool all follow it.
#[tokio::test]
async fn a_council_sets_its_own_framework_and_risk_weights() {
    let app = TestApp::new().await;
    market(&app).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = admin.get("/admin/quality").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Safe: Learning culture; Safe systems, pathways and transitions")
    );
    assert!(
        page.body
            .contains("A Excellent\nB Good\nC Compliant\nD Non-compliant")
    );
    let mut form: Vec<(&'static str, String)> = vec![
        (
            "domains",
            "Safe: Medicines; Staffing\nWell-led: Governance".into(),
        ),
        (
            "scale",
            "1 Outstanding\n2 Good\n3 Requires improvement\n4 Poor".into(),
        ),
        ("rule", "median".into()),
    ];
    let defaults = caremarket_core::risk::Weights::default();
    let w = serde_json::to_value(&defaults).unwrap();
    for (k, v) in w.as_object().unwrap() {
        let v = match k.as_str() {
            "qaf_grade" => "0, 3, 9, 20".to_string(),
            "concern_high" => "12".to_string(),
            _ => v.to_string(),
        };
        // Field names live as long as the test: leak the few short strings.
        form.push((Box::leak(k.clone().into_boxed_str()), v));
    }
    let post = |form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post_form("/admin/quality", &f).await
        }
    };
    // Mistakes first: a grade without a name and too few risk points for the scale.
    let mut bad = form.clone();
    bad[1].1 = "1\n2 Good".into();
    let qi = bad.iter().position(|(k, _)| *k == "qaf_grade").unwrap();
    bad[qi].1 = "0, 3".into();
    let r = post(bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Line 1: give grade 1 a name"));
    assert!(
        r.body.contains("1\n2 Good</textarea>"),
        "what was typed is kept"
    );
    let mut bad = form.clone();
    bad[qi].1 = "0, 3".into();
    let r = post(bad).await;
    assert!(r.body.contains("Give 4 numbers for the last QAF grade"));
    let r = post(form.clone()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        app.audit_actions()
            .await
            .contains(&"settings.update".to_string())
    );

    // The visit form asks for the two domains and their standards.
    let (c, _) = app.signed_in(Role::Commissioner).await;
    assert_eq!(
        upload_register(&c, &register()).await.status,
        StatusCode::SEE_OTHER
    );
    let page = c.get("/quality/visits/new").await;
    assert!(page.body.contains("Well-led: grade") && !page.body.contains("Caring: grade"));
    assert!(page.body.contains("name=\"finding_0_1\"") && page.body.contains(">Staffing</label>"));
    assert!(page.body.contains("3 Requires improvement"));
    assert!(
        page.body
            .contains("The overall grade is the middle domain grade")
    );
    let r = c
        .post_form(
            "/quality/visits",
            &[
                ("location_id", "1-70014"),
                ("visit_type", "reactive"),
                ("announced", "no"),
                ("unannounced_reason", "Following a safeguarding alert"),
                (
                    "visit_date",
                    &app.clock
                        .now_utc()
                        .date_naive()
                        .format("%d/%m/%Y")
                        .to_string(),
                ),
                ("officers", "QA team"),
                ("grade_0", "4"),
                ("grade_1", "2"),
                ("finding_0_0", "Two MAR charts unsigned"),
                ("finding_1_0", "Audits not done since March"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    // Median of 4 and 2, the lower grade on a tie: 4 (ranks 3 and 1; upper median 3).
    let v = c.get(&format!("/api/v1/quality/visits/{id}")).await.json();
    assert_eq!(v["overall_grade"], "4");
    assert_eq!(
        v["findings"][0],
        serde_json::json!(["Safe", "Medicines", "Two MAR charts unsigned"])
    );
    assert_eq!(
        v["findings"][1],
        serde_json::json!(["Well-led", "Governance", "Audits not done since March"])
    );
    assert_eq!(v["grades"].as_array().unwrap().len(), 2);
    confirm(&c, id).await;
    assert_eq!(
        app.count("action_plans").await,
        1,
        "a 4 (Poor) opens a plan"
    );
    let page = c.get(&format!("/quality/visits/{id}")).await;
    assert!(page.body.contains("Audits not done since March"));
    // The summary uses the council's scale; the risk tool its weights (grade 4 = 20 points).
    let t = c
        .get("/api/v1/quality/summary?contract_type=home_care_framework")
        .await
        .json();
    let labels: Vec<&str> = t["by_qaf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "1 Outstanding",
            "2 Good",
            "3 Requires improvement",
            "4 Poor",
            "Not yet visited"
        ]
    );
    assert_eq!(counts_of(&t, "by_qaf"), [0, 0, 0, 1, 21]);
    let rows = c.get("/api/v1/quality/risk").await.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["location_id"] == "1-70014")
        .unwrap();
    assert_eq!(row["contributions"][5]["points"], 20);
    assert!(
        c.get("/quality/risk")
            .await
            .body
            .contains("Last confirmed QAF grade: 1 0, 2 3, 3 9, 4 20")
    );
    // A grade visits carry cannot leave the scale.
    let mut drop4 = form.clone();
    drop4[1].1 = "1 Outstanding\n2 Good\n3 Poor".into();
    drop4[qi].1 = "0, 3, 9".into();
    let r = post(drop4).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Keep grade 4 on the scale"));
    // The settings survive a restart (read back from the database).
    let s = caremarket::admin::settings::load(app.db()).await.unwrap();
    assert_eq!(s.qaf.domains.len(), 2);
    assert_eq!(s.risk_weights.concern_high, 12);
}

/// Seed 004 §4.6 gives quality "for the contracted providers" beside the whole market: the
/// dashboard does both, and a new register shows at once (the cached dashboard is rebuilt).
#[tokio::test]
async fn the_dashboard_gives_the_contracted_market_beside_the_whole() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let before = c.get("/api/v1/market/summary?area=Leicester").await.json();
    assert!(
        before["contracted"].is_null(),
        "no register, no contracted figures"
    );
    assert!(
        !c.get("/market?area=Leicester")
            .await
            .body
            .contains("id=\"contracted\"")
    );
    // Ten Good agencies, the three rated Requires improvement, one never rated, Oak House.
    let mut csv = String::from("Location ID,Contract type,Start date\n");
    for i in (0..10).chain(14..17).chain([20]) {
        csv.push_str(&format!("1-7{i:04},Home care framework,01/04/2018\n"));
    }
    csv.push_str("1-60000,Residential,01/04/2018\n");
    assert_eq!(
        upload_register(&c, &csv).await.status,
        StatusCode::SEE_OTHER
    );
    // Worked by hand: contracted 15 locations, 13 rated, 10 Good: 76.9%. The whole market
    // in Leicester: 25 locations, 17 rated, 14 Good: 82.4%. Contracted care homes: Oak
    // House, not rated.
    let d = c.get("/api/v1/market/summary?area=Leicester").await.json();
    let k = &d["contracted"];
    assert_eq!(
        (
            k["locations"].as_u64(),
            k["rated"].as_u64(),
            k["good_or_outstanding"].as_u64(),
            k["requires_improvement"].as_u64()
        ),
        (Some(15), Some(13), Some(10), Some(3))
    );
    assert_eq!(k["good_or_outstanding_pct"], 76.9);
    assert_eq!(d["all_locations"]["good_or_outstanding_pct"], 82.4);
    assert_eq!(d["all_locations"]["locations"], 25);
    assert_eq!(d["contracted_care_homes"]["locations"], 1);
    assert_eq!(d["contracted_care_homes"]["rated"], 0);
    let page = c.get("/market?area=Leicester").await;
    assert!(
        page.body.contains("76.9% of the contracted services rated by CQC (10 of 13) are rated Good or Outstanding, against 82.4% of all services in Leicester."),
        "{}",
        page.body
    );
    let report = c.get("/market/report?area=Leicester").await;
    assert!(report.body.contains("76.9% of the contracted services rated by CQC (10 of 13) are rated Good or Outstanding; 0 of them Inadequate."));
    // Each contracted figure drills down to a list of that length.
    for (group, measure, n) in [
        ("all", "locations", 15),
        ("all", "rated", 13),
        ("all", "good_or_outstanding", 10),
        ("care_homes", "locations", 1),
    ] {
        let list = c
            .get(&format!(
                "/market/locations?area=Leicester&by=contracted&group={group}&measure={measure}"
            ))
            .await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(
            list.body.matches("href=\"/locations/").count(),
            n,
            "{group} {measure}"
        );
    }
}

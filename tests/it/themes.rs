//! Thematic analysis (Leicester quality of regulated care, 2023, §4.11–4.18): issues tagged with themes, counts by theme for a
//! period and the contracted market, training offers with gaps and signposting, suggested
//! themes from key phrases, configurable themes, and the QA report.

use axum::http::StatusCode;
use caremarket_core::Role;
use std::collections::HashMap;

use crate::quality::{market, register, upload_register};
use crate::support::{Client, TestApp};

/// Theme ids by name, from the API's analysis (every active theme is listed).
async fn theme_ids(c: &Client) -> HashMap<String, i64> {
    let a = c.get("/api/v1/quality/themes?locations=all").await.json();
    a["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["theme"].as_str().unwrap().to_string(),
                t["theme_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn issue(c: &Client, ids: &HashMap<String, i64>, loc: &str, date: &str, themes: &[&str]) {
    let mut f: Vec<(&str, String)> = vec![
        ("location_id", loc.into()),
        ("source", "cqc_report".into()),
        ("found_date", date.into()),
        ("text", format!("Issue at {loc} on {date}")),
        ("action", "save".into()),
    ];
    for t in themes {
        f.push(("theme", ids[*t].to_string()));
    }
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post_form("/quality/issues", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

fn counts(a: &serde_json::Value) -> Vec<(String, u64)> {
    a["themes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["issues"].as_u64().unwrap() > 0)
        .map(|t| {
            (
                t["theme"].as_str().unwrap().to_string(),
                t["issues"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn theme<'a>(a: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    a["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["theme"] == name)
        .unwrap()
}

#[tokio::test]
async fn the_seed_004_theme_counts_from_record_level_fixtures() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    assert_eq!(
        upload_register(&c, &register()).await.status,
        StatusCode::SEE_OTHER
    );
    let ids = theme_ids(&c).await;
    assert_eq!(
        ids.len(),
        19,
        "the 2023 Leicester quality of regulated care report's 19 themes are there from the start"
    );
    let (m, hs, st, fire, covid, lead) = (
        "Medication",
        "Health & Safety",
        "Staff training & Development",
        "Fire Safety",
        "Covid-19",
        "Leadership",
    );
    issue(&c, &ids, "1-70000", "01/03/2021", &[m]).await;
    issue(&c, &ids, "1-70000", "01/03/2021", &[m, st]).await; // two themes
    issue(&c, &ids, "1-70001", "10/01/2022", &[m]).await;
    issue(&c, &ids, "1-70002", "05/05/2022", &[hs, fire]).await;
    issue(&c, &ids, "1-70002", "05/05/2022", &[fire]).await;
    issue(&c, &ids, "1-60000", "02/02/2023", &[m]).await; // the residential home
    issue(&c, &ids, "1-70003", "30/06/2023", &[covid]).await; // the last day counts
    issue(&c, &ids, "1-70004", "31/12/2019", &[m]).await; // before the period
    issue(&c, &ids, "1-70023", "01/01/2022", &[lead]).await; // contract ended in 2018

    // Worked by hand for the contracted market, 1/1/2020 to 30/6/2023: Medication issues
    // 1, 2, 3, 6 = 4 at three homes; Fire Safety 4, 5 = 2; Health & Safety, Staff training
    // and Covid-19 1 each (ties in the 2023 Leicester quality of regulated care report's order); 7 issues at 5 locations.
    let q = "from=2020-01-01&to=2023-06-30";
    let a = c.get(&format!("/api/v1/quality/themes?{q}")).await.json();
    assert_eq!(
        (a["issues"].as_u64(), a["locations"].as_u64()),
        (Some(7), Some(5))
    );
    let want = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    };
    assert_eq!(
        counts(&a),
        want(&[(m, 4), (fire, 2), (hs, 1), (st, 1), (covid, 1)])
    );
    assert_eq!(theme(&a, m)["locations"], 3);
    assert_eq!(a["themes"].as_array().unwrap().len(), 19);
    // Signposting: the providers behind the issues, most issues first.
    let sp: Vec<(String, u64)> = theme(&a, m)["signpost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["provider_id"].as_str().unwrap().to_string(),
                s["issues"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sp[0], ("1-80000".to_string(), 2));
    let mut rest = sp[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [("1-80001".to_string(), 1), ("1-80100".to_string(), 1)]
    );
    // Every location with issues: the ended contract's Leadership issue joins.
    let all = c
        .get(&format!("/api/v1/quality/themes?{q}&locations=all"))
        .await
        .json();
    assert_eq!(
        (all["issues"].as_u64(), all["locations"].as_u64()),
        (Some(8), Some(6))
    );
    assert_eq!(theme(&all, lead)["issues"], 1);
    // Residential contracts only: the one home's one issue.
    let res = c
        .get(&format!(
            "/api/v1/quality/themes?{q}&contract_type=residential"
        ))
        .await
        .json();
    assert_eq!(counts(&res), want(&[(m, 1)]));

    // A training offer for Medication: the themes with issues and no offer are gaps, except
    // Covid-19, which is not a training need (Leicester quality of regulated care, 2023, §4.12).
    let r = c
        .post_form(
            "/quality/training",
            &[
                ("title", "Medicines L2 distance learning"),
                ("delivered_by", "Leicester College"),
                ("theme", &ids[m].to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let a = c.get(&format!("/api/v1/quality/themes?{q}")).await.json();
    let gaps: Vec<&str> = a["themes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["gap"] == true)
        .map(|t| t["theme"].as_str().unwrap())
        .collect();
    assert_eq!(gaps, [fire, hs, st]);
    assert_eq!(
        theme(&a, m)["offers"][0][0],
        "Medicines L2 distance learning"
    );
    let page = c.get("/quality/training").await;
    assert!(page.body.contains("Leicester College"));
    assert!(
        page.body.contains("Provider 0"),
        "signposted: {}",
        page.body
    );

    // The page, the CSV and the report say the same.
    let page = c.get(&format!("/quality/themes?{q}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("7 issues at 5 locations"));
    assert!(page.body.contains("<svg"), "a chart");
    let csv = c.get(&format!("/quality/themes?{q}&format=csv")).await;
    assert!(csv.content_type().starts_with("text/csv"));
    let line = csv
        .body
        .lines()
        .find(|l| l.starts_with("\"Medication\","))
        .unwrap_or_else(|| panic!("{}", csv.body));
    assert!(line.starts_with(
        "\"Medication\",4,3,\"Medicines L2 distance learning (Leicester College)\",\"\","
    ));
    assert!(
        csv.body
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("\"Medication\",4,")
    );
    let fire = csv.body.lines().nth(2).unwrap();
    assert!(
        fire.starts_with("\"Fire Safety\",2,1,\"\",\"Yes\","),
        "{fire}"
    );
    let report = c
        .get("/quality/report?since=2020-01-01&as_at=2023-06-30")
        .await;
    assert_eq!(report.status, StatusCode::OK);
    for want in [
        "Medication (4 specific issues)",
        "Fire Safety (2 specific issues)",
        "Covid-19 (1 specific issue) N.B. not included in the analysis of training needs",
        "7 individual issues were recorded at 5 contracted locations",
        "23 contracted providers in force on 30 June 2023",
    ] {
        assert!(report.body.contains(want), "{want}: {}", report.body);
    }
    let offers_table = report.body.split("id=\"report-offers\"").nth(1).unwrap();
    assert!(
        offers_table
            .contains("Fire Safety</th><td class=\"govuk-table__cell\">No offer identified")
    );
    assert!(!offers_table.contains("Covid-19"));
}

#[tokio::test]
async fn themes_are_suggested_from_key_phrases_and_the_officer_decides() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let ids = theme_ids(&c).await;
    let text = "MAR charts were not signed and fire doors were wedged open.";
    let base = [
        ("location_id", "1-70005"),
        ("source", "qaf_visit"),
        ("found_date", "14/06/2023"),
        ("text", text),
    ];
    let mut f = base.to_vec();
    f.push(("action", "suggest"));
    let r = c.post_form("/quality/issues", &f).await;
    assert_eq!(r.status, StatusCode::OK, "suggesting saves nothing");
    assert_eq!(app.count("qa_issues").await, 0);
    let ticked = |body: &str, name: &str| {
        let id = ids[name];
        body.contains(&format!("value=\"{id}\" checked"))
    };
    assert!(ticked(&r.body, "Medication") && ticked(&r.body, "Fire Safety"));
    assert!(!ticked(&r.body, "Leadership"));
    assert!(r.body.contains("Suggested: the text mentions MAR chart"));
    assert!(r.body.contains(text), "nothing typed is lost");
    // The officer keeps Medication, drops Fire Safety and adds Health & Safety.
    let mut f = base.to_vec();
    let (med, hs) = (
        ids["Medication"].to_string(),
        ids["Health & Safety"].to_string(),
    );
    f.extend([
        ("theme", med.as_str()),
        ("theme", hs.as_str()),
        ("action", "save"),
    ]);
    let r = c.post_form("/quality/issues", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let tags: Vec<(i64, bool)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT theme_id, suggested FROM qa_issue_themes ORDER BY theme_id",
            caremarket::args![],
        )
        .await
        .unwrap();
    let mut want = vec![(ids["Medication"], true), (ids["Health & Safety"], false)];
    want.sort();
    assert_eq!(tags, want);
    // Saving with no theme, a bad date or an unknown location says what to fix.
    let r = c
        .post_form(
            "/quality/issues",
            &[
                ("location_id", "1-nope"),
                ("found_date", "x"),
                ("text", ""),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "location in the CQC data",
        "Select where the issue was found",
        "date of the report or visit",
        "Describe the issue found",
        "Select at least one theme",
    ] {
        assert!(r.body.contains(want), "{want}");
    }
    // Text that looks like a person's details waits for the officer's confirmation.
    let mut f = base.to_vec();
    f[3] = ("text", "Mrs Patel's MAR chart unsigned");
    f.extend([("theme", med.as_str()), ("action", "save")]);
    let r = c.post_form("/quality/issues", &f).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("confirm_no_names"));
    assert_eq!(app.count("qa_issues").await, 1);

    // The API: without themes it only suggests; with them it records.
    let r = c
        .post_json(
            "/api/v1/quality/issues",
            serde_json::json!({"location_id": "1-70006", "source": "cqc_report", "found_date": "2023-01-05", "text": "No PEEPs in place"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert!(j["id"].is_null());
    assert_eq!(j["suggested"][0][0], ids["Fire Safety"]);
    assert_eq!(app.count("qa_issues").await, 1);
    let r = c
        .post_json(
            "/api/v1/quality/issues",
            serde_json::json!({"location_id": "1-70006", "source": "cqc_report", "found_date": "2023-01-05", "text": "No PEEPs in place", "themes": [ids["Fire Safety"]]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["id"].as_i64().is_some());
    let r = c
        .post_json(
            "/api/v1/quality/issues",
            serde_json::json!({"location_id": "1-70006", "source": "cqc_report", "found_date": "2023-01-05", "text": "x", "themes": [999999]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = c.get("/api/v1/quality/issues").await.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["themes"][0], "Fire Safety", "newest first");
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "qa_issue.create")
            .count(),
        2
    );

    // From a QA visit's page: the form starts with the visit's location and date, and the
    // issue is kept linked to the visit.
    let v = crate::quality::visit(&c, "1-70007", "03/05/2023", ["B", "C", "B", "B", "B"]).await;
    let page = c.get(&format!("/quality/visits/{v}")).await;
    assert!(page.body.contains(&format!("/quality/issues?visit={v}")));
    let form = c.get(&format!("/quality/issues?visit={v}")).await;
    assert!(form.body.contains("value=\"1-70007\"") && form.body.contains("value=\"03/05/2023\""));
    assert!(
        form.body
            .contains(&format!("name=\"visit_id\" value=\"{v}\""))
    );
    let vs = v.to_string();
    let fields = |loc: &'static str| {
        vec![
            ("location_id", loc),
            ("source", "qaf_visit"),
            ("found_date", "03/05/2023"),
            ("text", "Care plans not reviewed for six months"),
            ("theme", ""),
            ("action", "save"),
        ]
    };
    let assess = ids["Assessment / care planning / monitoring & review"].to_string();
    let mut f = fields("1-70008");
    f[4].1 = &assess;
    f.push(("visit_id", &vs));
    let r = c.post_form("/quality/issues", &f).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains(&format!("Visit {v} was not to this location"))
    );
    let mut f = fields("1-70007");
    f[4].1 = &assess;
    f.push(("visit_id", &vs));
    assert_eq!(
        c.post_form("/quality/issues", &f).await.status,
        StatusCode::SEE_OTHER
    );
    let linked: Option<i64> = app
        .db()
        .q()
        .scalar(
            "SELECT visit_id FROM qa_issues WHERE location_id = '1-70007'",
            caremarket::args![],
        )
        .await
        .unwrap();
    assert_eq!(linked, Some(v));
    // The analysis for one council: all three issues are in Leicester, none in Devon.
    let n = |council: &str| {
        let c = &c;
        let url = format!("/api/v1/quality/themes?locations=all&council={council}");
        async move { c.get(&url).await.json()["issues"].as_u64().unwrap() }
    };
    assert_eq!(n("Leicester").await, 3);
    assert_eq!(n("Devon").await, 0);
}

#[tokio::test]
async fn a_council_changes_its_themes_and_key_phrases() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let ids = theme_ids(&c).await;
    let med = ids["Medication"];
    let page = c.get(&format!("/quality/themes/{med}")).await;
    assert!(page.body.contains("Medicines optimisation\" checked"));
    // A new key phrase and a second quality statement.
    let r = c
        .post_form(
            &format!("/quality/themes/{med}"),
            &[
                ("name", "Medication"),
                ("key_phrases", "medication\nblister pack"),
                ("statement", "Medicines optimisation"),
                ("statement", "Safe systems, pathways and transitions"),
                ("training_need", "yes"),
                ("active", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c
        .post_form(
            "/quality/issues",
            &[
                ("location_id", "1-70001"),
                ("source", "cqc_report"),
                ("found_date", "01/02/2023"),
                ("text", "Blister packs were stored loose"),
                ("action", "suggest"),
            ],
        )
        .await;
    assert!(
        r.body.contains(&format!("value=\"{med}\" checked")),
        "{}",
        r.body
    );
    let manage = c.get("/quality/themes/manage").await;
    assert!(
        manage
            .body
            .contains("Safe systems, pathways and transitions; Medicines optimisation")
    );
    // A statement CQC does not have, and a name already taken, are refused with the typed
    // values kept.
    let r = c
        .post_form(
            "/quality/themes/new",
            &[
                ("name", "medication"),
                ("key_phrases", "teeth"),
                ("statement", "Oral hygiene"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already a theme called medication"));
    assert!(r.body.contains("Oral hygiene") && r.body.contains("is not one of CQC"));
    assert!(r.body.contains(">teeth</textarea>"));
    // A new theme, then one taken out of use: only themes in use are counted and offered.
    let r = c
        .post_form(
            "/quality/themes/new",
            &[
                ("name", "Oral health"),
                ("key_phrases", "oral care\ndentures"),
                ("statement", "Supporting people to live healthier lives"),
                ("training_need", "yes"),
                ("active", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let covid = ids["Covid-19"];
    let r = c
        .post_form(
            &format!("/quality/themes/{covid}"),
            &[
                ("name", "Covid-19"),
                ("key_phrases", "covid"),
                ("statement", "Infection prevention and control"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let now = theme_ids(&c).await;
    assert!(now.contains_key("Oral health") && !now.contains_key("Covid-19"));
    assert_eq!(now.len(), 19);
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "theme.update").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "theme.create").count(), 1);
    // Restarting the service does not bring the taken-out theme back or add duplicates.
    caremarket::quality::themes::seed_defaults(app.db())
        .await
        .unwrap();
    assert_eq!(app.count("themes").await, 20);
}

async fn upload_issues(c: &Client, csv: &str, flags: &[&str]) -> crate::support::Resp {
    let csrf = c.csrf().await;
    let b = "BoUnDaRy";
    let mut body =
        format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n");
    for f in flags {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{f}\"\r\n\r\nyes\r\n"
        ));
    }
    body.push_str(&format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\reports\\\\issues.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"));
    c.request(
        axum::http::Method::POST,
        "/quality/issues/upload",
        Some(&format!("multipart/form-data; boundary={b}")),
        body,
        &[],
    )
    .await
}

#[tokio::test]
async fn a_file_of_issues_loads_all_or_nothing_and_once() {
    let app = TestApp::new().await;
    market(&app).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let bad = "Location ID,Date,Source,Issue,Themes\n\
        1-70000,14/06/2023,CQC report,Fire doors wedged open,Fire safety; health & safety\n\
        1-70001,14/06/2023,CQC report,MAR charts were not signed,\n\
        1-70002,14/06/2023,QA visit,Oral care not planned,Oral care\n\
        1-70003,31/02/2023,CQC report,Audits not done,Leadership\n\
        1-nope,14/06/2023,Inspection,x,Leadership\n";
    let r = upload_issues(&c, bad, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "issues.csv: 5 problems found; nothing was imported",
        "row 3",
        "no themes given; the key phrases suggest: Medication",
        "Oral care",
        "is not one of the themes",
        "31/02/2023",
        "is not a location in the CQC data",
        "is not a source",
    ] {
        assert!(r.body.contains(want), "{want}: {}", r.body);
    }
    assert_eq!(app.count("qa_issues").await, 0);
    let good = "Location ID,Date,Source,Issue,Themes\n\
        1-70000,14/06/2023,CQC report,Fire doors wedged open,Fire safety; health & safety\n\
        1-70001,14/06/2023,,MAR charts were not signed,\n";
    let r = upload_issues(&c, good, &[]).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a row without themes"
    );
    let r = upload_issues(&c, good, &["accept_suggestions"]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(r.location()).await;
    assert!(page.body.contains("2 issues loaded from issues.csv (1 tagged with the suggested themes; 0 already recorded)"), "{}", page.body);
    let r = upload_issues(&c, good, &["accept_suggestions"]).await;
    let page = c.get(r.location()).await;
    assert!(page.body.contains(
        "0 issues loaded from issues.csv (1 tagged with the suggested themes; 2 already recorded)"
    ));
    assert_eq!(app.count("qa_issues").await, 2);
    // Named themes are kept as named (Fire Safety was also suggested by "fire doors");
    // the row without themes took the suggestion.
    let a = c.get("/api/v1/quality/themes?locations=all").await.json();
    let want: Vec<(String, u64)> = ["Medication", "Health & Safety", "Fire Safety"]
        .iter()
        .map(|n| (n.to_string(), 1))
        .collect();
    assert_eq!(counts(&a), want, "ties in the configured order");
    let suggested: Vec<(String, bool)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT t.name, it.suggested FROM qa_issue_themes it JOIN themes t ON t.id = it.theme_id ORDER BY t.name",
            caremarket::args![],
        )
        .await
        .unwrap();
    assert_eq!(
        suggested,
        [
            ("Fire Safety".to_string(), true),
            ("Health & Safety".to_string(), false),
            ("Medication".to_string(), true)
        ]
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"qa_issues.import".to_string())
    );
}

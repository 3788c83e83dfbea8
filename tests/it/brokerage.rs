//! Home care lots and the framework: districts one lot a service line, the offer order
//! (primary, then framework by rank), providers joining and withdrawing mid-term with their
//! history kept (Leicester domiciliary support, 2018, §4.5). Real providers from the bundled Devon and Plymouth records.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::support::TestApp;

const A: &str = "1-101667957";
const B: &str = "1-101693962";
const C: &str = "1-101706804";

async fn order(c: &crate::support::Client, name: &str) -> Vec<String> {
    let lots = c.get("/api/v1/brokerage/lots").await.json();
    lots.as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap()["offer_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lots_their_districts_and_the_framework_with_its_history() {
    let app = TestApp::with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let lot = |name: &'static str, line: &'static str, districts: &'static str| {
        [
            ("name", name),
            ("service_line", line),
            ("districts", districts),
        ]
    };
    let r = c
        .post_form(
            "/brokerage/lots",
            &lot("Plymouth North", "general", "pl6, PL5 pl6"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let lot_url = r.location().to_string();
    let r = c
        .post_form(
            "/brokerage/lots",
            &lot("Plymouth Central", "general", "PL1 PL6"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("PL6 already in Plymouth North"),
        "{}",
        r.body
    );
    let r = c
        .post_form(
            "/brokerage/lots",
            &lot("Plymouth Central", "general", "PL1 PLYMOUTH"),
        )
        .await;
    assert!(r.body.contains("PLYMOUTH is not a postcode district"));
    // The same district in the other service line is fine.
    let r = c
        .post_form(
            "/brokerage/lots",
            &lot("Plymouth specialist", "specialist", "PL6"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let found = caremarket::brokerage::lot_for(&app.state, "pl6", "general")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.name.as_str(), found.districts.as_str()),
        ("Plymouth North", "PL5 PL6")
    );

    let join = |p: &'static str, role: &'static str, score: &'static str| {
        [
            ("provider_id", p),
            ("role", role),
            ("tender_score", score),
            ("joined_on", "09/10/2017"),
        ]
    };
    let path = format!("{lot_url}/providers");
    for (p, role, score) in [
        (A, "framework", "80"),
        (B, "framework", "75.5"),
        (C, "primary", "90"),
    ] {
        let r = c.post_form(&path, &join(p, role, score)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    assert_eq!(order(&c, "Plymouth North").await, vec![C, A, B]);
    let r = c
        .post_form(&path, &join("1-000000000", "framework", ""))
        .await;
    assert!(r.body.contains("Enter a CQC provider ID from the CQC data"));
    let r = c.post_form(&path, &join(A, "framework", "")).await;
    assert!(r.body.contains("already on the lot"));

    // A new primary: the old one leads the framework.
    let other: (String,) = app
        .db()
        .q()
        .fetch_one(
            "SELECT provider_id FROM cqc_providers WHERE provider_id NOT IN ($1, $2, $3) ORDER BY provider_id LIMIT 1",
            caremarket::args![A, B, C],
        )
        .await
        .unwrap();
    let d = other.0.as_str();
    let r = c
        .post_form(
            &path,
            &[
                ("provider_id", d),
                ("role", "primary"),
                ("tender_score", ""),
                ("joined_on", "01/04/2018"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(order(&c, "Plymouth North").await, vec![d, C, A, B]);

    // A withdraws mid-term: B closes up behind; A's row stays with its date and reason.
    let lots = c.get("/api/v1/brokerage/lots").await.json();
    let row = lots[0]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(lots[1]["providers"].as_array().unwrap())
        .find(|p| p["provider_id"] == A)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let wpath = format!("{lot_url}/providers/{row}/withdraw");
    let r = c
        .post_form(
            &wpath,
            &[
                ("withdrawn_on", "01/01/2017"),
                ("withdrawn_reason", "Bought by another provider"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("cannot be before the provider joined"));
    let r = c
        .post_form(
            &wpath,
            &[
                ("withdrawn_on", "30/06/2018"),
                ("withdrawn_reason", "Bought by another provider"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(order(&c, "Plymouth North").await, vec![d, C, B]);
    let lots = c.get("/api/v1/brokerage/lots").await.json();
    let north = lots
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Plymouth North")
        .unwrap();
    let b_rank = north["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_id"] == B)
        .unwrap()["rank"]
        .clone();
    assert_eq!(b_rank, 2, "framework: C 1, B 2: {north}");
    let a_row = north["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_id"] == A)
        .unwrap();
    assert_eq!(a_row["withdrawn_on"], "2018-06-30");
    assert_eq!(a_row["withdrawn_reason"], "Bought by another provider");
    let page = c.get(&lot_url).await;
    assert!(page.body.contains("Bought by another provider"));
    let actions = app.audit_actions().await;
    for a in ["lot.create", "lot.provider.join", "lot.provider.withdraw"] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
    // A broker reads the order but gets no forms.
    let (b, _) = app.signed_in(Role::Broker).await;
    let page = b.get(&lot_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Add a provider"));
}

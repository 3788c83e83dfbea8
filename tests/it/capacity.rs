//! Care home vacancies: providers keep their homes' figures (validation, one form for all
//! their homes, optimistic concurrency), brokers search by bed type and distance, and a
//! concurrent run loses no update. On the real Devon and Plymouth records.

use axum::http::{Method, StatusCode};
use caremarket_core::Role;
use std::collections::HashMap;
use std::io::Read;

use crate::support::{Client, ClockExt, TestApp};

/// Provider 1-101667957 runs six homes in Devon and Plymouth (from the bundled records).
pub const PROVIDER: &str = "1-101667957";
const HOMES: [(&str, &str, i64); 6] = [
    ("1-131732227", "Ashfield", 25),
    ("1-131732289", "The Firs", 27),
    ("1-131732304", "Kenwyn", 25),
    ("1-131732317", "Lake View", 29),
    ("1-131732334", "Manor House", 30),
    ("1-131732349", "Michaelstowe", 24),
];

async fn app() -> TestApp {
    TestApp::with_api_records().await
}

pub async fn provider_user(app: &TestApp, provider: &str) -> Client {
    let email = format!("manager-{}@{provider}.test", crate::support::random_name());
    let (_, pw) = app.user(&email, Role::Provider, Some(provider)).await;
    let c = app.client();
    c.sign_in(&email, &pw, app).await;
    c
}

pub async fn put(
    c: &Client,
    csrf: &str,
    id: &str,
    body: serde_json::Value,
) -> crate::support::Resp {
    c.request(
        Method::PUT,
        &format!("/api/v1/capacity/homes/{id}"),
        Some("application/json"),
        body.to_string(),
        &[("x-csrf-token", csrf)],
    )
    .await
}

pub fn residential(capacity: i64, occupied: i64, vacant: i64) -> serde_json::Value {
    serde_json::json!({"bed_type": "residential", "capacity": capacity, "occupied": occupied, "vacant": vacant, "reserved": 0, "closed": 0})
}

#[tokio::test]
async fn providers_keep_their_homes_figures_in_one_form_with_clear_rules() {
    let app = app().await;
    let c = provider_user(&app, PROVIDER).await;
    let page = c.get("/capacity/homes").await;
    assert_eq!(page.status, StatusCode::OK);
    for (_, name, beds) in HOMES {
        assert!(page.body.contains(name), "{name}");
        assert!(
            page.body
                .contains(&format!("{beds} beds registered with CQC"))
        );
    }
    // Every home's residential beds at once; Manor House also has nursing beds.
    let mut f: Vec<(String, String)> = Vec::new();
    for (id, _, beds) in HOMES {
        f.push((format!("v__{id}"), "0".into()));
        for (k, v) in [("capacity", beds), ("occupied", beds - 2), ("vacant", 2)] {
            f.push((format!("f__{id}__residential__{k}"), v.to_string()));
        }
    }
    let bad = {
        let mut b = f.clone();
        // Ashfield: 23 occupied + 2 vacant + 3 reserved = 28 > 25; Kenwyn: closed, no reason;
        // The Firs: a letter.
        b.push(("f__1-131732227__residential__reserved".into(), "3".into()));
        b.push(("f__1-131732304__residential__closed".into(), "0".into()));
        b.push(("f__1-131732289__nursing__capacity".into(), "x".into()));
        b
    };
    let as_refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let post = |fields: Vec<(String, String)>| {
        let c = &c;
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            c.post_form("/capacity/homes", &f).await
        }
    };
    let r = post(as_refs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Nursing: capacity must be a whole number"),
        "{}",
        r.body
    );
    assert_eq!(
        app.count("capacity_figures").await,
        0,
        "nothing saved while anything is wrong"
    );
    let mut over = f.clone();
    over.retain(|(k, _)| k != "f__1-131732227__residential__vacant");
    over.push(("f__1-131732227__residential__vacant".into(), "2".into()));
    over.push(("f__1-131732227__residential__reserved".into(), "3".into()));
    let r = post(over).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Residential: occupied, vacant, reserved and closed beds add up to 28, more than the capacity of 25"));
    let mut closed = f.clone();
    closed.push(("f__1-131732304__residential__closed".into(), "1".into()));
    closed.retain(|(k, _)| k != "f__1-131732304__residential__occupied");
    closed.push(("f__1-131732304__residential__occupied".into(), "22".into()));
    let r = post(closed).await;
    assert!(
        r.body
            .contains("Residential: say why beds are closed to admissions")
    );
    // Manor House (30 registered beds) with 4 nursing beds more: over its registration.
    let mut more = f.clone();
    for (k, v) in [("capacity", "4"), ("occupied", "1"), ("vacant", "3")] {
        more.push((format!("f__1-131732334__nursing__{k}"), v.into()));
    }
    let r = post(more.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Capacity adds up to 34 beds, more than the 30 CQC registers the home for")
    );
    assert!(r.body.contains("value=\"4\""), "what was typed is kept");
    assert_eq!(app.count("capacity_figures").await, 0);
    more.push((
        "r__1-131732334".into(),
        "Nursing wing registered in January".into(),
    ));
    let r = post(more).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("capacity_figures").await, 7);
    let page = c.get("/capacity/homes").await;
    assert!(page.body.contains("Vacancies saved for 6 homes"));
    assert!(page.body.contains("by manager-"), "who updated each figure");
    // Their own home through the API; another provider's home is not theirs to see.
    let h = c.get("/api/v1/capacity/homes/1-131732334").await.json();
    assert_eq!(h["version"], 1);
    let nursing = h["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["bed_type"] == "nursing")
        .unwrap();
    assert_eq!(nursing["figures"]["vacant"], 3);
    assert_eq!(nursing["freshness"], "fresh");
    assert_eq!(
        c.get("/api/v1/capacity/homes/1-133756943").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/capacity/homes/1-133756943").await.status,
        StatusCode::NOT_FOUND
    );
    let csrf = c.csrf().await;
    let r = put(
        &c,
        &csrf,
        "1-133756943",
        serde_json::json!({"version": 0, "figures": [residential(10, 5, 5)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Figures age: amber after 7 days, red after 14.
    // (A new sign-in each time: the old session has long timed out.)
    app.clock.advance(chrono::Duration::days(8));
    let c = provider_user(&app, PROVIDER).await;
    let h = c.get("/api/v1/capacity/homes/1-131732334").await.json();
    assert_eq!(h["rows"][0]["freshness"], "amber");
    app.clock.advance(chrono::Duration::days(7));
    let c = provider_user(&app, PROVIDER).await;
    assert!(
        c.get("/capacity/homes")
            .await
            .body
            .contains("Over 14 days old")
    );
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "vacancies.update")
            .count(),
        6
    );
}

#[tokio::test]
async fn two_people_saving_the_same_home_never_overwrite_each_other() {
    let app = app().await;
    let a = provider_user(&app, PROVIDER).await;
    let b = provider_user(&app, PROVIDER).await;
    let (ca, cb) = (a.csrf().await, b.csrf().await);
    let id = "1-131732349";
    assert_eq!(
        put(
            &a,
            &ca,
            id,
            serde_json::json!({"version": 0, "figures": [residential(24, 20, 4)]})
        )
        .await
        .status,
        StatusCode::OK
    );
    // Both read version 1; A saves first; B's save is refused with A's figures.
    let v = b.get(&format!("/api/v1/capacity/homes/{id}")).await.json()["version"]
        .as_i64()
        .unwrap();
    assert_eq!(v, 1);
    let form = b.get(&format!("/capacity/homes/{id}")).await;
    assert!(form.body.contains(&format!("name=\"v__{id}\" value=\"1\"")));
    let r = put(
        &a,
        &ca,
        id,
        serde_json::json!({"version": 1, "figures": [residential(24, 21, 3)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["version"], 2);
    let r = put(
        &b,
        &cb,
        id,
        serde_json::json!({"version": 1, "figures": [residential(24, 24, 0)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let j = r.json();
    assert_eq!(j["current"]["version"], 2);
    assert_eq!(j["current"]["rows"][0]["figures"]["occupied"], 21);
    // The same through the form: B's typed figures stay on the page beside A's saved ones.
    let r = b
        .post_form(
            &format!("/capacity/homes/{id}"),
            &[
                (&format!("v__{id}"), "1"),
                (&format!("f__{id}__residential__capacity"), "24"),
                (&format!("f__{id}__residential__occupied"), "23"),
                (&format!("f__{id}__residential__vacant"), "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("someone else saved new figures while you were editing")
    );
    assert!(r.body.contains(&format!("id=\"theirs-{id}\"")));
    assert!(r.body.contains("value=\"23\""), "B's figures are not lost");
    assert!(
        r.body.contains(&format!("name=\"v__{id}\" value=\"2\"")),
        "a second save starts from A's version"
    );
    let now = a.get(&format!("/api/v1/capacity/homes/{id}")).await.json();
    assert_eq!(now["rows"][0]["figures"]["occupied"], 21);
    assert_eq!(app.count("capacity_updates").await, 2);
}

/// 20 clients each try 50 read-and-save rounds on the same six homes at once. Afterwards
/// every home holds its last accepted update, and every accepted update is in the history
/// and the audit log: none is lost, none applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_run_loses_no_update() {
    let app = app().await;
    let mut tasks = Vec::new();
    for client in 0..20i64 {
        let c = provider_user(&app, PROVIDER).await;
        let csrf = c.csrf().await;
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            for round in 0..50i64 {
                let (id, _, beds) = HOMES[((client + round) % 6) as usize];
                let h = c.get(&format!("/api/v1/capacity/homes/{id}")).await.json();
                let v = h["version"].as_i64().unwrap();
                // A figure that says who saved it: occupied = (client * 50 + round) mod beds.
                let occupied = (client * 50 + round) % beds;
                let r = put(&c, &csrf, id, serde_json::json!({"version": v, "figures": [residential(beds, occupied, beds - occupied)]})).await;
                match r.status {
                    StatusCode::OK => accepted.push((id, r.json()["version"].as_i64().unwrap(), occupied)),
                    StatusCode::CONFLICT => {}
                    s => panic!("unexpected {s}: {}", r.body),
                }
            }
            accepted
        }));
    }
    let mut all: Vec<(&str, i64, i64)> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert!(all.len() >= 6, "some saves were accepted");
    let mut last: HashMap<&str, (i64, i64)> = HashMap::new();
    for (id, v, occ) in &all {
        let e = last.entry(id).or_insert((*v, *occ));
        if *v > e.0 {
            *e = (*v, *occ);
        }
    }
    for (id, (v, occ)) in &last {
        let row: (i64, i64) = app
            .db()
            .q()
            .fetch_one(
                "SELECT h.version, f.occupied FROM capacity_homes h JOIN capacity_figures f ON f.location_id = h.location_id WHERE h.location_id = $1",
                caremarket::args![*id],
            )
            .await
            .unwrap();
        assert_eq!(row, (*v, *occ), "{id} holds its last accepted update");
        // Versions of a home were handed out once each: 1..=v with no gap.
        let versions: Vec<i64> = all.iter().filter(|a| a.0 == *id).map(|a| a.1).collect();
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=*v).collect::<Vec<_>>(), "{id}");
    }
    assert_eq!(app.count("capacity_updates").await, all.len() as i64);
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "vacancies.update")
            .count(),
        all.len()
    );
    eprintln!(
        "{} of 1000 saves accepted, the rest told someone saved first",
        all.len()
    );
}

/// The haversine distance, written here independently of the app's.
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6371.0_f64;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().atan2((1.0 - h).sqrt())
}

#[tokio::test]
async fn brokers_find_beds_nearest_first() {
    let app = app().await;
    let c = provider_user(&app, PROVIDER).await;
    let csrf = c.csrf().await;
    // Vacant residential beds in five homes; Kenwyn full.
    for (id, _, beds) in HOMES {
        let vacant = if id == "1-131732304" { 0 } else { 1 };
        let r = put(&c, &csrf, id, serde_json::json!({"version": 0, "figures": [residential(beds, beds - vacant, vacant)]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // The centre of PL6 from the raw records: the mean of their coordinates.
    let bytes = std::fs::read(crate::cqc::api_path()).unwrap();
    let mut raw = String::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut raw)
            .unwrap();
    } else {
        raw = String::from_utf8(bytes).unwrap();
    }
    let mut pl6 = Vec::new();
    let mut at: HashMap<String, (f64, f64)> = HashMap::new();
    for line in raw.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (Some(la), Some(lo)) = (v["onspdLatitude"].as_f64(), v["onspdLongitude"].as_f64())
        else {
            continue;
        };
        at.insert(v["locationId"].as_str().unwrap().into(), (la, lo));
        if v["postalCode"]
            .as_str()
            .unwrap_or("")
            .split_whitespace()
            .next()
            == Some("PL6")
        {
            pl6.push((la, lo));
        }
    }
    let n = pl6.len() as f64;
    let centre = (
        pl6.iter().map(|p| p.0).sum::<f64>() / n,
        pl6.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (broker, _) = app.signed_in(Role::Broker).await;
    let r = broker
        .get("/api/v1/capacity/search?bed_type=residential&district=PL6")
        .await
        .json();
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5, "Kenwyn has no vacant bed");
    let mut want: Vec<(String, f64)> = HOMES
        .iter()
        .filter(|h| h.0 != "1-131732304")
        .map(|h| (h.0.to_string(), km(centre, at[h.0])))
        .collect();
    want.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (hit, (id, d)) in hits.iter().zip(&want) {
        assert_eq!(hit["location_id"], id.as_str());
        assert!(
            (hit["distance_km"].as_f64().unwrap() - d).abs() < 0.01,
            "{id}: {hit} vs {d}"
        );
    }
    assert_eq!(hits[0]["name"], "Manor House", "in PL6 itself");
    // Filters: at least Good leaves out Ashfield (Inadequate) and The Firs (RI).
    let good_names = || async {
        let r = broker
            .get("/api/v1/capacity/search?bed_type=residential&district=PL6&min_rating=good")
            .await
            .json();
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    assert_eq!(
        good_names().await,
        ["Manor House", "Michaelstowe", "Lake View"]
    );
    // Only homes able to take people: not a dormant registration, nor a deregistered one,
    // whatever vacancies they last gave.
    for (sql, why) in [
        (
            "UPDATE cqc_locations SET dormant = TRUE WHERE location_id = '1-131732317'",
            "dormant",
        ),
        (
            "UPDATE cqc_locations SET dormant = FALSE, deregistration_date = '2020-01-31', registration_status = 'Deregistered' WHERE location_id = '1-131732317'",
            "deregistered",
        ),
    ] {
        app.db().q().execute(sql, vec![]).await.unwrap();
        assert_eq!(good_names().await, ["Manor House", "Michaelstowe"], "{why}");
    }
    app.db()
        .q()
        .execute("UPDATE cqc_locations SET deregistration_date = NULL, registration_status = NULL WHERE location_id = '1-131732317'", vec![])
        .await
        .unwrap();
    let r = broker
        .get("/api/v1/capacity/search?bed_type=residential&district=PL6&within_km=10")
        .await
        .json();
    assert_eq!(r["hits"].as_array().unwrap().len(), 2);
    let r = broker
        .get("/api/v1/capacity/search?bed_type=nursing")
        .await
        .json();
    assert_eq!(r["hits"].as_array().unwrap().len(), 0);
    let r = broker
        .get("/api/v1/capacity/search?district=ZZ9")
        .await
        .json();
    assert!(r["note"].as_str().unwrap().contains("ZZ9"));
    // The page and the CSV agree with the API.
    let page = broker
        .get("/capacity?bed_type=residential&district=PL6")
        .await;
    assert!(page.body.contains("5 results, nearest first"));
    let csv = broker
        .get("/capacity?bed_type=residential&district=PL6&format=csv")
        .await;
    assert!(csv.content_type().starts_with("text/csv"));
    assert_eq!(csv.body.lines().count(), 6);
    assert!(
        csv.body
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("\"1-131732334\",\"Manor House\"")
    );
    assert_eq!(
        broker.get("/capacity?bed_type=penthouse").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn upload(c: &Client, csv: &str) -> crate::support::Resp {
    c.post_file("/capacity/homes/upload", &[], "vacancies.csv", csv)
        .await
}

#[tokio::test]
async fn vacancies_go_out_and_come_back_as_a_file_all_or_nothing() {
    let app = app().await;
    let c = provider_user(&app, PROVIDER).await;
    let csrf = c.csrf().await;
    for (id, _, beds) in &HOMES[..2] {
        let r = put(
            &c,
            &csrf,
            id,
            serde_json::json!({"version": 0, "figures": [residential(*beds, beds - 1, 1)]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let csv = c.get("/capacity/homes.csv").await;
    assert!(csv.content_type().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("\"Location ID\",\"Bed type\",\"Capacity\""));
    assert!(
        lines[1].starts_with("\"1-131732227\",\"residential\",25,24,1,0,0,\"\",1,\"Ashfield\"")
    );
    // Ashfield fills its last bed; The Firs is unchanged.
    let edited = csv.body.replacen("25,24,1,0,0", "25,25,0,0,0", 1);
    let r = upload(&c, &edited).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        c.get(r.location())
            .await
            .body
            .contains("vacancies.csv: vacancies saved for 1 home; 1 unchanged")
    );
    // The same file again changes nothing.
    let r = upload(&c, &edited).await;
    assert!(
        c.get(r.location())
            .await
            .body
            .contains("vacancies saved for 0 homes; 2 unchanged")
    );
    assert_eq!(app.count("capacity_updates").await, 3);
    // A file with mistakes loads nothing and says where each one is.
    let bad = "Location ID,Bed type,Capacity,Occupied,Vacant,Reserved,Closed\n\
        1-131732304,Residential,25,20,5,0,0\n\
        1-133756943,residential,10,5,5,0,0\n\
        1-131732317,penthouse,10,5,5,0,0\n\
        1-131732334,nursing,ten,5,5,0,0\n\
        1-131732349,residential,24,20,5,0,0\n";
    let r = upload(&c, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "vacancies.csv: 4 problems found; nothing was imported",
        "is not one of your care homes",
        "is not a bed type",
        "is not a whole number",
        "add up to 25, more than the capacity of 24",
    ] {
        assert!(r.body.contains(want), "{want}: {}", r.body);
    }
    assert_eq!(
        app.count("capacity_updates").await,
        3,
        "Kenwyn's good row was not saved"
    );
    // A stale file: The Firs was saved again after the download.
    let r = put(
        &c,
        &csrf,
        "1-131732289",
        serde_json::json!({"version": 1, "figures": [residential(27, 27, 0)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let stale = csv.body.replacen("27,26,1,0,0", "27,25,2,0,0", 1);
    let r = upload(&c, &stale).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("were saved again since (now version 2)"),
        "{}",
        r.body
    );
    let firs = c.get("/api/v1/capacity/homes/1-131732289").await.json();
    assert_eq!(firs["rows"][0]["figures"]["occupied"], 27);
}

/// The capacity dashboard from a fortnight of updates, worked by hand.
#[tokio::test]
async fn the_capacity_dashboard_by_bed_type_council_and_week() {
    let app = app().await;
    let save = |id: &'static str, fig: serde_json::Value| {
        let app = &app;
        async move {
            let c = provider_user(app, PROVIDER).await;
            let csrf = c.csrf().await;
            let v = c.get(&format!("/api/v1/capacity/homes/{id}")).await.json()["version"]
                .as_i64()
                .unwrap();
            let r = put(
                &c,
                &csrf,
                id,
                serde_json::json!({"version": v, "figures": [fig]}),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    // Day 0: Ashfield (Devon) 25/24/1 and Manor House (Plymouth) 30/28/2.
    save("1-131732227", residential(25, 24, 1)).await;
    save("1-131732334", residential(30, 28, 2)).await;
    // Day 7: Ashfield full; Michaelstowe (Plymouth) 24/20/4.
    app.clock.advance(chrono::Duration::days(7));
    save("1-131732227", residential(25, 25, 0)).await;
    save("1-131732349", residential(24, 20, 4)).await;
    // Day 15: Manor House's figures are 15 days old (red), Ashfield's 8 (amber).
    app.clock.advance(chrono::Duration::days(8));
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let d = c.get("/api/v1/capacity/dashboard?weeks=3").await.json();
    let t = &d["total"];
    assert_eq!(
        (
            t["homes"].as_i64(),
            t["capacity"].as_i64(),
            t["occupied"].as_i64(),
            t["vacant"].as_i64(),
            t["stale_homes"].as_i64()
        ),
        (Some(3), Some(79), Some(73), Some(6), Some(1))
    );
    assert_eq!(t["occupancy_pct"], 92.4, "73 of 79");
    assert_eq!(d["by_bed_type"][0][0], "Residential");
    let area = |name: &str| {
        d["by_area"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a[0] == name)
            .unwrap()[1]
            .clone()
    };
    assert_eq!(
        (
            area("Devon")["capacity"].as_i64(),
            area("Devon")["vacant"].as_i64()
        ),
        (Some(25), Some(0))
    );
    assert_eq!(
        (
            area("Plymouth")["capacity"].as_i64(),
            area("Plymouth")["vacant"].as_i64()
        ),
        (Some(54), Some(6))
    );
    // Week by week (days 1, 8 and 15): 55/52/3, then 79/73/6 twice.
    let weeks: Vec<(i64, i64, i64)> = d["over_time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w[1]["capacity"].as_i64().unwrap(),
                w[1]["occupied"].as_i64().unwrap(),
                w[1]["vacant"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(weeks, [(55, 52, 3), (79, 73, 6), (79, 73, 6)]);
    let p = c
        .get("/api/v1/capacity/dashboard?weeks=3&area=Plymouth")
        .await
        .json();
    assert_eq!(p["total"]["capacity"], 54);
    assert_eq!(
        p["over_time"][0][1]["capacity"], 30,
        "only Manor House on day 1"
    );
    // The page, and its tables as files.
    let page = c.get("/capacity/dashboard?weeks=3").await;
    assert!(
        page.body.contains(
            "3 care homes report 79 beds: 73 occupied (92.4%), 6 vacant and accepting admissions"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("The figures of 1 home are out of date."));
    let csv = c.get("/capacity/dashboard?table=area&format=csv").await;
    assert!(
        csv.body.contains("\"Plymouth\",2,54,48,6,0,0,88.9"),
        "{}",
        csv.body
    );
    let xlsx = c
        .get_bytes("/capacity/dashboard?table=time&format=xlsx")
        .await;
    assert!(xlsx.starts_with(b"PK"));
    assert_eq!(
        c.get("/capacity/dashboard?table=nope&format=csv")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

/// The placements register: case references (never names), money typed in pounds and kept in
/// pence, one open placement a person, ends with reasons, occupancy by funder, and the
/// register as a file.
#[tokio::test]
async fn the_placements_register_by_case_reference() {
    let app = app().await;
    let p = provider_user(&app, PROVIDER).await;
    let csrf = p.csrf().await;
    assert_eq!(
        put(
            &p,
            &csrf,
            "1-131732334",
            serde_json::json!({"version": 0, "figures": [residential(30, 28, 2)]})
        )
        .await
        .status,
        StatusCode::OK
    );
    let (c, _) = app.signed_in(Role::Broker).await;
    let add = |case: &'static str, funder: &'static str, fee: &'static str| {
        let c = &c;
        async move {
            c.post_form(
                "/capacity/placements",
                &[
                    ("case_reference", case),
                    ("location_id", "1-131732334"),
                    ("bed_type", "residential"),
                    ("funder", funder),
                    ("weekly_fee", fee),
                    ("top_up", ""),
                    ("start_date", "01/10/2026"),
                ],
            )
            .await
        }
    };
    for (case, want) in [
        ("John Smith", "not a name"),
        ("943 476 5919", "looks like an NHS number"),
        ("9434765919", "looks like an NHS number"),
    ] {
        let r = add(case, "council", "850").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{case}");
        assert!(r.body.contains(want), "{case}: {}", r.body);
    }
    let r = add("ASC-1001", "council", "£1,0x5").await;
    assert!(r.body.contains("Weekly fee: "), "{}", r.body);
    assert_eq!(
        add("ASC-1001", "council", "£1,025.50").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add("ASC-1002", "council", "850").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add("chc-77", "nhs_chc", "1200").await.status,
        StatusCode::SEE_OTHER
    );
    let r = add("ASC-1001", "council", "900").await;
    assert!(
        r.body
            .contains("ASC-1001 is already placed at 1-131732334 since 1 October 2026"),
        "{} {}",
        r.status,
        r.body
            .split("govuk-error-summary__list")
            .nth(1)
            .unwrap_or(&r.body[..300])
    );
    let fee: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT weekly_fee_pence FROM placements WHERE case_reference = 'ASC-1001'",
            caremarket::args![],
        )
        .await
        .unwrap();
    assert_eq!(fee, 102_550, "kept in pence");
    // Worked by hand: Manor House 28 occupied; council 2, NHS 1: 25 self-funded or other;
    // fees £1,025.50 + £850 + £1,200 = £3,075.50 a week.
    let page = c.get("/capacity/placements").await;
    assert!(page.body.contains("£3,075.50"), "{}", page.body);
    let row = page.body.split("id=\"funding\"").nth(1).unwrap();
    assert!(
        row.contains(">2</td>")
            && row.contains(">1</td>")
            && row.contains(">28</td>")
            && row.contains(">25</td>")
    );
    // Ending a placement needs a date on or after the start and a reason.
    let id: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT id FROM placements WHERE case_reference = 'CHC-77'",
            caremarket::args![],
        )
        .await
        .unwrap();
    let r = c
        .post_form(
            &format!("/capacity/placements/{id}/end"),
            &[("end_date", "01/09/2026"), ("end_reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("cannot be before the start")
            && r.body.contains("Select why the placement ended")
    );
    let r = c
        .post_form(
            &format!("/capacity/placements/{id}/end"),
            &[("end_date", "20/11/2026"), ("end_reason", "hospital")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        c.get("/capacity/placements?show=all")
            .await
            .body
            .contains("20 Nov 2026: Long stay in hospital")
    );
    // The register as a file, and back: loading it again changes nothing.
    let csv = c.get("/capacity/placements.csv").await;
    assert_eq!(csv.body.lines().count(), 4);
    assert!(
        csv.body
            .contains("\"ASC-1001\",\"1-131732334\",\"residential\",\"council\",\"1025.50\"")
    );
    let up = |body: String| {
        let c = &c;
        async move {
            let csrf = c.csrf().await;
            let b = "BoUnDaRy";
            c.request(
                Method::POST,
                "/capacity/placements/upload",
                Some(&format!("multipart/form-data; boundary={b}")),
                format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"placements.csv\"\r\nContent-Type: text/csv\r\n\r\n{body}\r\n--{b}--\r\n"),
                &[],
            )
            .await
        }
    };
    let r = up(csv.body.clone()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("placements").await, 3);
    let bad = "Case reference,Location ID,Bed type,Funder,Weekly fee,Start date,End date,End reason\n\
        ASC-2001,1-131732349,residential,council,700,01/11/2026,,\n\
        Mary Jones,1-131732349,residential,council,700,01/11/2026,,\n\
        ASC-2002,1-131732349,residential,lottery,700,01/11/2026,,\n\
        ASC-2003,1-131732349,residential,council,700,01/11/2026,01/12/2026,\n";
    let r = up(bad.to_string()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "placements.csv: 3 problems found; nothing was imported",
        "row 3",
        "not a name",
        "row 4",
        "Funder",
        "give both the end date and the end reason",
    ] {
        assert!(r.body.contains(want), "{want}: {}", r.body);
    }
    assert_eq!(
        app.count("placements").await,
        3,
        "ASC-2001 was not loaded either"
    );
    // Providers and viewers do not see case references.
    let (v, _) = app.signed_in(Role::Viewer).await;
    assert_eq!(
        v.get("/capacity/placements").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        p.get("/api/v1/capacity/placements").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The at-risk register: people affected from the placements register, a full status
/// history, days on the register, actions, and a closing home's people on the brokers'
/// checklist until each has moved.
#[tokio::test]
async fn the_at_risk_register_and_a_closing_homes_checklist() {
    let app = app().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    for (case, funder) in [
        ("ASC-1", "council"),
        ("ASC-2", "council"),
        ("CHC-3", "nhs_chc"),
    ] {
        let r = c
            .post_form(
                "/capacity/placements",
                &[
                    ("case_reference", case),
                    ("location_id", "1-131732227"),
                    ("bed_type", "residential"),
                    ("funder", funder),
                    ("weekly_fee", "800"),
                    ("start_date", "01/06/2026"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = c
        .post_form(
            "/capacity/at-risk",
            &[
                ("subject", "1-131732227"),
                ("status", "monitoring"),
                ("reason", ""),
                ("self_funded", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Say why it is on the register")
            && r.body.contains("Self-funders must be a whole number")
    );
    let r = c
        .post_form(
            "/capacity/at-risk",
            &[
                ("subject", "1-131732227"),
                ("status", "monitoring"),
                ("reason", "Rated Inadequate; manager left"),
                ("self_funded", "9"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    let d = c
        .get(&format!("/api/v1/capacity/at-risk/{id}"))
        .await
        .json();
    assert_eq!(
        (
            d["entry"]["council_funded"].as_i64(),
            d["entry"]["nhs_funded"].as_i64(),
            d["entry"]["self_funded"].as_i64()
        ),
        (Some(2), Some(1), Some(9)),
        "council and NHS counts from the placements register"
    );
    assert_eq!(d["entry"]["name"], "Ashfield");
    let again = c
        .post_form(
            "/capacity/at-risk",
            &[
                ("subject", "1-131732227"),
                ("status", "monitoring"),
                ("reason", "x"),
            ],
        )
        .await;
    assert!(
        again
            .body
            .contains("1-131732227 is already on the register")
    );
    // Ten days later: enhanced monitoring; five more: placements suspended, then closing.
    let steps = [
        (10, "enhanced_monitoring", "CQC warning notice"),
        (5, "placements_suspended", "Suspension agreed with the ICB"),
        (3, "closing", "The provider gave notice"),
    ];
    for (days, to, note) in steps {
        app.clock.advance(chrono::Duration::days(days));
        let (c, _) = app.signed_in(Role::Commissioner).await;
        let r = c
            .post_form(
                &format!("/capacity/at-risk/{id}/status"),
                &[("status", to), ("note", note)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = c
        .post_form(
            &format!("/capacity/at-risk/{id}/status"),
            &[("status", "closing"), ("note", "")],
        )
        .await;
    assert!(r.body.contains("It is already closing") && r.body.contains("Say what has changed"));
    let d = c
        .get(&format!("/api/v1/capacity/at-risk/{id}"))
        .await
        .json();
    let h: Vec<(Option<&str>, &str)> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["from_status"].as_str(), x["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        h,
        [
            (None, "monitoring"),
            (Some("monitoring"), "enhanced_monitoring"),
            (Some("enhanced_monitoring"), "placements_suspended"),
            (Some("placements_suspended"), "closing")
        ],
        "every change, in order"
    );
    assert_eq!(
        (
            d["entry"]["days_on_register"].as_i64(),
            d["entry"]["days_in_status"].as_i64()
        ),
        (Some(18), Some(0))
    );
    // Closing: the three placed people are on the brokers' checklist.
    let cases: Vec<&str> = d["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["case_reference"].as_str().unwrap())
        .collect();
    assert_eq!(cases, ["ASC-1", "ASC-2", "CHC-3"]);
    let (b, _) = app.signed_in(Role::Broker).await;
    let item = d["checklist"][0]["id"].as_i64().unwrap();
    let r = b
        .post_form(
            &format!("/capacity/at-risk/checklist/{item}/moved"),
            &[("moved_to", "nowhere"), ("moved_on", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = b
        .post_form(
            &format!("/capacity/at-risk/checklist/{item}/moved"),
            &[("moved_to", "1-131732317"), ("moved_on", "20/11/2026")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ended: (Option<chrono::NaiveDate>, Option<String>) = app
        .db()
        .q()
        .fetch_one(
            "SELECT end_date, end_reason FROM placements WHERE case_reference = 'ASC-1'",
            caremarket::args![],
        )
        .await
        .unwrap();
    assert_eq!(ended.1.as_deref(), Some("home_closed"));
    // Brokers read the register but do not change it.
    assert_eq!(b.get("/capacity/at-risk").await.status, StatusCode::OK);
    assert_eq!(
        b.post_form(
            &format!("/capacity/at-risk/{id}/status"),
            &[("status", "closed"), ("note", "x")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // Actions with owners; closed takes it off the register (kept, with its history).
    let r = c
        .post_form(
            &format!("/capacity/at-risk/{id}/actions"),
            &[
                ("description", "Assess every resident"),
                ("owner", "Brokerage team"),
                ("due_date", "30/11/2026"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c
        .post_form(
            &format!("/capacity/at-risk/{id}/status"),
            &[("status", "closed"), ("note", "Last resident moved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/capacity/at-risk").await;
    assert!(page.body.contains("0 on the register"));
    let all = c.get("/capacity/at-risk?show=all").await;
    assert!(all.body.contains("Ashfield") && all.body.contains("(off the register)"));
    let d = c
        .get(&format!("/api/v1/capacity/at-risk/{id}"))
        .await
        .json();
    assert_eq!(d["history"].as_array().unwrap().len(), 5);
    assert_eq!(d["actions"][0]["owner"], "Brokerage team");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "at_risk.status").count(), 4);
}

/// Provider returns: the default monthly workforce return, due and overdue worked out from
/// the dates, the rules on answers, the market's trend, and the risk tool reading turnover
/// and agency use from the latest return.
#[tokio::test]
async fn workforce_returns_are_tracked_and_feed_the_risk_tool() {
    use chrono::Datelike;
    let app = app().await;
    let p = provider_user(&app, PROVIDER).await;
    let today = app.clock.now_utc().date_naive();
    let month =
        |d: chrono::NaiveDate| chrono::NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
    let this = month(today);
    let last = month(this - chrono::Duration::days(1));
    // Worked by hand: six months from this one back; a month is overdue once 10 days past
    // its end, due before that, open while it runs.
    let mut want_overdue = 0;
    let mut d = this;
    for _ in 0..6 {
        let end = d.checked_add_months(chrono::Months::new(1)).unwrap() - chrono::Duration::days(1);
        if end + chrono::Duration::days(10) < today {
            want_overdue += 1;
        }
        d = month(d - chrono::Duration::days(1));
    }
    let page = p.get("/capacity/returns").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches(">Overdue<").count(),
        want_overdue,
        "{}",
        page.body
    );
    assert!(page.body.contains("Period not over"));
    // The rules on answers; nothing typed is lost.
    let url = format!("/capacity/returns/1/{last}");
    let r = p
        .post_form(
            &url,
            &[
                ("staff_headcount", "40"),
                ("leavers", "41"),
                ("vacancies", "2"),
                ("agency_hours", "400"),
                ("training_pct", "120"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "Mandatory training completed (%): enter a percentage from 0 to 100",
        "Registered manager in post: select yes or no",
    ] {
        assert!(r.body.contains(want), "{want}");
    }
    assert!(r.body.contains("value=\"41\""));
    let r = p
        .post_form(
            &url,
            &[
                ("staff_headcount", "40"),
                ("leavers", "41"),
                ("vacancies", "2"),
                ("agency_hours", "400"),
                ("training_pct", "85"),
                ("manager_in_post", "yes"),
            ],
        )
        .await;
    assert!(
        r.body
            .contains("Leavers cannot be more than the staff headcount")
    );
    let r = p
        .post_form(
            &url,
            &[
                ("staff_headcount", "40"),
                ("leavers", "3"),
                ("vacancies", "2"),
                ("agency_hours", "400"),
                ("training_pct", "85"),
                ("manager_in_post", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = p.get("/capacity/returns").await;
    assert!(page.body.contains(">Sent<"));
    let reopened = p.get(&url).await;
    assert!(reopened.body.contains("value=\"40\"") && reopened.body.contains("id=\"manager_in_post-yes\" name=\"manager_in_post\" type=\"radio\" value=\"yes\" checked"));
    // The market's trend through the API.
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let t = c
        .get("/api/v1/capacity/returns/trend?definition=1")
        .await
        .json();
    assert_eq!(t[0]["period_start"], last.to_string());
    assert_eq!(t[0]["returns"], 1);
    assert_eq!(
        t[0]["values"][0],
        serde_json::json!(["Staff headcount", 40.0])
    );
    assert_eq!(
        t[0]["values"][5],
        serde_json::json!(["Registered manager in post", 100.0])
    );
    let overview = c.get("/capacity/returns/overview").await;
    let last_end = this - chrono::Duration::days(1);
    let still_overdue = want_overdue - usize::from(last_end + chrono::Duration::days(10) < today);
    let table = overview
        .body
        .split("id=\"overdue\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    if still_overdue > 0 {
        assert!(
            table.contains(PROVIDER) && table.contains(&format!(">{still_overdue}</td>")),
            "{table}"
        );
    } else {
        assert!(table.contains("No provider with an account has a return overdue"));
    }
    // The risk tool: 3 leavers of 40 in a month is 90% a year (9 points); 400 agency hours in
    // a month is 400 / 40 / (52 / 12) = 2.3 hours a week each (2 full hours: 4 points).
    let reg = "Location ID,Contract type,Start date\n1-131732334,Residential,01/04/2019\n";
    assert_eq!(
        crate::quality::upload_register(&c, reg).await.status,
        StatusCode::SEE_OTHER
    );
    let rows = c.get("/api/v1/quality/risk").await.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["location_id"] == "1-131732334")
        .unwrap();
    assert_eq!(row["contributions"][8]["factor"], "Staff turnover");
    assert_eq!(row["contributions"][8]["points"], 9);
    assert_eq!(row["contributions"][9]["points"], 4);
    // The admin asks for a new weekly return; a provider sees it at once.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_form(
            "/capacity/returns/definitions",
            &[
                ("name", "Covid return"),
                ("frequency", "weekly"),
                ("fields", "beds closed: x"),
                ("providers", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("a key is letters, digits and underscores"));
    let r = admin
        .post_form(
            "/capacity/returns/definitions",
            &[
                ("name", "Covid return"),
                ("frequency", "weekly"),
                (
                    "fields",
                    "beds_closed: Beds closed (number)\noutbreak: Outbreak now (yes/no)",
                ),
                ("providers", PROVIDER),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        p.get("/capacity/returns")
            .await
            .body
            .contains("Covid return")
    );
}

/// Contingency: a provider keeps its emergency contacts and continuity plan; council staff
/// see every provider's, with overdue reviews first; no other provider and no viewer sees
/// them.
#[tokio::test]
async fn contingency_contacts_and_continuity_plans() {
    let app = app().await;
    let p = provider_user(&app, PROVIDER).await;
    let url = format!("/capacity/contingency/{PROVIDER}");
    let r = p
        .post_form(
            &format!("{url}/contacts"),
            &[
                ("contact_role", ""),
                ("contact_name", "Sam Duty"),
                ("phone", "12"),
                ("email", "x"),
                ("location_id", "1-133756943"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "Enter the contact",
        "Enter a telephone number",
        "Enter an email address",
        "Select one of the provider",
    ] {
        assert!(r.body.contains(want), "{want}");
    }
    assert!(r.body.contains("value=\"Sam Duty\""));
    let r = p
        .post_form(
            &format!("{url}/contacts"),
            &[
                ("contact_role", "On-call manager"),
                ("contact_name", "Sam Duty"),
                ("phone", "01752 123456"),
                ("email", "duty@homes.example"),
                ("location_id", "1-131732334"),
                ("out_of_hours", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let today = app.clock.now_utc().date_naive();
    let old = (today - chrono::Duration::days(400))
        .format("%d/%m/%Y")
        .to_string();
    let r = p
        .post_form(
            &format!("{url}/plan"),
            &[
                ("reviewed_on", &old),
                ("covers_staffing", "yes"),
                ("covers_evacuation", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = p.get(&url).await;
    assert!(page.body.contains("Review overdue") && page.body.contains("Manor House"));
    // Another provider's user sees none of it; a viewer is refused.
    let other = provider_user(&app, "1-101641287").await;
    assert_eq!(other.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .post_form(&format!("{url}/plan"), &[("reviewed_on", "01/01/2026")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (v, _) = app.signed_in(Role::Viewer).await;
    assert_eq!(v.get(&url).await.status, StatusCode::FORBIDDEN);
    // The council: overdue first, with what the plan does not cover.
    let (b, _) = app.signed_in(Role::Broker).await;
    let overview = b.get("/capacity/contingency").await;
    assert!(
        overview
            .body
            .contains("1 with a plan not reviewed in the last 12 months, or none"),
        "{}",
        overview.body
    );
    assert!(overview.body.contains("utilities, provider failure"));
    assert!(b.get(&url).await.body.contains("01752 123456"));
    // A fresh review clears it.
    let r = p
        .post_form(
            &format!("{url}/plan"),
            &[
                ("reviewed_on", &today.format("%d/%m/%Y").to_string()),
                ("covers_staffing", "yes"),
                ("covers_evacuation", "yes"),
                ("covers_utilities", "yes"),
                ("covers_provider_failure", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        b.get("/capacity/contingency")
            .await
            .body
            .contains("0 with a plan not reviewed")
    );
}

/// A provider's self-assessment against the council's QAF, beside the council's grades.
#[tokio::test]
async fn providers_self_assess_beside_the_councils_grades() {
    let app = app().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let v = crate::quality::visit(&c, "1-131732334", "01/10/2026", ["C", "B", "B", "B", "C"]).await;
    crate::quality::confirm(&c, v).await;
    let p = provider_user(&app, PROVIDER).await;
    assert!(
        p.get("/capacity/homes")
            .await
            .body
            .contains("/quality/self-assessments/1-131732334")
    );
    let url = "/quality/self-assessments/1-131732334";
    let page = p.get(url).await;
    assert!(
        page.body
            .contains("latest confirmed visit: 1 October 2026, overall C"),
        "{}",
        page.body
    );
    let r = p
        .post_form(url, &[("assessed_on", "x"), ("grade_0", "A")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Select a grade for Effective")
            && r.body.contains("Enter the date of the self-assessment")
    );
    let r = p
        .post_form(
            url,
            &[
                ("assessed_on", "15/10/2026"),
                ("grade_0", "A"),
                ("grade_1", "A"),
                ("grade_2", "B"),
                ("grade_3", "A"),
                ("grade_4", "A"),
                ("notes_0", "New medicines audit in place"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The lowest domain grade makes the overall: B. The council's is C: one grade above.
    let list = c.get("/quality/self-assessments").await;
    let row = list.body.split("id=\"self-assessments\"").nth(1).unwrap();
    assert!(
        row.contains("Manor House")
            && row.contains(">B</td>")
            && row.contains(">C</td>")
            && row.contains(">1</td>"),
        "{row}"
    );
    // Another provider's user cannot see or send one for this home.
    let other = provider_user(&app, "1-101641287").await;
    assert_eq!(other.get(url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .post_form(url, &[("assessed_on", "15/10/2026")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Questionnaires: answers from people who use services recorded without names, the
/// providers' annual survey of the council, and the results as the 2018 Leicester domiciliary support report §4.16 reports them
/// ("good or very good"), worked by hand.
#[tokio::test]
async fn questionnaires_and_the_providers_survey_of_the_council() {
    let app = app().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let qs = |answers: [&'static str; 2], loc: &'static str, comment: &'static str| {
        let c = &c;
        async move {
            c.post_form(
                "/quality/questionnaires/1/responses",
                &[
                    ("location_id", loc),
                    ("responded_on", "05/11/2026"),
                    ("q_overall", answers[0]),
                    ("q_respect", answers[1]),
                    ("comment", comment),
                ],
            )
            .await
        }
    };
    // Overall: 5, 4, 2, 5 -> 3 of 4 good or very good (75.0%); respect: 4, 4, (none), 1 ->
    // 2 of 3 (66.7%).
    for (a, loc) in [
        (["5", "4"], "1-131732334"),
        (["4", "4"], "1-131732334"),
        (["2", ""], "1-131732349"),
        (["5", "1"], "1-131732349"),
    ] {
        let r = qs(a, loc, "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = qs(
        ["5", "5"],
        "1-131732334",
        "Mrs Patel says the food is lovely",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a name in the comment waits"
    );
    assert!(r.body.contains("confirm_no_names"));
    let r = qs(["", ""], "1-nope", "").await;
    assert!(
        r.body.contains("Enter the CQC location ID of the service")
            && r.body.contains("Answer at least one question")
    );
    let res = c
        .get("/api/v1/quality/questionnaires/1/results")
        .await
        .json();
    assert_eq!(res["responses"], 4);
    assert_eq!(
        res["questions"][0]["counts"],
        serde_json::json!([0, 1, 0, 1, 2])
    );
    assert_eq!(res["questions"][0]["good_or_very_good_pct"], 75.0);
    assert_eq!(res["questions"][1]["answered"], 3);
    assert_eq!(res["questions"][1]["good_or_very_good_pct"], 66.7);
    let one = c
        .get("/api/v1/quality/questionnaires/1/results?of=1-131732334")
        .await
        .json();
    assert_eq!(one["questions"][0]["good_or_very_good_pct"], 100.0);
    // The providers' survey: once a year each.
    let p = provider_user(&app, PROVIDER).await;
    let r = p
        .post_form(
            "/quality/survey",
            &[
                ("q_relationship", "5"),
                ("q_communication", "3"),
                ("q_payments", "2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        p.get("/quality/survey")
            .await
            .body
            .contains("has answered this year")
    );
    let again = p
        .post_form("/quality/survey", &[("q_relationship", "1")])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let s = c
        .get("/api/v1/quality/questionnaires/2/results")
        .await
        .json();
    assert_eq!(s["responses"], 1);
    assert_eq!(s["questions"][0]["good_or_very_good_pct"], 100.0);
    assert_eq!(s["questions"][1]["good_or_very_good_pct"], 0.0);
    let page = c.get("/quality/questionnaires").await;
    assert!(page.body.contains("survey of the council") && page.body.contains("75.0%"));
    assert_eq!(
        p.get("/quality/questionnaires").await.status,
        StatusCode::FORBIDDEN
    );
}

/// An admin adds a bed type: providers are asked for it at once; retiring it stops that.
#[tokio::test]
async fn an_admin_adds_and_retires_a_bed_type() {
    let app = app().await;
    let (a, _) = app.signed_in(Role::Admin).await;
    let r = a
        .post_form("/admin/bed-types", &[("label", "Residential")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("There is already a bed type called Residential")
    );
    let r = a
        .post_form("/admin/bed-types", &[("label", "Bariatric (nursing)")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = provider_user(&app, PROVIDER).await;
    assert!(
        p.get("/capacity/homes")
            .await
            .body
            .contains("f__1-131732334__bariatric_nursing__capacity")
    );
    let csrf = p.csrf().await;
    let r = put(&p, &csrf, "1-131732334", serde_json::json!({"version": 0, "figures": [{"bed_type": "bariatric_nursing", "capacity": 2, "occupied": 1, "vacant": 1, "reserved": 0, "closed": 0}]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        a.post_form("/admin/bed-types/bariatric_nursing/retire", &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        !p.get("/capacity/homes")
            .await
            .body
            .contains("bariatric_nursing__capacity")
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"bed_type.create".to_string())
    );
}

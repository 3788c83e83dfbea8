//! Market shaping journeys in headless Chromium with axe-core on every page state: a
//! commissioner corrects a cost model, tries a National Living Wage scenario, then reads and
//! plans on the sufficiency page.

use caremarket::audit::Actor;
use caremarket_core::Role;

use crate::browser::{browser_or_skip, click_and_wait, serve};
use crate::support::TestApp;
use crate::support::webdriver::Browser;

async fn axe_clean(b: &Browser, page: &str, checked: &mut Vec<String>) {
    let v = b.axe_check().await.unwrap();
    assert!(v.is_empty(), "axe on {page}: {v:#?}");
    checked.push(page.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commissioner_models_costs_tries_a_scenario_and_plans_beds() {
    if !browser_or_skip() {
        return;
    }
    let app = TestApp::with_api_records().await;
    caremarket::sufficiency::import_population(
        &app.state,
        &Actor::cli("test"),
        "ons_mid2020_population_single_year_of_age_uk_areas.csv",
        &std::fs::read(crate::sufficiency::ons_path())
            .map(|b| {
                caremarket::import::gunzip_if_needed("ons.csv.gz", &b)
                    .unwrap()
                    .into_owned()
            })
            .unwrap(),
        None,
    )
    .await
    .unwrap();
    let (_, pw) = app
        .user("commissioning@plymouth.test", Role::Commissioner, None)
        .await;
    let base = serve(&app).await;
    let b = Browser::start().await.unwrap();
    let mut checked = Vec::new();
    b.goto(&format!("{base}/sign-in")).await.unwrap();
    b.fill("#email", "commissioning@plymouth.test")
        .await
        .unwrap();
    b.fill("#password", &pw).await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;

    // The cost of care: the overview, then the home care model with a mistake corrected.
    b.goto(&format!("{base}/cost-of-care")).await.unwrap();
    axe_clean(&b, "cost of care", &mut checked).await;
    click_and_wait(&b, "a[href='/cost-of-care/models/home_care']").await;
    axe_clean(&b, "home care model", &mut checked).await;
    b.fill("#care_pay_pence_per_hour", "twelve").await.unwrap();
    click_and_wait(
        &b,
        "form[action='/cost-of-care/models/home_care'] button[type=submit]",
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("govuk-error-summary"));
    axe_clean(&b, "home care model with errors", &mut checked).await;
    b.fill("#care_pay_pence_per_hour", "12.50").await.unwrap();
    click_and_wait(
        &b,
        "form[action='/cost-of-care/models/home_care'] button[type=submit]",
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Model saved"), "{src}");
    assert!(src.contains("1.00 h × £12.50") || src.contains("£12.50"));

    // A scenario: the NLW of April 2026.
    b.goto(&format!("{base}/cost-of-care")).await.unwrap();
    b.click("details summary").await.unwrap();
    b.fill("#name", "NLW April 2026").await.unwrap();
    b.fill("#pay_to", "12.71").await.unwrap();
    click_and_wait(
        &b,
        "form[action='/cost-of-care/scenarios'] button[type=submit]",
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("NLW April 2026"));
    assert!(src.contains("£12.71"), "contact pay raised to the new NLW");
    axe_clean(&b, "scenario", &mut checked).await;

    // Sufficiency for Plymouth: the projection, then a planned home with a mistake first.
    b.goto(&format!("{base}/sufficiency?council=Plymouth&to=2030"))
        .await
        .unwrap();
    let src = b.source().await.unwrap();
    assert!(src.contains("Care home sufficiency: Plymouth"));
    assert!(src.contains("sufficiency-chart"));
    axe_clean(&b, "sufficiency", &mut checked).await;
    b.click("details summary").await.unwrap();
    b.select_by_value("#bed_type", "nursing").await.unwrap();
    b.fill("#beds", "lots").await.unwrap();
    b.fill("#effective_date", "01/04/2028").await.unwrap();
    b.fill("#description", "New nursing home, Derriford")
        .await
        .unwrap();
    click_and_wait(
        &b,
        "form[action='/sufficiency/changes'] button[type=submit]",
    )
    .await;
    assert!(b.source().await.unwrap().contains("govuk-error-summary"));
    axe_clean(&b, "sufficiency with errors", &mut checked).await;
    b.fill("#beds", "60").await.unwrap();
    click_and_wait(
        &b,
        "form[action='/sufficiency/changes'] button[type=submit]",
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Planned change added"));
    assert!(src.contains("New nursing home, Derriford"));
    b.goto(&format!(
        "{base}/sufficiency/report?council=Plymouth&to=2030"
    ))
    .await
    .unwrap();
    axe_clean(&b, "sufficiency report", &mut checked).await;
    b.goto(&format!("{base}/sufficiency/population"))
        .await
        .unwrap();
    axe_clean(&b, "population", &mut checked).await;
    b.close().await.unwrap();
    eprintln!(
        "axe-core clean on {} pages: {}",
        checked.len(),
        checked.join(", ")
    );
}

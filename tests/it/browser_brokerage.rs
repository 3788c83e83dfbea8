//! The brokerage journey in headless Chromium, axe-core on every page state: a broker raises
//! a request (a mistake first), the lot's primary provider declines, the next provider
//! accepts, and the broker starts the package.

use caremarket_core::Role;

use crate::brokerage_requests::{A, C, framework};
use crate::browser::{axe_clean, browser_or_skip, click_and_wait, serve, sign_in};
use crate::support::TestApp;
use crate::support::webdriver::Browser;

async fn sign_out(b: &Browser, base: &str) {
    b.goto(&format!("{base}/account")).await.unwrap();
    click_and_wait(b, "button.app-link-button").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_raises_provider_declines_next_accepts_package_starts() {
    if !browser_or_skip() {
        return;
    }
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (_, broker_pw) = app.user("broker@leicester.test", Role::Broker, None).await;
    let (_, c_pw) = app
        .user("office@provider-c.test", Role::Provider, Some(C))
        .await;
    let (_, a_pw) = app
        .user("office@provider-a.test", Role::Provider, Some(A))
        .await;
    let base = serve(&app).await;
    let b = Browser::start().await.unwrap();
    let mut checked = Vec::new();

    // The broker raises a request; the first try misses the hours.
    sign_in(&b, &base, "broker@leicester.test", &broker_pw).await;
    b.goto(&format!("{base}/brokerage/requests")).await.unwrap();
    axe_clean(&b, "care requests", &mut checked).await;
    click_and_wait(&b, "a[href='/brokerage/requests/new']").await;
    axe_clean(&b, "raise a request", &mut checked).await;
    b.fill("#case_ref", "ASC-0042001").await.unwrap();
    b.fill("#postcode", "PL6 8BX").await.unwrap();
    b.fill("#visits_per_day", "2").await.unwrap();
    b.fill("#visit_minutes", "45").await.unwrap();
    b.click("#times_of_day").await.unwrap();
    b.click("#time-bed").await.unwrap();
    b.click("#needs").await.unwrap();
    b.fill("#wanted_start", "01/12/2026").await.unwrap();
    b.select_by_value("#urgency", "hospital_discharge")
        .await
        .unwrap();
    click_and_wait(&b, "form[action='/brokerage/requests'] button[type=submit]").await;
    let src = b.source().await.unwrap();
    assert!(src.contains("There is a problem"), "{src}");
    assert!(src.contains("Enter the hours of care a week"));
    axe_clean(&b, "raise a request with errors", &mut checked).await;
    // What was typed is still there.
    assert_eq!(
        b.find("#case_ref").await.unwrap().value().await.unwrap(),
        "ASC-0042001"
    );
    b.fill("#hours", "10.5").await.unwrap();
    click_and_wait(&b, "form[action='/brokerage/requests'] button[type=submit]").await;
    let url = b.current_url().await.unwrap();
    assert!(url.contains("/brokerage/requests/"), "{url}");
    let id = url.rsplit('/').next().unwrap().to_string();
    assert!(b.source().await.unwrap().contains("With providers"));
    axe_clean(&b, "the request", &mut checked).await;
    sign_out(&b, &base).await;

    // The primary provider declines with a reason.
    sign_in(&b, &base, "office@provider-c.test", &c_pw).await;
    b.goto(&format!("{base}/offers")).await.unwrap();
    axe_clean(&b, "offers", &mut checked).await;
    click_and_wait(&b, &format!("a[href='/offers/{id}']")).await;
    let src = b.source().await.unwrap();
    assert!(
        src.contains("2 visits a day × 45 minutes (morning, bed)"),
        "{src}"
    );
    assert!(src.contains("Dementia"));
    axe_clean(&b, "an offer", &mut checked).await;
    click_and_wait(&b, "#decline").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Select why you are declining")
    );
    axe_clean(&b, "an offer with errors", &mut checked).await;
    b.click("#reason").await.unwrap();
    click_and_wait(&b, "#decline").await;
    assert!(b.current_url().await.unwrap().ends_with("/offers"));
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("You have declined the offer")
    );
    sign_out(&b, &base).await;

    // The next provider accepts.
    sign_in(&b, &base, "office@provider-a.test", &a_pw).await;
    b.goto(&format!("{base}/offers/{id}")).await.unwrap();
    click_and_wait(&b, "#accept").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("You have accepted the package")
    );
    assert_eq!(
        b.find("#status").await.unwrap().text().await.unwrap(),
        "Accepted"
    );
    axe_clean(&b, "an accepted offer", &mut checked).await;
    sign_out(&b, &base).await;

    // The broker sees the trail and starts the package.
    sign_in(&b, &base, "broker@leicester.test", &broker_pw).await;
    b.goto(&format!("{base}/brokerage/requests/{id}"))
        .await
        .unwrap();
    let src = b.source().await.unwrap();
    assert!(src.contains("No capacity"));
    assert!(src.contains("Placed"));
    axe_clean(&b, "a placed request", &mut checked).await;
    b.fill("#start_date", "01/12/2026").await.unwrap();
    click_and_wait(
        &b,
        &format!("form[action='/brokerage/requests/{id}/package'] button"),
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Care has started"), "{src}");
    assert!(src.contains("10.50"));
    axe_clean(&b, "a package", &mut checked).await;
    for page in [
        "/brokerage/packages",
        "/brokerage/awaiting",
        "/brokerage/lots",
    ] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        axe_clean(&b, page, &mut checked).await;
    }
    b.close().await.unwrap();
    eprintln!(
        "axe-core clean on {} pages: {}",
        checked.len(),
        checked.join(", ")
    );
}

//! Key journeys in headless Chromium (Debian's chromium + chromium-driver), with axe-core on
//! every page: 0 serious or critical violations.

use caremarket::accounts::totp;
use caremarket_core::Role;

use crate::support::webdriver::{self, Browser};
use crate::support::{ClockExt, TestApp};

/// Serves the app on a random loopback port, as `caremarket serve` does.
pub async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = caremarket::app::router(app.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// Browser tests are part of the suite: the test script installs Chromium. Only an explicit
/// CAREMARKET_SKIP_BROWSER=1 skips them (said loudly), never a missing binary.
pub fn browser_or_skip() -> bool {
    if std::env::var("CAREMARKET_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SKIPPED: browser test (CAREMARKET_SKIP_BROWSER=1)");
        return false;
    }
    assert!(
        webdriver::available(),
        "chromium and chromedriver are needed (apt-get install chromium chromium-driver; scripts/test does this)"
    );
    true
}

/// Clicks something that loads a new page and waits until the new page has loaded: a click
/// can return before the navigation it starts has finished.
pub async fn click_and_wait(b: &Browser, css: &str) {
    b.execute("window.__cm_old_page = true; return null;", vec![])
        .await
        .unwrap();
    b.click(css).await.unwrap();
    for _ in 0..200 {
        let v = b
            .execute(
                "return (window.__cm_old_page !== true) && document.readyState === 'complete';",
                vec![],
            )
            .await
            .unwrap_or(serde_json::Value::Bool(false));
        if v == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no new page after clicking {css}");
}

pub async fn axe_clean(b: &Browser, page: &str, checked: &mut Vec<String>) {
    let v = b.axe_check().await.unwrap();
    assert!(v.is_empty(), "axe on {page}: {v:#?}");
    checked.push(page.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_signs_in_creates_a_user_and_signs_out() {
    if !browser_or_skip() {
        return;
    }
    let app = TestApp::with_api_records().await;
    let (_, pw) = app.user("admin@leeds.test", Role::Admin, None).await;
    let base = serve(&app).await;
    let b = Browser::start().await.unwrap();
    let mut checked = Vec::new();

    b.goto(&format!("{base}/")).await.unwrap();
    assert!(b.current_url().await.unwrap().contains("/sign-in"));
    axe_clean(&b, "sign in", &mut checked).await;
    // A wrong password first: the error summary is accessible too.
    b.fill("#email", "admin@leeds.test").await.unwrap();
    b.fill("#password", "not my password at all").await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Enter a correct email address and password")
    );
    axe_clean(&b, "sign in with errors", &mut checked).await;
    b.fill("#password", &pw).await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;

    // Admins must set up two-factor authentication.
    let url = b.current_url().await.unwrap();
    assert!(
        url.ends_with("/account/two-factor/set-up"),
        "{url}: {}",
        b.source().await.unwrap()
    );
    axe_clean(&b, "two-factor set-up", &mut checked).await;
    let secret = b
        .find("#totp-secret")
        .await
        .unwrap()
        .attr("data-secret")
        .await
        .unwrap()
        .unwrap();
    let code = totp::current_code(&secret, app.clock.now_utc()).unwrap();
    b.fill("#code", &format!("{code:06}")).await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;
    assert_eq!(b.find_all("#recovery-codes li").await.unwrap().len(), 10);
    axe_clean(&b, "recovery codes", &mut checked).await;
    click_and_wait(&b, "a.govuk-button").await;
    axe_clean(&b, "home", &mut checked).await;

    click_and_wait(&b, "a[href='/admin/users']").await;
    assert!(b.source().await.unwrap().contains("admin@leeds.test"));
    axe_clean(&b, "users", &mut checked).await;
    click_and_wait(&b, "a[href='/admin/users/new']").await;
    axe_clean(&b, "invite a user", &mut checked).await;
    // Submitting with a mistake shows the error summary, then fix it.
    b.fill("#email", "new broker@leeds").await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;
    assert!(b.source().await.unwrap().contains("There is a problem"));
    axe_clean(&b, "invite a user with errors", &mut checked).await;
    b.fill("#email", "new.broker@leeds.test").await.unwrap();
    b.click("#role-broker").await.unwrap();
    click_and_wait(&b, "button[type=submit].govuk-button").await;
    assert!(b.source().await.unwrap().contains("Invitation sent"));
    axe_clean(&b, "invitation sent", &mut checked).await;
    b.goto(&format!("{base}/admin/users")).await.unwrap();
    assert!(b.source().await.unwrap().contains("new.broker@leeds.test"));

    for page in [
        "/admin/areas",
        "/admin/settings",
        "/admin/audit",
        "/account",
        "/account/tokens",
        "/account/password",
        "/notifications",
        "/accessibility",
        "/locations?area=Devon&rating=good",
        "/locations/1-1000587219",
        "/providers/1-101693962",
        "/data-quality?area=Plymouth",
        "/imports",
        "/imports/new",
        "/market?area=Devon",
        "/market/change?area=Devon&from=2019-01-19&to=2021-01-19",
        "/market/report?area=Devon",
        "/quality",
        "/quality/contracts",
        "/quality/visits",
        "/quality/visits/new",
        "/quality/plans",
        "/quality/concerns",
        "/quality/risk",
        "/admin/quality",
        "/market/locations?area=Devon&by=size_band&group=large&measure=locations",
    ] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        axe_clean(&b, page, &mut checked).await;
    }
    // The scrutiny report renders: its first page as a picture is not blank.
    b.goto(&format!("{base}/market/report?area=Devon"))
        .await
        .unwrap();
    let png = b.screenshot_png().await.unwrap();
    assert!(webdriver::png_looks_nonblank(&png));
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Care market quality: Devon")
    );
    b.goto(&format!("{base}/account")).await.unwrap();

    click_and_wait(&b, "button.app-link-button").await;
    assert!(b.current_url().await.unwrap().contains("/sign-in"));
    assert!(b.source().await.unwrap().contains("You have signed out"));
    b.goto(&format!("{base}/admin/users")).await.unwrap();
    assert!(b.current_url().await.unwrap().contains("/sign-in?next="));
    b.goto(&format!("{base}/nowhere")).await.unwrap();
    axe_clean(&b, "404", &mut checked).await;
    b.close().await.unwrap();
    eprintln!(
        "axe-core clean on {} pages: {}",
        checked.len(),
        checked.join(", ")
    );
}

pub async fn sign_in(b: &Browser, base: &str, email: &str, password: &str) {
    b.goto(&format!("{base}/sign-in")).await.unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", password).await.unwrap();
    click_and_wait(b, "button[type=submit].govuk-button").await;
    assert!(!b.current_url().await.unwrap().contains("/sign-in"));
}

/// Seed 003's quality journey: an officer records a QAF visit with findings, confirms it, the
/// low grade opens an action plan, the officer adds an item; the provider's own user records
/// progress on it. Then the thematic analysis pages. axe-core on every page state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qa_visit_leads_to_an_action_plan_the_provider_updates() {
    if !browser_or_skip() {
        return;
    }
    let app = TestApp::new().await;
    crate::quality::market(&app).await;
    let (_, officer_pw) = app
        .user("qa@leicester.test", Role::Commissioner, None)
        .await;
    let (_, provider_pw) = app
        .user("manager@agency9.test", Role::Provider, Some("1-80009"))
        .await;
    let base = serve(&app).await;
    let b = Browser::start().await.unwrap();
    let mut checked = Vec::new();
    sign_in(&b, &base, "qa@leicester.test", &officer_pw).await;

    b.goto(&format!("{base}/quality/visits/new")).await.unwrap();
    axe_clean(&b, "new visit", &mut checked).await;
    click_and_wait(&b, "form[action='/quality/visits'] button[type=submit]").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Select a grade for Safe")
    );
    axe_clean(&b, "new visit with errors", &mut checked).await;
    b.fill("#location_id", "1-70009").await.unwrap();
    b.fill("#visit_date", "02/11/2026").await.unwrap();
    b.fill("#officers", "QA team").await.unwrap();
    for (i, g) in ["D", "C", "B", "B", "C"].iter().enumerate() {
        b.select_by_value(&format!("#grade_{i}"), g).await.unwrap();
    }
    b.click("details summary").await.unwrap();
    b.fill("#finding_0_7", "MAR charts not signed on two units")
        .await
        .unwrap();
    click_and_wait(&b, "form[action='/quality/visits'] button[type=submit]").await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Visit recorded as a draft"), "{src}");
    assert!(src.contains("MAR charts not signed on two units"));
    axe_clean(&b, "visit (draft)", &mut checked).await;
    click_and_wait(&b, "form[action$='/submit'] button").await;
    click_and_wait(&b, "form[action$='/confirm'] button").await;
    assert_eq!(
        b.find("#visit-status").await.unwrap().text().await.unwrap(),
        "confirmed"
    );
    assert_eq!(
        b.find("#overall-grade")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "D"
    );
    axe_clean(&b, "visit (confirmed)", &mut checked).await;

    let plan: i64 = app
        .db()
        .q()
        .scalar("SELECT id FROM action_plans", vec![])
        .await
        .unwrap();
    b.goto(&format!("{base}/quality/plans/{plan}"))
        .await
        .unwrap();
    axe_clean(&b, "action plan", &mut checked).await;
    b.fill("#description", "Weekly medicines audit")
        .await
        .unwrap();
    b.fill("#owner", "Registered manager").await.unwrap();
    b.fill("#due_date", "30/11/2026").await.unwrap();
    click_and_wait(
        &b,
        &format!("form[action='/quality/plans/{plan}/items'] button"),
    )
    .await;
    assert!(b.source().await.unwrap().contains("Weekly medicines audit"));
    axe_clean(&b, "action plan with an item", &mut checked).await;

    // The thematic analysis pages, with a suggestion shown.
    for page in [
        "/quality/issues",
        "/quality/themes",
        "/quality/themes/manage",
        "/quality/themes/1",
        "/quality/training",
        "/quality/report",
        "/capacity/placements",
        "/capacity/at-risk",
        "/capacity/returns/overview",
        "/capacity/contingency",
        "/capacity/contingency/1-80009",
        "/quality/self-assessments",
        "/quality/questionnaires",
    ] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        axe_clean(&b, page, &mut checked).await;
    }
    b.goto(&format!("{base}/quality/issues")).await.unwrap();
    b.fill("#location_id", "1-70009").await.unwrap();
    b.fill("#found_date", "02/11/2026").await.unwrap();
    b.fill("#text", "MAR charts were not signed").await.unwrap();
    click_and_wait(&b, "button[value=suggest]").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Suggested: the text mentions MAR chart")
    );
    axe_clean(&b, "issue with suggested themes", &mut checked).await;
    click_and_wait(&b, "button[value=save]").await;
    assert!(b.source().await.unwrap().contains("Issue recorded"));
    b.goto(&format!("{base}/account")).await.unwrap();
    click_and_wait(&b, "button.app-link-button").await;

    // The provider sees its plan and records progress; nothing of any other provider.
    sign_in(&b, &base, "manager@agency9.test", &provider_pw).await;
    b.goto(&format!("{base}/quality/plans")).await.unwrap();
    assert!(
        b.source()
            .await
            .unwrap()
            .contains(&format!("/quality/plans/{plan}"))
    );
    axe_clean(&b, "provider's action plans", &mut checked).await;
    b.goto(&format!("{base}/quality/plans/{plan}"))
        .await
        .unwrap();
    let item: i64 = app
        .db()
        .q()
        .scalar("SELECT id FROM action_items", vec![])
        .await
        .unwrap();
    b.select_by_value(&format!("#status-{item}"), "in_progress")
        .await
        .unwrap();
    b.fill(
        &format!("#evidence-{item}"),
        "Audit sheet in use since Monday",
    )
    .await
    .unwrap();
    click_and_wait(
        &b,
        &format!("form[action='/quality/items/{item}/progress'] button"),
    )
    .await;
    let src = b.source().await.unwrap();
    assert!(src.contains("Audit sheet in use since Monday"), "{src}");
    assert!(src.contains("in_progress"));
    axe_clean(&b, "provider records progress", &mut checked).await;
    b.close().await.unwrap();
    eprintln!(
        "axe-core clean on {} pages: {}",
        checked.len(),
        checked.join(", ")
    );
}

/// Issue 7's journey: a provider updates a home's vacancies (after a mistake the form
/// explains), a broker finds the bed near a postcode district. axe-core on every state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_updates_vacancies_and_a_broker_finds_the_bed() {
    if !browser_or_skip() {
        return;
    }
    let app = TestApp::with_api_records().await;
    let (_, provider_pw) = app
        .user("manager@homes.test", Role::Provider, Some("1-101667957"))
        .await;
    let (_, broker_pw) = app.user("broker@plymouth.test", Role::Broker, None).await;
    let base = serve(&app).await;
    let b = Browser::start().await.unwrap();
    let mut checked = Vec::new();
    sign_in(&b, &base, "manager@homes.test", &provider_pw).await;
    b.goto(&format!("{base}/capacity/homes")).await.unwrap();
    assert!(b.source().await.unwrap().contains("Manor House"));
    axe_clean(&b, "provider's vacancies form", &mut checked).await;
    let cell = |k: &str| format!("#f__1-131732334__residential__{k}");
    b.fill(&cell("capacity"), "30").await.unwrap();
    b.fill(&cell("occupied"), "29").await.unwrap();
    b.fill(&cell("vacant"), "2").await.unwrap();
    click_and_wait(&b, "form[action='/capacity/homes'] button[type=submit]").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("add up to 31, more than the capacity of 30")
    );
    axe_clean(&b, "vacancies form with errors", &mut checked).await;
    b.fill(&cell("occupied"), "28").await.unwrap();
    click_and_wait(&b, "form[action='/capacity/homes'] button[type=submit]").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("Vacancies saved for 1 home")
    );
    axe_clean(&b, "vacancies saved", &mut checked).await;
    b.goto(&format!("{base}/capacity/returns")).await.unwrap();
    axe_clean(&b, "provider's returns", &mut checked).await;
    click_and_wait(&b, "#periods a").await;
    click_and_wait(&b, "form button[type=submit].govuk-button").await;
    assert!(b.source().await.unwrap().contains("select yes or no"));
    axe_clean(&b, "a return with errors", &mut checked).await;
    b.goto(&format!("{base}/account")).await.unwrap();
    click_and_wait(&b, "button.app-link-button").await;

    sign_in(&b, &base, "broker@plymouth.test", &broker_pw).await;
    b.goto(&format!("{base}/capacity")).await.unwrap();
    axe_clean(&b, "find a bed", &mut checked).await;
    b.select_by_value("#bed_type", "residential").await.unwrap();
    b.fill("#district", "PL6").await.unwrap();
    click_and_wait(&b, "form[action='/capacity'] button[type=submit]").await;
    let src = b.source().await.unwrap();
    assert!(
        src.contains("1 result, nearest first") && src.contains("Manor House"),
        "{src}"
    );
    assert!(src.contains("km"));
    axe_clean(&b, "beds found", &mut checked).await;
    b.goto(&format!("{base}/capacity/dashboard")).await.unwrap();
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("1 care home reports 30 beds: 28 occupied")
    );
    axe_clean(&b, "capacity dashboard", &mut checked).await;
    b.close().await.unwrap();
    eprintln!(
        "axe-core clean on {} pages: {}",
        checked.len(),
        checked.join(", ")
    );
}

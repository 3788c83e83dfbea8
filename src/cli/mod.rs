//! The `caremarket` command: serve, migrate, demo, user administration, and moving or backing
//! up a deployment. Every option can also come from a `CAREMARKET_*` environment variable.

mod bench;
mod bench_brokerage;
mod brokerage;
mod cqc;
pub mod dbtools;
mod quality;
mod simulate;
mod sufficiency;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

use crate::accounts::{self, NewAccount, password};
use crate::audit::Actor;
use crate::config::{Config, DbArgs, ServeArgs};
use crate::db::Db;
use crate::{AppState, app};

#[derive(Parser)]
#[command(
    name = "caremarket",
    version,
    about = "Shape and manage an adult social care market"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (migrations run first)
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate(DbArgs),
    /// Start a demonstration: SQLite, sample areas, an admin with a one-time password
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Move a whole deployment between databases
    #[command(subcommand)]
    Db(DbCommand),
    /// Import data files: CQC's, the contracts register, issues found
    Import(cqc::ImportCli),
    /// Figures about the care market
    #[command(subcommand)]
    Market(cqc::MarketCommand),
    /// Pull changes from CQC's public API
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Benchmarks (load tests against a server on this machine)
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Evaluations of caremarket's scores on real history
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Printable reports for scrutiny
    #[command(subcommand)]
    Report(ReportCommand),
    /// Simulations on synthetic demand
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Home care brokerage: the annual re-ranking
    #[command(subcommand)]
    Brokerage(BrokerageCommand),
    /// Take a consistent copy of a SQLite database while the service runs
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The file to write (must not exist)
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Concurrent GETs for a while; prints throughput and p50/p95/p99
    Http(bench::HttpArgs),
    /// Provider users updating their homes' vacancies at once; checks no update is lost
    Vacancies(bench::VacancyArgs),
    /// Care requests raised at once, with the framework's providers answering through the
    /// API, until all are placed or waiting (an in-process server on loopback)
    Brokerage(bench_brokerage::BrokerageArgs),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Back-test the risk score: AUC with a bootstrap interval against the current-rating baseline
    Risk {
        /// A rating history file (default: the bundled CQC history of community services)
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// CQC API location records with historic and key question ratings (default: the
        /// bundled Devon and Plymouth care homes)
        #[arg(long)]
        api_records: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum BrokerageCommand {
    /// Work out a lot's new framework order from QAF, CQC and performance (kept as a
    /// proposal for a commissioner to approve)
    Rerank(brokerage::RerankArgs),
}

#[derive(Subcommand)]
enum SimulateCommand {
    /// A year of home care requests placed by the offer cascade and by batch matching
    Brokerage(simulate::BrokerageSimArgs),
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The market quality report (shaped like the 2017 Leeds care home quality report, §2.1) as HTML or PDF
    Market {
        #[command(flatten)]
        db: DbArgs,
        /// A council as CQC names it; none: the areas in scope (or England)
        #[arg(long)]
        area: Option<String>,
        /// The market as at this date (YYYY-MM-DD)
        #[arg(long)]
        as_at: Option<chrono::NaiveDate>,
        /// FILE.html or FILE.pdf (PDF needs Chromium)
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The quality assurance report (shaped like the 2023 Leicester quality of regulated care report): contracted market ratings, changes
    /// since a date, themes of the issues found, training offers
    Quality(quality::QualityReportArgs),
    /// The care home sufficiency report (a market position statement section): demand,
    /// supply and gap by bed type and year, with every assumption listed
    Sufficiency(sufficiency::SufficiencyReportArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and print a one-time password
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// admin, commissioner, broker, provider or viewer
        #[arg(long)]
        role: String,
        /// The CQC provider ID a provider user works for
        #[arg(long)]
        provider_id: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Disable a user: their sessions and API tokens stop working at once
    Disable {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
    },
    /// Create an API token for a user and print it (shown once)
    Token {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// What the token is for
        #[arg(long)]
        name: String,
    },
    /// Set a new one-time password for a user and print it
    ResetPassword {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Fetch the locations CQC changed since the last sync (resumes a stopped run)
    Cqc(crate::cqc::sync::SyncCqcArgs),
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy every table from one database to another, empty one (SQLite <-> PostgreSQL)
    Copy {
        /// Source database URL
        #[arg(long)]
        from: String,
        /// Target database URL (migrated first; must hold no data)
        #[arg(long)]
        to: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CAREMARKET_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

async fn open(db: &DbArgs) -> anyhow::Result<Db> {
    let db = Db::connect(&db.database_url).await?;
    crate::db::migrate(&db).await?;
    crate::cqc::store::refresh_if_needed(&db).await?;
    Ok(db)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            init_tracing(&args.log_format);
            let db = open(&args.db).await?;
            serve(db, &args, None).await
        }
        Command::Migrate(args) => {
            let db = Db::connect(&args.database_url).await?;
            let n = crate::db::migrate(&db).await?;
            println!("{n} migrations applied");
            Ok(())
        }
        Command::Demo { serve: args } => {
            init_tracing(&args.log_format);
            let db = open(&args.db).await?;
            let banner = demo_setup(&db, &args).await?;
            serve(db, &args, Some(banner)).await
        }
        Command::User(cmd) => user(cmd).await,
        Command::Bench(BenchCommand::Http(a)) => bench::http(&a).await,
        Command::Bench(BenchCommand::Vacancies(a)) => bench::vacancies(&a).await,
        Command::Bench(BenchCommand::Brokerage(a)) => bench_brokerage::brokerage(&a).await,
        Command::Simulate(SimulateCommand::Brokerage(a)) => simulate::brokerage(&a),
        Command::Brokerage(BrokerageCommand::Rerank(a)) => brokerage::rerank(&a).await,
        Command::Eval(EvalCommand::Risk { file, api_records }) => {
            let read = |f: &std::path::Path| {
                crate::import::read_file(f, &crate::import::Limits::CQC)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            };
            let bytes = match file {
                Some(f) => read(&f)?,
                None => crate::quality::eval::BUNDLED_HISTORY.to_vec(),
            };
            let api = match api_records {
                Some(f) => read(&f)?,
                None => BUNDLED_API_RECORDS.to_vec(),
            };
            let report =
                tokio::task::spawn_blocking(move || crate::quality::eval::run(&bytes, Some(&api)))
                    .await??;
            println!("{report}");
            Ok(())
        }
        Command::Report(ReportCommand::Market {
            db,
            area,
            as_at,
            out,
        }) => {
            let db = open(&db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            let q = crate::market::pages::MarketQuery {
                area,
                as_at,
                ..Default::default()
            };
            let html = crate::market::pages::report_html(&state, &q, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            write_report(html, &out)
        }
        Command::Report(ReportCommand::Quality(a)) => {
            let db = open(&a.db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            let html = quality::report_html(&state, &a).await?;
            write_report(html, &a.out)
        }
        Command::Report(ReportCommand::Sufficiency(a)) => {
            let db = open(&a.db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            let html = sufficiency::report_html(&state, &a).await?;
            write_report(html, &a.out)
        }
        Command::Import(cmd) => {
            init_tracing("text");
            let Some(cmd) = &cmd.command else {
                let a = &cmd.auto;
                let Some(file) = &a.file else {
                    anyhow::bail!(
                        "give a file to import (caremarket import FILE), or say its kind: caremarket import --help"
                    );
                };
                let db = open(&a.db).await?;
                let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                return cqc::import(&state, None, file, &a.how).await;
            };
            let (kind, a) = match cmd {
                cqc::ImportCommand::Ratings(a) => (crate::cqc::Kind::Ratings, a),
                cqc::ImportCommand::Directory(a) => (crate::cqc::Kind::Directory, a),
                cqc::ImportCommand::ApiRecords(a) => (crate::cqc::Kind::ApiRecords, a),
                cqc::ImportCommand::Contracts(a) => {
                    let db = open(&a.db).await?;
                    let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                    return quality::import_contracts(&state, a).await;
                }
                cqc::ImportCommand::Postcodes(a) => {
                    let db = open(&a.db).await?;
                    let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                    return quality::import_postcodes(&state, a).await;
                }
                cqc::ImportCommand::Population(a) => {
                    let db = open(&a.file.db).await?;
                    let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                    return sufficiency::import_population(&state, a).await;
                }
                cqc::ImportCommand::Projections(a) => {
                    let db = open(&a.db).await?;
                    let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                    return sufficiency::import_projections(&state, a).await;
                }
                cqc::ImportCommand::Issues(a) => {
                    let db = open(&a.file.db).await?;
                    let state = AppState::with_system_clock(db, Config::for_cli()).await?;
                    return quality::import_issues(&state, a).await;
                }
            };
            let db = open(&a.db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            cqc::import(&state, Some(kind), &a.file, &a.how).await
        }
        Command::Market(cqc::MarketCommand::Summary(a)) => {
            let db = open(&a.db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            cqc::market_summary(&state, &a).await
        }
        Command::Sync(SyncCommand::Cqc(a)) => {
            init_tracing("text");
            let db = open(&a.db).await?;
            let state = AppState::with_system_clock(db, Config::for_cli()).await?;
            crate::cqc::sync::cli(&state, &a).await
        }
        Command::Db(DbCommand::Copy { from, to }) => dbtools::copy(&from, &to).await,
        Command::Backup { db, out } => dbtools::backup(&db.database_url, &out).await,
    }
}

/// Writes a report's HTML as FILE.html, or as FILE.pdf through Chromium.
fn write_report(html: String, out: &std::path::Path) -> anyhow::Result<()> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let bytes = match ext.as_str() {
        "html" | "htm" => html.into_bytes(),
        "pdf" => crate::export::pdf::html_to_pdf(&html).map_err(|e| anyhow::anyhow!(e))?,
        _ => anyhow::bail!("--out must end in .html or .pdf"),
    };
    std::fs::write(out, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    println!("Wrote {} ({} KB)", out.display(), bytes.len() / 1024);
    Ok(())
}

async fn serve(db: Db, args: &ServeArgs, banner: Option<String>) -> anyhow::Result<()> {
    let config = Config::from_args(args);
    let state = AppState::with_system_clock(db.clone(), config).await?;
    crate::brokerage::requests::spawn_expiry_task(state.clone());
    // The first dashboard after a start should not wait for the market picture.
    crate::cqc::picture::warm(&state);
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, engine = ?db.engine(), "caremarket listening");
    if let Some(b) = banner {
        println!("{b}");
    }
    println!("caremarket is running at http://{addr}/ (Ctrl+C to stop)");
    let app = app::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Stops taking new connections on SIGTERM (service managers) or Ctrl+C, and lets requests
/// in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

pub const DEMO_ADMIN: &str = "admin@caremarket.demo";

/// Home care lots for Plymouth, once, so brokerage can be tried at once: each lot's
/// framework is the providers of home care agencies ("Community based adult social care
/// services" in CQC's data) registered in its districts, the first by provider ID as the
/// primary (the demo has no tender of its own). No requests or waiting lists are made up.
async fn demo_lots(state: &AppState, actor: &Actor) -> anyhow::Result<()> {
    if !crate::brokerage::lots(state).await?.is_empty() {
        return Ok(());
    }
    for (name, districts) in [
        ("Plymouth North", "PL5 PL6"),
        ("Plymouth Central", "PL1 PL2 PL3 PL4"),
        ("Plymouth East", "PL7 PL9"),
    ] {
        let Ok(lot) = crate::brokerage::add_lot(state, actor, name, "general", districts).await?
        else {
            continue;
        };
        let mut providers: Vec<String> = Vec::new();
        for d in districts.split(' ') {
            let rows: Vec<(Option<String>,)> = state
                .db
                .q()
                .fetch_all(
                    "SELECT DISTINCT provider_id FROM cqc_locations WHERE postcode_district = $1 AND primary_inspection_category = 'Community based adult social care services' AND deregistration_date IS NULL AND provider_id IS NOT NULL",
                    crate::args![d],
                )
                .await?;
            providers.extend(rows.into_iter().filter_map(|r| r.0));
        }
        providers.sort();
        providers.dedup();
        for (i, p) in providers.iter().take(26).enumerate() {
            let j = crate::brokerage::JoinInput {
                provider_id: p.clone(),
                role: if i == 0 { "primary" } else { "framework" }.into(),
                tender_score: String::new(),
                joined_on: "09/10/2017".into(),
            };
            let _ = crate::brokerage::join(state, actor, lot, &j).await?;
        }
        println!(
            "Demo lot {name} ({districts}): {} providers",
            providers.len().min(26)
        );
    }
    Ok(())
}

/// Prepares the demonstration: areas, an admin with a fresh password (printed once), and
/// two-factor sign-in not required, so a first look needs no phone.
async fn demo_setup(db: &Db, args: &ServeArgs) -> anyhow::Result<String> {
    let state = AppState::with_system_clock(db.clone(), Config::from_args(args)).await?;
    let actor = Actor::cli("demo");
    for (name, code) in [("Devon", "E10000008"), ("Plymouth", "E06000026")] {
        let exists: i64 = db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM areas WHERE ons_code = $1",
                crate::args![code],
            )
            .await?;
        if exists == 0 {
            crate::admin::areas::add(&state, &actor, name, code).await?;
        }
    }
    let mut s = (*state.settings()).clone();
    if !s.mfa_required_roles.is_empty() {
        s.mfa_required_roles.clear();
        crate::admin::settings::save(&state, &actor, s).await?;
    }
    let pw = password::generate();
    match accounts::store::user_by_email(db, DEMO_ADMIN).await? {
        Some(u) => set_password(&state, &actor, u.id, &pw).await?,
        None => {
            let a = NewAccount {
                email: DEMO_ADMIN.into(),
                display_name: "Demo administrator".into(),
                role: caremarket_core::Role::Admin,
                provider_id: None,
            };
            accounts::create_with_one_time_password(&state, &actor, &a, &pw)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    load_bundled_cqc_data(&state, &actor).await?;
    // ONS estimates for the sufficiency pages, once.
    let loaded: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM population WHERE source = $1",
            crate::args![BUNDLED_POPULATION_NAME],
        )
        .await?;
    if loaded == 0 {
        let l = crate::sufficiency::import_population(
            &state,
            &actor,
            BUNDLED_POPULATION_NAME,
            BUNDLED_POPULATION,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("loading the bundled population estimates: {e}"))?;
        println!(
            "Loaded {BUNDLED_POPULATION_NAME}: mid-{} estimates for {} areas",
            l.year, l.areas
        );
    }
    demo_lots(&state, &actor).await?;
    Ok(format!(
        "Demo ready. Sign in as {DEMO_ADMIN} with password {pw}\n(shown once; two-factor sign-in is off in the demo: turn it on in Settings)"
    ))
}

/// The real CQC data the project bundles (data/README.md), built into the binary so that the
/// demo works from any directory and from a clone with no ../shared.
const BUNDLED_RATINGS: &[u8] =
    include_bytes!("../../data/cqc/cqc_latest_ratings_overall_domain_national_2021-02.csv.gz");
const BUNDLED_API_RECORDS: &[u8] =
    include_bytes!("../../data/cqc/cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl.gz");
const BUNDLED_POPULATION_NAME: &str = "ons_mid2020_population_single_year_of_age_uk_areas.csv.gz";
const BUNDLED_POPULATION: &[u8] =
    include_bytes!("../../data/ons/ons_mid2020_population_single_year_of_age_uk_areas.csv.gz");

/// Loads the bundled files once (a second run finds them already imported and skips them).
pub async fn load_bundled_cqc_data(state: &AppState, actor: &Actor) -> anyhow::Result<()> {
    use crate::cqc::{ImportOptions, ImportOutcome, Kind, import_file};
    for (kind, name, bytes) in [
        (
            Kind::Ratings,
            "cqc_latest_ratings_overall_domain_national_2021-02.csv.gz",
            BUNDLED_RATINGS,
        ),
        (
            Kind::ApiRecords,
            "cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl.gz",
            BUNDLED_API_RECORDS,
        ),
    ] {
        let started = std::time::Instant::now();
        let r = import_file(state, actor, kind, name, bytes, &ImportOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("loading the bundled {name}: {e}"))?;
        if let ImportOutcome::Imported(row) = r.outcome {
            println!(
                "Loaded {name}: {} rows, edition {}, in {:.1} s",
                row.rows_in,
                row.edition,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn set_password(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    pw: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let hash = password::hash_async(pw).await?;
    let mut tx = state.db.begin().await?;
    accounts::store::set_one_time_password(&mut tx, user_id, &hash, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sessions = accounts::store::delete_sessions_of(&mut tx, user_id, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Whoever had the old password may have made tokens with it: they end too.
    let tokens = accounts::tokens::revoke_all_of(&mut tx, user_id, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::audit::entry("user.reset_password", "user", user_id)
        .after(serde_json::json!({"one_time": true, "sessions_ended": sessions, "tokens_revoked": tokens}))
        .write(&mut tx, actor, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

async fn user(cmd: UserCommand) -> anyhow::Result<()> {
    let (db_args, email) = match &cmd {
        UserCommand::Add { db, email, .. }
        | UserCommand::Disable { db, email }
        | UserCommand::ResetPassword { db, email }
        | UserCommand::Token { db, email, .. } => (db.clone(), email.clone()),
    };
    let db = open(&db_args).await?;
    let state = AppState::with_system_clock(db.clone(), Config::for_cli()).await?;
    let existing = accounts::store::user_by_email(&db, &email)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match cmd {
        UserCommand::Add {
            role,
            provider_id,
            name,
            ..
        } => {
            let role: caremarket_core::Role = role.parse()?;
            let a = NewAccount {
                email: email.trim().to_lowercase(),
                display_name: name,
                role,
                provider_id: provider_id
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            };
            let mut errors = crate::web::forms::FormErrors::default();
            accounts::validate_new_account(&a, &mut errors);
            if let Some(e) = errors.items.first() {
                anyhow::bail!("{}: {}", e.field.replace('_', "-"), e.message);
            }
            if existing.is_some() {
                anyhow::bail!("a user with email {} already exists", a.email);
            }
            let pw = password::generate();
            let id =
                accounts::create_with_one_time_password(&state, &Actor::cli("user-add"), &a, &pw)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Created user {id} {} ({}). One-time password: {pw}",
                a.email, a.role
            );
            println!("They choose their own password when they first sign in.");
        }
        UserCommand::Disable { .. } => {
            let u = existing.ok_or_else(|| anyhow::anyhow!("no user with email {email}"))?;
            crate::admin::users::set_disabled(&state, &Actor::cli("user-disable"), u.id, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .map_err(|m| anyhow::anyhow!(m))?;
            println!(
                "Disabled {}; their sessions and API tokens no longer work",
                u.email
            );
        }
        UserCommand::Token { name, .. } => {
            let u = existing.ok_or_else(|| anyhow::anyhow!("no user with email {email}"))?;
            if u.disabled {
                anyhow::bail!("{} is disabled", u.email);
            }
            let (_, token) = crate::accounts::tokens::create(
                &state,
                &Actor::cli("user-token"),
                u.id,
                &crate::accounts::tokens::NewToken::named(name.trim()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
        }
        UserCommand::ResetPassword { .. } => {
            let u = existing.ok_or_else(|| anyhow::anyhow!("no user with email {email}"))?;
            let pw = password::generate();
            set_password(&state, &Actor::cli("user-reset-password"), u.id, &pw).await?;
            println!("New one-time password for {}: {pw}", u.email);
        }
    }
    Ok(())
}

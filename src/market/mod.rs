//! Market intelligence: the quality and shape of a council's care market (or a
//! partnership's), broken down by rating, service type, home size, specialism and key
//! question, against England, the region and the target; every figure drills down to the
//! locations behind it (seed 000 §2.1, seed 002 "Performance Dashboard").

pub mod pages;

use caremarket_core::cqc::{Domain, Rating};
use caremarket_core::market::{
    KeyQuestionFigure, LocationFacts, ServiceGroup, SizeBand, Specialism, Summary, gap_points,
    key_question_figure, summarise,
};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cqc::summary::{EditionRef, editions_as_at, locations_as_at};
use crate::db::Db;
use crate::{AppState, Result, args};

/// Which part of the market: a set of councils (empty = England), or a region.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
pub struct Scope {
    /// Council as CQC names it; repeat for a partnership; none for England
    #[serde(default)]
    pub area: Vec<String>,
    pub region: Option<String>,
    /// The market as at this date (YYYY-MM-DD)
    pub as_at: Option<NaiveDate>,
}

/// What the figures need to know of one location.
#[derive(Debug, Clone)]
pub struct Fact {
    pub location_id: String,
    pub care_home: bool,
    pub beds: Option<i64>,
    pub overall: Option<Rating>,
    pub key_questions: [Option<Rating>; 5],
    /// None when no loaded file says.
    pub services: Option<HashSet<ServiceGroup>>,
    pub specialisms: Option<HashSet<Specialism>>,
    pub region: Option<String>,
    pub local_authority: Option<String>,
    pub provider_id: Option<String>,
    pub registered_manager: Option<bool>,
    /// When the current overall rating was published.
    pub overall_date: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct Row {
    location_id: String,
    care_home: Option<bool>,
    beds: Option<i64>,
    region: Option<String>,
    local_authority: Option<String>,
    provider_id: Option<String>,
    registered_manager: Option<bool>,
}

/// Every location in the market as at a date, with everything the figures use, and the
/// registrations and closures since the edition before. Built once per data version and
/// date, then shared: a dashboard filters it instead of asking the database again.
#[derive(Debug)]
pub struct AllFacts {
    pub facts: Vec<Arc<Fact>>,
    pub editions: Vec<EditionRef>,
    pub notes: Vec<String>,
    /// Locations new in the latest edition of their kind (when an earlier one is loaded).
    pub new_ids: HashSet<String>,
    /// Locations gone since the edition before, with their last known council.
    pub gone: Vec<(String, Option<String>)>,
    /// Whether any kind had an edition before to compare with.
    pub compared: bool,
    /// Homes re-registered between the editions (old ID, new ID): neither a closure nor a
    /// new home.
    pub re_registered: Vec<(String, String)>,
}

/// One build shared by everyone who asks while it runs (single flight): the first caller
/// builds, the others wait for its result instead of building the same thing again.
type Flight<T> = Arc<tokio::sync::OnceCell<Arc<T>>>;

/// The cache of [`AllFacts`], keyed by the data version (moved on by every
/// import and sync, in this process or another: see `data_version`) and the date asked about.
#[derive(Default)]
pub struct MarketCache {
    version: i64,
    entries: HashMap<Option<NaiveDate>, Flight<AllFacts>>,
    /// Finished dashboards by scope and settings: a page view is then a lookup and a render.
    dashboards: HashMap<String, Flight<Dashboard>>,
    /// How many times the market picture has been built, for tests and the log.
    builds: u64,
}

impl AllFacts {
    /// The data's own date: the latest edition the picture rests on. Ages of ratings are
    /// measured from it everywhere (watch list, data quality page, risk tool).
    pub fn data_date(&self) -> Option<NaiveDate> {
        self.editions.iter().map(|e| e.edition).max()
    }
}

impl MarketCache {
    pub fn builds(&self) -> u64 {
        self.builds
    }

    /// Moves on to a newer data version, dropping what was built for older ones. A caller
    /// that read an older version than the cache holds gets no flight (it builds for itself
    /// and keeps nothing).
    fn at_version(&mut self, version: i64) -> bool {
        if version > self.version {
            self.version = version;
            self.entries.clear();
            self.dashboards.clear();
        }
        version == self.version
    }
}

/// Builds once for everyone asking at a data version: the first caller runs `build`, the
/// others wait for its result. `pick` chooses the map (facts by date, dashboards by key),
/// kept to `cap` entries. A caller behind the cache's version builds for itself.
async fn single_flight<K, T, F, Fut>(
    state: &AppState,
    version: i64,
    pick: impl FnOnce(&mut MarketCache) -> &mut HashMap<K, Flight<T>>,
    key: K,
    cap: usize,
    build: F,
) -> Result<Arc<T>>
where
    K: std::hash::Hash + Eq,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Arc<T>>>,
{
    let flight = {
        let mut cache = state.market_cache.lock().expect("market cache");
        if cache.at_version(version) {
            let map = pick(&mut cache);
            // Many different keys would grow it without end: start again past the cap.
            if map.len() >= cap && !map.contains_key(&key) {
                map.clear();
            }
            Some(map.entry(key).or_default().clone())
        } else {
            None
        }
    };
    match flight {
        Some(cell) => Ok(cell.get_or_try_init(build).await?.clone()),
        None => build().await,
    }
}

pub async fn data_version(db: &Db) -> Result<i64> {
    Ok(db
        .q()
        .scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM data_version",
            args![],
        )
        .await?)
}

pub async fn all_facts(state: &AppState, as_at: Option<NaiveDate>) -> Result<Arc<AllFacts>> {
    let version = data_version(&state.db).await?;
    // A few dates at most (the latest few "as at" asked).
    single_flight(
        state,
        version,
        |c| &mut c.entries,
        as_at,
        16,
        || async {
            let t0 = std::time::Instant::now();
            state.market_cache.lock().expect("market cache").builds += 1;
            let built = load_all(&state.db, as_at).await?;
            tracing::info!(
                version,
                ?as_at,
                locations = built.facts.len(),
                ms = t0.elapsed().as_millis() as u64,
                "market picture built"
            );
            Ok(Arc::new(built))
        },
    )
    .await
}

/// Builds today's market picture in the background, so the first page after the server
/// starts, or after an import, does not wait for it (and nobody builds it twice: see
/// [`all_facts`]).
pub fn warm(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = all_facts(&state, None).await {
            tracing::warn!(error = %e, "could not build the market picture ahead of time");
        }
    });
}

/// A location's row with its current ratings as kept at import time.
#[derive(sqlx::FromRow)]
struct CurrentRow {
    #[sqlx(flatten)]
    location: Row,
    overall_rating: Option<String>,
    overall_date: Option<NaiveDate>,
    safe_rating: Option<String>,
    effective_rating: Option<String>,
    caring_rating: Option<String>,
    responsive_rating: Option<String>,
    well_led_rating: Option<String>,
}

type Ratings = (
    HashMap<String, (NaiveDate, Rating)>,
    HashMap<String, [Option<Rating>; 5]>,
);

/// Today's ratings from the locations' own rows, one row a location (see
/// `cqc::store::refresh_current_ratings`).
fn current_ratings(rows: Vec<CurrentRow>) -> (Vec<Row>, Ratings) {
    let mut overall = HashMap::new();
    let mut kq = HashMap::new();
    let rows = rows
        .into_iter()
        .map(|r| {
            if let (Some(rating), Some(date)) = (
                r.overall_rating.as_deref().and_then(Rating::parse),
                r.overall_date,
            ) {
                overall.insert(r.location.location_id.clone(), (date, rating));
            }
            let k = [
                &r.safe_rating,
                &r.effective_rating,
                &r.caring_rating,
                &r.responsive_rating,
                &r.well_led_rating,
            ]
            .map(|x| x.as_deref().and_then(Rating::parse));
            if k.iter().any(Option::is_some) {
                kq.insert(r.location.location_id.clone(), k);
            }
            r.location
        })
        .collect();
    (rows, (overall, kq))
}

async fn load_all(db: &Db, as_at: Option<NaiveDate>) -> Result<AllFacts> {
    let (editions, notes) = editions_as_at(db, as_at).await?;
    let present = locations_as_at(db, &editions, as_at).await?;
    let (rows, (overall, kq)) = match as_at {
        // Today: the current ratings kept on each location's row at import time.
        None => current_ratings(
            db.q()
                .fetch_all(
                    "SELECT location_id, care_home, beds, region, local_authority, provider_id, registered_manager, \
                     overall_rating, overall_date, safe_rating, effective_rating, caring_rating, responsive_rating, well_led_rating \
                     FROM cqc_locations",
                    args![],
                )
                .await?,
        ),
        // Another date: worked out from the rating history.
        Some(_) => {
            let rows: Vec<Row> = db
                .q()
                .fetch_all(
                    "SELECT location_id, care_home, beds, region, local_authority, provider_id, registered_manager FROM cqc_locations",
                    args![],
                )
                .await?;
            // One rule for every date (caremarket_core::own_rating), as for today's.
            let own = crate::cqc::own::own_ratings_as_at(db, as_at).await?;
            let overall = own
                .iter()
                .filter_map(|(id, o)| Some((id.clone(), o.overall.rating.map(|(r, d)| (d, r))?)))
                .collect();
            let kq = own
                .iter()
                .filter(|(_, o)| o.key_questions.iter().any(Option::is_some))
                .map(|(id, o)| (id.clone(), o.key_questions.map(|k| k.map(|k| k.0))))
                .collect();
            (rows, (overall, kq))
        }
    };
    // One per home: a home under two location IDs at once (dual registration, or a file
    // still listing its old registration) is counted once (caremarket_core::identity).
    let index = crate::cqc::identity::load(db).await?;
    let (present, merged) =
        crate::cqc::identity::one_per_home(present, &index, |id| overall.contains_key(id));
    let mut notes = notes;
    if !merged.dual.is_empty() {
        notes.push(format!(
            "{} {} registered under two location IDs at once (dual registration, or a file still listing an old registration): each is counted once, by the registration still registered, rated and most recently registered.",
            merged.dual.len(),
            if merged.dual.len() == 1 { "home is" } else { "homes are" }
        ));
    }
    let (services, specialisms) = services(db).await?;
    let mut las: HashMap<String, Option<String>> = HashMap::new();
    let facts = rows
        .into_iter()
        .filter_map(|r| {
            las.insert(r.location_id.clone(), r.local_authority.clone());
            present.contains(&r.location_id).then(|| {
                Arc::new(Fact {
                    care_home: r.care_home == Some(true),
                    beds: r.beds,
                    overall: overall.get(&r.location_id).map(|x| x.1),
                    overall_date: overall.get(&r.location_id).map(|x| x.0),
                    registered_manager: r.registered_manager,
                    key_questions: kq.get(&r.location_id).copied().unwrap_or_default(),
                    services: services.get(&r.location_id).cloned(),
                    specialisms: specialisms.get(&r.location_id).cloned(),
                    region: r.region,
                    local_authority: r.local_authority,
                    provider_id: r.provider_id,
                    location_id: r.location_id,
                })
            })
        })
        .collect();
    // Registrations and closures: the latest edition of each kind against the one before.
    let mut new_ids = HashSet::new();
    let mut gone = Vec::new();
    let mut re_registered: Vec<(String, String)> = Vec::new();
    let mut compared = false;
    for e in &editions {
        // Sync runs are increments, not snapshots: nothing to compare.
        if e.kind == "sync" {
            continue;
        }
        let prev: Option<NaiveDate> = db
            .q()
            .scalar_optional(
                "SELECT MAX(edition) FROM cqc_location_editions WHERE kind = $1 AND edition < $2",
                args![e.kind.as_str(), e.edition],
            )
            .await?
            .flatten();
        let Some(prev) = prev else { continue };
        compared = true;
        // Each edition's market at its own date (deregistered locations out), compared home
        // by home: a home under a new location ID is a re-registration, not a closure and a
        // new home (caremarket_core::identity).
        let at = |edition: NaiveDate| EditionRef {
            kind: e.kind.clone(),
            edition,
        };
        let now = locations_as_at(db, &[at(e.edition)], Some(e.edition)).await?;
        let before = locations_as_at(db, &[at(prev)], Some(prev)).await?;
        let by_home = |set: &HashSet<String>| -> HashMap<String, Vec<String>> {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for id in set {
                m.entry(index.homes.key(id).to_string())
                    .or_default()
                    .push(id.clone());
            }
            m
        };
        let (now_homes, before_homes) = (by_home(&now), by_home(&before));
        for (key, ids) in &now_homes {
            match before_homes.get(key) {
                None => new_ids.extend(ids.iter().cloned()),
                Some(old) => {
                    // The same home: re-registered when none of its old IDs is listed now.
                    if let (Some(o), Some(n)) = (
                        old.iter().filter(|o| !now.contains(*o)).max(),
                        ids.iter().filter(|n| !before.contains(*n)).max(),
                    ) && !old.iter().any(|o| now.contains(o))
                    {
                        re_registered.push((o.clone(), n.clone()));
                    }
                }
            }
        }
        for (key, ids) in &before_homes {
            if !now_homes.contains_key(key) {
                for id in ids {
                    gone.push((id.clone(), las.get(id).cloned().flatten()));
                }
            }
        }
    }
    re_registered.sort();
    Ok(AllFacts {
        facts,
        editions,
        notes,
        new_ids,
        gone,
        compared,
        re_registered,
    })
}

impl Scope {
    fn councils(&self) -> HashSet<String> {
        self.area
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    }
    fn region_lc(&self) -> Option<String> {
        self.region
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    }
}

/// The locations in scope as at the date (from the shared cache).
pub async fn facts(state: &AppState, scope: &Scope) -> Result<(Vec<Arc<Fact>>, Arc<AllFacts>)> {
    let all = all_facts(state, scope.as_at).await?;
    let councils = scope.councils();
    let region = scope.region_lc();
    let facts = all
        .facts
        .iter()
        .filter(|f| {
            (councils.is_empty()
                || f.local_authority
                    .as_deref()
                    .is_some_and(|la| councils.contains(&la.to_lowercase())))
                && region
                    .as_ref()
                    .is_none_or(|r| f.region.as_deref().is_some_and(|x| x.to_lowercase() == *r))
        })
        .cloned()
        .collect();
    Ok((facts, all))
}

type ServiceMaps = (
    HashMap<String, HashSet<ServiceGroup>>,
    HashMap<String, HashSet<Specialism>>,
);

async fn services(db: &Db) -> Result<ServiceMaps> {
    let rows: Vec<(String, String, String)> = db
        .q()
        .fetch_all("SELECT location_id, kind, value FROM cqc_location_services WHERE kind IN ('service_type', 'specialism')", args![])
        .await?;
    let mut svc: HashMap<String, HashSet<ServiceGroup>> = HashMap::new();
    let mut spec: HashMap<String, HashSet<Specialism>> = HashMap::new();
    for (id, kind, value) in rows {
        if kind == "service_type" {
            let e = svc.entry(id).or_default();
            if let Some(g) = ServiceGroup::from_cqc(&value) {
                e.insert(g);
            }
        } else {
            let e = spec.entry(id).or_default();
            if let Some(s) = Specialism::from_cqc(&value) {
                e.insert(s);
            }
        }
    }
    Ok((svc, spec))
}

/// One figure's group: its summary and the locations behind each of its numbers.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Cell {
    pub key: String,
    pub label: String,
    #[schema(value_type = Object)]
    pub summary: Summary,
    #[serde(skip)]
    pub members: Vec<usize>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct KeyQuestionCell {
    pub key: String,
    pub label: String,
    #[schema(value_type = Object)]
    pub figure: KeyQuestionFigure,
    #[serde(skip)]
    pub members: Vec<usize>,
}

/// The ways the dashboard breaks the market down.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Rating,
    ServiceType,
    SizeBand,
    Specialism,
    KeyQuestion,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        match s.trim().replace('-', "_").as_str() {
            "rating" => Some(By::Rating),
            "service_type" => Some(By::ServiceType),
            "size_band" => Some(By::SizeBand),
            "specialism" => Some(By::Specialism),
            "key_question" => Some(By::KeyQuestion),
            _ => None,
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            By::Rating => "rating",
            By::ServiceType => "service_type",
            By::SizeBand => "size_band",
            By::Specialism => "specialism",
            By::KeyQuestion => "key_question",
        }
    }
}

fn cell(key: &str, label: &str, facts: &[Arc<Fact>], members: Vec<usize>) -> Cell {
    let summary = summarise(members.iter().map(|&i| LocationFacts {
        beds: facts[i].beds,
        overall: facts[i].overall,
    }));
    Cell {
        key: key.into(),
        label: label.into(),
        summary,
        members,
    }
}

fn rating_group(r: Option<Rating>) -> &'static str {
    match r {
        Some(Rating::Outstanding) => "outstanding",
        Some(Rating::Good) => "good",
        Some(Rating::RequiresImprovement) => "requires-improvement",
        Some(Rating::Inadequate) => "inadequate",
        _ => "not-rated",
    }
}

/// The cells of one breakdown. Care-home-only breakdowns (size bands) take care homes;
/// the others take every location in scope.
pub fn breakdown(by: By, facts: &[Arc<Fact>]) -> Vec<Cell> {
    let idx = |f: &dyn Fn(&Fact) -> bool| -> Vec<usize> {
        facts
            .iter()
            .enumerate()
            .filter(|(_, x)| f(x))
            .map(|(i, _)| i)
            .collect()
    };
    match by {
        By::Rating => [
            ("outstanding", "Outstanding"),
            ("good", "Good"),
            ("requires-improvement", "Requires improvement"),
            ("inadequate", "Inadequate"),
            ("not-rated", "Not rated"),
        ]
        .iter()
        .map(|(k, l)| {
            cell(
                k,
                l,
                facts,
                idx(&|f: &Fact| f.care_home && rating_group(f.overall) == *k),
            )
        })
        .collect(),
        By::ServiceType => ServiceGroup::ALL
            .iter()
            .map(|g| {
                cell(
                    g.key(),
                    g.label(),
                    facts,
                    idx(&|f: &Fact| f.services.as_ref().is_some_and(|s| s.contains(g))),
                )
            })
            .collect(),
        By::SizeBand => SizeBand::ALL
            .iter()
            .map(|b| {
                cell(
                    b.key(),
                    b.label(),
                    facts,
                    idx(&|f: &Fact| f.care_home && f.beds.is_some_and(|n| SizeBand::of(n) == *b)),
                )
            })
            .collect(),
        By::Specialism => Specialism::ALL
            .iter()
            .map(|s| {
                cell(
                    s.key(),
                    s.label(),
                    facts,
                    idx(&|f: &Fact| {
                        f.care_home && f.specialisms.as_ref().is_some_and(|x| x.contains(s))
                    }),
                )
            })
            .collect(),
        By::KeyQuestion => vec![],
    }
}

/// Key questions over care homes: how many rate below Good, of those rated.
pub fn key_questions(facts: &[Arc<Fact>]) -> Vec<KeyQuestionCell> {
    Domain::KEY_QUESTIONS
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let homes: Vec<usize> = facts
                .iter()
                .enumerate()
                .filter(|(_, f)| f.care_home)
                .map(|(j, _)| j)
                .collect();
            let figure = key_question_figure(homes.iter().map(|&j| facts[j].key_questions[i]));
            let members = homes
                .into_iter()
                .filter(|&j| facts[j].key_questions[i].is_some_and(|r| r.is_below_good()))
                .collect();
            KeyQuestionCell {
                key: d.as_str().to_lowercase(),
                label: d.as_str().into(),
                figure,
                members,
            }
        })
        .collect()
}

/// A watch-list figure: how many locations, and which.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WatchCell {
    pub key: String,
    pub label: String,
    pub count: u64,
    #[serde(skip)]
    pub ids: Vec<String>,
}

fn watch(key: &str, label: &str, ids: Vec<String>) -> WatchCell {
    WatchCell {
        key: key.into(),
        label: label.into(),
        count: ids.len() as u64,
        ids,
    }
}

/// Registered manager vacancies, inspection age, providers shared between the councils in
/// scope, and registrations and closures between the last two editions.
fn watch_list(
    facts: &[Arc<Fact>],
    all: &AllFacts,
    scope: &Scope,
    notes: &mut Vec<String>,
) -> Vec<WatchCell> {
    let data_date = scope
        .as_at
        .or_else(|| all.data_date())
        .unwrap_or(NaiveDate::MIN);
    let ids = |f: &dyn Fn(&Fact) -> bool| -> Vec<String> {
        facts
            .iter()
            .filter(|x| f(x))
            .map(|x| x.location_id.clone())
            .collect()
    };
    let older = |months: u32| {
        data_date
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(NaiveDate::MIN)
    };
    let (two, four) = (older(24), older(48));
    let mut out = vec![
        watch(
            "no-registered-manager",
            "No registered manager",
            ids(&|f| f.registered_manager == Some(false)),
        ),
        watch(
            "rating-over-2-years",
            "Last rated more than 2 years before the data date",
            ids(&|f| f.overall.is_some() && f.overall_date.is_some_and(|d| d < two)),
        ),
        watch(
            "rating-over-4-years",
            "Last rated more than 4 years before the data date",
            ids(&|f| f.overall.is_some() && f.overall_date.is_some_and(|d| d < four)),
        ),
        watch(
            "never-rated",
            "Never rated (no Outstanding, Good, Requires improvement or Inadequate)",
            ids(&|f| !f.overall.is_some_and(|r| r.is_rated())),
        ),
    ];
    if facts.iter().all(|f| f.registered_manager.is_none()) && !facts.is_empty() {
        notes.push("Registered managers are known only from the care directory and API records: none loaded for this area.".into());
    }
    // Providers with locations in more than one council in scope.
    let mut councils: HashMap<&str, HashSet<&str>> = HashMap::new();
    for f in facts {
        if let (Some(p), Some(la)) = (f.provider_id.as_deref(), f.local_authority.as_deref()) {
            councils.entry(p).or_default().insert(la);
        }
    }
    let shared: HashSet<&str> = councils
        .into_iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(p, _)| p)
        .collect();
    out.push(watch(
        "shared-providers",
        "Locations of providers working in more than one council in scope",
        ids(&|f| f.provider_id.as_deref().is_some_and(|p| shared.contains(p))),
    ));
    if all.compared {
        let mut new_ids = ids(&|f| all.new_ids.contains(&f.location_id));
        new_ids.sort();
        // Closed locations are not in the market any more: placed by their last council.
        let in_scope_councils: HashSet<String> = facts
            .iter()
            .filter_map(|f| f.local_authority.as_deref().map(str::to_lowercase))
            .collect();
        let wanted = scope.councils();
        let mut gone: Vec<String> = all
            .gone
            .iter()
            .filter(|(_, la)| {
                la.as_deref().is_some_and(|la| {
                    let la = la.to_lowercase();
                    if wanted.is_empty() {
                        in_scope_councils.contains(&la) || scope.region.is_none()
                    } else {
                        wanted.contains(&la)
                    }
                })
            })
            .map(|(id, _)| id.clone())
            .collect();
        gone.sort();
        out.push(watch(
            "new-registrations",
            "New since the previous edition",
            new_ids,
        ));
        out.push(watch(
            "deregistrations",
            "Gone since the previous edition",
            gone,
        ));
        if !all.re_registered.is_empty() {
            let mut ids: Vec<String> = all
                .re_registered
                .iter()
                .filter(|(_, new)| facts.iter().any(|f| &f.location_id == new))
                .map(|(_, new)| new.clone())
                .collect();
            ids.sort();
            out.push(watch(
                "re-registrations",
                "Re-registered since the previous edition (new provider or location ID; the same home)",
                ids,
            ));
        }
    } else {
        notes.push("New registrations and closures need two editions of the same file: only one is loaded.".into());
    }
    out
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub name: String,
    pub care_homes_rated: u64,
    pub good_or_outstanding_pct: Option<f64>,
    /// Percentage points above (positive) or below the target
    pub gap_to_target: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub name: String,
    /// Every location in scope (all service types)
    #[schema(value_type = Object)]
    pub all_locations: Summary,
    /// Care homes only: the headline figures
    #[schema(value_type = Object)]
    pub care_homes: Summary,
    pub target_pct: f64,
    pub gap_to_target: Option<f64>,
    pub by_rating: Vec<Cell>,
    pub by_service_type: Vec<Cell>,
    pub by_size_band: Vec<Cell>,
    pub by_specialism: Vec<Cell>,
    pub by_key_question: Vec<KeyQuestionCell>,
    /// The key question most often rated below Good
    pub weakest_key_question: Option<String>,
    pub watch: Vec<WatchCell>,
    pub comparisons: Vec<Comparison>,
    pub editions: Vec<EditionRef>,
    pub notes: Vec<String>,
    /// Care homes with known beds / with known specialisms / locations with known service types
    pub beds_known_for: u64,
    pub specialisms_known_for: u64,
    pub service_types_known_for: u64,
    /// Locations in scope under a contract in force on the date (every service type), when
    /// the council keeps a contracts register (seed 004 §4.6: "65.2% of the contracted
    /// providers ... rated Good or Outstanding").
    #[schema(value_type = Option<Object>)]
    pub contracted: Option<Summary>,
    /// Contracted care homes only.
    #[schema(value_type = Option<Object>)]
    pub contracted_care_homes: Option<Summary>,
    #[serde(skip)]
    pub contracted_members: Vec<usize>,
    #[serde(skip)]
    pub contracted_care_home_members: Vec<usize>,
    #[serde(skip)]
    pub facts: Vec<Arc<Fact>>,
    #[serde(skip)]
    pub care_home_members: Vec<usize>,
}

pub fn care_home_summary(facts: &[Arc<Fact>]) -> (Summary, Vec<usize>) {
    let members: Vec<usize> = facts
        .iter()
        .enumerate()
        .filter(|(_, f)| f.care_home)
        .map(|(i, _)| i)
        .collect();
    let s = summarise(members.iter().map(|&i| LocationFacts {
        beds: facts[i].beds,
        overall: facts[i].overall,
    }));
    (s, members)
}

async fn comparison(state: &AppState, name: &str, scope: Scope, target: f64) -> Result<Comparison> {
    let (facts, _) = facts(state, &scope).await?;
    let (s, _) = care_home_summary(&facts);
    Ok(Comparison {
        name: name.into(),
        care_homes_rated: s.rated,
        good_or_outstanding_pct: s.good_or_outstanding_pct,
        gap_to_target: gap_points(s.good_or_outstanding_pct, target),
    })
}

/// The whole dashboard for a scope. `comparators` are the statistical neighbours to show;
/// `compare` false leaves out England, the region and the comparators (for drill-downs).
pub async fn dashboard(
    state: &AppState,
    name: &str,
    scope: &Scope,
    target: f64,
    comparators: &[String],
    compare: bool,
) -> Result<Arc<Dashboard>> {
    let key = format!(
        "{name}|{:?}|{:?}|{:?}|{target}|{comparators:?}|{compare}",
        scope.area, scope.region, scope.as_at
    );
    let version = data_version(&state.db).await?;
    single_flight(
        state,
        version,
        |c| &mut c.dashboards,
        key,
        256,
        || async {
            Ok(Arc::new(
                build_dashboard(state, name, scope, target, comparators, compare).await?,
            ))
        },
    )
    .await
}

async fn build_dashboard(
    state: &AppState,
    name: &str,
    scope: &Scope,
    target: f64,
    comparators: &[String],
    compare: bool,
) -> Result<Dashboard> {
    let (facts, all) = facts(state, scope).await?;
    let editions = all.editions.clone();
    let mut notes = all.notes.clone();
    notes.extend(crate::cqc::summary::rule_notes(
        scope.as_at.or_else(|| all.data_date()),
    ));
    let (care_homes, care_home_members) = care_home_summary(&facts);
    let all_locations = summarise(facts.iter().map(|f| LocationFacts {
        beds: f.beds,
        overall: f.overall,
    }));
    let by_key_question = key_questions(&facts);
    let weakest_key_question = by_key_question
        .iter()
        .filter(|k| k.figure.rated > 0)
        .max_by_key(|k| (k.figure.below_good, std::cmp::Reverse(k.label.clone())))
        .filter(|k| k.figure.below_good > 0)
        .map(|k| k.label.clone());
    let homes = care_home_members.len() as u64;
    let beds_known_for = care_home_members
        .iter()
        .filter(|&&i| facts[i].beds.is_some())
        .count() as u64;
    let specialisms_known_for = care_home_members
        .iter()
        .filter(|&&i| facts[i].specialisms.is_some())
        .count() as u64;
    let service_types_known_for = facts.iter().filter(|f| f.services.is_some()).count() as u64;
    if homes > 0 && beds_known_for < homes {
        notes.push(format!("Beds known for {beds_known_for} of {homes} care homes: bed figures and size bands cover only those."));
    }
    if homes > 0 && specialisms_known_for < homes {
        notes.push(format!(
            "Specialisms known for {specialisms_known_for} of {homes} care homes."
        ));
    }
    if !facts.is_empty() && (service_types_known_for as usize) < facts.len() {
        notes.push(format!(
            "Service types known for {service_types_known_for} of {} locations.",
            facts.len()
        ));
    }
    let watch = watch_list(&facts, &all, scope, &mut notes);
    let (contracted, contracted_members, contracted_care_homes, contracted_care_home_members) =
        contracted_market(state, scope, &facts).await?;
    let mut comparisons = Vec::new();
    if compare {
        comparisons.push(
            comparison(
                state,
                "England",
                Scope {
                    as_at: scope.as_at,
                    ..Default::default()
                },
                target,
            )
            .await?,
        );
        // The region of the (first) council in scope.
        let region = facts.iter().find_map(|f| f.region.clone());
        if let (Some(r), true, false) = (region, scope.region.is_none(), scope.area.is_empty()) {
            comparisons.push(
                comparison(
                    state,
                    &r,
                    Scope {
                        region: Some(r.clone()),
                        as_at: scope.as_at,
                        ..Default::default()
                    },
                    target,
                )
                .await?,
            );
        }
        for c in comparators {
            comparisons.push(
                comparison(
                    state,
                    c,
                    Scope {
                        area: vec![c.clone()],
                        as_at: scope.as_at,
                        ..Default::default()
                    },
                    target,
                )
                .await?,
            );
        }
    }
    Ok(Dashboard {
        name: name.into(),
        gap_to_target: gap_points(care_homes.good_or_outstanding_pct, target),
        target_pct: target,
        all_locations,
        care_homes,
        by_rating: breakdown(By::Rating, &facts),
        by_service_type: breakdown(By::ServiceType, &facts),
        by_size_band: breakdown(By::SizeBand, &facts),
        by_specialism: breakdown(By::Specialism, &facts),
        by_key_question,
        weakest_key_question,
        watch,
        comparisons,
        editions,
        notes,
        beds_known_for,
        specialisms_known_for,
        service_types_known_for,
        contracted,
        contracted_members,
        contracted_care_homes,
        contracted_care_home_members,
        facts,
        care_home_members,
    })
}

type Members = (Option<Summary>, Vec<usize>);

/// The contracted market within the scope: every service under a contract in force on the
/// date, and its care homes. None when the register is empty.
async fn contracted_market(
    state: &AppState,
    scope: &Scope,
    facts: &[Arc<Fact>],
) -> Result<(Option<Summary>, Vec<usize>, Option<Summary>, Vec<usize>)> {
    let on = scope
        .as_at
        .unwrap_or_else(|| state.clock.now().date_naive());
    let ids: HashSet<String> = crate::quality::contracts(state)
        .await?
        .into_iter()
        .filter(|c| c.in_force(on))
        .map(|c| c.location_id)
        .collect();
    if ids.is_empty() {
        return Ok((None, vec![], None, vec![]));
    }
    let of = |care_home_only: bool| -> Members {
        let members: Vec<usize> = facts
            .iter()
            .enumerate()
            .filter(|(_, f)| ids.contains(&f.location_id) && (f.care_home || !care_home_only))
            .map(|(i, _)| i)
            .collect();
        let s = summarise(members.iter().map(|&i| LocationFacts {
            beds: facts[i].beds,
            overall: facts[i].overall,
        }));
        (Some(s), members)
    };
    let (all, all_members) = of(false);
    let (homes, home_members) = of(true);
    Ok((all, all_members, homes, home_members))
}

/// The measures a figure can drill down to.
pub fn measure_members(facts: &[Arc<Fact>], members: &[usize], measure: &str) -> Vec<usize> {
    members
        .iter()
        .copied()
        .filter(|&i| {
            let f = &facts[i];
            match measure {
                "rated" => f.overall.is_some_and(|r| r.is_rated()),
                "good_or_outstanding" => f.overall.is_some_and(|r| r.is_good_or_outstanding()),
                "beds" => f.beds.is_some(),
                _ => true,
            }
        })
        .collect()
}

impl Dashboard {
    /// The locations behind one number on the page: a breakdown cell (or the care homes
    /// headline, `by` = "care_homes", or a watch-list line, `by` = "watch") and a measure
    /// (locations, rated, good_or_outstanding, beds, below_good).
    pub fn drill(&self, by: &str, group: &str, measure: &str) -> Option<Vec<String>> {
        if by == "watch" {
            return Some(self.watch.iter().find(|w| w.key == group)?.ids.clone());
        }
        let members: Vec<usize> = match by {
            "care_homes" => self.care_home_members.clone(),
            "contracted" => match group {
                "all" => self.contracted_members.clone(),
                "care_homes" => self.contracted_care_home_members.clone(),
                _ => return None,
            },
            "key_question" => self
                .by_key_question
                .iter()
                .find(|k| k.key == group)?
                .members
                .clone(),
            _ => {
                let cells = match By::parse(by)? {
                    By::Rating => &self.by_rating,
                    By::ServiceType => &self.by_service_type,
                    By::SizeBand => &self.by_size_band,
                    By::Specialism => &self.by_specialism,
                    By::KeyQuestion => return None,
                };
                cells.iter().find(|c| c.key == group)?.members.clone()
            }
        };
        let ids = if by == "key_question" {
            members
        } else {
            measure_members(&self.facts, &members, measure)
        };
        Some(
            ids.into_iter()
                .map(|i| self.facts[i].location_id.clone())
                .collect(),
        )
    }
}

//! The market picture every capability stands on: each location in the market at a date
//! with its own rating, key questions, services, beds and council ([`Fact`]), built once per
//! data version and date and shared ([`all_facts`], single flight), with the data's own date.
//! It is CQC data read whole, so it lives with the CQC capability: the market dashboard, the
//! risk tool, the data quality page and brokerage all read it from here.

use caremarket_core::cqc::Rating;
use caremarket_core::market::{ServiceGroup, Specialism};
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

/// Things built from the data, keyed by what was asked and kept for one data version (moved
/// on by every import and sync, in this process or another: see [`data_version`]). The
/// market picture ([`all_facts`], by date) and the market dashboards (by scope and
/// settings) each keep one.
pub struct VersionedCache<K, T> {
    version: i64,
    entries: HashMap<K, Flight<T>>,
    /// How many times something was built, for tests and the log.
    builds: u64,
}

impl<K, T> Default for VersionedCache<K, T> {
    fn default() -> Self {
        VersionedCache {
            version: 0,
            entries: HashMap::new(),
            builds: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq, T> VersionedCache<K, T> {
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
        }
        version == self.version
    }
}

/// The market picture by the date asked about (None: today's).
pub type MarketCache = VersionedCache<Option<NaiveDate>, AllFacts>;

impl AllFacts {
    /// The data's own date: the latest edition the picture rests on. Ages of ratings are
    /// measured from it everywhere (watch list, data quality page, risk tool).
    pub fn data_date(&self) -> Option<NaiveDate> {
        self.editions.iter().map(|e| e.edition).max()
    }
}

/// Builds once for everyone asking at a data version: the first caller runs `build`, the
/// others wait for its result; the cache keeps at most `cap` entries. A caller behind the
/// cache's version builds for itself.
pub async fn single_flight<K, T, F, Fut>(
    cache: &std::sync::Mutex<VersionedCache<K, T>>,
    version: i64,
    key: K,
    cap: usize,
    build: F,
) -> Result<Arc<T>>
where
    K: std::hash::Hash + Eq,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let counted = || async {
        cache.lock().expect("versioned cache").builds += 1;
        Ok::<_, crate::AppError>(Arc::new(build().await?))
    };
    let flight = {
        let mut c = cache.lock().expect("versioned cache");
        if c.at_version(version) {
            // Many different keys would grow it without end: start again past the cap.
            if c.entries.len() >= cap && !c.entries.contains_key(&key) {
                c.entries.clear();
            }
            Some(c.entries.entry(key).or_default().clone())
        } else {
            None
        }
    };
    match flight {
        Some(cell) => Ok(cell.get_or_try_init(counted).await?.clone()),
        None => counted().await,
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
    single_flight(&state.market_cache, version, as_at, 16, || async {
        let t0 = std::time::Instant::now();
        let built = load_all(&state.db, as_at).await?;
        tracing::info!(
            version,
            ?as_at,
            locations = built.facts.len(),
            ms = t0.elapsed().as_millis() as u64,
            "market picture built"
        );
        Ok(built)
    })
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
    pub(crate) fn councils(&self) -> HashSet<String> {
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

//! Market intelligence: the quality and shape of a council's care market (or a
//! partnership's), broken down by rating, service type, home size, specialism and key
//! question, against England, the region and the target; every figure drills down to the
//! locations behind it (Leeds care home quality, 2017, §2.1, the Liverpool City Region care home redesign (Priority 3) "Performance Dashboard").

pub mod pages;

use caremarket_core::cqc::{Domain, Rating};
use caremarket_core::market::{
    KeyQuestionFigure, LocationFacts, ServiceGroup, SizeBand, Specialism, Summary, gap_points,
    key_question_figure, summarise,
};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cqc::picture::{
    AllFacts, Fact, Scope, VersionedCache, data_version, facts, single_flight,
};
use crate::cqc::summary::EditionRef;
use crate::{AppState, Result};

/// Finished dashboards by scope and settings: a page view is then a lookup and a render.
pub type DashboardCache = VersionedCache<String, Dashboard>;

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
    /// the council keeps a contracts register (Leicester quality of regulated care, 2023, §4.6: "65.2% of the contracted
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
    single_flight(&state.dashboard_cache, version, key, 256, || {
        build_dashboard(state, name, scope, target, comparators, compare)
    })
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

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(pages::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::api_summary, pages::api_breakdown),
    tags((name = "market", description = "Market dashboards: figures, breakdowns and comparisons"))
)]
pub struct ApiDoc;

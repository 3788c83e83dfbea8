//! The annual re-ranking of a lot's framework (Leicester domiciliary support, 2018, §4.13): "providers were ranked to
//! receive work according to the score they received during the tender. This rank order will
//! be changed annually according to the quality of their provision as monitored through QAF
//! and CQC scores and performance data."
//!
//! A proposal is worked out for one lot over a period: each framework provider's QAF grade
//! (its locations' latest confirmed visit, the worst of them), CQC rating (the worst current
//! overall rating of its registered locations), acceptance rate and median time to answer
//! offers made in the period, packages it handed back and concerns about its locations; the
//! points come from `caremarket_core::brokerage::rerank` with the weights chosen. A
//! commissioner approves it to take effect from a date; until then the old order stands.
//! Every proposal stays in the history with its inputs and components. The primary provider
//! keeps first offers: that is a contract award, not a ranking.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use caremarket_core::brokerage::{RankInput, RankWeights, Ranked, rerank};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    pub id: i64,
    pub lot_id: i64,
    /// proposed, approved (waiting for its date), applied or rejected
    pub status: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub effective_from: NaiveDate,
    #[serde(skip)]
    pub weights: String,
    #[serde(skip)]
    pub result: String,
    pub computed_by: String,
    pub computed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub applied_at: Option<DateTime<Utc>>,
}

/// What a proposal keeps: for each provider its inputs and its place with every component.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    #[schema(value_type = Object)]
    pub input: RankInput,
    #[schema(value_type = Object)]
    pub ranked: Ranked,
}

impl Proposal {
    pub fn lines(&self) -> Result<Vec<Line>> {
        serde_json::from_str(&self.result)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("ranking {}: {e}", self.id)))
    }
    pub fn weights(&self) -> RankWeights {
        serde_json::from_str(&self.weights).unwrap_or_default()
    }
}

const SELECT: &str = "SELECT id, lot_id, status, period_from, period_to, effective_from, weights, result, computed_by, computed_at, decided_by, decided_at, applied_at FROM rankings";

pub async fn history(state: &AppState, lot_id: i64) -> Result<Vec<Proposal>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            &format!("{SELECT} WHERE lot_id = $1 ORDER BY computed_at DESC, id DESC"),
            args![lot_id],
        )
        .await?)
}

pub async fn get(state: &AppState, id: i64) -> Result<Proposal> {
    state
        .db
        .q()
        .fetch_optional(&format!("{SELECT} WHERE id = $1"), args![id])
        .await?
        .ok_or(AppError::NotFound)
}

/// A provider's quality as of `to`: its QAF level (0 the best grade on the council's scale:
/// the worst of its locations' latest confirmed grades) and its CQC level (0 Outstanding to
/// 3 Inadequate: the worst current overall rating of its registered locations); None when
/// not visited or not rated.
pub async fn quality_levels(
    state: &AppState,
    provider: &str,
    to: NaiveDate,
) -> Result<(Option<u8>, Option<u8>)> {
    let db = &state.db;
    // QAF: each location's latest confirmed grade, the worst of them.
    let grades: Vec<(String, Option<String>)> = db
        .q()
        .fetch_all(
            "SELECT v.location_id, v.overall_grade FROM qaf_visits v JOIN cqc_locations l ON l.location_id = v.location_id \
             WHERE l.provider_id = $1 AND v.status = 'confirmed' AND v.visit_date <= $2 ORDER BY v.location_id, v.visit_date DESC, v.id DESC",
            args![provider, to],
        )
        .await?;
    let scale = state.settings().qaf.scale.clone();
    let mut seen = std::collections::HashSet::new();
    let qaf_level = grades
        .iter()
        .filter(|(loc, _)| seen.insert(loc.clone()))
        .filter_map(|(_, g)| g.as_deref().and_then(|g| scale.rank(g)))
        .max()
        .map(|l| l as u8);
    // CQC: the worst current overall rating of its registered locations.
    let ratings: Vec<(Option<String>,)> = db
        .q()
        .fetch_all(
            // Each location's own rating (caremarket_core::own_rating); never a deregistered
            // one, with a date or without.
            "SELECT overall_rating FROM cqc_locations WHERE provider_id = $1 AND deregistration_date IS NULL AND LOWER(COALESCE(registration_status, '')) <> 'deregistered'",
            args![provider],
        )
        .await?;
    use caremarket_core::cqc::Rating;
    let cqc_level = ratings
        .iter()
        .filter_map(|r| r.0.as_deref().and_then(Rating::parse))
        .filter_map(|r| match r {
            Rating::Outstanding => Some(0u8),
            Rating::Good => Some(1),
            Rating::RequiresImprovement => Some(2),
            Rating::Inadequate => Some(3),
            _ => None,
        })
        .max();
    Ok((qaf_level, cqc_level))
}

/// One provider's inputs over the period.
async fn inputs_for(
    state: &AppState,
    provider: &str,
    previous_rank: usize,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RankInput> {
    let db = &state.db;
    let (qaf_level, cqc_level) = quality_levels(state, provider, to).await?;
    // Performance: offers made in the period and how they were answered.
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let end = (to + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    // (status, made, answered)
    type OfferTimes = (String, DateTime<Utc>, Option<DateTime<Utc>>);
    let offers: Vec<OfferTimes> = db
        .q()
        .fetch_all(
            "SELECT status, made_at, answered_at FROM offers WHERE provider_id = $1 AND made_at >= $2 AND made_at < $3",
            args![provider, start, end],
        )
        .await?;
    let decided: Vec<&OfferTimes> = offers
        .iter()
        .filter(|o| matches!(o.0.as_str(), "accepted" | "declined" | "expired"))
        .collect();
    let accepted = decided.iter().filter(|o| o.0 == "accepted").count() as i64;
    let acceptance_bps = (!decided.is_empty()).then(|| {
        caremarket_core::cost::div_round_half_up(
            i128::from(accepted) * 10_000,
            decided.len() as i128,
        )
    });
    // The median as the cost of care's quartiles take it (the middle two averaged, half up).
    let median_response_minutes = caremarket_core::stats::quartiles(
        &offers
            .iter()
            .filter_map(|o| o.2.map(|a| (a - o.1).num_minutes().max(0)))
            .collect::<Vec<i64>>(),
    )
    .map(|(_, median, _)| median);
    let hand_backs: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM packages WHERE provider_id = $1 AND end_reason = 'hand_back' AND end_date >= $2 AND end_date <= $3",
            args![provider, from, to],
        )
        .await?;
    let concerns: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM concerns c JOIN cqc_locations l ON l.location_id = c.location_id WHERE l.provider_id = $1 AND c.received_date >= $2 AND c.received_date <= $3",
            args![provider, from, to],
        )
        .await?;
    Ok(RankInput {
        provider: provider.to_string(),
        previous_rank: Some(previous_rank),
        qaf_level,
        cqc_level,
        acceptance_bps,
        median_response_minutes,
        hand_backs,
        concerns,
    })
}

/// What a commissioner asks for.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub period_from: String,
    pub period_to: String,
    pub effective_from: String,
    pub weights: Vec<(String, String)>,
}

pub const WEIGHT_FIELDS: [(&str, &str); 9] = [
    ("qaf_best", "Points for the best QAF grade"),
    ("qaf_step", "Points less for each QAF grade below the best"),
    ("cqc_best", "Points for Outstanding from CQC"),
    (
        "cqc_step",
        "Points less for each CQC rating below Outstanding",
    ),
    (
        "acceptance",
        "Points for accepting every offer (in proportion below)",
    ),
    ("response", "Points for answering offers at once"),
    (
        "response_minutes_per_point",
        "Minutes of median answer time that cost a point",
    ),
    ("per_hand_back", "Points off for each package handed back"),
    (
        "per_concern",
        "Points off for each concern about its services",
    ),
];

pub fn weight_values(w: &RankWeights) -> Vec<(String, String)> {
    let v = [
        w.qaf_best,
        w.qaf_step,
        w.cqc_best,
        w.cqc_step,
        w.acceptance,
        w.response,
        w.response_minutes_per_point,
        w.per_hand_back,
        w.per_concern,
    ];
    WEIGHT_FIELDS
        .iter()
        .zip(v)
        .map(|((k, _), n)| (k.to_string(), n.to_string()))
        .collect()
}

fn weights_from(typed: &[(String, String)], e: &mut FormErrors) -> RankWeights {
    let mut v = [0i64; 9];
    let d = weight_values(&RankWeights::default());
    for (i, (k, _)) in WEIGHT_FIELDS.iter().enumerate() {
        let t = typed
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, t)| t.trim().to_string())
            .unwrap_or_else(|| d[i].1.clone());
        match t.parse::<i64>() {
            Ok(n) if (0..=1000).contains(&n) => v[i] = n,
            _ => e.add(k, "Enter a whole number of points from 0 to 1000"),
        }
    }
    RankWeights {
        qaf_best: v[0],
        qaf_step: v[1],
        cqc_best: v[2],
        cqc_step: v[3],
        acceptance: v[4],
        response: v[5],
        response_minutes_per_point: v[6].max(1),
        per_hand_back: v[7],
        per_concern: v[8],
    }
}

/// Works out a proposal for a lot and keeps it, for a commissioner to approve.
pub async fn propose(
    state: &AppState,
    actor: &Actor,
    lot_id: i64,
    a: &Ask,
) -> Result<std::result::Result<i64, FormErrors>> {
    let _ = super::lot(state, lot_id).await?;
    let mut e = FormErrors::default();
    let date =
        |e: &mut FormErrors, k: &str, v: &str, what: &str| match caremarket_core::cqc::parse_date(
            v, false,
        ) {
            Ok(d) => Some(d),
            Err(_) => {
                e.add(k, format!("Enter {what}, like 01/04/2019"));
                None
            }
        };
    let from = date(
        &mut e,
        "period_from",
        &a.period_from,
        "the first day of the year looked at",
    );
    let to = date(
        &mut e,
        "period_to",
        &a.period_to,
        "the last day of the year looked at",
    );
    let eff = date(
        &mut e,
        "effective_from",
        &a.effective_from,
        "the date the new order takes effect",
    );
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        e.add("period_to", "The end of the period must be after its start");
    }
    let weights = weights_from(&a.weights, &mut e);
    let (Some(from), Some(to), Some(eff), true) = (from, to, eff, e.is_empty()) else {
        return Ok(Err(e));
    };
    let framework: Vec<super::LotProvider> = super::providers(state, lot_id)
        .await?
        .into_iter()
        .filter(|p| p.withdrawn_on.is_none() && p.role == "framework")
        .collect();
    if framework.is_empty() {
        e.add("period_from", "The lot has no framework providers to rank");
        return Ok(Err(e));
    }
    let mut inputs = Vec::new();
    for p in &framework {
        inputs.push(inputs_for(state, &p.provider_id, p.rank as usize, from, to).await?);
    }
    let ranked = rerank(&inputs, weights);
    let lines: Vec<Line> = ranked
        .into_iter()
        .map(|r| Line {
            input: inputs
                .iter()
                .find(|i| i.provider == r.provider)
                .cloned()
                .expect("every ranked provider came from an input"),
            ranked: r,
        })
        .collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO rankings (lot_id, status, period_from, period_to, effective_from, weights, result, computed_by, computed_at) VALUES ($1, 'proposed', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![
                lot_id,
                from,
                to,
                eff,
                serde_json::to_string(&weights).map_err(|e| AppError::Internal(e.into()))?,
                serde_json::to_string(&lines).map_err(|e| AppError::Internal(e.into()))?,
                &actor.name,
                now
            ],
        )
        .await?;
    audit::entry("ranking.propose", "lot", lot_id)
        .after(serde_json::json!({"ranking": id, "period_from": from, "period_to": to, "effective_from": eff, "order": lines.iter().map(|l| l.ranked.provider.clone()).collect::<Vec<_>>()}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A commissioner decides: approve (it takes effect on its date) or reject.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: i64,
    approve: bool,
) -> Result<std::result::Result<(), String>> {
    let p = get(state, id).await?;
    if p.status != "proposed" {
        return Ok(Err(format!("This ranking was {} already", p.status)));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE rankings SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'proposed'",
            args![if approve { "approved" } else { "rejected" }, &actor.name, now, id],
        )
        .await?;
    if n == 0 {
        return Ok(Err("Someone decided on this ranking first".into()));
    }
    if approve {
        // Any other approved ranking of the lot still waiting for its date gives way.
        tx.execute(
            "UPDATE rankings SET status = 'rejected' WHERE lot_id = $1 AND status = 'approved' AND id <> $2",
            args![p.lot_id, id],
        )
        .await?;
    }
    audit::entry(
        if approve {
            "ranking.approve"
        } else {
            "ranking.reject"
        },
        "lot",
        p.lot_id,
    )
    .after(serde_json::json!({"ranking": id, "effective_from": p.effective_from}))
    .write(&mut tx, actor, now)
    .await?;
    tx.commit().await?;
    apply_due(state).await?;
    Ok(Ok(()))
}

/// Puts approved rankings whose date has come into the lots' framework order (once: the
/// status changes in the same transaction). Framework providers that joined after the
/// ranking was worked out keep their places after the ranked ones.
pub async fn apply_due(state: &AppState) -> Result<usize> {
    let today = state.clock.now().date_naive();
    let due: Vec<Proposal> = state
        .db
        .q()
        .fetch_all(
            &format!("{SELECT} WHERE status = 'approved' AND effective_from <= $1 ORDER BY id"),
            args![today],
        )
        .await?;
    let actor = Actor {
        user_id: None,
        name: "system:ranking".into(),
        request_id: "ranking".into(),
        client_address: "local".into(),
    };
    let mut applied = 0;
    for p in due {
        // A damaged ranking is logged and left; the others still take effect.
        let lines = match p.lines() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(ranking = p.id, error = %e, "could not apply this ranking");
                continue;
            }
        };
        let current: Vec<super::LotProvider> = super::providers(state, p.lot_id)
            .await?
            .into_iter()
            .filter(|x| x.withdrawn_on.is_none() && x.role == "framework")
            .collect();
        let mut order: Vec<i64> = lines
            .iter()
            .filter_map(|l| current.iter().find(|c| c.provider_id == l.ranked.provider))
            .map(|c| c.id)
            .collect();
        let mut rest: Vec<&super::LotProvider> =
            current.iter().filter(|c| !order.contains(&c.id)).collect();
        rest.sort_by_key(|c| c.rank);
        order.extend(rest.iter().map(|c| c.id));
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE rankings SET status = 'applied', applied_at = $1 WHERE id = $2 AND status = 'approved'",
                args![now, p.id],
            )
            .await?;
        if n == 0 {
            continue;
        }
        for (i, row) in order.iter().enumerate() {
            tx.execute(
                "UPDATE lot_providers SET rank = $1 WHERE id = $2",
                args![i as i64 + 1, *row],
            )
            .await?;
        }
        audit::entry("ranking.apply", "lot", p.lot_id)
            .after(serde_json::json!({"ranking": p.id, "rows": order}))
            .write(&mut tx, &actor, now)
            .await?;
        tx.commit().await?;
        applied += 1;
    }
    Ok(applied)
}

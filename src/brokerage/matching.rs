//! Batch matching for the awaiting care list: providers declare spare hours a week on each
//! lot they serve; a broker asks for a suggestion for everyone waiting, reviews it, and sends
//! the offers. The suggestion is `caremarket_core::matching::suggest` (most hours placed,
//! then better-ranked providers, then longest waits). Sending an offer puts the request back
//! out to the one suggested provider; if it declines or lets the offer lapse, the request is
//! back on the list for the next batch.

use chrono::{DateTime, Utc};

use caremarket_core::matching::{Offerable, Plan, Request, suggest};

use crate::audit::{self, Actor};
use crate::{AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Spare {
    pub provider_id: String,
    pub lot_id: i64,
    /// Hundredths of an hour a week
    pub spare_hours: i64,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn spare_of(state: &AppState, provider: Option<&str>) -> Result<Vec<Spare>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT provider_id, lot_id, spare_hours, updated_by, updated_at FROM provider_capacity WHERE ($1 = '' OR provider_id = $1) ORDER BY lot_id, provider_id",
            args![provider.unwrap_or("")],
        )
        .await?)
}

/// The lots a provider is on now.
pub async fn lots_of(state: &AppState, provider: &str) -> Result<Vec<super::Lot>> {
    let mut out = Vec::new();
    for l in super::lots(state).await? {
        if super::offer_order(state, l.id)
            .await?
            .iter()
            .any(|p| p == provider)
        {
            out.push(l);
        }
    }
    Ok(out)
}

/// A provider declares its spare hours on one of its lots.
pub async fn declare(
    state: &AppState,
    actor: &Actor,
    provider: &str,
    lot_id: i64,
    hours: &str,
) -> Result<std::result::Result<(), String>> {
    if !lots_of(state, provider)
        .await?
        .iter()
        .any(|l| l.id == lot_id)
    {
        return Ok(Err("You are not on that lot".into()));
    }
    let Ok(h) = caremarket_core::money::parse_hundredths(hours, false) else {
        return Ok(Err(
            "Enter your spare hours a week, a number like 25 or 0".into()
        ));
    };
    if h > 100_000 {
        return Ok(Err("Enter your spare hours a week: at most 1000".into()));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO provider_capacity (provider_id, lot_id, spare_hours, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (provider_id, lot_id) DO UPDATE SET spare_hours = excluded.spare_hours, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        args![provider, lot_id, h, &actor.name, now],
    )
    .await?;
    audit::entry("provider_capacity.declare", "lot", lot_id)
        .after(serde_json::json!({"provider_id": provider, "spare_hours": h}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The suggestion for everyone on the awaiting care list now.
pub async fn plan(state: &AppState) -> Result<(Plan, Vec<super::requests::CareRequest>)> {
    let waiting = super::requests::list(state, Some("waiting")).await?;
    let today = state.clock.now().date_naive();
    let stays = super::awaiting::stays(state, &Default::default()).await?;
    let requests: Vec<Request> = waiting
        .iter()
        .map(|r| {
            let joined = stays
                .iter()
                .filter(|s| s.request_id == Some(r.id) && s.left_on.is_none())
                .map(|s| s.joined_on)
                .next()
                .unwrap_or(today);
            Request {
                id: r.id,
                lot: r.lot_id,
                hours: r.hours,
                waiting_days: (today - joined).num_days().max(0),
            }
        })
        .collect();
    let spare = spare_of(state, None).await?;
    let mut offerable = Vec::new();
    for l in super::lots(state).await? {
        for (i, p) in super::offer_order(state, l.id).await?.iter().enumerate() {
            if let Some(s) = spare
                .iter()
                .find(|s| &s.provider_id == p && s.lot_id == l.id)
            {
                offerable.push(Offerable {
                    provider: p.clone(),
                    lot: l.id,
                    rank: i as u32 + 1,
                    spare_hours: s.spare_hours,
                });
            }
        }
    }
    Ok((suggest(&requests, &offerable), waiting))
}

/// Sends the suggested offers: each request goes to its one suggested provider, if that
/// provider is on the request's lot. Returns how many went and how many did not (a request
/// placed or changed since the suggestion, a provider not on the lot, an error: logged).
pub async fn send(
    state: &AppState,
    actor: &Actor,
    chosen: &[(i64, String)],
) -> Result<(usize, usize)> {
    let (mut sent, mut not) = (0, 0);
    for (id, provider) in chosen {
        let on_lot = match super::requests::get(state, *id).await {
            Ok(r) => super::offer_order(state, r.lot_id)
                .await?
                .iter()
                .any(|p| p == provider),
            Err(_) => false,
        };
        if !on_lot {
            not += 1;
            continue;
        }
        let p = provider.clone();
        let r = super::requests::step(
            state,
            actor,
            *id,
            "care_request.match",
            serde_json::json!({"provider_id": provider, "reason": "batch matching"}),
            move |c, t| c.reopen(std::slice::from_ref(&p), t),
        )
        .await;
        match r {
            Ok(Ok(_)) => sent += 1,
            Ok(Err(_)) => not += 1,
            Err(e) => {
                tracing::warn!(request = id, error = %e, "matching offer not sent");
                not += 1;
            }
        }
    }
    Ok((sent, not))
}

//! `caremarket brokerage ...`: the annual re-ranking from the command line (worked out and
//! kept as a proposal; a commissioner approves it in the service, where every component is
//! shown) and the awaiting care list's own records loaded from a file.

use crate::app::AppState;
use crate::audit::Actor;
use crate::config::{Config, DbArgs};

#[derive(clap::Args)]
pub struct RerankArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The lot's name
    #[arg(long)]
    pub lot: String,
    /// First day of the year looked at (dd/mm/yyyy or yyyy-mm-dd)
    #[arg(long)]
    pub from: String,
    /// Last day of the year looked at
    #[arg(long)]
    pub to: String,
    /// The date the new order takes effect once approved
    #[arg(long)]
    pub effective_from: String,
}

async fn state(db: &DbArgs) -> anyhow::Result<AppState> {
    let db = super::open(db).await?;
    AppState::with_system_clock(db, Config::for_cli()).await
}

pub async fn rerank(a: &RerankArgs) -> anyhow::Result<()> {
    let state = state(&a.db).await?;
    let lots = crate::brokerage::lots(&state).await?;
    let Some(lot) = lots
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(a.lot.trim()))
    else {
        anyhow::bail!(
            "no lot called {:?}; the lots are: {}",
            a.lot,
            lots.iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let last = crate::brokerage::ranking::history(&state, lot.id).await?;
    let ask = crate::brokerage::ranking::Ask {
        period_from: a.from.clone(),
        period_to: a.to.clone(),
        effective_from: a.effective_from.clone(),
        weights: crate::brokerage::ranking::weight_values(
            &last.first().map(|p| p.weights()).unwrap_or_default(),
        ),
    };
    let id = match crate::brokerage::ranking::propose(
        &state,
        &Actor::cli("brokerage-rerank"),
        lot.id,
        &ask,
    )
    .await?
    {
        Ok(id) => id,
        Err(e) => anyhow::bail!(
            "{}",
            e.items
                .iter()
                .map(|i| format!("--{}: {}", i.field.replace('_', "-"), i.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let p = crate::brokerage::ranking::get(&state, id).await?;
    println!(
        "{:>4}  {:<14} {:>5} {:>5} {:>6} {:>6} {:>5} {:>6}  change",
        "rank", "provider", "QAF", "CQC", "accept", "answer", "off", "score"
    );
    for l in p.lines()? {
        let r = &l.ranked;
        println!(
            "{:>4}  {:<14} {:>5} {:>5} {:>6} {:>6} {:>5} {:>6}  {}",
            r.rank,
            r.provider,
            r.qaf_points,
            r.cqc_points,
            r.acceptance_points,
            r.response_points,
            -r.penalty_points,
            r.score,
            match r.previous_rank {
                Some(was) if was == r.rank => "no change".to_string(),
                Some(was) => format!("was {was}"),
                None => "new".into(),
            }
        );
    }
    println!(
        "Ranking {id} of {} kept as a proposal; a commissioner approves it at /brokerage/rankings/{id}",
        lot.name
    );
    Ok(())
}

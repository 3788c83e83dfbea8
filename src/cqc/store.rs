//! The CQC area's SQL: writing a batch in one transaction, and reading locations, ratings and
//! import history.

use chrono::{DateTime, NaiveDate, Utc};

use super::records::*;
use crate::db::{Arg, Db, Tx};
use crate::{Result, args};

/// Rows per multi-row INSERT: one row per statement is several times slower, and both
/// engines cap the number of parameters in one statement.
fn rows_per_statement(cols: usize) -> usize {
    (4000 / cols.max(1)).clamp(1, 500)
}

/// `INSERT INTO table (cols) VALUES (..) suffix` for every row, in chunks. The rows come
/// as an iterator and are built a chunk at a time, so a big file is never held twice.
async fn bulk<'a>(
    tx: &mut Tx,
    table: &str,
    cols: &[&str],
    rows: Box<dyn Iterator<Item = Vec<Arg>> + Send + 'a>,
    suffix: &str,
) -> Result<()> {
    let t0 = std::time::Instant::now();
    let sqlite = tx.engine() == crate::db::Engine::Sqlite;
    // SQLite steps one prepared statement per row (see db::sqlite_bulk); PostgreSQL takes
    // multi-row VALUES lists up to its parameter limit.
    let per = if sqlite {
        5000
    } else {
        rows_per_statement(cols.len())
    };
    let single = format!(
        "INSERT INTO {table} ({}) VALUES ({}) {suffix}",
        cols.join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    let head = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut rows = rows.peekable();
    let mut n_rows = 0;
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows.by_ref().take(per).collect();
        n_rows += chunk.len();
        if sqlite {
            tx.sqlite_each_row(&single, &chunk).await?;
            continue;
        }
        let mut sql =
            String::with_capacity(head.len() + chunk.len() * cols.len() * 6 + suffix.len());
        sql.push_str(&head);
        let mut n = 0;
        for r in 0..chunk.len() {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..cols.len() {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        tx.execute(&sql, chunk.into_iter().flatten().collect())
            .await?;
    }
    tracing::debug!(
        table,
        rows = n_rows,
        ms = t0.elapsed().as_millis() as u64,
        "bulk write"
    );
    Ok(())
}

/// The attributes a file may know about a location; the newest edition wins, but an unknown
/// value never replaces a known one.
const LOCATION_ATTRS: &[&str] = &[
    "provider_id",
    "name",
    "care_home",
    "location_type",
    "primary_inspection_category",
    "inspection_directorate",
    "street_address",
    "address_line_2",
    "city",
    "county",
    "postcode",
    "postcode_district",
    "local_authority",
    "region",
    "onspd_ccg_code",
    "onspd_ccg",
    "latitude",
    "longitude",
    "beds",
    "registration_date",
    "deregistration_date",
    "registration_status",
    "care_home_basis",
    "dormant",
    "registered_manager",
    "registered_manager_absent_since",
    "url",
];

fn newer_wins(table: &str, col: &str) -> String {
    // A record without a name is stored under its ID as a placeholder (the column cannot be
    // empty); a placeholder never replaces a real name.
    if col == "name" {
        return format!(
            "name = CASE WHEN excluded.name = excluded.location_id THEN {table}.name WHEN excluded.updated_edition >= {table}.updated_edition THEN excluded.name ELSE {table}.name END"
        );
    }
    format!(
        "{col} = CASE WHEN excluded.updated_edition >= {table}.updated_edition THEN COALESCE(excluded.{col}, {table}.{col}) ELSE COALESCE({table}.{col}, excluded.{col}) END"
    )
}

fn edition_range(table: &str) -> String {
    format!(
        "first_edition = CASE WHEN excluded.first_edition < {table}.first_edition THEN excluded.first_edition ELSE {table}.first_edition END, \
         last_edition = CASE WHEN excluded.last_edition > {table}.last_edition THEN excluded.last_edition ELSE {table}.last_edition END"
    )
}

pub struct Applied {
    pub new_locations: i64,
    pub new_ratings: i64,
}

/// Keeps the last of each key: one upsert statement must not touch a row twice (PostgreSQL
/// refuses it), and a file's later row is the one that counts. Borrows when there is no
/// repeat (the usual case), so a big file is not copied.
fn last_by_key<'a, T: Clone, K: std::hash::Hash + Eq>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> std::borrow::Cow<'a, [T]> {
    let mut index: std::collections::HashMap<K, usize> =
        std::collections::HashMap::with_capacity(items.len());
    let mut repeats = false;
    for (i, it) in items.iter().enumerate() {
        if index.insert(key(it), i).is_some() {
            repeats = true;
        }
    }
    if !repeats {
        return std::borrow::Cow::Borrowed(items);
    }
    // Keep each key once, at its first position, holding its last value.
    let mut out: Vec<T> = Vec::with_capacity(index.len());
    let mut placed: std::collections::HashMap<K, usize> =
        std::collections::HashMap::with_capacity(index.len());
    for it in items {
        let k = key(it);
        let last = index[&k];
        if !placed.contains_key(&k) {
            placed.insert(key(it), out.len());
            out.push(items[last].clone());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes everything a file gave, inside the caller's transaction.
pub async fn apply(tx: &mut Tx, batch: &Batch, kind: Kind, edition: NaiveDate) -> Result<Applied> {
    let providers = last_by_key(&batch.providers, |p| p.provider_id.as_str());
    let locations = last_by_key(&batch.locations, |l| l.location_id.as_str());
    let ratings = last_by_key(&batch.ratings, |r| {
        (
            r.location_id.as_str(),
            r.service_group.as_str(),
            r.domain,
            r.publication_date,
        )
    });
    let relationships = last_by_key(&batch.relationships, |r| {
        (
            r.location_id.as_str(),
            r.related_location_id.as_str(),
            r.relation_type.as_str(),
        )
    });
    let loc_before: i64 = tx
        .scalar("SELECT COUNT(*) FROM cqc_locations", args![])
        .await?;
    let rat_before: i64 = tx
        .scalar("SELECT COUNT(*) FROM cqc_ratings", args![])
        .await?;

    bulk(
        tx,
        "cqc_providers",
        &["provider_id", "name", "brand_id", "brand_name", "updated_edition"],
        Box::new(providers
        .iter()
        .map(|p| {
            args![
                &p.provider_id,
                p.name.clone(),
                p.brand_id.clone(),
                p.brand_name.clone(),
                edition
            ]
        })
        ),
        "ON CONFLICT (provider_id) DO UPDATE SET \
         name = CASE WHEN excluded.updated_edition >= cqc_providers.updated_edition THEN COALESCE(excluded.name, cqc_providers.name) ELSE COALESCE(cqc_providers.name, excluded.name) END, \
         brand_id = COALESCE(excluded.brand_id, cqc_providers.brand_id), \
         brand_name = COALESCE(excluded.brand_name, cqc_providers.brand_name), \
         updated_edition = CASE WHEN excluded.updated_edition > cqc_providers.updated_edition THEN excluded.updated_edition ELSE cqc_providers.updated_edition END",
    )
    .await?;

    let mut cols: Vec<&str> = vec!["location_id"];
    cols.extend(LOCATION_ATTRS);
    cols.extend(["first_edition", "last_edition", "updated_edition"]);
    let mut set: Vec<String> = LOCATION_ATTRS
        .iter()
        .map(|c| newer_wins("cqc_locations", c))
        .collect();
    set.push(edition_range("cqc_locations"));
    set.push(
        "updated_edition = CASE WHEN excluded.updated_edition > cqc_locations.updated_edition THEN excluded.updated_edition ELSE cqc_locations.updated_edition END"
            .into(),
    );
    bulk(
        tx,
        "cqc_locations",
        &cols,
        Box::new(locations.iter().map(|l| {
            let district = l
                .postcode
                .as_deref()
                .and_then(caremarket_core::cqc::postcode_district)
                .map(str::to_string);
            vec![
                Arg::from(&l.location_id),
                l.provider_id.clone().into(),
                Some(l.name.clone().unwrap_or_else(|| l.location_id.clone())).into(),
                l.care_home.into(),
                l.location_type.clone().into(),
                l.primary_inspection_category.clone().into(),
                l.inspection_directorate.clone().into(),
                l.street_address.clone().into(),
                l.address_line_2.clone().into(),
                l.city.clone().into(),
                l.county.clone().into(),
                l.postcode.clone().into(),
                district.into(),
                l.local_authority.clone().into(),
                l.region.clone().into(),
                l.onspd_ccg_code.clone().into(),
                l.onspd_ccg.clone().into(),
                l.latitude.into(),
                l.longitude.into(),
                l.beds.into(),
                l.registration_date.into(),
                l.deregistration_date.into(),
                l.registration_status.clone().into(),
                l.care_home_basis.map(|b| b.as_str().to_string()).into(),
                l.dormant.into(),
                l.registered_manager.into(),
                l.registered_manager_absent_since.into(),
                l.url.clone().into(),
                edition.into(),
                edition.into(),
                edition.into(),
            ]
        })),
        &format!("ON CONFLICT (location_id) DO UPDATE SET {}", set.join(", ")),
    )
    .await?;

    // Service types and specialisms: a file that lists them replaces the old list, unless a
    // newer edition has already given the location's list (an old file loaded late). A newer
    // file that gives no lists (the ratings file) does not count: services_edition is the
    // edition of the list itself.
    let mut newer_elsewhere: std::collections::HashSet<String> = std::collections::HashSet::new();
    let listing: Vec<&LocationRecord> = locations.iter().filter(|l| l.services.is_some()).collect();
    for chunk in listing.chunks(500) {
        let mut a: Vec<Arg> = vec![edition.into()];
        a.extend(chunk.iter().map(|l| Arg::from(&l.location_id)));
        let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
        let rows: Vec<(String,)> = tx
            .fetch_all(
                &format!("SELECT location_id FROM cqc_locations WHERE services_edition > $1 AND location_id IN ({})", marks.join(",")),
                a,
            )
            .await?;
        newer_elsewhere.extend(rows.into_iter().map(|r| r.0));
    }
    let with_services: Vec<&LocationRecord> = listing
        .into_iter()
        .filter(|l| !newer_elsewhere.contains(&l.location_id))
        .collect();
    for chunk in with_services.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        tx.execute(
            &format!(
                "DELETE FROM cqc_location_services WHERE location_id IN ({})",
                placeholders.join(",")
            ),
            chunk.iter().map(|l| Arg::from(&l.location_id)).collect(),
        )
        .await?;
        let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
        let mut a: Vec<Arg> = vec![edition.into()];
        a.extend(chunk.iter().map(|l| Arg::from(&l.location_id)));
        tx.execute(
            &format!(
                "UPDATE cqc_locations SET services_edition = $1 WHERE location_id IN ({})",
                marks.join(",")
            ),
            a,
        )
        .await?;
    }
    bulk(
        tx,
        "cqc_location_services",
        &["location_id", "kind", "value"],
        Box::new(with_services.iter().flat_map(|l| {
            l.services
                .iter()
                .flatten()
                .map(|(k, v)| args![&l.location_id, *k, v.as_str()])
                .collect::<Vec<_>>()
        })),
        "ON CONFLICT DO NOTHING",
    )
    .await?;

    bulk(
        tx,
        "cqc_ratings",
        &["location_id", "service_group", "domain", "rating", "publication_date", "report_type", "inherited", "source", "first_edition", "last_edition", "framework", "percentage_score", "status"],
        Box::new(ratings
        .iter()
        .map(|r| {
            args![
                &r.location_id,
                &r.service_group,
                r.domain.as_str(),
                r.rating.as_str(),
                r.publication_date,
                r.report_type.clone(),
                r.inherited,
                kind.as_str(),
                edition,
                edition,
                r.framework.stored(),
                r.percentage_score,
                r.status.clone(),
            ]
        })
        ),
        &format!(
            "ON CONFLICT (location_id, service_group, domain, publication_date) DO UPDATE SET \
             rating = CASE WHEN excluded.last_edition >= cqc_ratings.last_edition THEN excluded.rating ELSE cqc_ratings.rating END, \
             report_type = COALESCE(excluded.report_type, cqc_ratings.report_type), \
             inherited = COALESCE(excluded.inherited, cqc_ratings.inherited), \
             framework = COALESCE(excluded.framework, cqc_ratings.framework), \
             percentage_score = COALESCE(excluded.percentage_score, cqc_ratings.percentage_score), \
             status = CASE WHEN excluded.last_edition >= cqc_ratings.last_edition THEN COALESCE(excluded.status, cqc_ratings.status) ELSE cqc_ratings.status END, {}",
            edition_range("cqc_ratings")
        ),
    )
    .await?;

    bulk(
        tx,
        "cqc_location_editions",
        &["location_id", "kind", "edition"],
        Box::new(
            locations
                .iter()
                .map(|l| args![&l.location_id, kind.as_str(), edition]),
        ),
        "ON CONFLICT DO NOTHING",
    )
    .await?;

    bulk(
        tx,
        "cqc_relationships",
        &["location_id", "related_location_id", "relation_type", "reason"],
        Box::new(relationships
        .iter()
        .map(|r| {
            args![
                &r.location_id,
                &r.related_location_id,
                &r.relation_type,
                r.reason.clone()
            ]
        })
        ),
        "ON CONFLICT (location_id, related_location_id, relation_type) DO UPDATE SET reason = COALESCE(excluded.reason, cqc_relationships.reason)",
    )
    .await?;

    let touched: Vec<String> = locations.iter().map(|l| l.location_id.clone()).collect();
    refresh_current_ratings(tx, (touched.len() <= 2000).then_some(&touched[..])).await?;
    let loc_after: i64 = tx
        .scalar("SELECT COUNT(*) FROM cqc_locations", args![])
        .await?;
    let rat_after: i64 = tx
        .scalar("SELECT COUNT(*) FROM cqc_ratings", args![])
        .await?;
    Ok(Applied {
        new_locations: loc_after - loc_before,
        new_ratings: rat_after - rat_before,
    })
}

/// Keeps each location's own rating (by the rule in `caremarket_core::own_rating`: which
/// group, which framework and which part of the rule decided) and its key questions on its
/// row: for search and lists, and so that the market picture of today reads one row per
/// location. Only the locations the batch touched can have changed; `None` refreshes all.
pub async fn refresh_current_ratings(tx: &mut Tx, locations: Option<&[String]>) -> Result<()> {
    let t0 = std::time::Instant::now();
    let mut rows: Vec<super::own::RatingRow> = Vec::new();
    let mut care_home: Vec<(String, Option<bool>)> = Vec::new();
    let mut types: Vec<(String, String)> = Vec::new();
    let cols = super::own::RATING_COLUMNS;
    match locations {
        // Many locations: one pass over everything beats thousands of IN lists.
        None => {
            rows = tx
                .fetch_all(&format!("SELECT {cols} FROM cqc_ratings"), args![])
                .await?;
            care_home = tx.fetch_all(super::own::CARE_HOME_SQL, args![]).await?;
            types = tx.fetch_all(super::own::SERVICE_TYPES_SQL, args![]).await?;
        }
        Some(ids) => {
            for chunk in ids.chunks(500) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let list = marks.join(",");
                let a = || chunk.iter().map(Arg::from).collect::<Vec<_>>();
                rows.extend(
                    tx.fetch_all::<super::own::RatingRow>(
                        &format!("SELECT {cols} FROM cqc_ratings WHERE location_id IN ({list})"),
                        a(),
                    )
                    .await?,
                );
                care_home.extend(
                    tx.fetch_all::<(String, Option<bool>)>(
                        &format!(
                            "{} WHERE location_id IN ({list})",
                            super::own::CARE_HOME_SQL
                        ),
                        a(),
                    )
                    .await?,
                );
                types.extend(
                    tx.fetch_all::<(String, String)>(
                        &format!(
                            "{} AND location_id IN ({list})",
                            super::own::SERVICE_TYPES_SQL
                        ),
                        a(),
                    )
                    .await?,
                );
            }
        }
    }
    let ids: Vec<String> = care_home.iter().map(|c| c.0.clone()).collect();
    let kinds = super::own::kinds(care_home, &types);
    let own = super::own::apply(&rows, &kinds, None);
    let text =
        |r: Option<caremarket_core::cqc::Rating>| Arg::from(r.map(|r| r.as_str().to_string()));
    let updates: Vec<Vec<Arg>> = ids
        .iter()
        .map(|id| {
            let o = own.get(id);
            let rating = o.and_then(|o| o.overall.rating);
            let kq = |i: usize| text(o.and_then(|o| o.key_questions[i]).map(|k| k.0));
            vec![
                // Not rated: the value it was given, to show ("Not rated"), without a date.
                text(rating.map(|r| r.0).or(o.and_then(|o| o.overall.shown))),
                rating.map(|r| r.1).into(),
                kq(0),
                kq(1),
                kq(2),
                kq(3),
                kq(4),
                o.and_then(|o| o.overall.group.clone()).into(),
                // Kept only where the file said which framework.
                o.and_then(|o| o.overall.framework)
                    .and_then(|f| f.stored())
                    .into(),
                Some(
                    o.map_or(caremarket_core::own_rating::Decided::NotRated, |o| {
                        o.overall.decided
                    })
                    .as_str()
                    .to_string(),
                )
                .into(),
                Arg::from(id),
            ]
        })
        .collect();
    let set = "overall_rating = ?, overall_date = ?, safe_rating = ?, effective_rating = ?, caring_rating = ?, responsive_rating = ?, well_led_rating = ?, own_rating_group = ?, own_rating_framework = ?, own_rating_basis = ?";
    if tx.engine() == crate::db::Engine::Sqlite {
        tx.sqlite_each_row(
            &format!("UPDATE cqc_locations SET {set} WHERE location_id = ?"),
            &updates,
        )
        .await?;
    } else {
        // One statement per 400 locations: UPDATE ... FROM a VALUES list (11 values a row).
        for chunk in updates.chunks(400) {
            let mut sql = String::from(
                "UPDATE cqc_locations l SET overall_rating = v.o, overall_date = v.od, safe_rating = v.s, effective_rating = v.e, caring_rating = v.c, responsive_rating = v.r, well_led_rating = v.w, own_rating_group = v.g, own_rating_framework = v.f, own_rating_basis = v.b FROM (VALUES ",
            );
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let marks: Vec<String> = (0..11)
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect();
                sql.push('(');
                sql.push_str(&marks.join(","));
                sql.push(')');
            }
            sql.push_str(") AS v(o, od, s, e, c, r, w, g, f, b, id) WHERE l.location_id = v.id");
            tx.execute(&sql, chunk.iter().flatten().cloned().collect())
                .await?;
        }
    }
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        locations = ids.len(),
        "current ratings refreshed"
    );
    Ok(())
}

/// After an upgrade: locations whose own rating was kept by the earlier rule get it again
/// by this one (once; nothing to do afterwards).
pub async fn refresh_if_needed(db: &Db) -> Result<()> {
    let stale: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM cqc_locations WHERE own_rating_basis IS NULL",
            args![],
        )
        .await?;
    if stale > 0 {
        let mut tx = db.begin().await?;
        refresh_current_ratings(&mut tx, None).await?;
        tx.commit().await?;
        tracing::info!(
            locations = stale,
            "own ratings worked out again by the current rule"
        );
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ImportRow {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub sha256: String,
    pub edition: NaiveDate,
    pub rows_read: i64,
    pub rows_in: i64,
    pub rows_changed: i64,
    pub rows_rejected: i64,
    /// JSON list of warnings
    pub warnings: String,
    /// JSON list of columns the import did not use
    pub unknown_columns: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub actor: String,
}

/// The import of the same content before, of the kind given (any kind when not given).
pub async fn import_by_hash(db: &Db, kind: Option<Kind>, sha: &str) -> Result<Option<ImportRow>> {
    Ok(match kind {
        Some(kind) => {
            db.q()
                .fetch_optional(
                    "SELECT * FROM cqc_imports WHERE kind = $1 AND sha256 = $2",
                    args![kind.as_str(), sha],
                )
                .await?
        }
        None => {
            db.q()
                .fetch_optional(
                    "SELECT * FROM cqc_imports WHERE sha256 = $1 ORDER BY id LIMIT 1",
                    args![sha],
                )
                .await?
        }
    })
}

pub async fn imports(db: &Db) -> Result<Vec<ImportRow>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT * FROM cqc_imports ORDER BY id DESC LIMIT 500",
            args![],
        )
        .await?)
}

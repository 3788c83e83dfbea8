//! Turning each of CQC's three forms into a [`Batch`]: the "Latest ratings" file (long
//! format), the care directory ("HSCA Active Locations") and API location records (JSON
//! lines). Every problem is reported with row, column, value and reason; nothing is stored.

use caremarket_core::cqc::{
    CareHomeBasis, DateOrder, Domain, OrderBasis, Rating, care_home_from, decide_date_order,
    normalise_header, normalise_postcode, normalise_region, parse_date, parse_date_in, parse_flag,
};
use caremarket_core::own_rating::{Framework, stands};
use caremarket_core::words::count;
use chrono::NaiveDate;
use std::collections::HashMap;

use super::records::*;
use crate::import::{self, ColumnSpec, Columns, FileError, Grid, MAX_CELL_CHARS, RowProblem};

/// How to read a file where it cannot say for itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// The order of slashed dates (`--date-order`); by default decided per column.
    pub date_order: Option<DateOrder>,
}

/// The columns that hold dates, whose order is decided from all their values.
const DATE_KEYS: &[&str] = &["publication_date", "registration_date"];

/// The outcome of reading a file: what is valid, what is not, and the rejected rows as they
/// were (for the `--rejects` file).
pub struct Parsed {
    pub batch: Batch,
    pub problems: Vec<RowProblem>,
    pub header: Vec<String>,
    pub rejected_rows: Vec<(usize, Vec<String>, String)>,
}

macro_rules! spec {
    ($key:literal, [$($n:literal),+], $req:expr) => {
        crate::import::col($key, &[$($n),+], $req)
    };
}

pub const RATINGS_COLUMNS: &[ColumnSpec] = &[
    spec!("location_id", ["locationid"], true),
    spec!("domain", ["domain", "keyquestion"], true),
    spec!(
        "latest_rating",
        ["latestrating", "rating", "overallrating"],
        true
    ),
    spec!(
        "publication_date",
        ["publicationdate", "reportpublicationdate"],
        true
    ),
    spec!(
        "service_population_group",
        ["servicepopulationgroup", "servicegroup", "populationgroup"],
        false
    ),
    spec!("location_name", ["locationname"], false),
    spec!("care_home", ["carehome"], false),
    spec!(
        "location_type",
        ["locationtype", "locationtypesector"],
        false
    ),
    spec!(
        "primary_inspection_category",
        ["locationprimaryinspectioncategory"],
        false
    ),
    spec!("street_address", ["locationstreetaddress"], false),
    spec!("address_line_2", ["locationaddressline2"], false),
    spec!("city", ["locationcity"], false),
    spec!(
        "postcode",
        ["locationpostcode", "locationpostalcode"],
        false
    ),
    spec!("local_authority", ["locationlocalauthority"], false),
    spec!("region", ["locationregion"], false),
    spec!("onspd_ccg_code", ["locationonspdccgcode"], false),
    spec!("onspd_ccg", ["locationonspdccg"], false),
    spec!("report_type", ["reporttype"], false),
    spec!("inherited", ["inheritedratingyn", "inheritedrating"], false),
    spec!("url", ["url"], false),
    spec!("provider_id", ["providerid"], false),
    spec!("provider_name", ["providername"], false),
    spec!("brand_id", ["brandid"], false),
    spec!("brand_name", ["brandname"], false),
    spec!(
        "longitude",
        ["long", "longitude", "locationlongitude"],
        false
    ),
    spec!("latitude", ["lat", "latitude", "locationlatitude"], false),
];

pub const DIRECTORY_COLUMNS: &[ColumnSpec] = &[
    spec!("location_id", ["locationid"], true),
    spec!("location_name", ["locationname", "name"], true),
    spec!(
        "registration_date",
        ["locationhscastartdate", "hscastartdate", "registrationdate"],
        false
    ),
    spec!("dormant", ["dormantyn", "dormant"], false),
    spec!("care_home", ["carehome"], false),
    spec!("registered_manager", ["registeredmanager"], false),
    spec!(
        "beds",
        ["carehomesbeds", "carehomebeds", "beds", "numberofbeds"],
        false
    ),
    spec!(
        "location_type",
        ["locationtypesector", "locationtype"],
        false
    ),
    spec!(
        "inspection_directorate",
        ["locationinspectiondirectorate", "inspectiondirectorate"],
        false
    ),
    spec!(
        "primary_inspection_category",
        [
            "locationprimaryinspectioncategory",
            "primaryinspectioncategory"
        ],
        false
    ),
    spec!(
        "latest_rating",
        [
            "locationlatestoverallrating",
            "latestoverallrating",
            "latestrating"
        ],
        false
    ),
    spec!(
        "publication_date",
        [
            "publicationdate",
            "locationlatestoverallratingpublicationdate",
            "latestoverallratingpublicationdate"
        ],
        false
    ),
    spec!("inherited", ["inheritedratingyn", "inheritedrating"], false),
    // Location-level exports give the key questions as columns.
    spec!("safe_rating", ["locationsaferating", "saferating"], false),
    spec!(
        "effective_rating",
        ["locationeffectiverating", "effectiverating"],
        false
    ),
    spec!(
        "caring_rating",
        ["locationcaringrating", "caringrating"],
        false
    ),
    spec!(
        "responsive_rating",
        ["locationresponsiverating", "responsiverating"],
        false
    ),
    spec!(
        "well_led_rating",
        ["locationwellledrating", "wellledrating"],
        false
    ),
    spec!(
        "region",
        ["locationregion", "region", "locationadassregion"],
        false
    ),
    spec!(
        "local_authority",
        ["locationlocalauthority", "localauthority"],
        false
    ),
    spec!("onspd_ccg_code", ["locationonspdccgcode"], false),
    spec!("onspd_ccg", ["locationonspdccg"], false),
    spec!(
        "street_address",
        ["locationstreetaddress", "address"],
        false
    ),
    spec!("address_line_2", ["locationaddressline2"], false),
    spec!("city", ["locationcity"], false),
    spec!("county", ["locationcounty"], false),
    spec!(
        "postcode",
        ["locationpostalcode", "locationpostcode", "postcode"],
        false
    ),
    spec!("latitude", ["locationlatitude", "latitude"], false),
    spec!("longitude", ["locationlongitude", "longitude"], false),
    spec!("web", ["locationwebaddress"], false),
    spec!("provider_id", ["providerid"], false),
    spec!("provider_name", ["providername"], false),
    spec!("brand_id", ["brandid"], false),
    spec!("brand_name", ["brandname"], false),
    spec!("service_types", ["servicetypes", "servicetype"], false),
    spec!(
        "specialisms",
        ["specialismsservices", "serviceuserbands", "specialisms"],
        false
    ),
];

struct RowReader<'a> {
    cells: Vec<String>,
    cols: &'a Columns,
    orders: &'a HashMap<&'static str, DateOrder>,
    row: usize,
    problems: Vec<RowProblem>,
}

impl RowReader<'_> {
    fn raw(&self, key: &str) -> &str {
        self.cols
            .idx(key)
            .and_then(|i| self.cells.get(i))
            .map(|s| s.as_str())
            .unwrap_or("")
    }
    fn problem(&mut self, key: &str, reason: impl Into<String>) {
        let v = self.raw(key).to_string();
        self.problems
            .push(RowProblem::new(self.row, self.cols.header(key), &v, reason));
    }
    fn text(&self, key: &str) -> Option<String> {
        text(self.raw(key))
    }
    fn date(&mut self, key: &str) -> Option<NaiveDate> {
        let v = self.raw(key).trim().to_string();
        if v.is_empty() {
            return None;
        }
        let order = self.orders.get(key).copied().unwrap_or(DateOrder::DayFirst);
        match parse_date_in(&v, false, order) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(key, format!("{:?} {}", v, e.0));
                None
            }
        }
    }
    fn flag(&mut self, key: &str) -> Option<bool> {
        match parse_flag(self.raw(key)) {
            Ok(v) => v,
            Err(e) => {
                self.problem(key, e);
                None
            }
        }
    }
    fn float(&mut self, key: &str, min: f64, max: f64) -> Option<f64> {
        let v = self.raw(key).trim().to_string();
        if v.is_empty() {
            return None;
        }
        match v.parse::<f64>() {
            Ok(f) if (min..=max).contains(&f) => Some(f),
            _ => {
                self.problem(key, format!("is not a number from {min} to {max}"));
                None
            }
        }
    }
    fn location_id(&mut self) -> Option<String> {
        let v = self.raw("location_id").trim().to_string();
        if v.is_empty() {
            self.problem("location_id", "the location ID is empty");
            None
        } else if !valid_cqc_id(&v) {
            self.problem(
                "location_id",
                "is not a CQC location ID (like 1-1000587219 or R0A02)",
            );
            None
        } else {
            Some(v)
        }
    }
    fn check_lengths(&mut self) {
        let long: Vec<usize> = self
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.len() > MAX_CELL_CHARS)
            .map(|(i, _)| i)
            .collect();
        for i in long {
            let header = self
                .cols
                .headers
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column {}", i + 1));
            let n = self.cells[i].chars().count();
            self.problems.push(RowProblem::new(
                self.row,
                &header,
                &self.cells[i],
                format!("is {n} characters long; a cell may hold at most {MAX_CELL_CHARS}"),
            ));
        }
    }
}

fn location_common(r: &mut RowReader, id: &str) -> LocationRecord {
    let postcode = r
        .text("postcode")
        .map(|p| normalise_postcode(&p).unwrap_or_else(|| p.to_uppercase()));
    let care_home = r.flag("care_home");
    LocationRecord {
        care_home_basis: care_home.map(|_| CareHomeBasis::Flag),
        location_id: id.to_string(),
        provider_id: r.text("provider_id"),
        name: r.text("location_name"),
        care_home,
        location_type: r.text("location_type"),
        primary_inspection_category: r.text("primary_inspection_category"),
        inspection_directorate: r.text("inspection_directorate"),
        street_address: r.text("street_address"),
        address_line_2: r.text("address_line_2"),
        city: r.text("city"),
        county: r.text("county"),
        postcode,
        local_authority: r
            .text("local_authority")
            .map(|la| la.replace(" & ", " and ")),
        region: r.text("region").map(|x| normalise_region(&x)),
        onspd_ccg_code: r.text("onspd_ccg_code"),
        onspd_ccg: r.text("onspd_ccg"),
        latitude: r.float("latitude", 49.0, 61.0),
        longitude: r.float("longitude", -9.0, 3.0),
        ..Default::default()
    }
}

fn provider_of(r: &RowReader) -> Option<ProviderRecord> {
    let id = r.text("provider_id")?;
    valid_cqc_id(&id).then(|| ProviderRecord {
        provider_id: id,
        name: r.text("provider_name"),
        brand_id: r.text("brand_id"),
        brand_name: r.text("brand_name"),
    })
}

/// Picks the grid with the header and walks its data rows.
fn with_rows(
    name: &str,
    grids: &[Grid],
    specs: &[ColumnSpec],
    opts: &ParseOptions,
    mut each: impl FnMut(&mut RowReader, &mut Batch) -> bool,
) -> Result<Parsed, FileError> {
    let (g, cols) = import::find_header(name, grids, specs)?;
    let grid: &Grid = &grids[g];
    let mut batch = Batch {
        unknown_columns: cols.unknown.clone(),
        ..Default::default()
    };
    // The order of slashed dates is decided per column from all its values, never per row.
    let mut orders: HashMap<&'static str, DateOrder> = HashMap::new();
    for key in DATE_KEYS {
        let Some(c) = cols.idx(key) else { continue };
        let values = (cols.header_row + 1..grid.len()).map(|i| grid.cell_str(i, c));
        let header = cols.header(key);
        match decide_date_order(values, opts.date_order) {
            Ok((order, basis)) => {
                orders.insert(key, order);
                match basis {
                    OrderBasis::Value(v) if order == DateOrder::MonthFirst => batch.warnings.push(format!(
                        "{header}: dates read month first (mm/dd/yyyy), as {v:?} shows: the file was saved with US settings"
                    )),
                    OrderBasis::AllAmbiguous => batch.warnings.push(format!(
                        "{header}: every date could be read either way; read day first (dd/mm/yyyy). If the file was saved with US settings, import it again with --date-order mdy"
                    )),
                    OrderBasis::Told => batch.warnings.push(format!(
                        "{header}: dates read {} as told", order.pattern()
                    )),
                    _ => {}
                }
            }
            Err(why) => return Err(FileError(format!("{name}: column {header:?} {why}"))),
        }
    }
    let orders = &orders;
    let mut problems = Vec::new();
    let mut rejected = Vec::new();
    let mut data_rows = 0;
    for i in cols.header_row + 1..grid.len() {
        let cells = grid.row(i);
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        data_rows += 1;
        let mut r = RowReader {
            cells,
            cols: &cols,
            orders,
            row: i + 1,
            problems: Vec::new(),
        };
        r.check_lengths();
        let ok = each(&mut r, &mut batch) && r.problems.is_empty();
        if !ok {
            let reason = r
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.column, p.reason))
                .collect::<Vec<_>>()
                .join("; ");
            rejected.push((i + 1, r.cells.clone(), reason));
            problems.extend(r.problems);
        }
    }
    if data_rows == 0 {
        return Err(FileError(format!(
            "{name} has a header row but no data rows"
        )));
    }
    batch.rows_read = data_rows;
    Ok(Parsed {
        batch,
        problems,
        header: cols.headers.clone(),
        rejected_rows: rejected,
    })
}

/// CQC "Latest ratings": one row per location × service/population group × domain.
pub fn ratings(name: &str, bytes: &[u8], opts: &ParseOptions) -> Result<Parsed, FileError> {
    let grids = import::open_with(name, bytes, &import::Limits::CQC)?;
    ratings_in(name, &grids, opts)
}

/// Which CQC file this is, from its content: JSON lines are API records; a table with a
/// key question ("Domain") and a rating per row is the latest ratings file; a table with a
/// row per location (location ID and name) is the care directory or a location export.
/// The file is read once; what it is, and why, is said.
pub fn auto(
    name: &str,
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<(Kind, String, Parsed), FileError> {
    if looks_like_json(name, bytes)? {
        let p = api_records(name, bytes)?;
        return Ok((
            Kind::ApiRecords,
            "it holds JSON records, one a line".into(),
            p,
        ));
    }
    let grids = import::open_with(name, bytes, &import::Limits::CQC)?;
    if import::find_header(name, &grids, RATINGS_COLUMNS).is_ok() {
        let p = ratings_in(name, &grids, opts)?;
        return Ok((Kind::Ratings, "it has a row per location, group and key question (Location ID, Domain, Latest Rating, Publication Date)".into(), p));
    }
    match import::find_header(name, &grids, DIRECTORY_COLUMNS) {
        Ok(_) => {
            let p = directory_in(name, &grids, opts)?;
            Ok((Kind::Directory, "it has a row per location (Location ID and Location Name, without a Domain column)".into(), p))
        }
        Err(_) => Err(FileError(format!(
            "{name}: cannot tell which CQC file this is: it has neither the latest ratings columns (Location ID, Domain, Latest Rating, Publication Date) nor a location list's (Location ID, Location Name), and it is not JSON lines of API records"
        ))),
    }
}

fn looks_like_json(name: &str, bytes: &[u8]) -> Result<bool, FileError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    if import::sniff(bytes) == import::Sniffed::Gzip {
        let _ = import::text::expanded(bytes, &import::Limits::CQC)
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|e| FileError(format!("{name} is a damaged gzip file: {e}")))?;
    } else {
        head.extend_from_slice(&bytes[..bytes.len().min(4096)]);
    }
    let t = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    Ok(t.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

fn ratings_in(name: &str, grids: &[Grid], opts: &ParseOptions) -> Result<Parsed, FileError> {
    let mut locations: HashMap<String, usize> = HashMap::new();
    let mut providers: HashMap<String, ProviderRecord> = HashMap::new();
    // (location, group, domain) -> (index in ratings, row number)
    let mut seen: HashMap<(String, String, Domain), (usize, usize)> = HashMap::new();
    let mut same_date_disagreements = Vec::new();
    let mut repeats = 0usize;
    let mut undated = 0usize;
    let mut parsed = with_rows(name, grids, RATINGS_COLUMNS, opts, |r, b| {
        let id = r.location_id();
        let domain_raw = r.raw("domain").to_string();
        let domain = Domain::parse(&domain_raw);
        if domain.is_none() {
            r.problem("domain", "is not a key question: use Overall, Safe, Effective, Caring, Responsive or Well-led");
        }
        let rating_raw = r.raw("latest_rating").to_string();
        let rating = Rating::parse(&rating_raw);
        if rating.is_none() {
            r.problem(
                "latest_rating",
                "is not a CQC rating (Outstanding, Good, Requires improvement, Inadequate, Insufficient evidence to rate, Inspected but not rated)",
            );
        }
        // "Not Rated" and the like come with no date: nothing was published, so there is no
        // rating to keep (the location itself is kept). A rating proper needs its date.
        let undated_value =
            r.raw("publication_date").trim().is_empty() && rating.is_some_and(|x| !stands(x));
        let date = if undated_value {
            None
        } else if r.raw("publication_date").trim().is_empty() {
            r.problem("publication_date", "the publication date is empty");
            None
        } else {
            r.date("publication_date")
        };
        let group = r
            .text("service_population_group")
            .unwrap_or_else(|| "Overall".into());
        if undated_value && let Some(id) = &id {
            undated += 1;
            if !locations.contains_key(id) {
                let loc = location_common(r, id);
                if !r.problems.is_empty() {
                    return false;
                }
                locations.insert(id.clone(), b.locations.len());
                b.locations.push(loc);
                if let Some(p) = provider_of(r) {
                    providers.entry(p.provider_id.clone()).or_insert(p);
                }
            }
            return r.problems.is_empty();
        }
        let (Some(id), Some(domain), Some(rating), Some(date)) = (id, domain, rating, date) else {
            return false;
        };
        if !locations.contains_key(&id) {
            let loc = location_common(r, &id);
            if !r.problems.is_empty() {
                return false;
            }
            locations.insert(id.clone(), b.locations.len());
            b.locations.push(loc);
            if let Some(p) = provider_of(r) {
                providers.entry(p.provider_id.clone()).or_insert(p);
            }
        }
        let rec = RatingRecord {
            location_id: id.clone(),
            service_group: group.clone(),
            domain,
            rating,
            publication_date: date,
            report_type: r.text("report_type"),
            inherited: r.flag("inherited"),
            framework: Framework::NotSaid,
            percentage_score: None,
            status: None,
        };
        if !r.problems.is_empty() {
            return false;
        }
        b.latest_date = b.latest_date.max(Some(date));
        let key = (id, group, domain);
        match seen.get(&key).copied() {
            None => {
                seen.insert(key, (b.ratings.len(), r.row));
                b.ratings.push(rec);
            }
            Some((idx, prev_row)) => {
                // CQC's files repeat a row: keep the latest publication date; on a tie keep
                // the later row, and say so when the two disagree.
                repeats += 1;
                let prev = &b.ratings[idx];
                if rec.publication_date > prev.publication_date {
                    b.ratings[idx] = rec;
                    seen.insert(key, (idx, r.row));
                } else if rec.publication_date == prev.publication_date {
                    if rec.rating != prev.rating {
                        same_date_disagreements.push(format!(
                            "{} \"{}\" {}: rows {} ({}) and {} ({}) are both dated {}; kept row {}",
                            key.0,
                            key.1,
                            key.2.as_str(),
                            prev_row,
                            prev.rating,
                            r.row,
                            rec.rating,
                            rec.publication_date.format("%d/%m/%Y"),
                            r.row
                        ));
                    }
                    b.ratings[idx] = rec;
                    seen.insert(key, (idx, r.row));
                }
            }
        }
        true
    })?;
    parsed.batch.providers = providers.into_values().collect();
    if undated > 0 {
        parsed.batch.warnings.push(format!(
            "{} a value that is not a rating (such as \"Not Rated\") with no publication date: nothing was published, so no rating is kept for them; their locations are kept",
            count(undated, "row gives", "rows give")
        ));
    }
    if repeats > 0 {
        parsed.batch.warnings.push(format!(
            "{}: the latest publication date was kept",
            count(
                repeats,
                "repeated location × service group × key question row",
                "repeated location × service group × key question rows"
            )
        ));
    }
    parsed.batch.warnings.extend(same_date_disagreements);
    Ok(parsed)
}

/// The care directory ("HSCA Active Locations", or the older "CQC care directory" CSV).
pub fn directory(name: &str, bytes: &[u8], opts: &ParseOptions) -> Result<Parsed, FileError> {
    let grids = import::open_with(name, bytes, &import::Limits::CQC)?;
    directory_in(name, &grids, opts)
}

fn directory_in(name: &str, grids: &[Grid], opts: &ParseOptions) -> Result<Parsed, FileError> {
    let mut providers: HashMap<String, ProviderRecord> = HashMap::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    // How each location was known to be a care home (or not), to say in the summary.
    let mut care_home_bases: HashMap<String, CareHomeBasis> = HashMap::new();
    let mut undated_ratings = 0usize;
    // Y/empty flag columns ("Service type - Care home service with nursing" and so on),
    // found once from the header row.
    let mut flag_cols: Option<Vec<(usize, &'static str, String)>> = None;
    let mut parsed = with_rows(name, grids, DIRECTORY_COLUMNS, opts, |r, b| {
        let id = r.location_id();
        let name_v = r.text("location_name");
        if name_v.is_none() {
            r.problem("location_name", "the location name is empty");
        }
        let Some(id) = id else { return false };
        let mut loc = location_common(r, &id);
        loc.registration_date = r.date("registration_date");
        loc.dormant = r.flag("dormant");
        loc.registered_manager = if r.cols.idx("registered_manager").is_some() {
            Some(r.text("registered_manager").is_some())
        } else {
            None
        };
        let beds_raw = r.raw("beds").trim().replace(',', "");
        loc.beds = if beds_raw.is_empty() {
            None
        } else {
            match beds_raw.parse::<i64>() {
                Ok(n) if (0..=5000).contains(&n) => Some(n),
                _ => {
                    r.problem("beds", "is not a whole number of beds");
                    None
                }
            }
        };
        loc.url = r.text("web");
        let flag_cols = flag_cols.get_or_insert_with(|| service_flag_columns(r.cols));
        let mut services: Vec<(&'static str, String)> = flag_cols
            .iter()
            .filter(|(i, _, _)| {
                r.cells
                    .get(*i)
                    .is_some_and(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("n"))
            })
            .map(|(_, k, v)| (*k, v.clone()))
            .collect();
        for (key, kind) in [
            ("service_types", "service_type"),
            ("specialisms", "specialism"),
        ] {
            if let Some(list) = r.text(key) {
                // Pipes in the old directory; location exports may use semicolons or lines.
                services.extend(
                    list.split(['|', ';', '\n'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| (kind, s.to_string())),
                );
            }
        }
        let has_service_columns = !flag_cols.is_empty()
            || r.cols.idx("service_types").is_some()
            || r.cols.idx("specialisms").is_some();
        loc.services = has_service_columns.then_some(services);
        // Location-level exports have no "Care Home?" column: the rule in
        // caremarket_core::cqc::care_home_from decides, and the summary says how often each
        // part of it did.
        let types: Option<Vec<&str>> = loc.services.as_ref().map(|v| {
            v.iter()
                .filter(|(k, _)| *k == "service_type")
                .map(|(_, s)| s.as_str())
                .collect()
        });
        let (care_home, basis) = care_home_from(
            loc.care_home,
            types.as_deref(),
            loc.primary_inspection_category.as_deref(),
        );
        loc.care_home = care_home;
        loc.care_home_basis = Some(basis);
        let rating_raw = r.raw("latest_rating").trim().to_string();
        let rating = if rating_raw.is_empty() {
            None
        } else {
            let parsed = Rating::parse(&rating_raw);
            if parsed.is_none() {
                r.problem("latest_rating", "is not a CQC rating");
            }
            parsed
        };
        let date = r.date("publication_date");
        let inherited = r.flag("inherited");
        let mut key_questions = Vec::new();
        for (key, domain) in [
            ("safe_rating", Domain::Safe),
            ("effective_rating", Domain::Effective),
            ("caring_rating", Domain::Caring),
            ("responsive_rating", Domain::Responsive),
            ("well_led_rating", Domain::WellLed),
        ] {
            let v = r.raw(key).trim().to_string();
            if v.is_empty() {
                continue;
            }
            match Rating::parse(&v) {
                Some(x) => key_questions.push((domain, x)),
                None => r.problem(key, "is not a CQC rating"),
            }
        }
        if name_v.is_none() || !r.problems.is_empty() {
            return false;
        }
        let rated = rating.is_some_and(stands) || key_questions.iter().any(|k| stands(k.1));
        if date.is_none() && rated {
            undated_ratings += 1;
        }
        if let Some(date) = date {
            b.latest_date = b.latest_date.max(Some(date));
            let all = rating
                .map(|x| (Domain::Overall, x))
                .into_iter()
                .chain(key_questions);
            for (domain, rating) in all {
                b.ratings.push(RatingRecord {
                    location_id: id.clone(),
                    service_group: "Overall".into(),
                    domain,
                    rating,
                    publication_date: date,
                    report_type: None,
                    inherited,
                    framework: Framework::NotSaid,
                    percentage_score: None,
                    status: None,
                });
            }
        }
        care_home_bases.insert(id.clone(), basis);
        if let Some(p) = provider_of(r) {
            providers.entry(p.provider_id.clone()).or_insert(p);
        }
        match ids.get(&id) {
            Some(&idx) => {
                b.warnings.push(format!(
                    "location {id} appears more than once; the later row (row {}) was kept",
                    r.row
                ));
                b.locations[idx] = loc;
            }
            None => {
                ids.insert(id.clone(), b.locations.len());
                b.locations.push(loc);
            }
        }
        true
    })?;
    parsed.batch.providers = providers.into_values().collect();
    if care_home_bases.values().any(|b| *b != CareHomeBasis::Flag) {
        let count = |b: CareHomeBasis| care_home_bases.values().filter(|x| **x == b).count();
        parsed.batch.warnings.push(format!(
            "The file has no Care Home? column for every location: care homes known from {} {}, {} {}, {} {}; {} {}",
            CareHomeBasis::ServiceTypes.label(),
            count(CareHomeBasis::ServiceTypes),
            CareHomeBasis::InspectionCategory.label(),
            count(CareHomeBasis::InspectionCategory),
            CareHomeBasis::Flag.label(),
            count(CareHomeBasis::Flag),
            CareHomeBasis::Unknown.label(),
            count(CareHomeBasis::Unknown),
        ));
    }
    if undated_ratings > 0 {
        parsed.batch.warnings.push(format!(
            "{} a rating but no publication date: a rating is kept only with its date, so these were not kept as ratings",
            count(undated_ratings, "location has", "locations have")
        ));
    }
    // The flag columns are read (as service types and bands): not "unknown".
    parsed.batch.unknown_columns.retain(|h| {
        h.split_once(" - ").is_none_or(|(prefix, _)| {
            !matches!(
                normalise_header(prefix).as_str(),
                "servicetype" | "serviceuserband" | "regulatedactivity"
            )
        })
    });
    Ok(parsed)
}

fn is_pre_ratings_outcome(s: &str) -> bool {
    matches!(
        normalise_header(s).as_str(),
        "noaction"
            | "actionneeded"
            | "complianceaction"
            | "enforcementaction"
            | "compliant"
            | "noncompliant"
            | "meetsstandards"
            | "notmeetingstandards"
    )
}

fn service_flag_columns(cols: &Columns) -> Vec<(usize, &'static str, String)> {
    cols.headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let (prefix, value) = h.split_once(" - ")?;
            let kind = match normalise_header(prefix).as_str() {
                "servicetype" => "service_type",
                "serviceuserband" => "specialism",
                "regulatedactivity" => "regulated_activity",
                _ => return None,
            };
            Some((i, kind, value.trim().to_string()))
        })
        .collect()
}

fn jstr(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).and_then(text)
}

fn jdate(v: &serde_json::Value, key: &str) -> Result<Option<NaiveDate>, String> {
    match jstr(v, key) {
        None => Ok(None),
        Some(s) => parse_date(&s, false)
            .map(Some)
            .map_err(|e| format!("{key} {s:?} {}", e.0)),
    }
}

/// JSON lines of CQC API location records (`GET /locations/{id}`), one object a line.
pub fn api_records(name: &str, bytes: &[u8]) -> Result<Parsed, FileError> {
    let mut deregistered = 0usize;
    let mut batch = Batch::default();
    let mut problems = Vec::new();
    let mut rejected = Vec::new();
    let mut providers: HashMap<String, ProviderRecord> = HashMap::new();
    let mut seen_ids = HashMap::new();
    let mut records = Vec::new();
    let mut legacy_outcomes = 0usize;
    import::text::for_each_line(name, bytes, &import::Limits::CQC, |row, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        batch.rows_read += 1;
        let mut row_problems = Vec::new();
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                let p = RowProblem::new(row, "(line)", line, format!("is not a JSON object: {e}"));
                rejected.push((row, vec![line.to_string()], p.reason.clone()));
                problems.push(p);
                return Ok(());
            }
        };
        match record(&v, row, &mut row_problems) {
            Some((loc, ratings, rels, provider, latest, legacy)) if row_problems.is_empty() => {
                legacy_outcomes += legacy;
                if loc.deregistration_date.is_some()
                    || loc
                        .registration_status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("deregistered"))
                {
                    deregistered += 1;
                }
                if seen_ids.insert(loc.location_id.clone(), row).is_some() {
                    batch.warnings.push(format!(
                        "location {} appears more than once; line {row} was kept",
                        loc.location_id
                    ));
                }
                batch.latest_date = batch.latest_date.max(latest);
                records.push((row, loc, ratings, rels));
                if let Some(p) = provider {
                    providers.entry(p.provider_id.clone()).or_insert(p);
                }
            }
            _ => {
                let reason = row_problems
                    .iter()
                    .map(|p| format!("{}: {}", p.column, p.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                rejected.push((row, vec![line.to_string()], reason));
                problems.extend(row_problems);
            }
        }
        Ok(())
    })?;
    // A location given twice keeps its last line (kept apart until now, so that a file of
    // repeats costs one pass, not one pass per repeat).
    for (row, loc, ratings, rels) in records {
        if seen_ids.get(&loc.location_id) == Some(&row) {
            batch.locations.push(loc);
            batch.ratings.extend(ratings);
            batch.relationships.extend(rels);
        }
    }
    if batch.rows_read == 0 {
        return Err(FileError(format!("{name} holds no location records")));
    }
    if deregistered > 0 {
        batch.warnings.push(format!(
            "{} of deregistered locations: their history is kept, and they are not part of the market on or after the date they were deregistered",
            count(deregistered, "record is", "records are")
        ));
    }
    if legacy_outcomes > 0 {
        batch.warnings.push(format!(
            "{} from before CQC ratings began (outcomes such as \"No action\") left out: they are not ratings",
            count(legacy_outcomes, "historic entry", "historic entries")
        ));
    }
    batch.providers = providers.into_values().collect();
    // Several historic ratings can share a date with the current one: one row per key.
    let mut by_key: HashMap<(String, String, Domain, NaiveDate), usize> = HashMap::new();
    let mut deduped: Vec<RatingRecord> = Vec::new();
    for r in batch.ratings.drain(..) {
        let k = (
            r.location_id.clone(),
            r.service_group.clone(),
            r.domain,
            r.publication_date,
        );
        match by_key.get(&k) {
            Some(&i) => deduped[i] = r,
            None => {
                by_key.insert(k, deduped.len());
                deduped.push(r);
            }
        }
    }
    batch.ratings = deduped;
    Ok(Parsed {
        batch,
        problems,
        header: vec!["record".into()],
        rejected_rows: rejected,
    })
}

/// The entries of an array field of an API record (none when absent or not an array).
fn items<'a>(v: &'a serde_json::Value, key: &str) -> impl Iterator<Item = &'a serde_json::Value> {
    v.get(key).and_then(|a| a.as_array()).into_iter().flatten()
}

/// The key question an entry of `keyQuestionRatings` names, or a problem said.
fn key_question(
    kq: &serde_json::Value,
    row: usize,
    field: &str,
    problems: &mut Vec<RowProblem>,
) -> Option<Domain> {
    let d = jstr(kq, "name").and_then(|n| Domain::parse(&n));
    if d.is_none() {
        problems.push(RowProblem::new(
            row,
            field,
            &kq.to_string(),
            "is not a key question",
        ));
    }
    d
}

/// What a rating carries beside its value: its framework, SAF score and status, and whether
/// it was inherited from a predecessor.
struct Extra {
    framework: Framework,
    percentage_score: Option<i64>,
    status: Option<String>,
    inherited: Option<bool>,
}

impl Default for Extra {
    fn default() -> Self {
        Extra {
            framework: Framework::NotSaid,
            percentage_score: None,
            status: None,
            inherited: None,
        }
    }
}

type RecordParts = (
    LocationRecord,
    Vec<RatingRecord>,
    Vec<Relationship>,
    Option<ProviderRecord>,
    Option<NaiveDate>,
    usize,
);

fn record(
    v: &serde_json::Value,
    row: usize,
    problems: &mut Vec<RowProblem>,
) -> Option<RecordParts> {
    let mut bad =
        |col: &str, val: &str, why: String| problems.push(RowProblem::new(row, col, val, why));
    let Some(id) = jstr(v, "locationId") else {
        bad("locationId", "", "the record has no locationId".into());
        return None;
    };
    if !valid_cqc_id(&id) {
        bad("locationId", &id, "is not a CQC location ID".into());
        return None;
    }
    let flag = |key: &str| -> Result<Option<bool>, String> {
        match v.get(key) {
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(serde_json::Value::String(s)) => parse_flag(s),
            _ => Ok(None),
        }
    };
    let mut loc = LocationRecord {
        location_id: id.clone(),
        provider_id: jstr(v, "providerId"),
        name: jstr(v, "name"),
        location_type: jstr(v, "type"),
        inspection_directorate: jstr(v, "inspectionDirectorate"),
        street_address: jstr(v, "postalAddressLine1"),
        address_line_2: jstr(v, "postalAddressLine2"),
        city: jstr(v, "postalAddressTownCity"),
        county: jstr(v, "postalAddressCounty"),
        postcode: jstr(v, "postalCode")
            .map(|p| normalise_postcode(&p).unwrap_or_else(|| p.to_uppercase())),
        local_authority: jstr(v, "localAuthority"),
        region: jstr(v, "region").map(|x| normalise_region(&x)),
        registration_status: jstr(v, "registrationStatus"),
        onspd_ccg_code: jstr(v, "onspdCcgCode"),
        onspd_ccg: jstr(v, "onspdCcgName"),
        latitude: v.get("onspdLatitude").and_then(|x| x.as_f64()),
        longitude: v.get("onspdLongitude").and_then(|x| x.as_f64()),
        url: Some(format!("https://www.cqc.org.uk/location/{id}")),
        ..Default::default()
    };
    match flag("careHome") {
        Ok(f) => {
            loc.care_home = f;
            loc.care_home_basis = f.map(|_| CareHomeBasis::Flag);
        }
        Err(e) => bad("careHome", "", e),
    }
    match flag("dormancy") {
        Ok(f) => loc.dormant = f,
        Err(e) => bad("dormancy", "", e),
    }
    loc.beds = match v.get("numberOfBeds") {
        None | Some(serde_json::Value::Null) => None,
        Some(n) => match n
            .as_i64()
            .or_else(|| n.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(b) if (0..=5000).contains(&b) => Some(b),
            _ => {
                bad(
                    "numberOfBeds",
                    &n.to_string(),
                    "is not a whole number of beds".into(),
                );
                None
            }
        },
    };
    for (key, slot) in [
        ("registrationDate", 0),
        ("deregistrationDate", 1),
        ("registeredManagerAbsentDate", 2),
    ] {
        match jdate(v, key) {
            Ok(d) => match slot {
                0 => loc.registration_date = d,
                1 => loc.deregistration_date = d,
                _ => loc.registered_manager_absent_since = d,
            },
            Err(e) => bad(key, "", e),
        }
    }
    loc.primary_inspection_category = v
        .get("inspectionCategories")
        .and_then(|c| c.as_array())
        .and_then(|a| {
            a.iter()
                .find(|c| c.get("primary").and_then(|p| p.as_str()) == Some("true"))
                .or(a.first())
        })
        .and_then(|c| jstr(c, "name"));
    let names = |key: &str, field: &str| -> Vec<String> {
        v.get(key)
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|x| jstr(x, field)).collect())
            .unwrap_or_default()
    };
    let mut services: Vec<(&'static str, String)> = Vec::new();
    services.extend(
        names("gacServiceTypes", "description")
            .into_iter()
            .map(|s| ("service_type", s)),
    );
    services.extend(
        names("specialisms", "name")
            .into_iter()
            .map(|s| ("specialism", s)),
    );
    services.extend(
        names("regulatedActivities", "name")
            .into_iter()
            .map(|s| ("regulated_activity", s)),
    );
    services.sort();
    services.dedup();
    loc.services = Some(services);
    let manager_named = v
        .get("regulatedActivities")
        .and_then(|a| a.as_array())
        .is_some_and(|acts| {
            acts.iter().any(|a| {
                a.get("contacts")
                    .and_then(|c| c.as_array())
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.get("personRoles")
                                .and_then(|r| r.as_array())
                                .is_some_and(|roles| {
                                    roles
                                        .iter()
                                        .any(|x| x.as_str() == Some("Registered Manager"))
                                })
                        })
                    })
            })
        });
    loc.registered_manager = if loc.registered_manager_absent_since.is_some() {
        Some(false)
    } else if manager_named {
        Some(true)
    } else {
        None
    };

    let mut ratings = Vec::new();
    let mut latest = jdate(
        v.get("lastReport").unwrap_or(&serde_json::Value::Null),
        "publicationDate",
    )
    .ok()
    .flatten();
    let legacy = &mut 0usize;
    let mut push = |group: &str,
                    domain: Domain,
                    rating_s: Option<String>,
                    date: Option<NaiveDate>,
                    extra: Extra,
                    problems: &mut Vec<RowProblem>| {
        let (Some(rs), Some(d)) = (rating_s, date) else {
            return;
        };
        let Extra {
            framework,
            percentage_score,
            status,
            inherited,
        } = extra;
        match Rating::parse(&rs) {
            Some(r) => ratings.push(RatingRecord {
                location_id: id.clone(),
                service_group: group.to_string(),
                domain,
                rating: r,
                publication_date: d,
                report_type: Some("Location".into()),
                inherited,
                framework,
                percentage_score,
                status,
            }),
            // Records from before ratings began (2014) carry the old regime's compliance
            // outcomes in historicRatings: real data, but not ratings. Left out, counted.
            None if is_pre_ratings_outcome(&rs) => *legacy += 1,
            None => problems.push(RowProblem::new(row, "rating", &rs, "is not a CQC rating")),
        }
    };
    let mut sets: Vec<(&serde_json::Value, Option<NaiveDate>)> = Vec::new();
    if let Some(cur) = v.get("currentRatings").and_then(|c| c.get("overall")) {
        match jdate(cur, "reportDate") {
            Ok(d) => sets.push((cur, d)),
            Err(e) => problems.push(RowProblem::new(
                row,
                "currentRatings.overall.reportDate",
                "",
                e,
            )),
        }
    }
    if let Some(hist) = v.get("historicRatings").and_then(|h| h.as_array()) {
        for h in hist {
            match jdate(h, "reportDate") {
                Ok(d) => {
                    if let Some(o) = h.get("overall") {
                        sets.push((o, d));
                    }
                }
                Err(e) => problems.push(RowProblem::new(row, "historicRatings.reportDate", "", e)),
            }
        }
    }
    for (o, d) in sets {
        latest = latest.max(d);
        // Since April 2019 a new registration can carry its predecessor's rating: the rating
        // then names the organisation it was given to.
        let inherited = jstr(o, "organisationId").map(|org| org != id);
        let inspection = || Extra {
            framework: Framework::Inspection,
            inherited,
            ..Default::default()
        };
        push(
            "Overall",
            Domain::Overall,
            jstr(o, "rating"),
            d,
            inspection(),
            problems,
        );
        for kq in items(o, "keyQuestionRatings") {
            let Some(domain) = key_question(kq, row, "keyQuestionRatings.name", problems) else {
                continue;
            };
            let kd = jdate(kq, "reportDate").ok().flatten().or(d);
            push(
                "Overall",
                domain,
                jstr(kq, "rating"),
                kd,
                inspection(),
                problems,
            );
        }
    }
    // The Single Assessment Framework (from 2024): `assessment[]`, each with the date its
    // plan was published and `ratings.overall` (an object or a list) and `ratings.asgRatings[]`
    // (one per service group: "Care homes", "Homecare"...), each with its rating, status
    // ("Current"), assessment date and key questions with their percentage scores.
    for a in items(v, "assessment") {
        let published = match jdate(a, "assessmentPlanPublishedDateTime") {
            Ok(d) => d,
            Err(e) => {
                problems.push(RowProblem::new(
                    row,
                    "assessment.assessmentPlanPublishedDateTime",
                    "",
                    e,
                ));
                continue;
            }
        };
        let Some(r) = a.get("ratings") else { continue };
        let as_list = |x: Option<&serde_json::Value>| -> Vec<serde_json::Value> {
            match x {
                Some(serde_json::Value::Array(a)) => a.clone(),
                Some(o @ serde_json::Value::Object(_)) => vec![o.clone()],
                _ => vec![],
            }
        };
        let overall = as_list(r.get("overall"))
            .into_iter()
            .map(|o| ("Overall".to_string(), o));
        let groups = as_list(r.get("asgRatings")).into_iter().map(|g| {
            let name = jstr(&g, "name")
                .or_else(|| jstr(&g, "assessmentServiceGroup"))
                .or_else(|| jstr(&g, "title"))
                .unwrap_or_else(|| "Overall".into());
            (name, g)
        });
        for (group, o) in overall.chain(groups) {
            let date = published.or_else(|| jdate(&o, "assessmentDate").ok().flatten());
            latest = latest.max(date);
            let status = jstr(&o, "status");
            let saf = |score: Option<i64>| Extra {
                framework: Framework::Saf,
                percentage_score: score,
                status: status.clone(),
                inherited: None,
            };
            push(
                &group,
                Domain::Overall,
                jstr(&o, "rating"),
                date,
                saf(None),
                problems,
            );
            for kq in items(&o, "keyQuestionRatings") {
                let Some(domain) =
                    key_question(kq, row, "assessment.keyQuestionRatings.name", problems)
                else {
                    continue;
                };
                // CQC writes the score as a string ("72"); a number is taken too.
                let score = match kq.get("percentageScore") {
                    Some(serde_json::Value::Number(n)) => n.as_f64().map(|f| f.round() as i64),
                    Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                        match s.trim().trim_end_matches('%').parse::<f64>() {
                            Ok(f) if (0.0..=100.0).contains(&f) => Some(f.round() as i64),
                            _ => {
                                problems.push(RowProblem::new(
                                    row,
                                    "assessment.keyQuestionRatings.percentageScore",
                                    s,
                                    "is not a percentage from 0 to 100",
                                ));
                                None
                            }
                        }
                    }
                    _ => None,
                };
                push(
                    &group,
                    domain,
                    jstr(kq, "rating"),
                    date,
                    saf(score),
                    problems,
                );
            }
        }
    }
    let rels = v
        .get("relationships")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some(Relationship {
                        location_id: id.clone(),
                        related_location_id: jstr(r, "relatedLocationId")?,
                        relation_type: jstr(r, "type").unwrap_or_else(|| "Related".into()),
                        reason: jstr(r, "reason"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let provider = loc
        .provider_id
        .clone()
        .filter(|p| valid_cqc_id(p))
        .map(|p| ProviderRecord {
            provider_id: p,
            name: None,
            brand_id: jstr(v, "brandId"),
            brand_name: jstr(v, "brandName"),
        });
    let legacy = *legacy;
    Some((loc, ratings, rels, provider, latest, legacy))
}

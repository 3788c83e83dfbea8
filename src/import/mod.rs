//! Reading the files people upload: CSV (UTF-8 with or without BOM, UTF-16 with BOM,
//! Windows-1252), XLSX, XLS and ODS. Finds the header row by name within the first rows,
//! matches columns ignoring case, spacing and punctuation, and reports each problem with the
//! file, row, column, value and reason. Nothing here touches the database.

pub mod text;

use caremarket_core::cqc::normalise_header;
use std::collections::HashMap;
use std::io::Cursor;

/// How far down a sheet the header row may be (CQC's own files have up to 7 title rows).
pub const HEADER_SEARCH_ROWS: usize = 15;
/// A cell longer than this is refused: nothing in these files is legitimately that long.
pub const MAX_CELL_CHARS: usize = 10_000;
/// Uncompressed size above which a spreadsheet is refused (a ZIP bomb guard).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 1_000_000_000;
/// Per-entry compression ratio above which an entry is treated as a ZIP bomb.
pub const MAX_RATIO: u64 = 250;

/// A whole-file problem: the import stops and changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

/// One problem in one cell, as the person who made the file will look for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowProblem {
    /// The row number as a spreadsheet shows it (1 = the first line of the file).
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl RowProblem {
    pub fn new(row: usize, column: &str, value: &str, reason: impl Into<String>) -> RowProblem {
        let mut v: String = value.chars().take(80).collect();
        if value.chars().count() > 80 {
            v.push('…');
        }
        RowProblem {
            row,
            column: column.to_string(),
            value: v,
            reason: reason.into(),
        }
    }
}

/// The rows of one sheet (or the CSV), as text cells.
pub enum Grid {
    Csv(Vec<csv::StringRecord>),
    Sheet {
        name: String,
        range: calamine::Range<calamine::Data>,
    },
}

impl Grid {
    pub fn len(&self) -> usize {
        match self {
            Grid::Csv(r) => r.len(),
            Grid::Sheet { range, .. } => range.height(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cells of row `i` (0-based) as text. Spreadsheet dates become ISO dates, whole
    /// numbers lose their ".0", errors such as #REF! come through as text.
    pub fn row(&self, i: usize) -> Vec<String> {
        match self {
            Grid::Csv(r) => r[i].iter().map(str::to_string).collect(),
            Grid::Sheet { range, .. } => {
                let w = range.width();
                (0..w)
                    .map(|c| range.get((i, c)).map(cell_text).unwrap_or_default())
                    .collect()
            }
        }
    }

    /// Like [`Grid::row`] but only the listed columns, without building the others.
    pub fn cell(&self, i: usize, col: usize) -> String {
        match self {
            Grid::Csv(r) => r[i].get(col).unwrap_or("").to_string(),
            Grid::Sheet { range, .. } => range.get((i, col)).map(cell_text).unwrap_or_default(),
        }
    }

    pub fn sheet_name(&self) -> Option<&str> {
        match self {
            Grid::Csv(_) => None,
            Grid::Sheet { name, .. } => Some(name),
        }
    }
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => {
            // calamine knows the workbook's date system (1900 or 1904) and gives the date
            // itself; the serial alone would be four years off in a 1904 workbook.
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            match chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32) {
                Some(date) => date.to_string(),
                None => dt.as_f64().to_string(),
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// What kind of file the bytes are, from their content (never from the name, which can lie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Zip,
    Ole,
    Text,
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(b"PK\x03\x04") {
        Sniffed::Zip
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Sniffed::Ole
    } else {
        Sniffed::Text
    }
}

/// Refuses ZIP bombs before any decompression: the archive's own directory says how big each
/// entry will be.
fn check_zip(name: &str, bytes: &[u8]) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        FileError(format!("{name} is damaged or incomplete: it looks like a spreadsheet (XLSX or ODS) but cannot be opened ({e})"))
    })?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let Ok(meta) = archive.by_index_raw(i) else {
            return Err(FileError(format!(
                "{name} is damaged: entry {i} of the archive cannot be read"
            )));
        };
        let size = meta.size();
        let packed = meta.compressed_size().max(1);
        total = total.saturating_add(size);
        if size > 10_000_000 && size / packed > MAX_RATIO {
            return Err(FileError(format!(
                "{name} is refused: part of it expands {}-fold when opened, which is how a ZIP bomb looks",
                size / packed
            )));
        }
    }
    if total > MAX_UNCOMPRESSED_BYTES {
        return Err(FileError(format!(
            "{name} is refused: it would expand to {:.1} GB when opened",
            total as f64 / 1e9
        )));
    }
    Ok(())
}

/// Opens a file into the sheets it holds (one for CSV). `prefer` names sheets to try first.
pub fn open(name: &str, bytes: &[u8]) -> Result<Vec<Grid>, FileError> {
    if bytes.is_empty() {
        return Err(FileError(format!("{name} is empty")));
    }
    match sniff(bytes) {
        Sniffed::Zip | Sniffed::Ole => {
            if sniff(bytes) == Sniffed::Zip {
                check_zip(name, bytes)?;
            }
            let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
                .map_err(|e| {
                    FileError(format!(
                        "{name} cannot be read as a spreadsheet (XLSX, XLS or ODS): {e}"
                    ))
                })?;
            use calamine::Reader;
            let names = wb.sheet_names().to_vec();
            let mut grids = Vec::new();
            for sheet in names {
                match wb.worksheet_range(&sheet) {
                    Ok(range) => grids.push(Grid::Sheet { name: sheet, range }),
                    Err(e) => {
                        return Err(FileError(format!(
                            "{name}: sheet {sheet:?} cannot be read: {e}"
                        )));
                    }
                }
            }
            if grids.is_empty() {
                return Err(FileError(format!("{name} has no sheets")));
            }
            Ok(grids)
        }
        Sniffed::Text => {
            let text = text::decode(name, bytes)?;
            Ok(vec![Grid::Csv(text::parse_csv(name, &text)?)])
        }
    }
}

/// A column the importer knows: its key, the names it goes by (matched after
/// [`normalise_header`]) and whether the import needs it.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub key: &'static str,
    pub names: &'static [&'static str],
    pub required: bool,
}

/// A column a file must (or may) have: its key, the names it goes by (normalised: lower
/// case, no spaces or punctuation), and whether the file is refused without it.
pub const fn col(key: &'static str, names: &'static [&'static str], required: bool) -> ColumnSpec {
    ColumnSpec {
        key,
        names,
        required,
    }
}

/// Where each known column is, in a found header row.
#[derive(Debug, Clone)]
pub struct Columns {
    pub header_row: usize,
    pub sheet: Option<String>,
    /// key -> (column index, the header as written)
    pub found: HashMap<&'static str, (usize, String)>,
    pub unknown: Vec<String>,
    pub headers: Vec<String>,
}

impl Columns {
    pub fn idx(&self, key: &str) -> Option<usize> {
        self.found.get(key).map(|f| f.0)
    }
    pub fn header<'a>(&'a self, key: &'a str) -> &'a str {
        self.found.get(key).map(|f| f.1.as_str()).unwrap_or(key)
    }
}

/// The key of a choice as a file or form writes it: its key or its label, in any case and
/// spacing ("Home care framework", "home_care_framework").
pub fn choice(list: &[(&'static str, &'static str)], value: &str) -> Option<&'static str> {
    let n = caremarket_core::cqc::normalise_header(value);
    list.iter()
        .find(|(k, l)| {
            caremarket_core::cqc::normalise_header(k) == n
                || caremarket_core::cqc::normalise_header(l) == n
        })
        .map(|(k, _)| *k)
}

/// One data row of a sheet, read by column key.
pub struct DataRow<'a> {
    grid: &'a Grid,
    cols: &'a Columns,
    i: usize,
    /// The row number as a spreadsheet shows it (1 = the first line of the file).
    pub number: usize,
}

impl DataRow<'_> {
    /// The cell in column `col` of this row, by position (for columns found by shape, like
    /// a projection file's year columns, not by name).
    pub fn at(&self, col: usize) -> String {
        self.grid.cell(self.i, col)
    }

    /// The trimmed value under a column, or "" when the file has no such column.
    pub fn cell(&self, key: &str) -> String {
        self.cols
            .idx(key)
            .map(|c| self.grid.cell(self.i, c).trim().to_string())
            .unwrap_or_default()
    }
    /// A problem with this row's value under a column, named as the file names it.
    pub fn problem(&self, key: &str, value: &str, why: &str) -> RowProblem {
        RowProblem::new(self.number, self.cols.header(key), value, why)
    }
}

/// The rows below the header, leaving out blank ones (spreadsheets keep them).
pub fn data_rows<'a>(grid: &'a Grid, cols: &'a Columns) -> impl Iterator<Item = DataRow<'a>> {
    (cols.header_row + 1..grid.len())
        .filter(move |&i| (0..cols.headers.len()).any(|c| !grid.cell(i, c).trim().is_empty()))
        .map(move |i| DataRow {
            grid,
            cols,
            i,
            number: i + 1,
        })
}

/// Finds the header row within the first rows of the first sheet that has one: the row where
/// every required column is named. Unknown columns are listed, not refused.
pub fn find_header(
    name: &str,
    grids: &[Grid],
    specs: &[ColumnSpec],
) -> Result<(usize, Columns), FileError> {
    let required: Vec<&ColumnSpec> = specs.iter().filter(|s| s.required).collect();
    let mut best_missing: Option<Vec<&str>> = None;
    for (g, grid) in grids.iter().enumerate() {
        for r in 0..grid.len().min(HEADER_SEARCH_ROWS) {
            let cells = grid.row(r);
            let norm: Vec<String> = cells.iter().map(|c| normalise_header(c)).collect();
            let mut found = HashMap::new();
            for spec in specs {
                if let Some(i) = norm.iter().position(|n| spec.names.contains(&n.as_str())) {
                    found.insert(spec.key, (i, cells[i].trim().to_string()));
                }
            }
            let missing: Vec<&str> = required
                .iter()
                .filter(|s| !found.contains_key(s.key))
                .map(|s| s.key)
                .collect();
            if missing.is_empty() {
                let known: Vec<usize> = found.values().map(|v| v.0).collect();
                let unknown = cells
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| !known.contains(i) && !c.trim().is_empty())
                    .map(|(_, c)| c.trim().to_string())
                    .collect();
                return Ok((
                    g,
                    Columns {
                        header_row: r,
                        sheet: grid.sheet_name().map(str::to_string),
                        found,
                        unknown,
                        headers: cells,
                    },
                ));
            }
            // Remember the nearest miss, to say which columns are missing.
            if found.len() >= 2
                && best_missing
                    .as_ref()
                    .is_none_or(|b| missing.len() < b.len())
            {
                best_missing = Some(missing);
            }
        }
    }
    let want: Vec<&str> = required.iter().map(|s| s.names[0]).collect();
    let _ = want;
    match best_missing {
        Some(missing) => {
            let names: Vec<String> = missing
                .iter()
                .map(|k| {
                    specs
                        .iter()
                        .find(|s| s.key == *k)
                        .map(|s| s.key.replace('_', " "))
                        .unwrap_or_default()
                })
                .collect();
            Err(FileError(format!(
                "{name} is missing required column{}: {}",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            )))
        }
        None => {
            let names: Vec<String> = required.iter().map(|s| s.key.replace('_', " ")).collect();
            Err(FileError(format!(
                "{name} has no header row in its first {HEADER_SEARCH_ROWS} rows: expected columns named {}",
                names.join(", ")
            )))
        }
    }
}

/// The first 50 problems and how many there were, as the import report gives them.
pub fn summarise_problems(file: &str, problems: &[RowProblem]) -> String {
    let mut out = format!(
        "{file}: {} problem{} found; nothing was imported.\n",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems.iter().take(50) {
        out.push_str(&format!(
            "  row {}, column {:?}, value {:?}: {}\n",
            p.row, p.column, p.value, p.reason
        ));
    }
    if problems.len() > 50 {
        out.push_str(&format!("  ... and {} more\n", problems.len() - 50));
    }
    out
}

/// Gzip-compressed files (as the project bundles its demo data) are opened transparently,
/// with the same size cap as spreadsheets against decompression bombs.
pub fn gunzip_if_needed<'a>(
    name: &str,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, FileError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(bytes).take(MAX_UNCOMPRESSED_BYTES + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| FileError(format!("{name} is a damaged gzip file: {e}")))?;
    if out.len() as u64 > MAX_UNCOMPRESSED_BYTES {
        return Err(FileError(format!(
            "{name} is refused: it would expand to more than 1 GB"
        )));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// SHA-256 of the file's bytes, hex: the same file imported twice is recognised.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

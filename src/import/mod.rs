//! Reading the files people upload: CSV (UTF-8 with or without BOM, UTF-16 with BOM,
//! Windows-1252), XLSX, XLSB and ODS, gzipped or not. Files are read as streams within
//! [`Limits`] (rows, columns, cell size, decompressed size, time), so no file costs more
//! memory than its values. Finds the header row by name within the first rows, matches
//! columns ignoring case, spacing and punctuation, and reports each problem with the file,
//! row, column, value and reason. Nothing here touches the database.

pub mod limits;
mod sheets;
pub mod text;

use caremarket_core::cqc::normalise_header;
use std::collections::HashMap;
use std::io::Cursor;

pub use limits::{Budget, Limits};

/// How far down a sheet the header row may be: within its first rows that are not blank
/// (CQC's own files have up to 7 title rows).
pub const HEADER_SEARCH_ROWS: usize = 15;
/// A cell longer than this is a problem in its row: nothing in these files is legitimately
/// that long. (Far longer cells refuse the whole file: see [`Limits::max_cell_bytes`].)
pub const MAX_CELL_CHARS: usize = 10_000;
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

/// The rows of one sheet (or the CSV), as text cells. Only cells with a value are kept
/// (a sheet of 60,000 rows and 150 mostly empty flag columns costs what its values cost),
/// all their text in one buffer; rows are numbered as the spreadsheet shows them, less one.
#[derive(Debug, Default)]
pub struct Grid {
    name: Option<String>,
    text: String,
    cells: Vec<CellAt>,
    /// Where each row's cells start in `cells`; one more entry than rows.
    rows: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct CellAt {
    col: u32,
    start: u32,
    end: u32,
}

impl Grid {
    pub fn len(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn row_cells(&self, i: usize) -> &[CellAt] {
        match (self.rows.get(i), self.rows.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.cells[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The text of one cell, "" when it is empty or beyond the row's end.
    pub fn cell_str(&self, i: usize, col: usize) -> &str {
        let cells = self.row_cells(i);
        match cells.binary_search_by_key(&(col as u32), |c| c.col) {
            Ok(k) => &self.text[cells[k].start as usize..cells[k].end as usize],
            Err(_) => "",
        }
    }

    /// The cells of row `i` (0-based) as text, up to its last cell with a value.
    /// Spreadsheet dates are ISO dates, whole numbers have no ".0", errors such as #REF!
    /// come through as text.
    pub fn row(&self, i: usize) -> Vec<String> {
        let cells = self.row_cells(i);
        let width = cells.last().map(|c| c.col as usize + 1).unwrap_or(0);
        let mut out = vec![String::new(); width];
        for c in cells {
            out[c.col as usize] = self.text[c.start as usize..c.end as usize].to_string();
        }
        out
    }

    /// One cell as an owned string (see [`Grid::cell_str`]).
    pub fn cell(&self, i: usize, col: usize) -> String {
        self.cell_str(i, col).to_string()
    }

    /// Whether row `i` has no cell with more than spaces in it.
    pub fn row_is_blank(&self, i: usize) -> bool {
        self.row_cells(i).iter().all(|c| {
            self.text[c.start as usize..c.end as usize]
                .trim()
                .is_empty()
        })
    }

    pub fn sheet_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Builds a [`Grid`] from cells as a reader finds them, refusing the file at the first
/// limit it passes. Cells normally come row by row, left to right; any that do not are
/// sorted at the end.
pub struct GridBuilder<'b> {
    budget: &'b Budget,
    name: Option<String>,
    text: String,
    cells: Vec<(u32, CellAt)>,
    height: usize,
    sorted: bool,
    since_check: usize,
}

impl<'b> GridBuilder<'b> {
    pub fn new(budget: &'b Budget, name: Option<String>) -> GridBuilder<'b> {
        GridBuilder {
            budget,
            name,
            text: String::new(),
            cells: Vec::new(),
            height: 0,
            sorted: true,
            since_check: 0,
        }
    }

    /// Says that row `row` (0-based) exists even if it holds no value (a CSV line of
    /// empty fields), so the rows after it keep their numbers.
    pub fn touch_row(&mut self, row: usize) -> Result<(), FileError> {
        if row >= self.budget.limits.max_rows {
            return Err(self.budget.too_many_rows(row + 1));
        }
        self.height = self.height.max(row + 1);
        Ok(())
    }

    /// Adds one cell. Empty values are not kept; control characters other than tab and
    /// line breaks are dropped (they cannot be stored in PostgreSQL text and mean nothing
    /// in a cell).
    pub fn push(&mut self, row: usize, col: usize, value: &str) -> Result<(), FileError> {
        if value.is_empty() {
            return Ok(());
        }
        let limits = &self.budget.limits;
        if row >= limits.max_rows {
            return Err(self.budget.too_many_rows(row + 1));
        }
        if col >= limits.max_columns {
            return Err(self.budget.too_many_columns(row + 1, col));
        }
        if value.len() > limits.max_cell_bytes {
            return Err(self.budget.cell_too_long(row + 1, col, value.len()));
        }
        self.budget.spend(value.len())?;
        self.since_check += 1;
        if self.since_check >= 4096 {
            self.since_check = 0;
            self.budget.check_time()?;
        }
        if let Some((r, last)) = self.cells.last()
            && (*r as usize, last.col as usize) >= (row, col)
        {
            self.sorted = false;
        }
        let start = self.text.len();
        if value.chars().any(is_stray_control) {
            self.text
                .extend(value.chars().filter(|c| !is_stray_control(*c)));
        } else {
            self.text.push_str(value);
        }
        if self.text.len() > u32::MAX as usize {
            return Err(FileError(format!(
                "{} holds more text than can be read at once",
                self.name.as_deref().unwrap_or("the file")
            )));
        }
        self.cells.push((
            row as u32,
            CellAt {
                col: col as u32,
                start: start as u32,
                end: self.text.len() as u32,
            },
        ));
        self.height = self.height.max(row + 1);
        Ok(())
    }

    pub fn finish(mut self) -> Grid {
        if !self.sorted {
            // Later cells at the same place win, as a spreadsheet would show them.
            self.cells.sort_by_key(|(r, c)| (*r, c.col));
            let mut kept: Vec<(u32, CellAt)> = Vec::with_capacity(self.cells.len());
            for cell in self.cells {
                match kept.last_mut() {
                    Some(last) if (last.0, last.1.col) == (cell.0, cell.1.col) => *last = cell,
                    _ => kept.push(cell),
                }
            }
            self.cells = kept;
        }
        let mut rows = Vec::with_capacity(self.height + 1);
        let mut k = 0usize;
        for r in 0..=self.height {
            while k < self.cells.len() && (self.cells[k].0 as usize) < r {
                k += 1;
            }
            rows.push(k as u32);
        }
        self.text.shrink_to_fit();
        Grid {
            name: self.name,
            text: self.text,
            cells: self.cells.into_iter().map(|(_, c)| c).collect(),
            rows,
        }
    }
}

/// A control character that has no place in a cell or a form field: everything below a
/// space but tab, line feed and carriage return, and DEL. NUL above all: PostgreSQL refuses
/// it in text.
pub fn is_stray_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// What kind of file the bytes are, from their content (never from the name, which can lie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Zip,
    Ole,
    Gzip,
    Text,
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(b"PK\x03\x04") {
        Sniffed::Zip
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Sniffed::Ole
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else {
        Sniffed::Text
    }
}

/// Refuses ZIP bombs before any decompression: the archive's own directory says how big each
/// entry will be, and the reader refuses any entry that grows past what it declared.
fn check_zip(name: &str, bytes: &[u8], limits: &Limits) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        FileError(format!("{name} is damaged or incomplete: it looks like a spreadsheet (XLSX or ODS) but cannot be opened ({e})"))
    })?;
    let allowed = limits.expanded_allowance(bytes.len() as u64);
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
    if total > allowed {
        return Err(FileError(format!(
            "{name} is refused: it would expand to {} when opened, and a file of its size may expand to at most {}",
            limits::human_bytes(total),
            limits::human_bytes(allowed)
        )));
    }
    Ok(())
}

/// Reads a file from disk for the CLI, refusing one larger than the limits allow before
/// reading it (a file that grows while it is read stops at the limit too).
pub fn read_file(path: &std::path::Path, limits: &Limits) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| FileError(format!("cannot read {name}: {e}")))?;
    if let Ok(meta) = f.metadata() {
        limits.check_file_size(&name, meta.len())?;
    }
    let mut bytes = Vec::new();
    f.take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError(format!("cannot read {name}: {e}")))?;
    limits.check_file_size(&name, bytes.len() as u64)?;
    Ok(bytes)
}

/// Opens a file a council or provider sends (see [`Limits::COUNCIL`]).
pub fn open(name: &str, bytes: &[u8]) -> Result<Vec<Grid>, FileError> {
    open_with(name, bytes, &Limits::COUNCIL)
}

/// Opens a file into the sheets it holds (one for CSV), within `limits`. Gzip is opened
/// transparently (as the project bundles its demo data).
pub fn open_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<Grid>, FileError> {
    if bytes.is_empty() {
        return Err(FileError(format!("{name} is empty")));
    }
    limits.check_file_size(name, bytes.len() as u64)?;
    let budget = Budget::for_file(name, limits, bytes.len());
    match sniff(bytes) {
        Sniffed::Zip => {
            check_zip(name, bytes, limits)?;
            sheets::open_zip(name, bytes, &budget)
        }
        Sniffed::Ole => Err(FileError(format!(
            "{name} is an Excel 97-2003 workbook (.xls), which caremarket does not read: open it in Excel or LibreOffice, save it as .xlsx (or CSV) and upload that"
        ))),
        Sniffed::Gzip => {
            let head = text::gzip_head(name, bytes)?;
            if matches!(sniff(&head), Sniffed::Zip | Sniffed::Ole | Sniffed::Gzip) {
                // A spreadsheet needs its whole archive at hand: unpack it (within the
                // allowance) and open that.
                let inner = gunzip_bounded(name, bytes, limits)?;
                return open_with(name, &inner, limits);
            }
            Ok(vec![text::csv_grid(name, bytes, &budget)?])
        }
        Sniffed::Text => Ok(vec![text::csv_grid(name, bytes, &budget)?]),
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
        .filter(move |&i| !grid.row_is_blank(i))
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
        let first_rows = (0..grid.len())
            .filter(|&r| !grid.row_is_blank(r))
            .take(HEADER_SEARCH_ROWS);
        for r in first_rows {
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

/// Gzip-compressed bytes unpacked within the file's allowance (see
/// [`Limits::expanded_allowance`]); other bytes as they are. For the project's own bundled
/// files and for files whose whole content is needed at once.
pub fn gunzip_if_needed<'a>(
    name: &str,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, FileError> {
    if sniff(bytes) != Sniffed::Gzip {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    gunzip_bounded(name, bytes, &Limits::CQC).map(std::borrow::Cow::Owned)
}

fn gunzip_bounded(name: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let mut out = Vec::new();
    text::expanded(bytes, limits)
        .read_to_end(&mut out)
        .map_err(|e| limits::expanded_error(name, "is a damaged gzip file", &e))?;
    Ok(out)
}

/// SHA-256 of the file's bytes, hex: the same file imported twice is recognised.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// SHA-256 of a file's content once unpacked (gzip or not), read as a stream within the
/// limits: the same data gzipped or not is the same file.
pub fn expanded_hash(name: &str, bytes: &[u8], limits: &Limits) -> Result<String, FileError> {
    use sha2::Digest;
    use std::io::Read;
    limits.check_file_size(name, bytes.len() as u64)?;
    if sniff(bytes) != Sniffed::Gzip {
        return Ok(content_hash(bytes));
    }
    let mut r = text::expanded(bytes, limits);
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|e| limits::expanded_error(name, "is a damaged gzip file", &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

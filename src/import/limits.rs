//! What reading one file may cost. Every upload route and every CLI import reads through
//! these limits, checked while the file is streamed (rows, columns, bytes in a cell, bytes
//! once decompressed, time), so a small hostile file (a sheet with one cell at XFD1048576, a
//! gzip of fifty million empty lines, a 50 MB cell) is refused at the first limit it passes,
//! before it costs memory. Nothing here knows what the file is for.

use std::io::Read;
use std::time::{Duration, Instant};

use super::FileError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file accepted as it arrives (compressed or not).
    pub max_file_bytes: u64,
    /// Rows of a sheet or lines of a file (the row number of the last cell with a value).
    pub max_rows: usize,
    /// Columns of a sheet (the column of the rightmost cell with a value).
    pub max_columns: usize,
    /// Bytes in one cell (or one line of a JSON lines file, see `max_line_bytes`).
    pub max_cell_bytes: usize,
    /// Cells with a value in one file, all sheets together: a few hundred bytes of ODS can
    /// repeat one value over millions of cells, and a shared string can be referenced by
    /// every cell of a sheet.
    pub max_cells: usize,
    /// Bytes in one line of a JSON lines file (one CQC API record).
    pub max_line_bytes: usize,
    /// Decompressed size: a file may expand to `expand_ratio` times its own size, never
    /// less than `expand_floor` and never more than `expand_cap`. Real spreadsheets and
    /// gzipped CSV expand 5 to 20 times; ZIP and gzip bombs expand a thousandfold.
    pub expand_ratio: u64,
    pub expand_floor: u64,
    pub expand_cap: u64,
    /// Wall-clock time for reading and checking the file.
    pub max_seconds: u64,
}

const MIB: u64 = 1024 * 1024;

impl Limits {
    /// Files a council or a provider keeps: registers, returns, delivered hours, the
    /// awaiting care list, issues, population files. The largest real ones are a few MB.
    pub const COUNCIL: Limits = Limits {
        max_file_bytes: 20 * MIB,
        max_rows: 100_000,
        max_columns: 500,
        max_cell_bytes: 32 * 1024,
        max_cells: 2_000_000,
        max_line_bytes: 32 * 1024,
        expand_ratio: 40,
        expand_floor: 32 * MIB,
        expand_cap: 256 * MIB,
        max_seconds: 60,
    };

    /// CQC's national files: the latest ratings (74,184 rows in February 2021, 28 MB), the
    /// care directory (about 60,000 rows of 150 columns), API records (about 4 KB a
    /// location, 30,000 locations nationally).
    pub const CQC: Limits = Limits {
        max_file_bytes: 512 * MIB,
        max_rows: 1_000_000,
        max_columns: 2_000,
        max_cell_bytes: 64 * 1024,
        max_cells: 6_000_000,
        max_line_bytes: 8 * MIB as usize,
        expand_ratio: 40,
        expand_floor: 64 * MIB,
        expand_cap: 1024 * MIB,
        max_seconds: 300,
    };

    /// How far a file of `packed` bytes may expand.
    pub fn expanded_allowance(&self, packed: u64) -> u64 {
        packed
            .saturating_mul(self.expand_ratio)
            .clamp(self.expand_floor, self.expand_cap)
    }

    /// Refuses a file too large to read at all.
    pub fn check_file_size(&self, name: &str, len: u64) -> Result<(), FileError> {
        if len > self.max_file_bytes {
            return Err(FileError(format!(
                "{name} is {} and a file of this kind may be at most {}",
                human_bytes(len),
                human_bytes(self.max_file_bytes)
            )));
        }
        Ok(())
    }
}

/// Bytes as people read them: "20 MB", "1.5 GB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else if v < 10.0 && v.fract() > 0.05 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// A row or column number with thousands separators, as an error message gives it.
pub fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The time allowed for one file, checked by the readers as they go.
#[derive(Debug, Clone)]
pub struct Budget {
    pub limits: Limits,
    name: String,
    deadline: Instant,
    /// The most text the file's cells may hold together: what the file may expand to.
    pub text_allowance: u64,
    cells: std::cell::Cell<usize>,
    text: std::cell::Cell<u64>,
}

impl Budget {
    pub fn new(name: &str, limits: &Limits) -> Budget {
        Budget {
            limits: *limits,
            name: name.to_string(),
            deadline: Instant::now() + Duration::from_secs(limits.max_seconds),
            text_allowance: limits.expand_cap,
            cells: Default::default(),
            text: Default::default(),
        }
    }

    /// The budget for a file of `len` bytes: its cells together hold no more text than the
    /// file may expand to.
    pub fn for_file(name: &str, limits: &Limits, len: usize) -> Budget {
        Budget {
            text_allowance: limits.expanded_allowance(len as u64),
            ..Budget::new(name, limits)
        }
    }

    /// Refuses now a file that would pass the cell limit with `more` cells (an ODS row
    /// repeated many times), before they are made.
    pub fn cells_ahead(&self, more: usize) -> Result<(), FileError> {
        if self.cells.get().saturating_add(more) > self.limits.max_cells {
            return Err(self.too_many_cells());
        }
        Ok(())
    }

    fn too_many_cells(&self) -> FileError {
        FileError(format!(
            "{} holds more than {} cells with values: more than a file of this kind can hold (is a value repeated across the whole sheet?)",
            self.name,
            grouped(self.limits.max_cells)
        ))
    }

    /// Counts one more cell of `bytes` against the file's totals.
    pub fn spend(&self, bytes: usize) -> Result<(), FileError> {
        let cells = self.cells.get() + 1;
        let text = self.text.get() + bytes as u64;
        self.cells.set(cells);
        self.text.set(text);
        if cells > self.limits.max_cells {
            return Err(self.too_many_cells());
        }
        if text > self.text_allowance {
            return Err(FileError(format!(
                "{} is refused: its cells hold more than {} of text, far more than a file of its size holds",
                self.name,
                human_bytes(self.text_allowance)
            )));
        }
        Ok(())
    }

    pub fn check_time(&self) -> Result<(), FileError> {
        if Instant::now() > self.deadline {
            return Err(FileError(format!(
                "{} took longer than {} seconds to read and was stopped: is it far larger than it looks?",
                self.name, self.limits.max_seconds
            )));
        }
        Ok(())
    }

    pub fn too_many_rows(&self, row: usize) -> FileError {
        FileError(format!(
            "{} has data in row {}: at most {} rows are read from a file of this kind. Delete the rows below your data (or split the file) and try again",
            self.name,
            grouped(row),
            grouped(self.limits.max_rows)
        ))
    }

    pub fn too_many_columns(&self, row: usize, col: usize) -> FileError {
        FileError(format!(
            "{} has data in column {} (row {}): at most {} columns are read from a file of this kind",
            self.name,
            column_name(col),
            grouped(row),
            grouped(self.limits.max_columns)
        ))
    }

    pub fn cell_too_long(&self, row: usize, col: usize, len: usize) -> FileError {
        FileError(format!(
            "{}: the cell in row {}, column {} holds {} or more; a cell may hold at most {}",
            self.name,
            grouped(row),
            column_name(col),
            human_bytes(len as u64),
            human_bytes(self.limits.max_cell_bytes as u64)
        ))
    }
}

/// A spreadsheet's column letters for a 0-based column: 0 is A, 26 is AA, 16383 is XFD.
pub fn column_name(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

/// A reader that fails once more than `allowed` bytes have come through it: the
/// decompressed side of a gzip stream or an archive entry.
pub struct Capped<R> {
    inner: R,
    read: u64,
    allowed: u64,
}

impl<R: Read> Capped<R> {
    pub fn new(inner: R, allowed: u64) -> Capped<R> {
        Capped {
            inner,
            read: 0,
            allowed,
        }
    }
}

/// The error a [`Capped`] reader gives, recognised by [`expanded_error`].
#[derive(Debug)]
pub struct ExpandedTooFar(pub u64);

impl std::fmt::Display for ExpandedTooFar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expands beyond {}", human_bytes(self.0))
    }
}

impl std::error::Error for ExpandedTooFar {}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.allowed {
            return Err(std::io::Error::other(ExpandedTooFar(self.allowed)));
        }
        Ok(n)
    }
}

/// Turns a read error into the message a person gets: a decompression bomb says so.
pub fn expanded_error(name: &str, what: &str, e: &std::io::Error) -> FileError {
    if let Some(ExpandedTooFar(allowed)) = e.get_ref().and_then(|x| x.downcast_ref()) {
        return FileError(format!(
            "{name} is refused: it expands to more than {} when opened, far more than a file of its size holds (is it a compression bomb?)",
            human_bytes(*allowed)
        ));
    }
    FileError(format!("{name} {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_and_numbers() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(9), "J");
        assert_eq!(column_name(16383), "XFD");
        assert_eq!(grouped(1_048_576), "1,048,576");
        assert_eq!(grouped(999), "999");
        assert_eq!(human_bytes(20 * MIB), "20 MB");
        assert_eq!(human_bytes(1536), "1.5 KB");
    }

    #[test]
    fn allowance_follows_the_file_size() {
        let l = Limits::COUNCIL;
        assert_eq!(l.expanded_allowance(1_600), 32 * MIB);
        assert_eq!(l.expanded_allowance(2 * MIB), 80 * MIB);
        assert_eq!(l.expanded_allowance(100 * MIB), 256 * MIB);
    }

    #[test]
    fn capped_reader_stops() {
        let data = vec![0u8; 10_000];
        let mut r = Capped::new(&data[..], 4_000);
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert!(
            expanded_error("x.gz", "cannot be read", &e)
                .0
                .contains("bomb")
        );
    }
}

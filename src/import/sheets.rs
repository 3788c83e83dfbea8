//! Spreadsheets read cell by cell. calamine's `worksheet_range` builds a dense grid from the
//! first to the last cell, so a sheet with one value at A1 and one at XFD1048576 asks for
//! seventeen billion cells and the process aborts; here XLSX and XLSB are read through
//! calamine's cell readers and ODS through our own streaming reader of `content.xml`, and
//! each cell goes into a [`Grid`] that refuses the file at the first limit it passes.

use std::io::{BufReader, Cursor};

use calamine::{DataRef, Reader};
use quick_xml::events::{BytesStart, Event};

use super::limits::{Budget, Capped, expanded_error};
use super::{FileError, Grid, GridBuilder};

/// Opens an archive that is a spreadsheet: XLSX, XLSB or ODS, told apart by their parts.
pub fn open_zip(name: &str, bytes: &[u8], budget: &Budget) -> Result<Vec<Grid>, FileError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FileError(format!("{name} is damaged or incomplete: {e}")))?;
    let has = |part: &str| archive.index_for_name(part).is_some();
    let grids = if has("content.xml") && !has("xl/workbook.xml") {
        ods(name, archive, bytes.len() as u64, budget)?
    } else if has("xl/workbook.bin") {
        xlsb(name, bytes, budget)?
    } else if has("xl/workbook.xml") || has("[Content_Types].xml") {
        xlsx(name, bytes, budget)?
    } else {
        return Err(FileError(format!(
            "{name} is a ZIP archive but not a spreadsheet (XLSX or ODS)"
        )));
    };
    if grids.is_empty() {
        return Err(FileError(format!("{name} has no sheets")));
    }
    Ok(grids)
}

fn not_readable(name: &str, e: impl std::fmt::Display) -> FileError {
    FileError(format!(
        "{name} cannot be read as a spreadsheet (XLSX or ODS): {e}"
    ))
}

fn xlsx(name: &str, bytes: &[u8], budget: &Budget) -> Result<Vec<Grid>, FileError> {
    let mut wb = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| not_readable(name, e))?;
    let mut grids = Vec::new();
    for sheet in wb.sheet_names().to_vec() {
        let mut cells = match wb.worksheet_cells_reader(&sheet) {
            Ok(c) => c,
            // A chart sheet holds no cells.
            Err(calamine::XlsxError::NotAWorksheet(_)) => continue,
            Err(e) => return Err(sheet_error(name, &sheet, e)),
        };
        grids.push(read_cells(name, &sheet, budget, || cells.next_cell())?);
    }
    Ok(grids)
}

fn xlsb(name: &str, bytes: &[u8], budget: &Budget) -> Result<Vec<Grid>, FileError> {
    let mut wb = calamine::Xlsb::new(Cursor::new(bytes)).map_err(|e| not_readable(name, e))?;
    let mut grids = Vec::new();
    for sheet in wb.sheet_names().to_vec() {
        let mut cells = wb
            .worksheet_cells_reader(&sheet)
            .map_err(|e| sheet_error(name, &sheet, e))?;
        grids.push(read_cells(name, &sheet, budget, || cells.next_cell())?);
    }
    Ok(grids)
}

/// One sheet from a calamine cell reader (`next` gives its cells in turn) into a grid.
fn read_cells<'a, E: std::fmt::Display>(
    name: &str,
    sheet: &str,
    budget: &Budget,
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
) -> Result<Grid, FileError> {
    let mut grid = GridBuilder::new(budget, Some(sheet.to_string()));
    while let Some(cell) = next().map_err(|e| sheet_error(name, sheet, e))? {
        let (r, c) = cell.get_position();
        push_value(&mut grid, r, c, cell.get_value())?;
    }
    Ok(grid.finish())
}

fn sheet_error(name: &str, sheet: &str, e: impl std::fmt::Display) -> FileError {
    FileError(format!("{name}: sheet {sheet:?} cannot be read: {e}"))
}

fn push_value(grid: &mut GridBuilder, r: u32, c: u32, v: &DataRef) -> Result<(), FileError> {
    let (r, c) = (r as usize, c as usize);
    match v {
        DataRef::Empty => Ok(()),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            grid.push(r, c, s)
        }
        DataRef::SharedString(s) => grid.push(r, c, s),
        DataRef::Int(i) => grid.push(r, c, &i.to_string()),
        DataRef::Float(f) => grid.push(r, c, &number_text(*f)),
        DataRef::Bool(b) => grid.push(r, c, if *b { "TRUE" } else { "FALSE" }),
        DataRef::DateTime(dt) => {
            // calamine knows the workbook's date system (1900 or 1904) and gives the date
            // itself; the serial alone would be four years off in a 1904 workbook.
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            let text = match chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32) {
                Some(date) => date.to_string(),
                None => dt.as_f64().to_string(),
            };
            grid.push(r, c, &text)
        }
        DataRef::Error(e) => grid.push(r, c, &format!("#{e:?}")),
    }
}

/// A number as a spreadsheet shows it: whole numbers without ".0".
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// Reads `content.xml` of an OpenDocument spreadsheet as a stream. Repeated rows and columns
/// (`number-rows-repeated`, `number-columns-repeated`, which LibreOffice writes for the
/// million empty rows below the data) cost nothing unless they hold a value, and then count
/// towards the limits like any other cell.
fn ods(
    name: &str,
    mut archive: zip::ZipArchive<Cursor<&[u8]>>,
    packed: u64,
    budget: &Budget,
) -> Result<Vec<Grid>, FileError> {
    // The archive's directory was checked against the allowance already and the ZIP reader
    // refuses an entry longer than it declared; this is the last word on it all the same.
    let allowed = budget.limits.expanded_allowance(packed);
    let entry = archive
        .by_name("content.xml")
        .map_err(|e| not_readable(name, e))?;
    let stream = BufReader::new(Capped::new(entry, allowed));
    let mut xml = quick_xml::Reader::from_reader(stream);
    xml.config_mut().expand_empty_elements = true;
    xml.config_mut().trim_text(false);
    let xml_err = |e: quick_xml::Error| match &e {
        quick_xml::Error::Io(io) => expanded_error(name, "cannot be read", io.as_ref()),
        _ => not_readable(name, e),
    };

    let mut grids = Vec::new();
    let mut buf = Vec::new();
    let mut sheet: Option<Sheet> = None;
    let mut events = 0usize;
    loop {
        buf.clear();
        events += 1;
        if events.is_multiple_of(16_384) {
            budget.check_time()?;
        }
        match xml.read_event_into(&mut buf).map_err(xml_err)? {
            Event::Start(e) => match e.name().as_ref() {
                "table:table" if sheet.is_none() => {
                    let title = attr(&e, "table:name").unwrap_or_default();
                    sheet = Some(Sheet::new(budget, title));
                }
                "table:table-row" => {
                    if let Some(s) = sheet.as_mut() {
                        s.start_row(repeat(&e, "table:number-rows-repeated"));
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    if let Some(s) = sheet.as_mut() {
                        let times = repeat(&e, "table:number-columns-repeated");
                        let value = cell_value(&mut xml, &e, name, budget, s.row, s.col)?;
                        s.cell(value, times)?;
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                "table:table-row" => {
                    if let Some(s) = sheet.as_mut() {
                        s.end_row()?;
                    }
                }
                "table:table" => {
                    if let Some(s) = sheet.take() {
                        grids.push(s.grid.finish());
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(grids)
}

/// One sheet of an ODS file being read.
struct Sheet<'b> {
    grid: GridBuilder<'b>,
    budget: &'b Budget,
    /// The row (0-based) the current `table-row` starts at, and how many times it repeats.
    row: usize,
    row_times: usize,
    col: usize,
    /// The current row's values by column, repeated into the grid when the row ends.
    values: Vec<(usize, String)>,
}

impl<'b> Sheet<'b> {
    fn new(budget: &'b Budget, title: String) -> Sheet<'b> {
        Sheet {
            grid: GridBuilder::new(budget, Some(title)),
            budget,
            row: 0,
            row_times: 1,
            col: 0,
            values: Vec::new(),
        }
    }

    fn start_row(&mut self, times: usize) {
        self.row_times = times.max(1);
        self.col = 0;
        self.values.clear();
    }

    fn cell(&mut self, value: Option<String>, times: usize) -> Result<(), FileError> {
        let times = times.max(1);
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let limits = &self.budget.limits;
            if self.col.saturating_add(times) > limits.max_columns {
                return Err(self
                    .budget
                    .too_many_columns(self.row + 1, limits.max_columns));
            }
            self.budget.cells_ahead(self.values.len() + times)?;
            for k in 0..times {
                self.values.push((self.col + k, v.clone()));
            }
        }
        self.col = self.col.saturating_add(times);
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), FileError> {
        if !self.values.is_empty() {
            if self.row.saturating_add(self.row_times) > self.budget.limits.max_rows {
                return Err(self
                    .budget
                    .too_many_rows(self.row.saturating_add(self.row_times).min(usize::MAX - 1)));
            }
            self.budget
                .cells_ahead(self.values.len().saturating_mul(self.row_times))?;
            for k in 0..self.row_times {
                for (c, v) in &self.values {
                    self.grid.push(self.row + k, *c, v)?;
                }
            }
        }
        self.row = self.row.saturating_add(self.row_times);
        self.values.clear();
        Ok(())
    }
}

fn attr(e: &BytesStart, key: &str) -> Option<String> {
    e.try_get_attribute(key).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

fn repeat(e: &BytesStart, key: &str) -> usize {
    attr(e, key)
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
}

/// A cell's value as text: numbers from `office:value`, dates from `office:date-value`,
/// booleans, and strings from the paragraphs inside (one line each; `text:s` spaces, tabs
/// and line breaks kept; notes left out). The reader is left after the cell's end.
fn cell_value<R: std::io::BufRead>(
    xml: &mut quick_xml::Reader<R>,
    start: &BytesStart,
    name: &str,
    budget: &Budget,
    row: usize,
    col: usize,
) -> Result<Option<String>, FileError> {
    let kind = attr(start, "office:value-type");
    let attribute_value = match kind.as_deref() {
        Some("float") | Some("percentage") | Some("currency") => {
            attr(start, "office:value").map(|v| match v.trim().parse::<f64>() {
                Ok(f) => number_text(f),
                Err(_) => v,
            })
        }
        Some("date") => attr(start, "office:date-value"),
        Some("time") => attr(start, "office:time-value"),
        Some("boolean") => attr(start, "office:boolean-value").map(|v| {
            if v.eq_ignore_ascii_case("true") {
                "TRUE".to_string()
            } else {
                "FALSE".to_string()
            }
        }),
        Some("string") => attr(start, "office:string-value"),
        _ => None,
    };
    let cell_tag = start.name().as_ref().to_string();
    let mut text = String::new();
    let mut paragraphs = 0usize;
    let mut depth_note = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let ev = xml
            .read_event_into(&mut buf)
            .map_err(|e| not_readable(name, e))?;
        match ev {
            Event::Start(e) => match e.name().as_ref() {
                "office:annotation" => depth_note += 1,
                _ if depth_note > 0 => {}
                "text:p" | "text:h" => {
                    if paragraphs > 0 {
                        text.push('\n');
                    }
                    paragraphs += 1;
                }
                "text:s" => {
                    let n = repeat(&e, "text:c").min(1024);
                    text.extend(std::iter::repeat_n(' ', n));
                }
                "text:tab" => text.push('\t'),
                "text:line-break" => text.push('\n'),
                _ => {}
            },
            Event::End(e) => {
                let n = e.name();
                if n.as_ref() == cell_tag {
                    break;
                }
                if n.as_ref() == "office:annotation" {
                    depth_note = depth_note.saturating_sub(1);
                }
            }
            Event::Text(t) if depth_note == 0 => text.push_str(&t.xml10_content()),
            Event::CData(t) if depth_note == 0 => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) if depth_note == 0 => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => text.push('&'),
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "quot" => text.push('"'),
                        "apos" => text.push('\''),
                        _ => {}
                    }
                }
            }
            Event::Eof => return Err(not_readable(name, "the sheet ends inside a cell")),
            _ => {}
        }
        // Stop a runaway cell as it is read, not once it is whole.
        if text.len() > budget.limits.max_cell_bytes {
            return Err(budget.cell_too_long(row + 1, col, text.len()));
        }
    }
    Ok(match attribute_value {
        Some(v) => Some(v),
        None if paragraphs > 0 || !text.is_empty() => Some(text),
        None => None,
    })
}

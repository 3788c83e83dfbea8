//! Writing data back out for spreadsheets.

pub mod pdf;

/// A value safe to open in a spreadsheet: a leading = + - @ (or tab/CR) would run as a
/// formula in Excel, so it is prefixed with an apostrophe. Negative numbers are left alone.
pub fn neutralise(s: &str) -> String {
    let risky = s.starts_with(['=', '+', '@', '\t', '\r'])
        || (s.starts_with('-') && s[1..].parse::<f64>().is_err());
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One CSV cell, quoted and neutralised.
pub fn csv_cell(s: &str) -> String {
    format!("\"{}\"", neutralise(s).replace('"', "\"\""))
}

/// One table as a page shows it, to be written as CSV or XLSX with the same numbers.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
    /// A figure with one decimal place (percentages), or empty when there is none.
    Decimal(Option<f64>),
    /// Money in pence, written as pounds with two decimals (a number in XLSX).
    Pence(i64),
    /// Any figure kept in hundredths (hours, days), written with two decimals.
    Hundredths(i64),
    /// No figure (nothing to average, say).
    Empty,
}

impl Value {
    /// The figure as a page shows it.
    pub fn shown(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Int(n) => n.to_string(),
            Value::Decimal(Some(x)) => format!("{x:.1}"),
            Value::Decimal(None) | Value::Empty => "–".into(),
            Value::Pence(p) => caremarket_core::money::pounds(*p),
            Value::Hundredths(h) => caremarket_core::money::show_hundredths(*h),
        }
    }
}

impl Table {
    pub fn to_csv(&self) -> String {
        let mut out = self
            .headers
            .iter()
            .map(|h| csv_cell(h))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    Value::Text(t) => csv_cell(t),
                    Value::Int(n) => n.to_string(),
                    Value::Decimal(Some(x)) => format!("{x:.1}"),
                    Value::Decimal(None) => String::new(),
                    Value::Empty => String::new(),
                    Value::Pence(p) | Value::Hundredths(p) => format!(
                        "{}{}.{:02}",
                        if *p < 0 { "-" } else { "" },
                        p.abs() / 100,
                        p.abs() % 100
                    ),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// An XLSX workbook with the table on one sheet: numbers as numbers, text as text (so
    /// nothing typed into caremarket can become a formula).
    pub fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let name: String = self
            .title
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
            .take(31)
            .collect();
        ws.set_name(if name.trim().is_empty() {
            "Table"
        } else {
            name.trim()
        })?;
        let bold = Format::new().set_bold();
        let one_dp = Format::new().set_num_format("0.0");
        let money = Format::new().set_num_format("0.00");
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Value::Text(t) => {
                        ws.write_string(r, c, t)?;
                    }
                    Value::Int(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    Value::Decimal(Some(x)) => {
                        ws.write_number_with_format(r, c, *x, &one_dp)?;
                    }
                    Value::Decimal(None) | Value::Empty => {}
                    // Pence to pounds for the sheet only: the figure people read, exact to
                    // the penny at two decimals.
                    Value::Pence(p) | Value::Hundredths(p) => {
                        ws.write_number_with_format(r, c, *p as f64 / 100.0, &money)?;
                    }
                }
            }
        }
        ws.autofit();
        wb.save_to_buffer()
    }
}

/// A table as a download, CSV or XLSX.
pub fn download(t: &Table, fmt: &str, name: &str) -> crate::Result<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    match fmt {
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            t.to_csv(),
        )
            .into_response()),
        "xlsx" => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.xlsx\""),
                ),
            ],
            t.to_xlsx()
                .map_err(|e| crate::AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?,
        )
            .into_response()),
        other => Err(crate::AppError::BadRequest(format!(
            "format must be csv or xlsx, not {other:?}"
        ))),
    }
}

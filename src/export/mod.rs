//! Writing data back out for spreadsheets.

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

//! Text as it arrives from people and programs: every form field, JSON string, query
//! parameter and path segment is checked once, at the edge, for characters nobody types and
//! PostgreSQL cannot store (NUL above all), so both engines refuse the same input the same
//! way instead of one storing it and the other failing with a 500.

use crate::AppError;
use crate::import::is_stray_control;

/// The longest free text any form field or JSON string may hold (every textarea says so).
pub const FREE_TEXT_LIMIT: usize = 10_000;

fn too_long(what: &str, n: usize) -> AppError {
    AppError::BadRequest(format!(
        "{what} is {n} characters long; it can be at most {FREE_TEXT_LIMIT}. Shorten it and try again."
    ))
}

fn long(s: &str) -> Option<usize> {
    (s.len() > FREE_TEXT_LIMIT)
        .then(|| s.chars().count())
        .filter(|n| *n > FREE_TEXT_LIMIT)
}

/// The first control character in `s` that has no place in text (tab and line breaks do).
pub fn stray_control(s: &str) -> Option<char> {
    s.chars().find(|c| is_stray_control(*c))
}

fn refuse(what: &str, c: char) -> AppError {
    AppError::BadRequest(format!(
        "{what} contains a control character (U+{:04X}) that cannot be stored. Remove it (it may have come from copying text out of another program) and try again.",
        c as u32
    ))
}

/// A form field's value.
pub fn check_field(name: &str, value: &str) -> Result<(), AppError> {
    if let Some(n) = long(value) {
        return Err(too_long(&format!("The field {:?}", printable(name)), n));
    }
    match stray_control(value).or_else(|| stray_control(name)) {
        Some(c) => Err(refuse(&format!("The field {:?}", printable(name)), c)),
        None => Ok(()),
    }
}

/// Every pair of a urlencoded form or query string.
pub fn check_pairs(what: &str, pairs: &[(String, String)]) -> Result<(), AppError> {
    for (k, v) in pairs {
        if let Some(n) = long(v) {
            return Err(too_long(&format!("{what} field {:?}", printable(k)), n));
        }
        if let Some(c) = stray_control(k).or_else(|| stray_control(v)) {
            return Err(refuse(&format!("{what} field {:?}", printable(k)), c));
        }
    }
    Ok(())
}

/// Every string (and key) of a JSON document, named by its JSON pointer.
pub fn check_json(v: &serde_json::Value) -> Result<(), AppError> {
    fn walk(v: &serde_json::Value, at: &mut String) -> Result<(), AppError> {
        match v {
            serde_json::Value::String(s) => {
                if let Some(n) = long(s) {
                    return Err(too_long(&format!("The JSON value at {:?}", pointer(at)), n));
                }
                match stray_control(s) {
                    Some(c) => Err(refuse(&format!("The JSON value at {:?}", pointer(at)), c)),
                    None => Ok(()),
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(item, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(k);
                    if let Some(c) = stray_control(k) {
                        return Err(refuse(&format!("The JSON key at {:?}", pointer(at)), c));
                    }
                    walk(item, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(v, &mut String::new())
}

fn pointer(at: &str) -> String {
    if at.is_empty() {
        "/".into()
    } else {
        printable(at)
    }
}

/// A name as it can be shown back: control characters written as `\u{..}`.
fn printable(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| {
            if is_stray_control(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_found_where_they_are() {
        assert!(check_field("name", "Rose Court\r\n\tannexe").is_ok());
        let e = check_field("name", "Rose\0Court").unwrap_err().to_string();
        assert!(e.contains("U+0000") && e.contains("\"name\""), "{e}");
        let v = serde_json::json!({"hours": [{"note": "ok"}, {"note": "bad\u{1}"}]});
        let e = check_json(&v).unwrap_err().to_string();
        assert!(e.contains("/hours/1/note") && e.contains("U+0001"), "{e}");
        assert!(check_pairs("The query", &[("q".into(), "a\u{7f}".into())]).is_err());
    }
}

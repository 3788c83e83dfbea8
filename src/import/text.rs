//! Text files: the encoding decided from the bytes, then CSV with its delimiter sniffed.

use super::FileError;

/// Decodes a text file: UTF-8 (BOM optional), UTF-16 with a BOM, else Windows-1252 when the
/// bytes are not valid UTF-8. NUL bytes outside UTF-16 mean it is not a text file at all.
pub fn decode<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, FileError> {
    use std::borrow::Cow;
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(name, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(name, rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(name, rest, u16::from_be_bytes).map(Cow::Owned);
    }
    if bytes.contains(&0) {
        return Err(FileError(format!(
            "{name} is not a spreadsheet or a text file: it contains NUL bytes (is it a different kind of file renamed?)"
        )));
    }
    // Valid UTF-8 is borrowed, not copied: national files are tens of MB.
    match std::str::from_utf8(bytes) {
        Ok(s) => check_text(name, s).map(|_| Cow::Borrowed(s)),
        Err(_) => {
            let text = windows_1252(bytes);
            check_text(name, &text)?;
            Ok(Cow::Owned(text))
        }
    }
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, FileError> {
    if bytes.contains(&0) {
        return Err(FileError(format!(
            "{name} is not a text file: it contains NUL bytes"
        )));
    }
    let s = std::str::from_utf8(bytes).map_err(|e| {
        FileError(format!(
            "{name} says it is UTF-8 but is not, at byte {}",
            e.valid_up_to() + 3
        ))
    })?;
    check_text(name, s)?;
    Ok(std::borrow::Cow::Borrowed(s))
}

fn utf16(name: &str, bytes: &[u8], f: fn([u8; 2]) -> u16) -> Result<String, FileError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(FileError(format!(
            "{name} is UTF-16 with an odd number of bytes: it is cut short"
        )));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    let s = String::from_utf16(&units)
        .map_err(|_| FileError(format!("{name} is not valid UTF-16 text")))?;
    if s.contains('\0') {
        return Err(FileError(format!(
            "{name} is not a text file: it contains NUL characters"
        )));
    }
    check_text(name, &s)?;
    Ok(s)
}

/// Binary junk decoded as text shows many control characters: refuse it.
fn check_text(name: &str, s: &str) -> Result<(), FileError> {
    let sample: Vec<char> = s.chars().take(64 * 1024).collect();
    let controls = sample
        .iter()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{0c}'))
        .count();
    if !sample.is_empty() && controls * 100 > sample.len() {
        return Err(FileError(format!(
            "{name} is not a spreadsheet or a text file (it looks like binary data)"
        )));
    }
    Ok(())
}

/// Windows-1252: Latin-1 with printable characters in 0x80–0x9F (the £ sign is 0xA3 in both).
pub fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

/// Parses CSV text. The delimiter (comma, semicolon or tab) is taken from the first lines;
/// quoted fields may hold line breaks; ragged rows are allowed (missing cells are empty).
pub fn parse_csv(name: &str, text: &str) -> Result<Vec<csv::StringRecord>, FileError> {
    let head: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| head.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            FileError(format!(
                "{name}: the CSV cannot be read near row {}: {e}",
                i + 1
            ))
        })?;
        rows.push(rec);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            decode("a.csv", b"\xEF\xBB\xBFLocation ID,x").unwrap(),
            "Location ID,x"
        );
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("£5,a".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode("a.csv", &utf16le).unwrap(), "£5,a");
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("£5".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode("a.csv", &utf16be).unwrap(), "£5");
        // Windows-1252: 0xA3 is £, 0x80 is €, 0x92 is a right single quote.
        assert_eq!(
            decode("a.csv", b"\xA3100 \x80 it\x92s").unwrap(),
            "£100 € it’s"
        );
        assert!(decode("a.csv", b"a,b\x00c").unwrap_err().0.contains("NUL"));
        assert!(
            decode("a.csv", b"\x01\x02\x03\x04\x05\x06\x07\x08garbage")
                .unwrap_err()
                .0
                .contains("binary")
        );
    }

    #[test]
    fn csv_delimiters_quotes_and_ragged_rows() {
        let rows = parse_csv("a.csv", "a;b;c\n1;\"two\nlines\";3\n4;5").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[1][1], "two\nlines");
        assert_eq!(rows[2].len(), 2);
    }
}

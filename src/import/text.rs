//! Text files, read as streams: gzip unpacked within the file's allowance, the encoding
//! decided from the bytes (UTF-8 with or without BOM, UTF-16 with a BOM, or Windows-1252
//! when that is plausible), then CSV with its delimiter sniffed, or JSON lines.

use std::io::{BufRead, BufReader, Read};

use super::limits::{Budget, Capped, Limits, expanded_error};
use super::{FileError, Grid, GridBuilder, Sniffed, sniff};

const CHUNK: usize = 64 * 1024;

/// The file's content as a stream: gzip unpacked (never beyond the file's allowance), other
/// bytes as they are.
pub fn expanded<'a>(bytes: &'a [u8], limits: &Limits) -> Box<dyn Read + 'a> {
    if sniff(bytes) == Sniffed::Gzip {
        let allowed = limits.expanded_allowance(bytes.len() as u64);
        Box::new(Capped::new(
            flate2::read::MultiGzDecoder::new(bytes),
            allowed,
        ))
    } else {
        Box::new(bytes)
    }
}

/// The first bytes of a gzip file's content (to tell a gzipped spreadsheet from text).
pub fn gzip_head(name: &str, bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    let mut head = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|e| FileError(format!("{name} is a damaged gzip file: {e}")))?;
    Ok(head)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8 { bom: bool },
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Encoding {
    fn bom_len(self) -> usize {
        match self {
            Encoding::Utf8 { bom: true } => 3,
            Encoding::Utf16Le | Encoding::Utf16Be => 2,
            _ => 0,
        }
    }
}

/// Bytes Windows-1252 leaves undefined: a file holding them was written in something else.
fn undefined_in_1252(b: u8) -> bool {
    matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D)
}

/// Reads the whole content once (streamed, nothing kept) and decides its encoding, or
/// refuses it: NUL bytes, binary data, text that is mostly UTF-8 but broken, and text in
/// an encoding that is neither UTF-8, UTF-16 nor plausibly Windows-1252.
pub fn inspect(name: &str, bytes: &[u8], limits: &Limits) -> Result<Encoding, FileError> {
    let mut r = expanded(bytes, limits);
    let read_err = |e: std::io::Error| expanded_error(name, "cannot be read", &e);
    let mut buf = vec![0u8; CHUNK];
    let mut first = 0;
    // Enough for the byte order mark even if the stream gives a byte at a time.
    while first < 4 {
        let n = r.read(&mut buf[first..]).map_err(read_err)?;
        if n == 0 {
            break;
        }
        first += n;
    }
    let head = &buf[..first];
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        // Said to be UTF-8: it must be, all of it.
        let s = Stats::scan(&mut r, &buf[3..first], name)?;
        if let Some(at) = s.first_invalid {
            return Err(FileError(format!(
                "{name} says it is UTF-8 but is not, at byte {} (line {})",
                at + 3,
                s.invalid_line
            )));
        }
        if s.nul {
            return Err(FileError(format!(
                "{name} is not a text file: it contains NUL bytes"
            )));
        }
        s.check_binary(name)?;
        return Ok(Encoding::Utf8 { bom: true });
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        let le = head[0] == 0xFF;
        // Look at the first units for binary junk; validity is checked as it is read.
        let units: Vec<u16> = head[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        let controls = units
            .iter()
            .filter(|&&u| u < 0x20 && !matches!(u, 0x09 | 0x0A | 0x0C | 0x0D))
            .count();
        if !units.is_empty() && controls * 100 > units.len() {
            return Err(binary(name));
        }
        return Ok(if le {
            Encoding::Utf16Le
        } else {
            Encoding::Utf16Be
        });
    }
    let s = Stats::scan(&mut r, head, name)?;
    if s.nul {
        return Err(FileError(format!(
            "{name} is not a spreadsheet or a text file: it contains NUL bytes (is it a different kind of file renamed, or UTF-16 text without its byte order mark?)"
        )));
    }
    s.check_binary(name)?;
    let Some(at) = s.first_invalid else {
        return Ok(Encoding::Utf8 { bom: false });
    };
    if s.utf8_multibyte > s.invalid {
        return Err(FileError(format!(
            "{name} is UTF-8 text with broken characters: byte {at} (line {}) is not UTF-8. Save it again as \"CSV UTF-8\" and try again",
            s.invalid_line
        )));
    }
    // Windows-1252 text (Excel's "CSV" on a UK PC) has a few high bytes here and there: £,
    // é, curly quotes. Text in another encoding (Cyrillic, Chinese, Japanese...) has words
    // made wholly of them, and often bytes Windows-1252 does not define.
    let implausible =
        s.undefined_1252 > 0 || (s.long_runs >= 3 && s.long_run_bytes * 4 >= s.high_bytes);
    if implausible {
        return Err(FileError(format!(
            "{name} is in a character encoding caremarket cannot read: it is neither UTF-8, UTF-16 nor Windows-1252 text (line {} is the first that is not UTF-8). Save it as \"CSV UTF-8\" and try again",
            s.invalid_line
        )));
    }
    Ok(Encoding::Windows1252)
}

fn binary(name: &str) -> FileError {
    FileError(format!(
        "{name} is not a spreadsheet or a text file (it looks like binary data)"
    ))
}

#[derive(Default)]
struct Stats {
    nul: bool,
    sampled: usize,
    sample_controls: usize,
    high_bytes: usize,
    undefined_1252: usize,
    long_runs: usize,
    long_run_bytes: usize,
    utf8_multibyte: usize,
    invalid: usize,
    first_invalid: Option<usize>,
    invalid_line: usize,
}

impl Stats {
    fn scan(r: &mut dyn Read, first: &[u8], name: &str) -> Result<Stats, FileError> {
        let mut s = Stats::default();
        let mut run = 0usize;
        let mut offset = 0usize;
        let mut lines = 1usize;
        let mut carry: Vec<u8> = Vec::new();
        let mut work: Vec<u8> = first.to_vec();
        let mut buf = vec![0u8; CHUNK];
        loop {
            // Byte statistics over this chunk.
            for &b in &work {
                if b == 0 {
                    s.nul = true;
                }
                if s.sampled < 64 * 1024 {
                    s.sampled += 1;
                    if b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0C) {
                        s.sample_controls += 1;
                    }
                }
                if b >= 0x80 {
                    s.high_bytes += 1;
                    run += 1;
                    if undefined_in_1252(b) {
                        s.undefined_1252 += 1;
                    }
                } else {
                    if run >= 3 {
                        s.long_runs += 1;
                        s.long_run_bytes += run;
                    }
                    run = 0;
                }
            }
            // UTF-8 validity, carrying a character cut by the chunk's end.
            let mut data = std::mem::take(&mut carry);
            data.extend_from_slice(&work);
            let base = offset - (data.len() - work.len());
            let mut pos = 0;
            while pos < data.len() {
                match std::str::from_utf8(&data[pos..]) {
                    Ok(v) => {
                        s.utf8_multibyte += v.bytes().filter(|b| *b >= 0xC0).count();
                        lines += v.bytes().filter(|b| *b == b'\n').count();
                        pos = data.len();
                    }
                    Err(e) => {
                        let good = &data[pos..pos + e.valid_up_to()];
                        s.utf8_multibyte += good.iter().filter(|b| **b >= 0xC0).count();
                        lines += good.iter().filter(|b| **b == b'\n').count();
                        pos += e.valid_up_to();
                        match e.error_len() {
                            Some(n) => {
                                s.invalid += 1;
                                if s.first_invalid.is_none() {
                                    s.first_invalid = Some(base + pos);
                                    s.invalid_line = lines;
                                }
                                lines += data[pos..pos + n].iter().filter(|b| **b == b'\n').count();
                                pos += n;
                            }
                            None => {
                                carry = data[pos..].to_vec();
                                pos = data.len();
                            }
                        }
                    }
                }
            }
            offset += work.len();
            let n = r
                .read(&mut buf)
                .map_err(|e| expanded_error(name, "cannot be read", &e))?;
            if n == 0 {
                break;
            }
            work.clear();
            work.extend_from_slice(&buf[..n]);
        }
        if run >= 3 {
            s.long_runs += 1;
            s.long_run_bytes += run;
        }
        if !carry.is_empty() {
            s.invalid += 1;
            if s.first_invalid.is_none() {
                s.first_invalid = Some(offset - carry.len());
                s.invalid_line = lines;
            }
        }
        Ok(s)
    }

    /// Binary junk read as text shows many control characters.
    fn check_binary(&self, name: &str) -> Result<(), FileError> {
        if self.sampled > 0 && self.sample_controls * 100 > self.sampled {
            return Err(binary(name));
        }
        Ok(())
    }
}

/// The content as UTF-8, streamed: the byte order mark skipped, UTF-16 and Windows-1252
/// converted as they are read.
pub fn decoded<'a>(
    name: &str,
    bytes: &'a [u8],
    limits: &Limits,
    enc: Encoding,
) -> Result<Box<dyn Read + 'a>, FileError> {
    let mut r = expanded(bytes, limits);
    let mut bom = vec![0u8; enc.bom_len()];
    r.read_exact(&mut bom)
        .map_err(|e| expanded_error(name, "cannot be read", &e))?;
    Ok(match enc {
        Encoding::Utf8 { .. } => r,
        other => Box::new(Transcode {
            inner: r,
            enc: other,
            name: name.to_string(),
            out: Vec::new(),
            out_pos: 0,
            odd: None,
            high: None,
            done: false,
        }),
    })
}

/// Converts UTF-16 or Windows-1252 to UTF-8 as it is read.
struct Transcode<R> {
    inner: R,
    enc: Encoding,
    name: String,
    out: Vec<u8>,
    out_pos: usize,
    /// A UTF-16 byte whose partner is in the next chunk.
    odd: Option<u8>,
    /// A UTF-16 high surrogate whose low half is in the next chunk.
    high: Option<u16>,
    done: bool,
}

impl<R: Read> Transcode<R> {
    fn fail(&self, why: &str) -> std::io::Error {
        std::io::Error::other(FileError(format!("{} {why}", self.name)))
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let n = self.inner.read(&mut buf)?;
        self.out.clear();
        self.out_pos = 0;
        if n == 0 {
            self.done = true;
            if self.odd.is_some() {
                return Err(self.fail("is UTF-16 with an odd number of bytes: it is cut short"));
            }
            if self.high.is_some() {
                return Err(self.fail("is not valid UTF-16 text"));
            }
            return Ok(());
        }
        let bytes = &buf[..n];
        match self.enc {
            Encoding::Windows1252 => {
                let mut s = String::with_capacity(n + n / 8);
                s.extend(bytes.iter().map(|&b| windows_1252_char(b)));
                self.out = s.into_bytes();
            }
            Encoding::Utf16Le | Encoding::Utf16Be => {
                let le = self.enc == Encoding::Utf16Le;
                let mut joined: Vec<u8> = Vec::with_capacity(n + 1);
                if let Some(b) = self.odd.take() {
                    joined.push(b);
                }
                joined.extend_from_slice(bytes);
                if joined.len() % 2 == 1 {
                    self.odd = joined.pop();
                }
                let mut units: Vec<u16> = Vec::with_capacity(joined.len() / 2 + 1);
                if let Some(h) = self.high.take() {
                    units.push(h);
                }
                units.extend(joined.chunks_exact(2).map(|c| {
                    if le {
                        u16::from_le_bytes([c[0], c[1]])
                    } else {
                        u16::from_be_bytes([c[0], c[1]])
                    }
                }));
                if let Some(&last) = units.last()
                    && (0xD800..0xDC00).contains(&last)
                {
                    self.high = units.pop();
                }
                let mut s = String::with_capacity(units.len());
                for c in char::decode_utf16(units) {
                    match c {
                        Ok('\0') => {
                            return Err(self.fail("is not a text file: it contains NUL characters"));
                        }
                        Ok(c) => s.push(c),
                        Err(_) => return Err(self.fail("is not valid UTF-16 text")),
                    }
                }
                self.out = s.into_bytes();
            }
            Encoding::Utf8 { .. } => unreachable!("UTF-8 is not transcoded"),
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// A read error as the person is told it: our own refusals as they are, a bomb as a bomb.
fn read_error(name: &str, e: std::io::Error) -> FileError {
    if let Some(fe) = e.get_ref().and_then(|x| x.downcast_ref::<FileError>()) {
        return fe.clone();
    }
    expanded_error(name, "cannot be read", &e)
}

/// The whole text of a small file (decoded as [`inspect`] decides).
pub fn decode<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, FileError> {
    let limits = Limits::COUNCIL;
    let enc = inspect(name, bytes, &limits)?;
    if sniff(bytes) != Sniffed::Gzip
        && let Encoding::Utf8 { bom } = enc
    {
        let body = &bytes[if bom { 3 } else { 0 }..];
        return Ok(std::borrow::Cow::Borrowed(
            std::str::from_utf8(body).expect("checked as UTF-8 by inspect"),
        ));
    }
    let mut s = String::new();
    decoded(name, bytes, &limits, enc)?
        .read_to_string(&mut s)
        .map_err(|e| read_error(name, e))?;
    Ok(std::borrow::Cow::Owned(s))
}

/// Windows-1252: Latin-1 with printable characters in 0x80–0x9F (the £ sign is 0xA3 in both).
pub fn windows_1252(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| windows_1252_char(b)).collect()
}

fn windows_1252_char(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// Reads CSV into a grid. The delimiter (comma, semicolon or tab) is taken from the first
/// lines; quoted fields may hold line breaks; ragged rows are allowed (missing cells are
/// empty); blank lines are skipped. Every limit is checked as the file streams by, so a
/// file of ten million rows or a cell of 50 MB stops at the first one it passes.
pub fn csv_grid(name: &str, bytes: &[u8], budget: &Budget) -> Result<Grid, FileError> {
    let limits = budget.limits;
    let enc = inspect(name, bytes, &limits)?;
    let mut r = decoded(name, bytes, &limits, enc)?;
    let rerr = |e: std::io::Error| read_error(name, e);

    // The first lines decide the delimiter.
    let mut input = vec![0u8; CHUNK];
    let mut have = 0;
    while have < input.len() {
        let n = r.read(&mut input[have..]).map_err(rerr)?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let head = String::from_utf8_lossy(&input[..have]);
    let head: String = head.lines().take(20).collect::<Vec<_>>().join("\n");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| head.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');

    let mut rdr = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut grid = GridBuilder::new(budget, None);
    let mut field = vec![0u8; 1024];
    let mut flen = 0usize;
    let (mut row, mut col) = (0usize, 0usize);
    let mut start = 0usize;
    let mut end = have;
    let mut eof = have == 0;
    loop {
        if start == end && !eof {
            let n = r.read(&mut input).map_err(rerr)?;
            budget.check_time()?;
            start = 0;
            end = n;
            eof = n == 0;
        }
        let (res, nin, nout) = rdr.read_field(&input[start..end], &mut field[flen..]);
        start += nin;
        flen += nout;
        match res {
            csv_core::ReadFieldResult::InputEmpty => {}
            csv_core::ReadFieldResult::OutputFull => {
                if flen > limits.max_cell_bytes {
                    return Err(budget.cell_too_long(row + 1, col, flen));
                }
                let grown = (field.len() * 2).min(limits.max_cell_bytes + 2);
                field.resize(grown.max(field.len() + 1), 0);
            }
            csv_core::ReadFieldResult::Field { record_end } => {
                if flen > limits.max_cell_bytes {
                    return Err(budget.cell_too_long(row + 1, col, flen));
                }
                grid.touch_row(row)?;
                // Split at ASCII delimiters, a field of UTF-8 text is UTF-8.
                let value = std::str::from_utf8(&field[..flen])
                    .map_err(|_| FileError(format!("{name}: row {} is not text", row + 1)))?;
                grid.push(row, col, value)?;
                flen = 0;
                col += 1;
                if record_end {
                    row += 1;
                    col = 0;
                }
            }
            csv_core::ReadFieldResult::End => break,
        }
    }
    Ok(grid.finish())
}

/// Calls `each` with every line of a JSON lines file (1-based line number and the line
/// without its line break), within the limits: at most `max_rows` lines of at most
/// `max_line_bytes` each.
pub fn for_each_line(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    mut each: impl FnMut(usize, &str) -> Result<(), FileError>,
) -> Result<(), FileError> {
    let enc = inspect(name, bytes, limits)?;
    let budget = Budget::new(name, limits);
    let mut r = BufReader::with_capacity(CHUNK, decoded(name, bytes, limits, enc)?);
    let mut line: Vec<u8> = Vec::new();
    let mut number = 0usize;
    let mut finish_line = |line: &mut Vec<u8>, number: &mut usize| -> Result<(), FileError> {
        *number += 1;
        if *number > limits.max_rows {
            return Err(budget.too_many_rows(*number));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| FileError(format!("{name}: line {number} is not text")))?;
        each(*number, text)?;
        line.clear();
        if (*number).is_multiple_of(1024) {
            budget.check_time()?;
        }
        Ok(())
    };
    loop {
        let buf = r.fill_buf().map_err(|e| read_error(name, e))?;
        if buf.is_empty() {
            if !line.is_empty() {
                finish_line(&mut line, &mut number)?;
            }
            return Ok(());
        }
        let (take, newline) = match memchr_newline(buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let part = &buf[..if newline { take - 1 } else { take }];
        if line.len() + part.len() > limits.max_line_bytes {
            return Err(FileError(format!(
                "{name}: line {} is longer than {}, more than any one record can be",
                number + 1,
                super::limits::human_bytes(limits.max_line_bytes as u64)
            )));
        }
        line.extend_from_slice(part);
        r.consume(take);
        if newline {
            finish_line(&mut line, &mut number)?;
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &[u8]) -> Result<Grid, FileError> {
        csv_grid("a.csv", text, &Budget::new("a.csv", &Limits::COUNCIL))
    }

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
            decode("a.csv", b"\xEF\xBB\xBFa,b\x00c")
                .unwrap_err()
                .0
                .contains("NUL")
        );
        assert!(
            decode("a.csv", b"\x01\x02\x03\x04\x05\x06\x07\x08garbage")
                .unwrap_err()
                .0
                .contains("binary")
        );
    }

    #[test]
    fn text_in_other_encodings_is_refused() {
        // Russian in Windows-1251 ("Дом престарелых", a care home) and Japanese in
        // Shift-JIS: words made of high bytes are not Windows-1252.
        let cp1251: &[u8] = b"name,beds\n\xc4\xee\xec \xef\xf0\xe5\xf1\xf2\xe0\xf0\xe5\xeb\xfb\xf5,40\n\xc4\xee\xec \xe4\xeb\xff \xef\xee\xe6\xe8\xeb\xfb\xf5,20\n";
        let e = decode("ru.csv", cp1251).unwrap_err();
        assert!(
            e.0.contains("neither UTF-8, UTF-16 nor Windows-1252"),
            "{e}"
        );
        let sjis: &[u8] = b"name\n\x89\xee\x8c\xec\x83\x7a\x81\x5b\x83\x80\n\x93\xfa\x96\x7b\n";
        assert!(decode("jp.csv", sjis).is_err());
        // UTF-8 with one broken byte says where it is.
        let e = decode("u.csv", b"a,b\ncaf\xc3\xa9,1\ncr\xc3\xa8me,2\n\xffx\n").unwrap_err();
        assert!(e.0.contains("line 4"), "{e}");
        // Windows-1252 text with a few £ and é stays readable.
        assert_eq!(
            decode("w.csv", b"home,fee\nCaf\xe9 Lodge,\xa3812\n").unwrap(),
            "home,fee\nCafé Lodge,£812\n"
        );
    }

    #[test]
    fn utf16_is_streamed_across_chunks() {
        let text: String = "Résidence £5,\u{1F600} a\n".repeat(20_000);
        let bytes: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode("a.csv", &bytes).unwrap(), text);
        let mut cut = bytes.clone();
        cut.pop();
        assert!(decode("a.csv", &cut).unwrap_err().0.contains("odd number"));
    }

    #[test]
    fn csv_delimiters_quotes_and_ragged_rows() {
        let g = grid(b"a;b;c\n1;\"two\nlines\";3\n4;5").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g.cell(1, 1), "two\nlines");
        assert_eq!(g.row(2).len(), 2);
        assert_eq!(g.row(0), vec!["a", "b", "c"]);
    }

    #[test]
    fn csv_limits_stop_the_read() {
        let many = "x\n".repeat(Limits::COUNCIL.max_rows + 1);
        let e = grid(many.as_bytes()).unwrap_err();
        assert!(e.0.contains("row 100,001"), "{e}");
        let wide = format!("{}x\n", ",".repeat(Limits::COUNCIL.max_columns));
        assert!(grid(wide.as_bytes()).unwrap_err().0.contains("column"));
        let long = format!("a,{}\n", "y".repeat(Limits::COUNCIL.max_cell_bytes + 1));
        let e = grid(long.as_bytes()).unwrap_err();
        assert!(e.0.contains("row 1, column B"), "{e}");
    }

    #[test]
    fn a_file_that_takes_too_long_is_stopped() {
        let limits = Limits {
            max_seconds: 0,
            ..Limits::COUNCIL
        };
        let rows = "a,b\n".repeat(50_000);
        let e = csv_grid(
            "slow.csv",
            rows.as_bytes(),
            &Budget::new("slow.csv", &limits),
        )
        .unwrap_err();
        assert!(e.0.contains("took longer than 0 seconds"), "{e}");
    }

    #[test]
    fn gzip_is_streamed_within_its_allowance() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b'\n'; 40 * 1024 * 1024]).unwrap();
        let gz = z.finish().unwrap();
        let e = grid(&gz).unwrap_err();
        assert!(e.0.contains("bomb"), "{e}");
    }

    #[test]
    fn json_lines_are_bounded() {
        let mut seen = vec![];
        for_each_line("a.jsonl", b"{}\r\n\n{\"a\":1}", &Limits::COUNCIL, |n, l| {
            seen.push((n, l.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![(1, "{}".into()), (2, "".into()), (3, "{\"a\":1}".into())]
        );
        let long = "x".repeat(Limits::COUNCIL.max_line_bytes + 1);
        assert!(
            for_each_line("a.jsonl", long.as_bytes(), &Limits::COUNCIL, |_, _| Ok(()))
                .unwrap_err()
                .0
                .contains("line 1")
        );
    }
}

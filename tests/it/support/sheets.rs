//! Building spreadsheet files for tests by hand: a tiny ZIP writer (stored or deflated
//! entries) and minimal XLSX and ODS workbooks with inline strings. Independent of the
//! readers under test.

use std::io::Write;

pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
    pub deflate: bool,
}

pub fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let mut crc = flate2::Crc::new();
        crc.update(&e.data);
        let crc = crc.sum();
        let (method, body): (u16, Vec<u8>) = if e.deflate {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&e.data).unwrap();
            (8, enc.finish().unwrap())
        } else {
            (0, e.data.clone())
        };
        let offset = out.len() as u32;
        let name = e.name.as_bytes();
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes()); // version made by
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(method.to_le_bytes());
            h.extend(0u16.to_le_bytes()); // time
            h.extend(0x21u16.to_le_bytes()); // date
            h.extend(crc.to_le_bytes());
            h.extend((body.len() as u32).to_le_bytes());
            h.extend((e.data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend(0u16.to_le_bytes()); // comment
                h.extend(0u16.to_le_bytes()); // disk
                h.extend(0u16.to_le_bytes()); // internal attrs
                h.extend(0u32.to_le_bytes()); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name);
            h
        };
        out.extend(header(0x04034b50, false));
        out.extend(&body);
        central.extend(header(0x02014b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x06054b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn entry(name: &str, data: String) -> Entry {
    Entry {
        name: name.into(),
        data: data.into_bytes(),
        deflate: true,
    }
}

/// An XLSX workbook; each sheet is a name and rows of cells (numbers stay numbers).
pub fn xlsx(sheets: &[(&str, Vec<Vec<String>>)]) -> Vec<u8> {
    let mut entries = vec![];
    let overrides: String = (1..=sheets.len())
        .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
        .collect();
    entries.push(entry("[Content_Types].xml", format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
    )));
    entries.push(entry("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into()));
    let sheet_list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (n, _))| {
            format!(
                r#"<sheet name="{}" sheetId="{}" r:id="rId{}"/>"#,
                esc(n),
                i + 1,
                i + 1
            )
        })
        .collect();
    entries.push(entry("xl/workbook.xml", format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheet_list}</sheets></workbook>"#
    )));
    let rels: String = (1..=sheets.len()).map(|i| format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#)).collect();
    entries.push(entry("xl/_rels/workbook.xml.rels", format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    )));
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in rows.iter().enumerate() {
            x.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate() {
                let col = col_name(c);
                if v.is_empty() {
                    continue;
                }
                if v.parse::<f64>().is_ok() && !v.starts_with('0') {
                    x.push_str(&format!(r#"<c r="{col}{}"><v>{v}</v></c>"#, r + 1));
                } else {
                    x.push_str(&format!(
                        r#"<c r="{col}{}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        r + 1,
                        esc(v)
                    ));
                }
            }
            x.push_str("</row>");
        }
        x.push_str("</sheetData></worksheet>");
        entries.push(entry(&format!("xl/worksheets/sheet{}.xml", i + 1), x));
    }
    zip(&entries)
}

/// An XLSX workbook of one sheet whose cells are given by reference ("A1", "XFD1048576"),
/// as a hostile file would place them: nothing in between.
pub fn xlsx_cells(cells: &[(&str, &str)]) -> Vec<u8> {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (at, v) in cells {
        let row: String = at.chars().filter(|c| c.is_ascii_digit()).collect();
        x.push_str(&format!(
            r#"<row r="{row}"><c r="{at}" t="inlineStr"><is><t>{}</t></is></c></row>"#,
            esc(v)
        ));
    }
    x.push_str("</sheetData></worksheet>");
    xlsx_with_sheet_xml(&x)
}

/// An XLSX workbook of one sheet whose worksheet XML is given as written.
pub fn xlsx_with_sheet_xml(sheet_xml: &str) -> Vec<u8> {
    let book = xlsx(&[("Sheet1", vec![])]);
    // Swap the empty sheet for this one: rebuild with the same parts.
    let out: Vec<Entry> = unzip_stored_names(&book)
        .into_iter()
        .map(|(name, data)| Entry {
            data: if name == "xl/worksheets/sheet1.xml" {
                sheet_xml.as_bytes().to_vec()
            } else {
                data
            },
            name,
            deflate: true,
        })
        .collect();
    zip(&out)
}

/// The entries of a ZIP written by [`zip`] (deflated or stored), for rebuilding.
fn unzip_stored_names(z: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut i = 0;
    while i + 30 <= z.len() && z[i..i + 4] == 0x04034b50u32.to_le_bytes() {
        let method = u16::from_le_bytes([z[i + 8], z[i + 9]]);
        let packed = u32::from_le_bytes(z[i + 18..i + 22].try_into().unwrap()) as usize;
        let name_len = u16::from_le_bytes([z[i + 26], z[i + 27]]) as usize;
        let name = String::from_utf8(z[i + 30..i + 30 + name_len].to_vec()).unwrap();
        let start = i + 30 + name_len;
        let body = &z[start..start + packed];
        let data = if method == 8 {
            let mut d = Vec::new();
            flate2::read::DeflateDecoder::new(body)
                .read_to_end(&mut d)
                .unwrap();
            d
        } else {
            body.to_vec()
        };
        out.push((name, data));
        i = start + packed;
    }
    out
}

/// An ODS workbook whose `content.xml` body (the rows of one table) is given as written.
pub fn ods_raw(table_body: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">{table_body}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    zip(&[
        Entry {
            name: "mimetype".into(),
            data: b"application/vnd.oasis.opendocument.spreadsheet".to_vec(),
            deflate: false,
        },
        entry("content.xml", content),
    ])
}

fn col_name(mut c: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (c % 26) as u8) as char);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s
}

/// An ODS workbook with one sheet.
pub fn ods(name: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut body = String::new();
    for row in rows {
        body.push_str("<table:table-row>");
        for v in row {
            body.push_str(&format!(r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#, esc(v)));
        }
        body.push_str("</table:table-row>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="{}">{body}</table:table></office:spreadsheet></office:body></office:document-content>"#,
        esc(name)
    );
    zip(&[
        Entry { name: "mimetype".into(), data: b"application/vnd.oasis.opendocument.spreadsheet".to_vec(), deflate: false },
        entry("META-INF/manifest.xml", r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#.into()),
        entry("content.xml", content),
    ])
}

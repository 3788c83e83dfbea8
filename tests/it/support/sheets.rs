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

//! Hostile files against every upload route of a real server process: each is refused with
//! a message saying which limit it passed, nothing is stored, the server keeps answering, and
//! its peak memory (VmHWM from /proc) stays bounded. The files are built here.

use std::io::Write;

use caremarket_core::Role;

use crate::support::TestApp;
use crate::support::TestDb;
use crate::support::served::Served;
use crate::support::sheets::{ods_raw, xlsx_cells};

async fn token(app: &TestApp, email: &str, role: Role, provider: Option<&str>) -> String {
    let (id, _) = app.user(email, role, provider).await;
    app.token(id).await
}

fn gzip(chunks: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for c in chunks {
        z.write_all(&c).unwrap();
    }
    z.finish().unwrap()
}

/// (token, path, form fields) of one upload route.
type Route<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

/// The largest peak the server may reach on any of these files. They are at most 50 MB as
/// sent; what matters is that none costs more than a few times its own size.
const PEAK_LIMIT_MIB: f64 = 200.0;

#[tokio::test]
async fn hostile_files_are_refused_on_every_upload_route_within_bounded_memory() {
    let db = TestDb::new().await;
    let app = TestApp::on_existing(&db.url).await;
    let provider = token(&app, "p@care.test", Role::Provider, Some("1-101")).await;
    let broker = token(&app, "b@council.test", Role::Broker, None).await;
    let commissioner = token(&app, "c@council.test", Role::Commissioner, None).await;
    let admin = token(&app, "a@council.test", Role::Admin, None).await;

    // A 1.6 KB workbook whose two cells are 17 billion cells apart, and one 10 columns wide
    // and a million rows tall.
    let far = xlsx_cells(&[("A1", "Location ID"), ("XFD1048576", "x")]);
    assert!(far.len() < 2_000, "{} bytes", far.len());
    let tall = xlsx_cells(&[("A1", "Location ID"), ("J1048576", "x")]);
    // An ODS row repeated to the bottom of the sheet, and one cell repeated across it.
    let ods_rows = ods_raw(
        r#"<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
    );
    // A few hundred bytes repeating one value over fifty million cells.
    let ods_repeated = ods_raw(
        r#"<table:table-row table:number-rows-repeated="99999"><table:table-cell table:number-columns-repeated="500" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
    );
    let ods_wide = ods_raw(
        r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
    );
    // Fifty million one-character lines, gzipped to about 100 KB.
    let lines = gzip((0..50).map(|_| b"x\n".repeat(1_000_000)));
    assert!(lines.len() < 200_000, "{} bytes", lines.len());
    // Ten million rows in 20 MB, and one cell of 50 MB.
    let rows = b"1\n".repeat(10_000_000);
    let mut cell = b"Location ID\n".to_vec();
    cell.extend(std::iter::repeat_n(b'a', 50 * 1024 * 1024));
    // An Excel 97-2003 file (the OLE header is enough to be recognised and refused).
    let mut xls = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    xls.extend([0u8; 504]);

    let server = Served::start(&db, &[]);
    let mut server = server;
    let at_start = server.peak_mib();

    let council_routes: Vec<Route> = vec![
        (provider.as_str(), "/capacity/homes/upload", vec![]),
        (provider.as_str(), "/packages/hours/import", vec![]),
        (broker.as_str(), "/capacity/placements/upload", vec![]),
        (broker.as_str(), "/brokerage/awaiting/import", vec![]),
        (commissioner.as_str(), "/quality/contracts", vec![]),
        (commissioner.as_str(), "/quality/issues/upload", vec![]),
        (
            commissioner.as_str(),
            "/sufficiency/population",
            vec![("year", "2020")],
        ),
        (commissioner.as_str(), "/sufficiency/projections", vec![]),
    ];
    let cqc_route = (admin.as_str(), "/imports", vec![("kind", "ratings")]);
    // (file, name, what the message must say, whether council routes see it at all)
    let files: Vec<(&[u8], &str, &[&str])> = vec![
        (&far, "far.xlsx", &["1,048,576"]),
        (&tall, "tall.xlsx", &["1,048,576"]),
        (&ods_rows, "rows.ods", &["1,048,576"]),
        (&ods_wide, "wide.ods", &["column"]),
        (&ods_repeated, "repeated.ods", &["cells with values"]),
        (&lines, "lines.csv.gz", &["compression bomb"]),
        (&rows, "rows.csv", &["rows are read"]),
        (
            &cell,
            "cell.csv",
            &["a cell may hold at most", "larger than this page accepts"],
        ),
        (&xls, "old.xls", &["Excel 97-2003"]),
    ];
    let mut peaks = Vec::new();
    for (bytes, name, says) in &files {
        for (token, path, fields) in council_routes.iter().chain(std::iter::once(&cqc_route)) {
            let (status, body) = server.upload(token, path, fields, name, bytes);
            assert!(
                (400..500).contains(&status),
                "{name} to {path}: status {status}: {}",
                &body[..body.len().min(400)]
            );
            assert!(
                says.iter().any(|s| body.contains(s)),
                "{name} to {path} ({status}) should say one of {says:?}: {}",
                &body[..body.len().min(2000)]
            );
            assert!(server.alive(), "the server died on {name} to {path}");
            let (ok, _) = server.request("GET", "/healthz", &[], b"");
            assert_eq!(
                ok, 200,
                "the server stopped answering after {name} to {path}"
            );
        }
        peaks.push((name.to_string(), server.peak_mib()));
    }
    let peak = server.peak_mib();
    eprintln!("server peak memory: {at_start:.0} MB at start; after each file: {peaks:?}");
    assert!(
        peak < PEAK_LIMIT_MIB,
        "peak {peak:.0} MB (after each file: {peaks:?})"
    );
    // Nothing was stored.
    for table in [
        "cqc_imports",
        "cqc_locations",
        "placements",
        "contracts",
        "delivered_hours",
        "population",
        "population_projections",
        "qa_issues",
        "awaiting_episodes",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
}

#[tokio::test]
async fn a_real_spreadsheet_still_reads_after_the_limits() {
    // The limits are on values, not on the formatting spreadsheets carry: a sheet whose
    // dimension says XFD1048576 and whose rows below the data are styled but empty reads
    // as its data.
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>"#,
    );
    x.push_str(r#"<row r="3"><c r="B3" t="inlineStr"><is><t>Location ID</t></is></c><c r="C3" t="inlineStr"><is><t>Beds</t></is></c></row>"#);
    x.push_str(r#"<row r="4"><c r="B4" t="inlineStr"><is><t>1-1</t></is></c><c r="C4"><v>30</v></c></row>"#);
    x.push_str(r#"<row r="1048576"><c r="XFD1048576" s="1"/></row>"#);
    x.push_str("</sheetData></worksheet>");
    let book = crate::support::sheets::xlsx_with_sheet_xml(&x);
    let grids = caremarket::import::open("styled.xlsx", &book).unwrap();
    assert_eq!(grids[0].len(), 4);
    assert_eq!(grids[0].cell(3, 1), "1-1");
    assert_eq!(grids[0].cell(3, 2), "30");
    // ODS: the million empty rows LibreOffice writes below the data cost nothing.
    let ods = ods_raw(
        r#"<table:table-row><table:table-cell office:value-type="string"><text:p>Location ID</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="12"><text:p>12</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
    );
    let grids = caremarket::import::open("blank-below.ods", &ods).unwrap();
    assert_eq!(grids[0].len(), 1);
    assert_eq!(grids[0].row(0), vec!["Location ID", "12"]);
}

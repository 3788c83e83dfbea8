//! Charts drawn on the server as SVG: no JavaScript, a text alternative and the same figures
//! in a table beside every chart. One colour with value labels reads the same in greyscale.

/// A horizontal bar chart. `bars` are (label, value, shown text); values share one scale
/// from zero to `max` (or the largest value).
pub fn bar_chart(
    id: &str,
    title: &str,
    description: &str,
    bars: &[(String, f64, String)],
    max: Option<f64>,
) -> String {
    let label_w = 230.0;
    let bar_area = 360.0;
    let row_h = 28.0;
    let height = 20.0 + row_h * bars.len() as f64;
    let top = max
        .unwrap_or_else(|| bars.iter().map(|b| b.1).fold(0.0, f64::max))
        .max(1e-9);
    let mut svg = format!(
        r#"<svg class="app-chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 680 {height}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        esc(title),
        esc(description)
    );
    for (i, (label, value, shown)) in bars.iter().enumerate() {
        let y = 10.0 + row_h * i as f64;
        let w = (value / top * bar_area).max(0.0);
        svg.push_str(&format!(
            r##"<text x="{}" y="{}" text-anchor="end" font-size="14" fill="#0b0c0c">{}</text><rect x="{label_w}" y="{}" width="{w:.1}" height="{}" fill="#1d70b8"/><text x="{}" y="{}" font-size="14" fill="#0b0c0c">{}</text>"##,
            label_w - 8.0,
            y + 17.0,
            esc(label),
            y + 4.0,
            row_h - 8.0,
            label_w + w + 6.0,
            y + 17.0,
            esc(shown)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_escape() {
        let svg = bar_chart(
            "c",
            "A & B",
            "desc",
            &[
                ("<x>".into(), 50.0, "50%".into()),
                ("y".into(), 100.0, "100%".into()),
            ],
            Some(100.0),
        );
        assert!(svg.contains("A &amp; B") && svg.contains("&lt;x&gt;"));
        assert!(svg.contains(r#"width="180.0""#) && svg.contains(r#"width="360.0""#));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}

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

/// A line chart of one series over labelled points (e.g. dates), from zero to `max`.
pub fn line_chart(
    id: &str,
    title: &str,
    description: &str,
    points: &[(String, f64, String)],
    max: f64,
) -> String {
    let (w, h, left, bottom, top) = (680.0, 260.0, 50.0, 40.0, 20.0);
    let plot_w = w - left - 30.0;
    let plot_h = h - bottom - top;
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + plot_w * i as f64 / n;
    let y = |v: f64| top + plot_h * (1.0 - (v / max.max(1e-9)).clamp(0.0, 1.0));
    let mut svg = format!(
        r##"<svg class="app-chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#0b0c0c"/><line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#0b0c0c"/>"##,
        esc(title),
        esc(description),
        top + plot_h,
        left + plot_w,
        top + plot_h,
        top + plot_h
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    svg.push_str(&format!(
        r##"<polyline points="{}" fill="none" stroke="#1d70b8" stroke-width="3"/>"##,
        path.join(" ")
    ));
    for (i, (label, v, shown)) in points.iter().enumerate() {
        svg.push_str(&format!(
            r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="#1d70b8"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="#0b0c0c">{}</text><text x="{:.1}" y="{}" text-anchor="middle" font-size="13" fill="#0b0c0c">{}</text>"##,
            x(i),
            y(*v),
            x(i),
            y(*v) - 10.0,
            esc(shown),
            x(i),
            h - 15.0,
            esc(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Fills for the segments of a stacked bar, from dark to light so that neighbours differ in
/// greyscale too; every segment is also labelled with its number.
const STACK_FILLS: [&str; 5] = ["#0b0c0c", "#1d70b8", "#5694ca", "#b1b4b6", "#f3f2f1"];
const STACK_TEXT: [&str; 5] = ["#ffffff", "#ffffff", "#0b0c0c", "#0b0c0c", "#0b0c0c"];

/// A 100% stacked horizontal bar per row: each row's segments as shares of its total.
pub fn stacked_bar_chart(
    id: &str,
    title: &str,
    description: &str,
    segments: &[&str],
    rows: &[(String, Vec<u64>)],
) -> String {
    let label_w = 230.0;
    let bar_area = 400.0;
    let row_h = 30.0;
    let legend_h = 30.0;
    let height = legend_h + 10.0 + row_h * rows.len() as f64;
    let mut svg = format!(
        r#"<svg class="app-chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 680 {height}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        esc(title),
        esc(description)
    );
    let mut x = 0.0;
    for (i, name) in segments.iter().enumerate() {
        svg.push_str(&format!(
            r##"<rect x="{x:.1}" y="4" width="14" height="14" fill="{}" stroke="#0b0c0c"/><text x="{:.1}" y="16" font-size="13" fill="#0b0c0c">{}</text>"##,
            STACK_FILLS[i % 5],
            x + 18.0,
            esc(name)
        ));
        x += 18.0 + 8.0 * name.len() as f64 + 14.0;
    }
    for (r, (label, values)) in rows.iter().enumerate() {
        let y = legend_h + 10.0 + row_h * r as f64;
        let total: u64 = values.iter().sum();
        svg.push_str(&format!(
            r##"<text x="{}" y="{}" text-anchor="end" font-size="14" fill="#0b0c0c">{}</text>"##,
            label_w - 8.0,
            y + 18.0,
            esc(label)
        ));
        let mut left = label_w;
        for (i, v) in values.iter().enumerate() {
            if total == 0 || *v == 0 {
                continue;
            }
            let w = bar_area * *v as f64 / total as f64;
            svg.push_str(&format!(
                r##"<rect x="{left:.1}" y="{}" width="{w:.1}" height="{}" fill="{}" stroke="#ffffff"/>"##,
                y + 4.0,
                row_h - 8.0,
                STACK_FILLS[i % 5]
            ));
            if w >= 22.0 {
                svg.push_str(&format!(
                    r##"<text x="{:.1}" y="{}" text-anchor="middle" font-size="12" fill="{}">{v}</text>"##,
                    left + w / 2.0,
                    y + 19.0,
                    STACK_TEXT[i % 5]
                ));
            }
            left += w;
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_bars_split_each_row_by_share() {
        let svg = stacked_bar_chart(
            "s",
            "t",
            "d",
            &["A", "B"],
            &[("one".into(), vec![1, 3]), ("none".into(), vec![0, 0])],
        );
        assert!(svg.contains(r#"width="100.0""#) && svg.contains(r#"width="300.0""#));
        assert!(svg.contains(">one<") && svg.contains(">none<"));
    }

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

//! Small inline bars: how much of the planned sample is in, and the chance to beat control.

use super::px;
use crate::ui::format::percent;
use std::fmt::Write;

const WIDTH: f64 = 200.0;

/// A bar filled to `share` (0–1, beyond 1 shown full with a marker at the plan), with the
/// percentage in text beside it so the bar is never the only carrier of the number.
pub fn share_bar(label: &str, share: Option<f64>, colour: &str) -> String {
    let value = share.filter(|s| s.is_finite()).unwrap_or(0.0).max(0.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="bar" viewBox="0 0 {total} 14" role="img" aria-label="{label}: {text}" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="2" width="{w}" height="10" rx="2" fill="#ececec"/><rect x="0" y="2" width="{filled}" height="10" rx="2" fill="{colour}"/>"##,
        total = px(WIDTH),
        w = px(WIDTH),
        filled = px(value.min(1.0) * WIDTH),
        label = crate::ui::layout::escape(label),
        text = percent(share),
    );
    if value > 1.0 {
        // Past the plan: a tick where the plan was met.
        let _ = write!(
            out,
            r##"<line x1="{x}" y1="0" x2="{x}" y2="14" stroke="#333" stroke-width="2"/>"##,
            x = px(WIDTH / value),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_to_the_share_and_marks_the_plan_when_past_it() {
        let half = share_bar("progress", Some(0.5), "#0072b2");
        assert!(half.contains(r##"width="100" height="10" rx="2" fill="#0072b2""##));
        assert!(half.contains("progress: 50.0\u{202f}%"));
        let double = share_bar("progress", Some(2.0), "#0072b2");
        assert!(double.contains(r##"width="200" height="10" rx="2" fill="#0072b2""##));
        assert!(double.contains(r#"<line x1="100""#));
        assert!(share_bar("p", None, "#000").contains("p: –"));
    }
}

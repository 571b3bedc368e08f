//! The funnel of one variant: exposed units, then the units that reached each journey stage,
//! with the drop-off between consecutive stages.

use super::{open_svg, px, variant_colour};
use crate::ui::format::{count, percent};
use crate::ui::layout::escape;
use std::fmt::Write;

/// One stage of the funnel (from the results' `StageVariant`).
#[derive(Debug, Clone)]
pub struct FunnelStage<'a> {
    pub stage: &'a str,
    pub reached: u64,
    /// reached / exposed units.
    pub rate: Option<f64>,
    /// Share lost since the previous stage (since exposure at the first).
    pub drop_off: Option<f64>,
}

const WIDTH: f64 = 480.0;
const ROW: f64 = 50.0;
const BAR_WIDTH: f64 = 290.0;
const BAR_HEIGHT: f64 = 16.0;

/// The funnel as SVG: a bar per stage whose length is the share of exposed units that got there.
pub fn funnel(
    id: &str,
    variant: &str,
    colour_index: usize,
    units: u64,
    stages: &[FunnelStage],
) -> String {
    let colour = variant_colour(colour_index);
    let height = ROW * (stages.len() + 1) as f64 + 4.0;
    let mut out = String::new();
    let description = std::iter::once(format!("{} units exposed", count(units)))
        .chain(stages.iter().map(|stage| {
            format!(
                "{} reached {} ({})",
                stage.stage,
                count(stage.reached),
                percent(stage.rate)
            )
        }))
        .collect::<Vec<_>>()
        .join("; ");
    open_svg(
        &mut out,
        id,
        WIDTH,
        height,
        &format!("Funnel of variant {variant}"),
        &description,
    );
    let exposed_rate = (units > 0).then_some(1.0);
    row(&mut out, 0.0, "exposed", units, exposed_rate, None, colour);
    for (index, stage) in stages.iter().enumerate() {
        row(
            &mut out,
            ROW * (index + 1) as f64,
            stage.stage,
            stage.reached,
            stage.rate,
            stage.drop_off,
            colour,
        );
    }
    out.push_str("</svg>");
    out
}

fn row(
    out: &mut String,
    top: f64,
    label: &str,
    reached: u64,
    rate: Option<f64>,
    drop_off: Option<f64>,
    colour: &str,
) {
    let share = rate
        .filter(|r| r.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    let mut length = share * BAR_WIDTH;
    if reached > 0 {
        // A stage someone reached stays visible however rare.
        length = length.max(1.5);
    }
    let _ = write!(
        out,
        r#"<g class="funnel-stage" data-stage="{stage}" data-reached="{reached}"><text x="0" y="{label_y}" class="label">{stage}</text>"#,
        stage = escape(label),
        label_y = px(top + 14.0),
    );
    if let Some(drop_off) = drop_off {
        let _ = write!(
            out,
            r#"<text x="{x}" y="{y}" class="note" text-anchor="end">↓ {} drop-off</text>"#,
            percent(Some(drop_off)),
            x = px(WIDTH),
            y = px(top + 14.0),
        );
    }
    let _ = write!(
        out,
        r##"<rect x="0" y="{y}" width="{track}" height="{h}" fill="#ececec"/><rect x="0" y="{y}" width="{w}" height="{h}" fill="{colour}"/><text x="{tx}" y="{ty}" class="value">{reached} · {rate}</text></g>"##,
        y = px(top + 20.0),
        track = px(BAR_WIDTH),
        h = px(BAR_HEIGHT),
        w = px(length),
        tx = px(BAR_WIDTH + 8.0),
        ty = px(top + 33.0),
        reached = count(reached),
        rate = percent(rate),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages() -> Vec<FunnelStage<'static>> {
        vec![
            FunnelStage {
                stage: "add_to_cart",
                reached: 400,
                rate: Some(0.4),
                drop_off: Some(0.6),
            },
            FunnelStage {
                stage: "purchase",
                reached: 100,
                rate: Some(0.1),
                drop_off: Some(0.75),
            },
        ]
    }

    #[test]
    fn bars_are_as_long_as_the_share_of_exposed_units() {
        let svg = funnel("f", "treatment", 1, 1000, &stages());
        // exposed: the full track; add_to_cart: 40 %; purchase: 10 %.
        assert!(svg.contains(r##"width="290" height="16" fill="#e69f00""##));
        assert!(svg.contains(r##"width="116" height="16" fill="#e69f00""##));
        assert!(svg.contains(r##"width="29" height="16" fill="#e69f00""##));
        assert!(svg.contains(r#"data-stage="purchase" data-reached="100""#));
        assert!(svg.contains("1,000 · 100\u{202f}%"));
        assert!(svg.contains("↓ 75.0\u{202f}% drop-off"));
    }

    #[test]
    fn a_rare_stage_stays_visible_and_an_empty_one_is_empty() {
        let rare = [FunnelStage {
            stage: "purchase",
            reached: 1,
            rate: Some(0.000_1),
            drop_off: None,
        }];
        assert!(funnel("f", "a", 0, 10_000, &rare).contains(r#"width="1.5" height="16""#));
        let none = [FunnelStage {
            stage: "purchase",
            reached: 0,
            rate: None,
            drop_off: None,
        }];
        let svg = funnel("f", "a", 0, 0, &none);
        assert!(svg.contains(r##"width="0" height="16" fill="#0072b2""##));
        assert!(svg.contains("0 · –"));
    }

    #[test]
    fn the_chart_describes_itself_for_screen_readers() {
        let svg = funnel("f", "<b>", 0, 1000, &stages());
        assert!(svg.contains("<title id=\"f-title\">Funnel of variant &lt;b&gt;</title>"));
        assert!(svg.contains("purchase reached 100 (10.0\u{202f}%)"));
    }
}

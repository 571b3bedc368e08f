//! Server-rendered SVG charts. Colours come from the Okabe–Ito palette (distinguishable with
//! the common colour-vision deficiencies), and no chart relies on colour alone: every mark has
//! a shape or a text label, and every chart has a title, a description and a table beside it.

pub mod bars;
pub mod forest;
pub mod funnel;
pub mod over_time;

use std::fmt::Write;

/// Okabe & Ito (2008), "Color Universal Design": one colour per variant, in definition order.
pub const VARIANT_COLOURS: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
];
/// Line dash patterns per variant, so lines differ without colour too.
pub const VARIANT_DASHES: [&str; 6] = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"];

pub fn variant_colour(index: usize) -> &'static str {
    VARIANT_COLOURS[index % VARIANT_COLOURS.len()]
}

pub fn variant_dash(index: usize) -> &'static str {
    VARIANT_DASHES[index % VARIANT_DASHES.len()]
}

/// What a comparison says after the correction for multiple testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    Inconclusive,
}

impl Verdict {
    /// `significant` is the adjusted p-value below alpha; the sign of the effect, read with
    /// the metric's direction, says which way.
    pub fn of(significant: bool, estimate: Option<f64>, higher_is_better: bool) -> Verdict {
        match estimate {
            Some(estimate) if significant && estimate != 0.0 => {
                if (estimate > 0.0) == higher_is_better {
                    Verdict::Better
                } else {
                    Verdict::Worse
                }
            }
            _ => Verdict::Inconclusive,
        }
    }

    /// Blue for better, vermillion for worse, grey otherwise (Okabe–Ito).
    pub fn colour(self) -> &'static str {
        match self {
            Verdict::Better => "#0072b2",
            Verdict::Worse => "#d55e00",
            Verdict::Inconclusive => "#6b6b6b",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The symbol beside the label, so the verdict reads without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Verdict::Better => "▲",
            Verdict::Worse => "▼",
            Verdict::Inconclusive => "●",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Verdict::Better => "verdict-better",
            Verdict::Worse => "verdict-worse",
            Verdict::Inconclusive => "verdict-inconclusive",
        }
    }
}

/// A coordinate with one decimal: enough for the screen, small in the markup.
pub fn px(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Opens an accessible SVG: `role="img"`, a title and a description the screen reader reads.
pub fn open_svg(
    out: &mut String,
    id: &str,
    width: f64,
    height: f64,
    title: &str,
    description: &str,
) {
    let _ = write!(
        out,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>"#,
        w = px(width),
        h = px(height),
        title = crate::ui::layout::escape(title),
        description = crate::ui::layout::escape(description),
    );
}

/// Round tick values covering [low, high]: steps of 1, 2 or 5 × 10^k, about `target` of them.
pub fn ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low || target == 0 {
        return Vec::new();
    }
    let raw_step = (high - low) / target as f64;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw_step)
        .unwrap_or(10.0 * magnitude);
    // A hair of tolerance: 0.3 / 0.1 is 2.9999999999999996 in floating point.
    let first = (low / step - 1e-9).ceil() as i64;
    let last = (high / step + 1e-9).floor() as i64;
    // Printed with the step's decimals and read back, so 3 × 0.1 is the 0.3 a label shows.
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    (first..=last)
        .filter_map(|index| format!("{:.*}", decimals, index as f64 * step).parse().ok())
        .collect()
}

/// Ticks from zero to a round number at or above `max`, so the axis holds every value.
pub fn ticks_from_zero(max: f64, target: usize) -> Vec<f64> {
    let grid = ticks(0.0, max, target);
    match grid.as_slice() {
        [.., before, last] if *last < max => {
            let step = last - before;
            let mut grid = grid.clone();
            grid.push(last + step);
            grid
        }
        _ => grid,
    }
}

/// A linear map from a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    pub fn at(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }

    /// `at`, held inside the range: intervals wider than the axis end at its edge.
    pub fn clamped(&self, value: f64) -> f64 {
        let (r0, r1) = self.range;
        self.at(value).clamp(r0.min(r1), r0.max(r1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_domain() {
        assert_eq!(ticks(-0.1, 0.3, 4), vec![-0.1, 0.0, 0.1, 0.2, 0.3]);
        assert_eq!(
            ticks(0.0, 1000.0, 5),
            vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
        );
        assert!(ticks(1.0, 1.0, 4).is_empty());
        assert_eq!(ticks_from_zero(420.0, 4), vec![0.0, 200.0, 400.0, 600.0]);
        assert_eq!(
            ticks_from_zero(400.0, 4),
            vec![0.0, 100.0, 200.0, 300.0, 400.0]
        );
        assert!(ticks(0.0, f64::INFINITY, 4).is_empty());
    }

    #[test]
    fn verdicts_follow_significance_and_direction() {
        assert_eq!(Verdict::of(true, Some(0.1), true), Verdict::Better);
        assert_eq!(Verdict::of(true, Some(0.1), false), Verdict::Worse);
        assert_eq!(Verdict::of(true, Some(-0.1), true), Verdict::Worse);
        assert_eq!(Verdict::of(false, Some(0.5), true), Verdict::Inconclusive);
        assert_eq!(Verdict::of(true, None, true), Verdict::Inconclusive);
    }

    #[test]
    fn scales_map_and_clamp() {
        let scale = Scale {
            domain: (-1.0, 1.0),
            range: (100.0, 300.0),
        };
        assert_eq!(scale.at(0.0), 200.0);
        assert_eq!(scale.at(2.0), 400.0);
        assert_eq!(scale.clamped(2.0), 300.0);
    }
}

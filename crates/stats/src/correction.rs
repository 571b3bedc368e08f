//! Multiple-testing corrections across the comparisons of one experiment (every stage × every
//! non-control variant): Holm by default, Benjamini–Hochberg on request.

use serde::{Deserialize, Serialize};

/// Which adjustment the results apply.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Correction {
    /// Holm's step-down: controls the family-wise error rate.
    #[default]
    #[serde(rename = "holm")]
    Holm,
    /// Benjamini–Hochberg step-up: controls the false discovery rate.
    #[serde(rename = "bh")]
    BenjaminiHochberg,
}

impl Correction {
    /// Adjusted p-values in the input order; `None` stays `None` and does not count in m.
    pub fn adjust(self, p_values: &[Option<f64>]) -> Vec<Option<f64>> {
        match self {
            Self::Holm => holm(p_values),
            Self::BenjaminiHochberg => benjamini_hochberg(p_values),
        }
    }
}

/// Defined p-values sorted ascending, with their input positions.
fn sorted(p_values: &[Option<f64>]) -> Vec<(usize, f64)> {
    let mut defined: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.filter(|p| p.is_finite()).map(|p| (i, p)))
        .collect();
    defined.sort_by(|x, y| x.1.total_cmp(&y.1));
    defined
}

/// Holm (1979): with p₍₁₎ ≤ … ≤ p₍ₘ₎, adj₍ᵢ₎ = max_{j≤i} min(1, (m − j + 1)·p₍ⱼ₎).
/// Matches `statsmodels.stats.multitest.multipletests(p, method="holm")`.
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let defined = sorted(p_values);
    let m = defined.len() as f64;
    let mut adjusted = vec![None; p_values.len()];
    let mut running = 0.0_f64;
    for (rank, (index, p)) in defined.into_iter().enumerate() {
        running = running.max(((m - rank as f64) * p).min(1.0));
        adjusted[index] = Some(running);
    }
    adjusted
}

/// Benjamini–Hochberg (1995): adj₍ᵢ₎ = min_{j≥i} min(1, m/j·p₍ⱼ₎).
/// Matches `statsmodels.stats.multitest.multipletests(p, method="fdr_bh")`.
pub fn benjamini_hochberg(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let defined = sorted(p_values);
    let m = defined.len() as f64;
    let mut adjusted = vec![None; p_values.len()];
    let mut running = 1.0_f64;
    for (rank, (index, p)) in defined.into_iter().enumerate().rev() {
        running = running.min((m / (rank as f64 + 1.0) * p).min(1.0));
        adjusted[index] = Some(running);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_p_values_stay_undefined_and_do_not_count() {
        let adjusted = holm(&[Some(0.01), None, Some(0.04)]);
        assert_eq!(adjusted[1], None);
        assert!((adjusted[0].expect("defined") - 0.02).abs() < 1e-15);
        assert!((adjusted[2].expect("defined") - 0.04).abs() < 1e-15);
    }

    #[test]
    fn a_single_comparison_is_not_adjusted() {
        assert_eq!(Correction::Holm.adjust(&[Some(0.03)]), vec![Some(0.03)]);
        assert_eq!(
            Correction::BenjaminiHochberg.adjust(&[Some(0.03)]),
            vec![Some(0.03)]
        );
    }

    #[test]
    fn corrections_serialize_by_their_short_names() {
        let json = serde_json::to_string(&[Correction::Holm, Correction::BenjaminiHochberg])
            .expect("serializes");
        assert_eq!(json, r#"["holm","bh"]"#);
    }
}

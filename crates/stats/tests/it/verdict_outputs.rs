//! The offline table says which intervals are unadjusted and prints the verdict beside the
//! interval that decided it (issue 17, item 3), so no table row reads "significant" next to an
//! interval that includes zero without saying which interval that is.

use serde_json::json;
use touchstone_stats::{analyze_input, render_table};

#[test]
fn the_table_labels_unadjusted_intervals_and_shows_the_deciding_one() {
    let input = json!({"control": "A", "journey": ["cart", "buy"], "variants": [
        {"key": "A", "units": 20000, "stages": {"cart": 4000, "buy": 600}},
        {"key": "B", "units": 20000, "stages": {"cart": 4600, "buy": 610}}]});
    let results = analyze_input(&input).expect("valid input");
    let table = render_table(&results);
    assert!(table.contains("95% CI uncorr."), "{table}");
    assert!(table.contains("verdict CI"), "{table}");
    let cart = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    let interval = cart.verdict_interval.as_ref().expect("a verdict interval");
    assert!(cart.significant && interval.absolute[0] > 0.0, "{cart:?}");
    // Two stages under Holm: the smaller p-value's level is lowered to 97.5%.
    assert!(table.contains("better (seq)"), "{table}");
    assert!(table.contains("inconclusive (seq)"), "{table}");
    let level = format!("{}%", (interval.level * 1000.0).round() / 10.0);
    assert!(table.contains(&level), "{level} in {table}");
}

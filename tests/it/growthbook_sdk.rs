//! GrowthBook's own JS SDK (`tests/growthbook`, installed by `npm ci` in scripts/test.sh), run
//! by node, as the independent reference for layer membership and assignment.

use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// An experiment as GrowthBook's `run()` takes it.
pub struct SdkExperiment<'a> {
    pub key: &'a str,
    pub weights: &'a [f64],
    pub coverage: f64,
    pub namespace: Option<(&'a str, f64, f64)>,
}

/// For each experiment, each unit's variation index in GrowthBook's SDK (`None`: not in it).
pub fn variations(experiments: &[SdkExperiment], units: &[String]) -> Vec<Vec<Option<usize>>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("growthbook");
    assert!(
        dir.join("node_modules/@growthbook/growthbook").exists(),
        "GrowthBook's JS SDK is not installed: run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    let input = json!({
        "experiments": experiments.iter().map(|e| json!({
            "key": e.key,
            "seed": e.key,
            "weights": e.weights,
            "coverage": e.coverage,
            "namespace": e.namespace.map(|(name, start, end)| json!([name, start, end])),
        })).collect::<Vec<_>>(),
        "units": units,
    });
    let mut child = Command::new("node")
        .arg("run-experiments.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running node (install Node.js 18 or later)");
    child
        .stdin
        .take()
        .expect("node's stdin")
        .write_all(input.to_string().as_bytes())
        .expect("writing the units to node");
    let output = child.wait_with_output().expect("node's answer");
    assert!(output.status.success(), "run-experiments.js failed");
    let answer: Value = serde_json::from_slice(&output.stdout).expect("node answers JSON");
    experiments
        .iter()
        .map(|experiment| {
            answer["variations"][experiment.key]
                .as_array()
                .expect("one answer per experiment")
                .iter()
                .map(|index| index.as_u64().map(|index| index as usize))
                .collect()
        })
        .collect()
}

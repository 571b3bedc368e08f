// Test-only: assigns units with GrowthBook's own JS SDK (`GrowthBook.run`), so the end-to-end
// tests can check that Touchstone's layers (namespaces) and variant split agree with it.
//
// stdin:  {"experiments": [{"key", "seed", "weights", "coverage", "namespace": [name, start, end] | null}],
//          "units": ["id", ...]}
// stdout: {"variations": {"KEY": [index | null, ...]}} — one entry per unit, in input order,
//         null when GrowthBook puts the unit in no variation (outside the namespace or coverage).
"use strict";
const { GrowthBook } = require("@growthbook/growthbook");

function main(input) {
  const variations = {};
  for (const experiment of input.experiments) {
    variations[experiment.key] = input.units.map((id) => {
      const gb = new GrowthBook({ attributes: { id } });
      const definition = {
        key: experiment.key,
        seed: experiment.seed,
        variations: experiment.weights.map((_, index) => index),
        weights: experiment.weights,
        coverage: experiment.coverage,
        hashVersion: 2,
      };
      if (experiment.namespace) definition.namespace = experiment.namespace;
      const result = gb.run(definition);
      gb.destroy();
      return result.inExperiment ? result.variationId : null;
    });
  }
  return { variations };
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(main(JSON.parse(text))));
});

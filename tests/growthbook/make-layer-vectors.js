// Test-only: writes crates/model/tests/vectors/growthbook_layers.json, the layer cases
// Touchstone's model replays, computed by GrowthBook's own JS SDK (`GrowthBook.run` with a
// `namespace`). Run from this directory after `npm ci`: `node make-layer-vectors.js`.
"use strict";
const fs = require("fs");
const path = require("path");
const { GrowthBook } = require("@growthbook/growthbook");
const sdkVersion = require("@growthbook/growthbook/package.json").version;

function run(id, definition) {
  const gb = new GrowthBook({ attributes: { id } });
  const result = gb.run({ ...definition, variations: definition.weights.map((_, i) => i), hashVersion: 2 });
  gb.destroy();
  return result.inExperiment ? result.variationId : null;
}

const experiments = [
  { key: "checkout-a", weights: [0.5, 0.5], coverage: 1, namespace: ["checkout", 0, 0.5] },
  { key: "checkout-b", weights: [0.5, 0.5], coverage: 1, namespace: ["checkout", 0.5, 1] },
  { key: "pdp-gallery", weights: [0.2, 0.3, 0.5], coverage: 0.8, namespace: ["pdp", 0.1, 0.35] },
  { key: "ship-35", weights: [0.5, 0.5], coverage: 0.5, namespace: ["checkout", 0.25, 0.75] },
  { key: "unicode-layer", weights: [0.5, 0.5], coverage: 1, namespace: ["Ωmega", 0, 0.333] },
];
const ids = ["1", "2", "3", "4", "user-42", "Jürgen", "😀", "日本語ユーザー", "e\u0301", "a-very-long-visitor-id-0123456789abcdef"];
for (let i = 0; i < 30; i++) ids.push(`visitor-${i * 7919}`);

const cases = [];
for (const experiment of experiments) {
  for (const id of ids) {
    const definition = { key: experiment.key, seed: experiment.key, weights: experiment.weights, coverage: experiment.coverage, namespace: experiment.namespace };
    const inLayer = run(id, { ...definition, coverage: 1 }) !== null;
    cases.push({ ...experiment, id, in_layer: inLayer, variation: run(id, definition) });
  }
}
const document = {
  source: `Computed by GrowthBook's JS SDK @growthbook/growthbook ${sdkVersion} (GrowthBook.run with hashVersion 2, seed = key, and a namespace) under Node.js ${process.version}, by tests/growthbook/make-layer-vectors.js. in_layer: the same run with coverage 1 (only the namespace can keep the unit out); variation: null when not in the experiment.`,
  cases,
};
const out = path.join(__dirname, "..", "..", "crates", "model", "tests", "vectors", "growthbook_layers.json");
// One case per line, so a diff shows which case moved.
const body = cases.map((c) => "  " + JSON.stringify(c)).join(",\n");
fs.writeFileSync(out, `{\n "source": ${JSON.stringify(document.source)},\n "cases": [\n${body}\n ]\n}\n`);
console.log(`${cases.length} cases -> ${out}`);

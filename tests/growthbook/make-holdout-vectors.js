// Test-only: writes crates/model/tests/vectors/growthbook_holdouts.json, the holdout cases
// Touchstone's model replays, computed by GrowthBook's own JS SDK. A holdout is GrowthBook's
// two-variation experiment with seed = the holdout key, weights [share, 1 - share], coverage 1
// and hashVersion 2: variation 0 (held out) exactly when the unit's bucket is below `share`.
// Run from this directory after `npm ci`: `node make-holdout-vectors.js`.
"use strict";
const fs = require("fs");
const path = require("path");
const { GrowthBook } = require("@growthbook/growthbook");
const sdkVersion = require("@growthbook/growthbook/package.json").version;

function run(id, key, share) {
  const gb = new GrowthBook({ attributes: { id } });
  const result = gb.run({
    key,
    seed: key,
    variations: [0, 1],
    weights: [share, 1 - share],
    coverage: 1,
    hashVersion: 2,
  });
  gb.destroy();
  return { variation: result.inExperiment ? result.variationId : null, bucket: result.bucket };
}

const holdouts = [
  { key: "program-q4", share: 0.05 },
  { key: "holdout.2026_h1", share: 0.2 },
  { key: "all-tests", share: 0.5 },
  { key: "odd-share", share: 0.1234 },
];
const ids = ["1", "2", "3", "user-42", "Jürgen", "😀", "日本語ユーザー", "e\u0301", "a-very-long-visitor-id-0123456789abcdef"];
for (let i = 0; i < 20; i++) ids.push(`visitor-${i * 7919}`);

const cases = [];
for (const holdout of holdouts) {
  for (const id of ids) {
    const { variation, bucket } = run(id, holdout.key, holdout.share);
    cases.push({ ...holdout, id, bucket, variation });
  }
  // The boundary: the first scanned id whose bucket is exactly `share` (program: the range is
  // half-open) and the first one bucket below it (held out).
  for (const target of [holdout.share, Math.round((holdout.share - 0.0001) * 10000) / 10000]) {
    for (let i = 0; i < 1000000; i++) {
      const id = `edge-${i}`;
      const { variation, bucket } = run(id, holdout.key, holdout.share);
      if (bucket === target) {
        cases.push({ ...holdout, id, bucket, variation });
        break;
      }
    }
  }
}
const document = {
  source: `Computed by GrowthBook's JS SDK @growthbook/growthbook ${sdkVersion} (GrowthBook.run with seed = key, weights [share, 1 - share], coverage 1, hashVersion 2) under Node.js ${process.version}, by tests/growthbook/make-holdout-vectors.js. bucket: the SDK's result.bucket; variation 0 = held out, 1 = the program.`,
  cases,
};
const out = path.join(__dirname, "..", "..", "crates", "model", "tests", "vectors", "growthbook_holdouts.json");
// One case per line, so a diff shows which case moved.
const body = cases.map((c) => "  " + JSON.stringify(c)).join(",\n");
fs.writeFileSync(out, `{\n "source": ${JSON.stringify(document.source)},\n "cases": [\n${body}\n ]\n}\n`);
console.log(`${cases.length} cases -> ${out}`);

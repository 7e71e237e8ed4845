// Reads vitest's JSON report and fails when the Synapse-backed tests did not
// really run: no passed test under tests/e2e/ (when required), or any test
// skipped / todo anywhere (the project allows no skipped tests).
//   node scripts/check-e2e-ran.mjs .vitest-report.json
// SURFACES_REQUIRE_E2E=1 makes "no e2e test passed" an error (scripts/test.sh
// sets it for unfiltered runs).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const file = process.argv[2] ?? ".vitest-report.json";
const requireE2e = process.env.SURFACES_REQUIRE_E2E === "1";

if (!existsSync(file)) {
  console.error(`check-e2e-ran: FAIL: no vitest JSON report at ${file} (vitest did not finish)`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, "utf8"));
const e2eDir = `${path.sep}tests${path.sep}e2e${path.sep}`;

let e2ePassed = 0;
let e2eFailed = 0;
const skipped = [];
for (const suite of report.testResults ?? []) {
  const isE2e = path.resolve(suite.name).includes(e2eDir);
  for (const t of suite.assertionResults ?? []) {
    if (t.status === "passed" && isE2e) e2ePassed++;
    if (t.status === "failed" && isE2e) e2eFailed++;
    if (t.status === "skipped" || t.status === "pending" || t.status === "todo" || t.status === "disabled") {
      skipped.push(`${path.relative(process.cwd(), suite.name)} > ${t.fullName}`);
    }
  }
}

const problems = [];
if (requireE2e && e2ePassed === 0) problems.push("no test under tests/e2e/ passed (did Synapse start?)");
if (skipped.length > 0) problems.push(`${skipped.length} skipped/todo test(s):\n  ${skipped.join("\n  ")}`);

const summary =
  `check-e2e-ran: ${e2ePassed} e2e passed, ${e2eFailed} e2e failed, ${skipped.length} skipped; ` +
  `${report.numPassedTests ?? 0}/${report.numTotalTests ?? 0} tests passed overall`;
if (problems.length > 0) {
  console.error(`check-e2e-ran: FAIL: ${problems.join("\n")}`);
  console.error(summary);
  process.exit(1);
}
console.log(summary);

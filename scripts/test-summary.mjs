// Prints vitest's JSON reports as the one line CI reads: "N passed, N failed", summed over every
// report named (default test-output/vitest.json). A missing or unreadable report (vitest crashed
// before writing it) counts as one failure, never as green.
import { readFileSync } from "node:fs";

const files = process.argv.length > 2 ? process.argv.slice(2) : ["test-output/vitest.json"];
let passed = 0;
let failed = 0;
for (const file of files) {
  try {
    const report = JSON.parse(readFileSync(file, "utf8"));
    // Suites that failed to load (syntax error, failing beforeAll) have no tests but still fail.
    const brokenSuites = (report.testResults ?? []).filter(
      (r) => r.status === "failed" && r.assertionResults.length === 0,
    ).length;
    const failures = report.numFailedTests + brokenSuites;
    passed += report.numPassedTests;
    // A report that says it did not succeed with no failing test still is one failure.
    failed += failures > 0 || report.success ? failures : 1;
  } catch (err) {
    console.log(`vitest report ${file} is missing or unreadable: ${err.message}`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

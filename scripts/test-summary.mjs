// Prints vitest's JSON report as the one line CI reads: "N passed, N failed". A missing or
// unreadable report (vitest crashed before writing it) counts as one failure, never as green.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "test-output/vitest.json";
try {
  const report = JSON.parse(readFileSync(file, "utf8"));
  // Suites that failed to load (syntax error, failing beforeAll) have no tests but still fail.
  const brokenSuites = (report.testResults ?? []).filter(
    (r) => r.status === "failed" && r.assertionResults.length === 0,
  ).length;
  const failed = report.numFailedTests + brokenSuites;
  console.log(`${report.numPassedTests} passed, ${failed} failed`);
  process.exit(failed > 0 || !report.success ? 1 : 0);
} catch (err) {
  console.log(`vitest report ${file} is missing or unreadable: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

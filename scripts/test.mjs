#!/usr/bin/env node
// Runs the vitest suite and prints the CI summary line `N passed, N failed` from vitest's JSON report.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

const report = "test-results.json";
rmSync(report, { force: true });
const args = ["vitest", "run", ...process.argv.slice(2)];
const res = spawnSync("npx", args, { stdio: "inherit", env: process.env });
let passed = 0;
let failed = 0;
try {
  const json = JSON.parse(readFileSync(report, "utf8"));
  passed = json.numPassedTests ?? 0;
  failed = json.numFailedTests ?? 0;
  // a file that failed without a failing test (an import error, a failing hook) counts once;
  // numFailedTestSuites also counts every describe block above a failed test, so it is not used
  for (const file of json.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === "failed").length;
    if (file.status === "failed" && failedTests === 0) failed += 1;
  }
} catch (err) {
  console.error(`could not read ${report}: ${err.message}`);
  failed += 1;
}
const code = res.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);

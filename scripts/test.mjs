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
  failed = (json.numFailedTests ?? 0) + (json.numFailedTestSuites ?? 0);
} catch (err) {
  console.error(`could not read ${report}: ${err.message}`);
  failed += 1;
}
const code = res.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);

#!/usr/bin/env node
// Runs the vitest suite and prints the CI summary line `N passed, N failed` from vitest's JSON reports.
// With no arguments it runs in two phases: every file but the isolated ones (two workers), then the
// isolated ones alone, one at a time. An isolated suite measures a node under attack (the flooding
// test bounds its API's answer time), which other suites' load on the 2 cores would distort.
// With arguments (files, filters, flags) it runs exactly what vitest is given, in one phase.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

/** Suites that run alone after the rest. */
const ISOLATED = ["test/integration/flood.test.ts"];

const given = process.argv.slice(2);
const phases =
  given.length > 0
    ? [{ args: given, report: "test-results.json" }]
    : [
        { args: ISOLATED.flatMap((f) => ["--exclude", f]), report: "test-results.json" },
        { args: [...ISOLATED, "--maxWorkers=1"], report: "test-results-isolated.json" },
      ];

let passed = 0;
let failed = 0;
let ok = true;
for (const { args, report } of phases) {
  rmSync(report, { force: true });
  const res = spawnSync("npx", ["vitest", "run", ...args, `--outputFile.json=${report}`], {
    stdio: "inherit",
    env: process.env,
  });
  let phaseFailed = 0;
  try {
    const json = JSON.parse(readFileSync(report, "utf8"));
    passed += json.numPassedTests ?? 0;
    phaseFailed = json.numFailedTests ?? 0;
    // a file that failed without a failing test (an import error, a failing hook) counts once;
    // numFailedTestSuites also counts every describe block above a failed test, so it is not used
    for (const file of json.testResults ?? []) {
      const failedTests = (file.assertionResults ?? []).filter((a) => a.status === "failed").length;
      if (file.status === "failed" && failedTests === 0) phaseFailed += 1;
    }
  } catch (err) {
    console.error(`could not read ${report}: ${err.message}`);
    phaseFailed += 1;
  }
  const code = res.status ?? 1;
  if (code !== 0 && phaseFailed === 0) phaseFailed = 1;
  failed += phaseFailed;
  if (code !== 0) ok = false;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);

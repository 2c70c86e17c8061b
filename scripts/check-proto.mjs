#!/usr/bin/env node
// Fails when the checked-in src/pb/*.ts differ from what proto/*.proto generate.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const tmp = mkdtempSync(path.join(tmpdir(), "cohort-pb-"));
const stale = [];
try {
  execFileSync(process.execPath, ["scripts/gen-proto.mjs", tmp], { stdio: "inherit" });
  const generated = readdirSync(tmp).sort();
  const checkedIn = readdirSync("src/pb")
    .filter((f) => f.endsWith(".ts"))
    .sort();
  if (generated.join() !== checkedIn.join()) stale.push(`file set differs: ${generated} vs ${checkedIn}`);
  for (const f of generated) {
    let current = "";
    try {
      current = readFileSync(path.join("src/pb", f), "utf8");
    } catch {}
    if (current !== readFileSync(path.join(tmp, f), "utf8")) stale.push(f);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (stale.length > 0) {
  console.error(`src/pb is stale (run npm run gen:proto): ${stale.join(", ")}`);
  process.exit(1);
}
console.log("src/pb is current");

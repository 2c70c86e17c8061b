#!/usr/bin/env node
// Generates src/pb/*.ts from proto/*.proto with protons.
// protons (8.x, 9.x) crashes on dotted package names such as `cohort.sync.v1`, so each schema is
// compiled from a temporary copy without its `package` line; the messages become top-level exports.
// Usage: gen-proto.mjs [outDir]   (default src/pb)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const outDir = process.argv[2] ?? "src/pb";
const tmp = mkdtempSync(path.join(tmpdir(), "cohort-proto-"));
try {
  const protos = readdirSync("proto")
    .filter((f) => f.endsWith(".proto"))
    .sort();
  for (const f of protos) {
    const src = readFileSync(path.join("proto", f), "utf8");
    writeFileSync(path.join(tmp, f), src.replace(/^package\s+[\w.]+;\s*$/m, ""));
  }
  execFileSync(
    path.join("node_modules", ".bin", "protons"),
    protos.map((f) => path.join(tmp, f)),
    { stdio: "inherit" },
  );
  mkdirSync(outDir, { recursive: true });
  for (const f of protos) {
    const ts = f.replace(/\.proto$/, ".ts");
    copyFileSync(path.join(tmp, ts), path.join(outDir, ts));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

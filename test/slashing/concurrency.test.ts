/**
 * Concurrency: 50 conflicting requests for one validator, from 5 processes on one database file at once, give
 * exactly one signature (BEGIN IMMEDIATE per check-and-record; busy_timeout makes the others wait, not fail).
 * Child script: fixtures/contend.mjs, run against the compiled store in dist/.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/lib/bytes.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { DIST_STORE, FIXTURES_DIR, requireBuilt, tempDir, testRoot } from "./helpers.js";

const WORKERS = 5;
const PER_WORKER = 10;
const GVR = testRoot(0x42);
const PUBKEY = new Uint8Array(48).fill(0xc5);

interface WorkerResult {
  allowed: number;
  codes: Record<string, number>;
}

const tmp = tempDir();
beforeAll(() => requireBuilt(DIST_STORE));
afterAll(() => tmp.cleanup());

/** Waits for `expected` as the next stdout line of `child`; resolves with the line after, if asked. */
function lines(child: ChildProcessWithoutNullStreams): AsyncIterator<string> {
  return createInterface({ input: child.stdout })[Symbol.asyncIterator]();
}

async function contend(dataDir: string, kind: "attestation" | "block"): Promise<WorkerResult[]> {
  const children = Array.from({ length: WORKERS }, (_, w) =>
    spawn(process.execPath, [
      path.join(FIXTURES_DIR, "contend.mjs"),
      DIST_STORE,
      dataDir,
      toHex(GVR),
      String(w + 1),
      String(PER_WORKER),
      kind,
    ]),
  );
  const stderr = children.map((c) => {
    let s = "";
    c.stderr.on("data", (d) => {
      s += d;
    });
    return () => s;
  });
  const exits = children.map((c) => new Promise<number | null>((resolve) => c.on("close", resolve)));
  const outs = children.map(lines);
  // Every worker has the database open before any of them starts.
  for (const [i, out] of outs.entries()) {
    const first = await out.next();
    expect(first.value, `worker ${i} stderr: ${stderr[i]?.()}`).toBe("ready");
  }
  for (const c of children) c.stdin.end("go\n");
  const results: WorkerResult[] = [];
  for (const [i, out] of outs.entries()) {
    const line = await out.next();
    expect(await exits[i], `worker ${i} stderr: ${stderr[i]?.()}`).toBe(0);
    results.push(JSON.parse(line.value as string) as WorkerResult);
  }
  return results;
}

describe("concurrent check-and-record from several processes", () => {
  it("50 conflicting attestations for one validator and target: exactly one allowed, 49 DOUBLE_VOTE", async () => {
    const dir = path.join(tmp.dir, "att");
    new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: GVR }).close();
    const results = await contend(dir, "attestation");
    expect(results.reduce((n, r) => n + r.allowed, 0)).toBe(1);
    expect(results.reduce((n, r) => n + (r.codes.DOUBLE_VOTE ?? 0), 0)).toBe(WORKERS * PER_WORKER - 1);
    const db = new SlashingProtectionDb({ dataDir: dir });
    expect(db.readHistory(PUBKEY)?.signedAttestations).toHaveLength(1);
    db.close();
  });

  it("50 conflicting blocks for one validator and slot: exactly one allowed, 49 DOUBLE_PROPOSAL", async () => {
    const dir = path.join(tmp.dir, "block");
    new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: GVR }).close();
    const results = await contend(dir, "block");
    expect(results.reduce((n, r) => n + r.allowed, 0)).toBe(1);
    expect(results.reduce((n, r) => n + (r.codes.DOUBLE_PROPOSAL ?? 0), 0)).toBe(WORKERS * PER_WORKER - 1);
    const db = new SlashingProtectionDb({ dataDir: dir });
    expect(db.readHistory(PUBKEY)?.signedBlocks).toHaveLength(1);
    db.close();
  });
});

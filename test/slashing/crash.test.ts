/**
 * Crash safety: a child signer (fixtures/crash-signer.mjs, compiled store from dist/) records and releases
 * signatures in a tight loop, logging each one only after checkAndRecord* returned; it is SIGKILLed at random points
 * 20 times. After every kill the database must refuse everything that conflicts with what the log says was
 * released, still allow each released message as an exact repeat, and pass SQLite's integrity check.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SLASHING_DB_FILE, SlashingProtectionDb } from "../../src/slashing/store.js";
import { DIST_STORE, FIXTURES_DIR, requireBuilt, tempDir, testRoot } from "./helpers.js";

const KILLS = 20;
const MAX_RUN_MS = 40;
const GVR = testRoot(0x43);

type Released =
  | { kind: "block"; pubkey: string; slot: string; root: string }
  | { kind: "attestation"; pubkey: string; source: string; target: string; root: string };

const tmp = tempDir();
beforeAll(() => requireBuilt(DIST_STORE));
afterAll(() => tmp.cleanup());

/** Deterministic pseudo-random kill delays (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function runAndKill(dataDir: string, sideLog: string, run: number, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [
    path.join(FIXTURES_DIR, "crash-signer.mjs"),
    DIST_STORE,
    dataDir,
    toHex(GVR),
    sideLog,
    String(run + 1),
  ]);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  expect(first.value, `signer stderr: ${stderr}`).toBe("ready");
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill("SIGKILL");
  expect(await exited, `signer stderr: ${stderr}`).toBe("SIGKILL");
}

function readReleased(sideLog: string): Released[] {
  if (!existsSync(sideLog)) return [];
  // appendFileSync writes whole lines; a kill can only cut the log between lines.
  return readFileSync(sideLog, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Released);
}

function refused(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    if (err instanceof SlashingError) return true;
    throw err;
  }
}

/** Every way `released` could be contradicted, each of which the database must refuse; [] when all hold. */
function violations(db: SlashingProtectionDb, released: Released[]): string[] {
  const out: string[] = [];
  const other = testRoot(0xffff);
  for (const r of released) {
    const pk = fromHex(r.pubkey);
    const root = fromHex(r.root);
    if (r.kind === "block") {
      const slot = BigInt(r.slot);
      if (!refused(() => db.checkAndRecordBlock(pk, slot, other))) out.push(`block ${r.slot}: double proposal allowed`);
      if (refused(() => db.checkAndRecordBlock(pk, slot, root))) out.push(`block ${r.slot}: exact repeat refused`);
    } else {
      const [s, t] = [BigInt(r.source), BigInt(r.target)];
      if (!refused(() => db.checkAndRecordAttestation(pk, s, t, other))) out.push(`att ${t}: double vote allowed`);
      if (s > 0n && !refused(() => db.checkAndRecordAttestation(pk, s - 1n, t + 1n, other))) {
        out.push(`att ${t}: surrounding vote allowed`);
      }
      if (refused(() => db.checkAndRecordAttestation(pk, s, t, root))) out.push(`att ${t}: exact repeat refused`);
    }
  }
  return out;
}

describe("crash safety", () => {
  it(`after ${KILLS} SIGKILLs at random points, every released signature is recorded`, async () => {
    const dataDir = path.join(tmp.dir, "node");
    const sideLog = path.join(tmp.dir, "released.jsonl");
    const random = prng(20_260_301);
    let previous = 0;
    for (let run = 0; run < KILLS; run++) {
      await runAndKill(dataDir, sideLog, run, Math.floor(random() * MAX_RUN_MS));
      const released = readReleased(sideLog);
      expect(released.length).toBeGreaterThan(previous); // each run released at least one signature
      previous = released.length;
      const raw = new Database(path.join(dataDir, SLASHING_DB_FILE), { readonly: true });
      expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
      raw.close();
      const db = new SlashingProtectionDb({ dataDir, genesisValidatorsRoot: GVR });
      try {
        expect(violations(db, released)).toEqual([]);
      } finally {
        db.close();
      }
    }
  });
});

/**
 * Slashing-protection benchmark: one node's database with 1000 validators and a month of attestation history
 * (6750 epochs), then checks per second and latency of check-and-record for new epochs and new slots.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { writeFileAtomic } from "../src/lib/fs.js";
import type { BlsPublicKey, Root } from "../src/lib/types.js";
import { SlashingError } from "../src/slashing/rules.js";
import { SLASHING_DB_FILE, SlashingProtectionDb, type ValidatorHistory } from "../src/slashing/store.js";

const VALIDATORS = 1000;
const HISTORY_EPOCHS = 6750; // 30 days × 225 epochs/day
const SLOTS_PER_EPOCH = 32n;
const BLOCKS_PER_VALIDATOR = 4;
const IMPORT_CHUNK_VALIDATORS = 50;
const NEW_ATTESTATION_EPOCHS = 5; // × VALIDATORS checks
const NEW_BLOCKS = 2000;
const BATCH = 100; // requests per group commit in the batched rows
const BATCHED_ATTESTATION_EPOCHS = 10; // × VALIDATORS checks, in batches of BATCH
const FLOOR_TXS = 3000;
const TARGET_CHECKS_PER_SECOND = 5000;

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.resolve(here, "../../bench/results/slashing.json");

interface Row {
  operation: string;
  /** Checks made. */
  count: number;
  /** Checks per second. */
  per_second: number;
  /** Latency of one call (one check, or one batch of `batch` checks). */
  p50_ms: number;
  p99_ms: number;
  batch: number;
}

function pubkeyOf(i: number): BlsPublicKey {
  const pk = new Uint8Array(48);
  pk[0] = 0xb0;
  new DataView(pk.buffer).setUint32(44, i);
  return pk as BlsPublicKey;
}

/** Random 32-byte roots carved from one large buffer (cheaper than a randomBytes call per root). */
function rootSource(count: number): () => Root {
  const pool = randomBytes(count * 32);
  let i = 0;
  return () => {
    const r = new Uint8Array(pool.buffer, pool.byteOffset + (i % count) * 32, 32);
    i++;
    return r as Root;
  };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Times `calls` calls of `fn`, each making `batch` checks. */
function measure(operation: string, calls: number, fn: (i: number) => void, batch = 1): Row {
  const lat = new Float64Array(calls);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    fn(i);
    lat[i] = performance.now() - s;
  }
  const totalMs = performance.now() - t0;
  lat.sort();
  return {
    operation,
    count: calls * batch,
    per_second: Math.round(((calls * batch) / totalMs) * 1000),
    p50_ms: round3(quantile(lat, 0.5)),
    p99_ms: round3(quantile(lat, 0.99)),
    batch,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The disk's floor: one fsynced WAL commit of a one-row insert, same pragmas as the store, no checks. */
function fsyncFloor(dir: string): Row {
  const db = new Database(path.join(dir, "floor.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE t (a INTEGER, b BLOB)");
  const ins = db.prepare("INSERT INTO t VALUES (?, ?)");
  const tx = db.transaction((i: number, b: Buffer) => ins.run(i, b)).immediate;
  const root = randomBytes(32);
  const row = measure("floor: empty fsynced insert txn", FLOOR_TXS, (i) => tx(i, root));
  db.close();
  return row;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cohort-bench-slashing-"));
  const rows: Row[] = [];
  try {
    const gvr = randomBytes(32) as unknown as Root;
    const db = new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: gvr });
    const nextRoot = rootSource(1 << 16);

    // Bulk history: attestations (e - 1 → e) for every epoch, a few blocks per validator.
    const t0 = performance.now();
    let records = 0;
    for (let v0 = 0; v0 < VALIDATORS; v0 += IMPORT_CHUNK_VALIDATORS) {
      const chunk: ValidatorHistory[] = [];
      for (let v = v0; v < Math.min(VALIDATORS, v0 + IMPORT_CHUNK_VALIDATORS); v++) {
        const signedAttestations = new Array(HISTORY_EPOCHS);
        for (let e = 1; e <= HISTORY_EPOCHS; e++) {
          signedAttestations[e - 1] = { sourceEpoch: BigInt(e - 1), targetEpoch: BigInt(e), signingRoot: nextRoot() };
        }
        const signedBlocks = [];
        for (let b = 0; b < BLOCKS_PER_VALIDATOR; b++) {
          const epoch = BigInt(Math.floor(((b + 1) * HISTORY_EPOCHS) / (BLOCKS_PER_VALIDATOR + 1)));
          signedBlocks.push({ slot: epoch * SLOTS_PER_EPOCH + BigInt(v % 32), signingRoot: nextRoot() });
        }
        chunk.push({ pubkey: pubkeyOf(v), signedBlocks, signedAttestations });
        records += HISTORY_EPOCHS + BLOCKS_PER_VALIDATOR;
      }
      db.importRecords(gvr, chunk);
    }
    const loadMs = performance.now() - t0;
    const dbBytes = statSync(path.join(dir, SLASHING_DB_FILE)).size;
    console.log(
      `history: ${VALIDATORS} validators × ${HISTORY_EPOCHS} epochs = ${records} records in ${(loadMs / 1000).toFixed(1)} s ` +
        `(${Math.round((records / loadMs) * 1000)} records/s), db ${(dbBytes / 2 ** 20).toFixed(0)} MiB`,
    );

    const floorRow = fsyncFloor(dir);
    rows.push(floorRow);

    const newAttestations = NEW_ATTESTATION_EPOCHS * VALIDATORS;
    const attRoots: Root[] = [];
    const singleRow = measure("attestation, new epoch (allowed)", newAttestations, (i) => {
      const target = BigInt(HISTORY_EPOCHS + 1 + Math.floor(i / VALIDATORS));
      const root = nextRoot().slice() as Root;
      attRoots.push(root);
      db.checkAndRecordAttestation(pubkeyOf(i % VALIDATORS), target - 1n, target, root);
    });
    rows.push(singleRow);
    rows.push(
      measure("attestation, exact repeat (allowed)", VALIDATORS, (i) => {
        const target = BigInt(HISTORY_EPOCHS + 1);
        db.checkAndRecordAttestation(pubkeyOf(i), target - 1n, target, attRoots[i] as Root);
      }),
    );
    let refused = 0;
    rows.push(
      measure("attestation, double vote (refused)", VALIDATORS, (i) => {
        const target = BigInt(HISTORY_EPOCHS + 1);
        try {
          db.checkAndRecordAttestation(pubkeyOf(i), target - 1n, target, nextRoot());
        } catch (err) {
          if (!(err instanceof SlashingError)) throw err;
          refused++;
        }
      }),
    );
    if (refused !== VALIDATORS) throw new Error(`expected ${VALIDATORS} refusals, got ${refused}`);
    const firstBatchedEpoch = HISTORY_EPOCHS + NEW_ATTESTATION_EPOCHS + 1;
    let batchRefused = 0;
    const batchedRow = measure(
      `attestation, new epoch, batches of ${BATCH} (allowed)`,
      (BATCHED_ATTESTATION_EPOCHS * VALIDATORS) / BATCH,
      (call) => {
        const requests = [];
        for (let j = 0; j < BATCH; j++) {
          const i = call * BATCH + j;
          const target = BigInt(firstBatchedEpoch + Math.floor(i / VALIDATORS));
          requests.push({
            pubkey: pubkeyOf(i % VALIDATORS),
            sourceEpoch: target - 1n,
            targetEpoch: target,
            signingRoot: nextRoot(),
          });
        }
        for (const o of db.checkAndRecordAttestations(requests)) if (!o.allowed) batchRefused++;
      },
      BATCH,
    );
    rows.push(batchedRow);
    if (batchRefused !== 0) throw new Error(`expected no refusals in the batched rows, got ${batchRefused}`);
    const firstNewSlot = BigInt(firstBatchedEpoch + BATCHED_ATTESTATION_EPOCHS) * SLOTS_PER_EPOCH;
    rows.push(
      measure("block, new slot (allowed)", NEW_BLOCKS, (i) => {
        db.checkAndRecordBlock(pubkeyOf(i % VALIDATORS), firstNewSlot + BigInt(i), nextRoot());
      }),
    );
    rows.push(
      measure(
        `block, new slot, batches of ${BATCH} (allowed)`,
        NEW_BLOCKS / BATCH,
        (call) => {
          const requests = [];
          for (let j = 0; j < BATCH; j++) {
            const i = call * BATCH + j;
            requests.push({
              pubkey: pubkeyOf(i % VALIDATORS),
              slot: firstNewSlot + BigInt(NEW_BLOCKS + i),
              signingRoot: nextRoot(),
            });
          }
          db.checkAndRecordBlocks(requests);
        },
        BATCH,
      ),
    );
    db.close();

    printTable(rows);
    const floor = floorRow.per_second;
    const verdict = (r: Row) => (r.per_second >= TARGET_CHECKS_PER_SECOND ? "meets" : "misses");
    const [single, batched] = [singleRow, batchedRow];
    console.log(
      `\nnew-epoch attestation checks: ${single.per_second}/s one per transaction (${verdict(single)} the ` +
        `${TARGET_CHECKS_PER_SECOND}/s target; each waits for its own fsync, and this disk's fsynced-commit floor is ` +
        `${floor}/s), ${batched.per_second}/s in group commits of ${BATCH} (${verdict(batched)} it)`,
    );
    const result = {
      machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
      history: {
        validators: VALIDATORS,
        epochs: HISTORY_EPOCHS,
        records,
        load_seconds: round3(loadMs / 1000),
        records_per_second: Math.round((records / loadMs) * 1000),
        db_bytes: dbBytes,
      },
      target_checks_per_second: TARGET_CHECKS_PER_SECOND,
      results: rows,
    };
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    await writeFileAtomic(resultsFile, `${JSON.stringify(result, null, 2)}\n`, 0o644);
    console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(rows: Row[]): void {
  const header = ["operation", "checks", "checks/s", "p50 ms/call", "p99 ms/call"];
  const body = rows.map((r) => [
    r.operation,
    String(r.count),
    String(r.per_second),
    r.p50_ms.toFixed(3),
    r.p99_ms.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const b of body) console.log(line(b));
}

await main();

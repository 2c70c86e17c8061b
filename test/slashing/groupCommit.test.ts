// Group commit over the real SQLite store: concurrent checks share a transaction, each is judged in order.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/slashing/groupCommit.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";

const GVR = new Uint8Array(32).fill(7);
const pk = new Uint8Array(48).fill(0xaa);
const root = (b: number) => new Uint8Array(32).fill(b);
let dir: string;
let db: SlashingProtectionDb;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cohort-gc-"));
  db = new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: GVR });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function outcome(p: Promise<void>): Promise<string> {
  try {
    await p;
    return "allowed";
  } catch (err) {
    return err instanceof SlashingError ? err.code : `error: ${(err as Error).message}`;
  }
}

describe("GroupCommit", () => {
  it("50 concurrent conflicting attestations in one turn: exactly one allowed, the rest DOUBLE_VOTE", async () => {
    const gc = new GroupCommit(db);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        outcome(
          gc.checkAndRecordAttestation({ pubkey: pk, sourceEpoch: 9n, targetEpoch: 10n, signingRoot: root(i + 1) }),
        ),
      ),
    );
    expect(results.filter((r) => r === "allowed")).toHaveLength(1);
    expect(results.filter((r) => r === "DOUBLE_VOTE")).toHaveLength(49);
    // and the record is durable in the database itself
    expect(() => db.checkAndRecordAttestation(pk, 9n, 10n, root(99))).toThrow(SlashingError);
  });

  it("judges a batch in arrival order, blocks and attestations alike; a malformed request fails alone", async () => {
    const gc = new GroupCommit(db);
    const [a, b, c, d, e] = await Promise.all([
      outcome(gc.checkAndRecordBlock({ pubkey: pk, slot: 100n, signingRoot: root(1) })),
      outcome(gc.checkAndRecordBlock({ pubkey: pk, slot: 100n, signingRoot: root(1) })),
      outcome(gc.checkAndRecordBlock({ pubkey: pk, slot: 100n, signingRoot: root(2) })),
      outcome(gc.checkAndRecordAttestation({ pubkey: pk, sourceEpoch: 5n, targetEpoch: 4n, signingRoot: root(3) })),
      outcome(gc.checkAndRecordBlock({ pubkey: new Uint8Array(3), slot: 101n, signingRoot: root(4) })),
    ]);
    expect([a, b, c, d]).toEqual(["allowed", "allowed", "DOUBLE_PROPOSAL", "SOURCE_EXCEEDS_TARGET"]);
    expect(e).toMatch(/^error: /);
  });
});

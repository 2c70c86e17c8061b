/**
 * The SQLite slashing-protection store: file mode, WAL, schema_version and migrations, genesis validators root
 * pinning, argument validation, exact repeats not re-inserted, refusals writing nothing, persistence.
 */
import { statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Root } from "../../src/lib/types.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SCHEMA_VERSION, SLASHING_DB_FILE, SlashingProtectionDb } from "../../src/slashing/store.js";
import { tempDir, testPubkey, testRoot } from "./helpers.js";

const GVR_A = testRoot(0xa) as Root;
const GVR_B = testRoot(0xb) as Root;
const PK = testPubkey(7);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function newDir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function open(dataDir: string, genesisValidatorsRoot?: Root): SlashingProtectionDb {
  const db = new SlashingProtectionDb(genesisValidatorsRoot ? { dataDir, genesisValidatorsRoot } : { dataDir });
  cleanups.push(() => db.close());
  return db;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "allowed";
  } catch (err) {
    if (err instanceof SlashingError) return err.code;
    throw err;
  }
}

describe("SlashingProtectionDb", () => {
  it("creates slashing-protection.sqlite with mode 0600 in WAL mode with the current schema_version", () => {
    const dir = newDir();
    const db = open(path.join(dir, "node"), GVR_A);
    expect(db.file).toBe(path.join(dir, "node", SLASHING_DB_FILE));
    db.checkAndRecordAttestation(PK, 0n, 1n, testRoot(1));
    expect(statSync(db.file).mode & 0o777).toBe(0o600);
    expect(statSync(`${db.file}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, "node")).mode & 0o777).toBe(0o700);
    const raw = new Database(db.file, { readonly: true });
    cleanups.push(() => raw.close());
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: SCHEMA_VERSION }]);
  });

  it("refuses a database whose schema is newer than this code", () => {
    const dir = newDir();
    open(dir, GVR_A).close();
    const raw = new Database(path.join(dir, SLASHING_DB_FILE));
    raw.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    raw.close();
    expect(() => new SlashingProtectionDb({ dataDir: dir })).toThrow(/schema version .* newer/);
  });

  it("pins the genesis validators root on first use and refuses another one", () => {
    const dir = newDir();
    const first = open(dir, GVR_A);
    expect(first.genesisValidatorsRoot).toEqual(GVR_A);
    first.close();
    try {
      new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: GVR_B }).close();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SlashingError);
      expect((err as SlashingError).type).toEqual({
        code: "WRONG_GENESIS_VALIDATORS_ROOT",
        expected: GVR_A,
        actual: GVR_B,
      });
    }
    expect(open(dir).genesisValidatorsRoot).toEqual(GVR_A);
  });

  it("refuses to sign before a genesis validators root is known", () => {
    const db = open(newDir());
    expect(db.genesisValidatorsRoot).toBeNull();
    expect(() => db.checkAndRecordBlock(PK, 1n, testRoot(1))).toThrow(/genesis_validators_root/);
  });

  it("rejects malformed arguments with TypeError or RangeError naming the field", () => {
    const db = open(newDir(), GVR_A);
    expect(() => db.checkAndRecordBlock(PK.subarray(1), 1n, testRoot(1))).toThrow(RangeError);
    expect(() => db.checkAndRecordBlock(PK, 1n, testRoot(1).subarray(1))).toThrow(/"signing_root" must be 32 bytes/);
    expect(() => db.checkAndRecordBlock(PK, -1n, testRoot(1))).toThrow(RangeError);
    expect(() => db.checkAndRecordBlock(PK, 1 as unknown as bigint, testRoot(1))).toThrow(TypeError);
    expect(() => db.checkAndRecordAttestation(PK, 0n, 1n << 63n, testRoot(1))).toThrow(/"target_epoch"/);
    expect(() => new SlashingProtectionDb({ dataDir: newDir(), genesisValidatorsRoot: new Uint8Array(31) })).toThrow(
      RangeError,
    );
    expect(db.listPubkeys()).toEqual([]);
  });

  it("records an exact repeat once and keeps records across reopening", () => {
    const dir = newDir();
    const db = open(dir, GVR_A);
    db.checkAndRecordBlock(PK, 5n, testRoot(5));
    db.checkAndRecordBlock(PK, 5n, testRoot(5));
    db.checkAndRecordAttestation(PK, 1n, 2n, testRoot(2));
    db.checkAndRecordAttestation(PK, 1n, 2n, testRoot(2));
    db.close();
    const again = open(dir, GVR_A);
    expect(again.readHistory(PK)).toEqual({
      pubkey: PK,
      signedBlocks: [{ slot: 5n, signingRoot: testRoot(5) }],
      signedAttestations: [{ sourceEpoch: 1n, targetEpoch: 2n, signingRoot: testRoot(2) }],
    });
    expect(codeOf(() => again.checkAndRecordBlock(PK, 5n, testRoot(6)))).toBe("DOUBLE_PROPOSAL");
    expect(codeOf(() => again.checkAndRecordAttestation(PK, 0n, 3n, testRoot(3)))).toBe("SURROUNDING_VOTE");
    expect(codeOf(() => again.checkAndRecordAttestation(PK, 1n, 3n, testRoot(3)))).toBe("allowed");
  });

  it("low watermarks come from imports only: an older, non-slashable message this node did not import is allowed", () => {
    const db = open(newDir(), GVR_A);
    const imported = testPubkey(21);
    db.importRecords(GVR_A, [
      {
        pubkey: imported,
        signedBlocks: [{ slot: 10n, signingRoot: testRoot(1) }],
        signedAttestations: [{ sourceEpoch: 10n, targetEpoch: 20n, signingRoot: testRoot(1) }],
      },
    ]);
    // signed here, then an older one that neither surrounds nor is surrounded by it
    db.checkAndRecordBlock(PK, 10n, testRoot(1));
    db.checkAndRecordAttestation(PK, 10n, 20n, testRoot(1));
    expect(codeOf(() => db.checkAndRecordBlock(PK, 5n, testRoot(2)))).toBe("allowed");
    expect(codeOf(() => db.checkAndRecordAttestation(PK, 8n, 9n, testRoot(2)))).toBe("allowed");
    // the same after an import: at or below the imported minima is refused
    expect(codeOf(() => db.checkAndRecordBlock(imported, 5n, testRoot(2)))).toBe("BELOW_LOW_WATERMARK");
    expect(codeOf(() => db.checkAndRecordAttestation(imported, 8n, 9n, testRoot(2)))).toBe("BELOW_LOW_WATERMARK");
    expect(codeOf(() => db.checkAndRecordAttestation(imported, 10n, 21n, testRoot(2)))).toBe("allowed");
    // a second import with higher minima does not raise the watermark (complete strategy: every record is kept)
    db.importRecords(GVR_A, [
      { pubkey: imported, signedBlocks: [{ slot: 50n, signingRoot: testRoot(3) }], signedAttestations: [] },
    ]);
    expect(codeOf(() => db.checkAndRecordBlock(imported, 11n, testRoot(4)))).toBe("allowed");
    expect(codeOf(() => db.checkAndRecordBlock(imported, 10n, testRoot(4)))).toBe("DOUBLE_PROPOSAL");
  });

  it("a version-1 database keeps the minima of all its records as watermarks when migrated", () => {
    const dir = newDir();
    const db = open(dir, GVR_A);
    db.checkAndRecordBlock(PK, 10n, testRoot(1));
    db.checkAndRecordAttestation(PK, 10n, 20n, testRoot(1));
    db.close();
    // make it a version-1 file: no watermarks table
    const raw = new Database(path.join(dir, SLASHING_DB_FILE));
    raw.exec(
      "DROP TABLE watermarks; DROP TABLE decisions; DROP TABLE consents; DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (1);",
    );
    raw.close();
    const again = open(dir, GVR_A);
    expect(codeOf(() => again.checkAndRecordBlock(PK, 5n, testRoot(2)))).toBe("BELOW_LOW_WATERMARK");
    expect(codeOf(() => again.checkAndRecordAttestation(PK, 8n, 9n, testRoot(2)))).toBe("BELOW_LOW_WATERMARK");
    expect(codeOf(() => again.checkAndRecordAttestation(PK, 10n, 21n, testRoot(2)))).toBe("allowed");
  });

  it("keeps duty decisions, consents and the participation slot across a reopen; check-only records nothing", () => {
    const dir = newDir();
    const db = open(dir, GVR_A);
    expect(db.recordDecision(PK, "sync_message/7", testRoot(1))).toEqual(testRoot(1));
    // a second, different value for the same duty is not recorded: the first decision stands
    expect(db.recordDecision(PK, "sync_message/7", testRoot(2))).toEqual(testRoot(1));
    expect(db.hasConsent(PK, testRoot(3))).toBe(false);
    db.addConsent(PK, testRoot(3), new TextEncoder().encode("{}"), 1);
    expect(db.participationSlot()).toBe(0);
    db.raiseParticipationSlot(100);
    db.raiseParticipationSlot(50);
    db.checkAndRecordAttestation(PK, 10n, 20n, testRoot(4));
    expect(db.wouldRefuseAttestation(PK, 10n, 20n, testRoot(5))?.code).toBe("DOUBLE_VOTE");
    expect(db.wouldRefuseAttestation(PK, 9n, 21n, testRoot(5))?.code).toBe("SURROUNDING_VOTE");
    expect(db.wouldRefuseAttestation(PK, 20n, 21n, testRoot(5))).toBeUndefined();
    expect(db.wouldRefuseBlock(PK, 3n, testRoot(5))).toBeUndefined();
    db.close();
    const again = open(dir, GVR_A);
    expect(again.recordDecision(PK, "sync_message/7", testRoot(2))).toEqual(testRoot(1));
    expect(again.hasConsent(PK, testRoot(3))).toBe(true);
    expect(again.participationSlot()).toBe(100);
    // the check-only calls left no record behind
    expect(again.readHistory(PK)?.signedAttestations).toHaveLength(1);
    expect(again.readHistory(PK)?.signedBlocks).toHaveLength(0);
  });

  it("writes nothing on a refusal, not even the validator row", () => {
    const db = open(newDir(), GVR_A);
    expect(codeOf(() => db.checkAndRecordAttestation(PK, 5n, 4n, testRoot(1)))).toBe("SOURCE_EXCEEDS_TARGET");
    expect(db.listPubkeys()).toEqual([]);
    expect(db.readHistory(PK)).toBeNull();
    // The validator is then created normally, under a fresh row.
    db.checkAndRecordAttestation(PK, 4n, 5n, testRoot(1));
    expect(db.readHistory(PK)?.signedAttestations).toHaveLength(1);
  });

  it("keeps validators apart", () => {
    const db = open(newDir(), GVR_A);
    const other = testPubkey(8);
    db.checkAndRecordBlock(PK, 10n, testRoot(1));
    db.checkAndRecordAttestation(PK, 3n, 4n, testRoot(1));
    expect(codeOf(() => db.checkAndRecordBlock(other, 10n, testRoot(2)))).toBe("allowed");
    expect(codeOf(() => db.checkAndRecordAttestation(other, 3n, 4n, testRoot(2)))).toBe("allowed");
    expect(db.listPubkeys()).toEqual([PK, other]);
  });

  it("checks a batch of attestations in order, each against the history and the batch so far", () => {
    const db = open(newDir(), GVR_A);
    const other = testPubkey(9);
    const req = (pubkey: Uint8Array, s: bigint, t: bigint, root: number) => ({
      pubkey,
      sourceEpoch: s,
      targetEpoch: t,
      signingRoot: testRoot(root),
    });
    const outcomes = db.checkAndRecordAttestations([
      req(PK, 1n, 2n, 1),
      req(PK, 1n, 2n, 2),
      req(PK, 1n, 2n, 1),
      req(PK, 0n, 3n, 3),
      req(PK, 2n, 3n, 4),
      req(other, 5n, 4n, 5),
    ]);
    expect(outcomes.map((o) => (o.allowed ? "allowed" : o.error.code))).toEqual([
      "allowed",
      "DOUBLE_VOTE",
      "allowed",
      "SURROUNDING_VOTE",
      "allowed",
      "SOURCE_EXCEEDS_TARGET",
    ]);
    const refused = outcomes[1];
    expect(refused?.allowed === false && refused.error.type).toMatchObject({ existing: { signingRoot: testRoot(1) } });
    expect(db.readHistory(PK)?.signedAttestations.map((a) => a.targetEpoch)).toEqual([2n, 3n]);
    expect(db.listPubkeys()).toEqual([PK]);
  });

  it("checks a batch of blocks, and refuses a malformed batch before writing anything", () => {
    const db = open(newDir(), GVR_A);
    db.importRecords(GVR_A, [
      { pubkey: PK, signedBlocks: [{ slot: 2n, signingRoot: testRoot(2) }], signedAttestations: [] },
    ]);
    const outcomes = db.checkAndRecordBlocks([
      { pubkey: PK, slot: 4n, signingRoot: testRoot(4) },
      { pubkey: PK, slot: 4n, signingRoot: testRoot(5) },
      { pubkey: PK, slot: 3n, signingRoot: testRoot(3) },
      { pubkey: PK, slot: 1n, signingRoot: testRoot(1) },
    ]);
    expect(outcomes.map((o) => (o.allowed ? "allowed" : o.error.code))).toEqual([
      "allowed",
      "DOUBLE_PROPOSAL",
      "allowed",
      "BELOW_LOW_WATERMARK",
    ]);
    expect(() =>
      db.checkAndRecordBlocks([
        { pubkey: PK, slot: 4n, signingRoot: testRoot(4) },
        { pubkey: PK, slot: 5n, signingRoot: new Uint8Array(31) },
      ]),
    ).toThrow(RangeError);
    expect(db.readHistory(PK)?.signedBlocks.map((b) => b.slot)).toEqual([2n, 3n, 4n]);
  });

  it("gives the same outcomes and records for a batch as for the same requests one by one", () => {
    const one = open(newDir(), GVR_A);
    const batch = open(newDir(), GVR_A);
    let v = 100;
    const reqArb = fc.record({
      s: fc.integer({ min: 0, max: 8 }),
      span: fc.integer({ min: -1, max: 4 }),
      root: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(reqArb, { maxLength: 20 }), (raw) => {
        const pubkey = testPubkey(v++);
        const reqs = raw.map((r) => ({
          pubkey,
          sourceEpoch: BigInt(r.s),
          targetEpoch: BigInt(Math.max(0, r.s + r.span)),
          signingRoot: testRoot(r.root),
        }));
        const singles = reqs.map((r) =>
          codeOf(() => one.checkAndRecordAttestation(r.pubkey, r.sourceEpoch, r.targetEpoch, r.signingRoot)),
        );
        const batched = batch.checkAndRecordAttestations(reqs).map((o) => (o.allowed ? "allowed" : o.error.code));
        expect(batched).toEqual(singles);
        expect(batch.readHistory(pubkey)).toEqual(one.readHistory(pubkey));
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it("shares one database between two handles: the second sees the first's records", () => {
    const dir = newDir();
    const a = open(dir, GVR_A);
    const b = open(dir, GVR_A);
    a.checkAndRecordAttestation(PK, 1n, 2n, testRoot(1));
    expect(codeOf(() => b.checkAndRecordAttestation(PK, 1n, 2n, testRoot(2)))).toBe("DOUBLE_VOTE");
    b.checkAndRecordAttestation(PK, 2n, 3n, testRoot(3));
    expect(codeOf(() => a.checkAndRecordAttestation(PK, 1n, 4n, testRoot(4)))).toBe("SURROUNDING_VOTE");
  });
});

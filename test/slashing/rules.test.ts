/**
 * EIP-3076 rules (complete strategy, low watermarks): each refusal code with its conflicting record, on the pure
 * rules and on the SQLite store, and property tests that the store agrees with the in-memory reference and that
 * nothing it allows is slashable against anything recorded or imported.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { BlsPublicKey, Root } from "../../src/lib/types.js";
import {
  attestationHistoryOf,
  attestationWatermarkOf,
  blockHistoryOf,
  blockWatermarkOf,
  checkAttestation,
  checkBlock,
  type SignedAttestationRecord,
  type SignedBlockRecord,
  SlashingError,
  type SlashingErrorType,
} from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { tempDir, testPubkey, testRoot, ZERO_ROOT } from "./helpers.js";

const PK = testPubkey(1);
const R1 = testRoot(1);
const R2 = testRoot(2);

const att = (s: number, t: number, root: Root | null = R1): SignedAttestationRecord => ({
  sourceEpoch: BigInt(s),
  targetEpoch: BigInt(t),
  signingRoot: root,
});
const blk = (slot: number, root: Root | null = R1): SignedBlockRecord => ({ slot: BigInt(slot), signingRoot: root });

const tmp = tempDir();
let dbCount = 0;
const openDbs: SlashingProtectionDb[] = [];
afterAll(() => {
  for (const db of openDbs) db.close();
  tmp.cleanup();
});

/** A fresh store pinned to the zero root, seeded with `blocks` and `attestations` for {@link PK}. */
function storeWith(blocks: SignedBlockRecord[], attestations: SignedAttestationRecord[]): SlashingProtectionDb {
  const db = new SlashingProtectionDb({ dataDir: `${tmp.dir}/db${dbCount++}`, genesisValidatorsRoot: ZERO_ROOT });
  openDbs.push(db);
  if (blocks.length + attestations.length > 0) {
    db.importRecords(ZERO_ROOT, [{ pubkey: PK, signedBlocks: blocks, signedAttestations: attestations }]);
  }
  return db;
}

function refusalOf(fn: () => void): SlashingErrorType | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof SlashingError) return err.type;
    throw err;
  }
}

interface AttCase {
  name: string;
  history: SignedAttestationRecord[];
  candidate: SignedAttestationRecord;
  code: SlashingErrorType["code"] | "allowed" | "repeat";
  existing?: SignedAttestationRecord;
}

const attCases: AttCase[] = [
  { name: "first attestation", history: [], candidate: att(0, 1), code: "allowed" },
  { name: "genesis attestation 0→0", history: [], candidate: att(0, 0), code: "allowed" },
  { name: "source after target", history: [], candidate: att(3, 2), code: "SOURCE_EXCEEDS_TARGET" },
  { name: "next epoch", history: [att(1, 2)], candidate: att(2, 3, R2), code: "allowed" },
  { name: "same source, later target", history: [att(1, 2)], candidate: att(1, 3, R2), code: "allowed" },
  { name: "exact repeat", history: [att(1, 2, R1)], candidate: att(1, 2, R1), code: "repeat" },
  {
    name: "double vote, other root",
    history: [att(1, 2, R1)],
    candidate: att(1, 2, R2),
    code: "DOUBLE_VOTE",
    existing: att(1, 2, R1),
  },
  {
    name: "double vote, other source",
    history: [att(1, 5, R1)],
    candidate: att(2, 5, R1),
    code: "DOUBLE_VOTE",
    existing: att(1, 5, R1),
  },
  {
    name: "same target as a record of unknown root",
    history: [att(1, 2, null)],
    candidate: att(1, 2, R1),
    code: "DOUBLE_VOTE",
    existing: att(1, 2, null),
  },
  {
    name: "surrounds a record",
    history: [att(0, 1), att(3, 4, R2)],
    candidate: att(2, 5),
    code: "SURROUNDING_VOTE",
    existing: att(3, 4, R2),
  },
  {
    name: "surrounded by a record",
    history: [att(0, 1), att(2, 9, R2)],
    candidate: att(3, 5),
    code: "SURROUNDED_VOTE",
    existing: att(2, 9, R2),
  },
  { name: "target at the low watermark", history: [att(5, 10)], candidate: att(5, 9), code: "BELOW_LOW_WATERMARK" },
  { name: "source below the low watermark", history: [att(5, 10)], candidate: att(4, 11), code: "BELOW_LOW_WATERMARK" },
  { name: "source at the low watermark", history: [att(5, 10)], candidate: att(5, 11), code: "allowed" },
  {
    name: "gap between records that is not a surround",
    history: [att(2, 30), att(10, 50)],
    candidate: att(3, 31),
    code: "allowed",
  },
];

interface BlockCase {
  name: string;
  history: SignedBlockRecord[];
  candidate: SignedBlockRecord;
  code: SlashingErrorType["code"] | "allowed" | "repeat";
  existing?: SignedBlockRecord;
}

const blockCases: BlockCase[] = [
  { name: "first block", history: [], candidate: blk(0), code: "allowed" },
  { name: "later slot", history: [blk(10)], candidate: blk(11, R2), code: "allowed" },
  { name: "exact repeat", history: [blk(10, R1)], candidate: blk(10, R1), code: "repeat" },
  {
    name: "double proposal",
    history: [blk(10, R1)],
    candidate: blk(10, R2),
    code: "DOUBLE_PROPOSAL",
    existing: blk(10, R1),
  },
  {
    name: "slot of a record with unknown root",
    history: [blk(10, null)],
    candidate: blk(10, R1),
    code: "DOUBLE_PROPOSAL",
    existing: blk(10, null),
  },
  {
    name: "slot holding two different records, one matching",
    history: [blk(10, R1), blk(10, R2)],
    candidate: blk(10, R1),
    code: "DOUBLE_PROPOSAL",
    existing: blk(10, R2),
  },
  { name: "below the low watermark", history: [blk(10), blk(20)], candidate: blk(9), code: "BELOW_LOW_WATERMARK" },
  { name: "gap above the low watermark", history: [blk(10), blk(20)], candidate: blk(15), code: "allowed" },
];

describe("attestation rules", () => {
  for (const c of attCases) {
    it(`${c.name}: ${c.code}`, () => {
      // the store imports the history, so its minima are the watermark
      const verdict = checkAttestation(
        PK,
        c.candidate,
        attestationHistoryOf(c.history, attestationWatermarkOf(c.history)),
      );
      const db = storeWith([], c.history);
      const refusal = refusalOf(() =>
        db.checkAndRecordAttestation(PK, c.candidate.sourceEpoch, c.candidate.targetEpoch, c.candidate.signingRoot!),
      );
      const recorded = db.readHistory(PK)?.signedAttestations ?? [];
      if (c.code === "allowed" || c.code === "repeat") {
        expect(verdict).toEqual({ allowed: true, repeat: c.code === "repeat" });
        expect(refusal).toBeNull();
        expect(recorded).toHaveLength(c.history.length + (c.code === "allowed" ? 1 : 0));
      } else {
        expect(verdict.allowed).toBe(false);
        expect(refusal?.code).toBe(c.code);
        if (!verdict.allowed) expect(refusal).toEqual(verdict.refusal);
        if (c.existing) expect(refusal).toMatchObject({ existing: c.existing, candidate: c.candidate });
        expect(recorded).toHaveLength(c.history.length);
      }
    });
  }
});

describe("block rules", () => {
  for (const c of blockCases) {
    it(`${c.name}: ${c.code}`, () => {
      const verdict = checkBlock(PK, c.candidate, blockHistoryOf(c.history, blockWatermarkOf(c.history)));
      const db = storeWith(c.history, []);
      const refusal = refusalOf(() => db.checkAndRecordBlock(PK, c.candidate.slot, c.candidate.signingRoot!));
      const recorded = db.readHistory(PK)?.signedBlocks ?? [];
      if (c.code === "allowed" || c.code === "repeat") {
        expect(verdict).toEqual({ allowed: true, repeat: c.code === "repeat" });
        expect(refusal).toBeNull();
        expect(recorded).toHaveLength(c.history.length + (c.code === "allowed" ? 1 : 0));
      } else {
        expect(refusal?.code).toBe(c.code);
        if (!verdict.allowed) expect(refusal).toEqual(verdict.refusal);
        if (c.existing) expect(refusal).toMatchObject({ existing: c.existing, candidate: c.candidate });
        expect(recorded).toHaveLength(c.history.length);
      }
    });
  }

  it("BELOW_LOW_WATERMARK carries the watermark", () => {
    const db = storeWith([blk(10), blk(20)], [att(5, 10)]);
    expect(refusalOf(() => db.checkAndRecordBlock(PK, 10n - 1n, R2))).toMatchObject({ watermark: { minSlot: 10n } });
    expect(refusalOf(() => db.checkAndRecordAttestation(PK, 4n, 12n, R2))).toMatchObject({
      watermark: { minSourceEpoch: 5n, minTargetEpoch: 10n },
    });
  });

  it("a refusal message names the validator and the conflict on one line", () => {
    const db = storeWith([blk(10, R1)], []);
    try {
      db.checkAndRecordBlock(PK, 10n, R2);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SlashingError);
      const msg = (err as Error).message;
      expect(msg).toContain("slot 10");
      expect(msg).toContain("0xa0");
      expect(msg).not.toContain("\n");
    }
  });
});

// ---- property tests: the store agrees with the in-memory reference, and is never slashable ----

type Op =
  | { kind: "block"; slot: number; root: number }
  | { kind: "attestation"; source: number; target: number; root: number };

const rootArb = fc.integer({ min: 0, max: 3 }); // few roots so exact repeats and conflicts both happen
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("block" as const), slot: fc.integer({ min: 0, max: 12 }), root: rootArb }),
  fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: -2, max: 6 }), rootArb).map(([source, span, root]) => ({
    kind: "attestation" as const,
    source,
    target: Math.max(0, source + span),
    root,
  })),
);
const importedArb = fc.record({
  blocks: fc.array(fc.record({ slot: fc.integer({ min: 0, max: 12 }), root: fc.option(rootArb, { nil: undefined }) }), {
    maxLength: 4,
  }),
  attestations: fc.array(
    fc.record({
      source: fc.integer({ min: 0, max: 12 }),
      target: fc.integer({ min: 0, max: 12 }),
      root: fc.option(rootArb, { nil: undefined }),
    }),
    { maxLength: 4 },
  ),
});

const rootOf = (n: number | undefined): Root | null => (n === undefined ? null : testRoot(100 + n));

/** Slashable by the EIP-3076 definitions, independent of the rules code: double vote or surround either way. */
function slashablePair(a: SignedAttestationRecord, b: SignedAttestationRecord): boolean {
  const sameData =
    a.sourceEpoch === b.sourceEpoch &&
    a.signingRoot !== null &&
    b.signingRoot !== null &&
    Buffer.from(a.signingRoot).equals(Buffer.from(b.signingRoot));
  if (a.targetEpoch === b.targetEpoch) return !sameData;
  const surrounds = (x: SignedAttestationRecord, y: SignedAttestationRecord) =>
    x.sourceEpoch < y.sourceEpoch && y.targetEpoch < x.targetEpoch;
  return surrounds(a, b) || surrounds(b, a);
}

describe("properties", () => {
  it("the fast paths (maxima) never change a verdict", () => {
    const recordArb = fc.record({
      source: fc.integer({ min: 0, max: 20 }),
      target: fc.integer({ min: 0, max: 20 }),
      root: fc.option(rootArb, { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 8 }), recordArb, (recs, c) => {
        const atts = recs.map((r) => att(r.source, r.target, rootOf(r.root)));
        const candidate = att(c.source, c.target, rootOf(c.root ?? 0));
        const slow = attestationHistoryOf(atts);
        const fast = {
          ...slow,
          maxima: () =>
            atts.length === 0
              ? null
              : {
                  maxSourceEpoch: max(atts.map((a) => a.sourceEpoch))!,
                  maxTargetEpoch: max(atts.map((a) => a.targetEpoch))!,
                },
        };
        expect(checkAttestation(PK, candidate, fast)).toEqual(checkAttestation(PK, candidate, slow));
        const blocks = recs.map((r) => blk(r.target, rootOf(r.root)));
        const block = blk(c.target, rootOf(c.root ?? 0));
        const slowB = blockHistoryOf(blocks);
        const fastB = {
          ...slowB,
          maxSlot: () => max(blocks.map((b) => b.slot)) ?? null,
        };
        expect(checkBlock(PK, block, fastB)).toEqual(checkBlock(PK, block, slowB));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  const db = new SlashingProtectionDb({ dataDir: `${tmp.dir}/prop`, genesisValidatorsRoot: ZERO_ROOT });
  openDbs.push(db);
  let validator = 1000;

  it("the SQLite store gives the reference's verdict for every operation, after any import", () => {
    fc.assert(
      fc.property(importedArb, fc.array(opArb, { maxLength: 25 }), (imported, ops) => {
        const pk: BlsPublicKey = testPubkey(validator++);
        const blocks: SignedBlockRecord[] = imported.blocks.map((b) => blk(b.slot, rootOf(b.root)));
        const atts: SignedAttestationRecord[] = imported.attestations.map((a) =>
          att(a.source, a.target, rootOf(a.root)),
        );
        if (blocks.length + atts.length > 0) {
          db.importRecords(ZERO_ROOT, [{ pubkey: pk, signedBlocks: blocks, signedAttestations: atts }]);
        }
        // Imports deduplicate exact duplicates; the reference does the same.
        const refBlocks = dedupe(blocks);
        const refAtts = dedupe(atts);
        const importedAtts = [...refAtts];
        const minImportedSource = min(importedAtts.map((a) => a.sourceEpoch));
        const minImportedTarget = min(importedAtts.map((a) => a.targetEpoch));
        const minImportedSlot = min(refBlocks.map((b) => b.slot));
        // only imports set low watermarks; what this node signs does not
        const importedBlockWatermark = blockWatermarkOf(refBlocks);
        const importedAttestationWatermark = attestationWatermarkOf(refAtts);
        for (const op of ops) {
          if (op.kind === "block") {
            const c = blk(op.slot, rootOf(op.root));
            const v = checkBlock(pk, c, blockHistoryOf(refBlocks, importedBlockWatermark));
            const got = refusalOf(() => db.checkAndRecordBlock(pk, c.slot, c.signingRoot!));
            expect(got?.code ?? "allowed").toBe(v.allowed ? "allowed" : v.refusal.code);
            if (v.allowed && !v.repeat) {
              // Never a second block at a slot, never at or below the imported minimum.
              expect(refBlocks.some((b) => b.slot === c.slot)).toBe(false);
              if (minImportedSlot !== undefined) expect(c.slot > minImportedSlot).toBe(true);
              refBlocks.push(c);
            }
          } else {
            const c = att(op.source, op.target, rootOf(op.root));
            const v = checkAttestation(pk, c, attestationHistoryOf(refAtts, importedAttestationWatermark));
            const got = refusalOf(() => db.checkAndRecordAttestation(pk, c.sourceEpoch, c.targetEpoch, c.signingRoot!));
            expect(got?.code ?? "allowed").toBe(v.allowed ? "allowed" : v.refusal.code);
            if (v.allowed && !v.repeat) {
              expect(c.sourceEpoch <= c.targetEpoch).toBe(true);
              for (const r of refAtts) expect(slashablePair(c, r)).toBe(false);
              if (minImportedTarget !== undefined) expect(c.targetEpoch > minImportedTarget).toBe(true);
              if (minImportedSource !== undefined) expect(c.sourceEpoch >= minImportedSource).toBe(true);
              refAtts.push(c);
            }
          }
        }
        const stored = db.readHistory(pk);
        expect(sortRecords(stored?.signedBlocks ?? [])).toEqual(sortRecords(refBlocks));
        expect(sortRecords(stored?.signedAttestations ?? [])).toEqual(sortRecords(refAtts));
      }),
      { numRuns: 150, seed: 3076 },
    );
  });
});

function min(xs: bigint[]): bigint | undefined {
  let m: bigint | undefined;
  for (const x of xs) if (m === undefined || x < m) m = x;
  return m;
}

function max(xs: bigint[]): bigint | undefined {
  let m: bigint | undefined;
  for (const x of xs) if (m === undefined || x > m) m = x;
  return m;
}

function key(r: SignedBlockRecord | SignedAttestationRecord): string {
  const root = r.signingRoot === null ? "-" : Buffer.from(r.signingRoot).toString("hex");
  return "slot" in r ? `${r.slot}:${root}` : `${r.targetEpoch}:${r.sourceEpoch}:${root}`;
}

function dedupe<T extends SignedBlockRecord | SignedAttestationRecord>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(key(x)) && seen.add(key(x)) !== undefined);
}

function sortRecords<T extends SignedBlockRecord | SignedAttestationRecord>(xs: T[]): string[] {
  return xs.map(key).sort();
}

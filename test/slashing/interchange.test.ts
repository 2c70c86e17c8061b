/**
 * EIP-3076 interchange v5: export → import → export is stable, overlapping interchanges merge, malformed files and
 * a wrong genesis validators root change nothing, minimal export keeps the watermarks.
 */
import { afterEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { Root } from "../../src/lib/types.js";
import {
  exportInterchange,
  type InterchangeJson,
  importInterchange,
  parseInterchange,
  parseInterchangeText,
  serializeInterchange,
} from "../../src/slashing/interchange.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { tempDir, testPubkey, testRoot } from "./helpers.js";

const GVR = testRoot(0x77) as Root;
const OTHER_GVR = testRoot(0x78) as Root;
const PK1 = toHex(testPubkey(1));
const PK2 = toHex(testPubkey(2));
const PK3 = toHex(testPubkey(3));
const r = (n: number) => toHex(testRoot(n));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A fresh store pinned to `gvr`, or unpinned when `gvr` is null. */
function freshDb(gvr: Root | null = GVR): SlashingProtectionDb {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const db = new SlashingProtectionDb(gvr ? { dataDir: t.dir, genesisValidatorsRoot: gvr } : { dataDir: t.dir });
  cleanups.push(() => db.close());
  return db;
}

function doc(data: InterchangeJson["data"], gvr: Root = GVR): InterchangeJson {
  return { metadata: { interchange_format_version: "5", genesis_validators_root: toHex(gvr) }, data };
}

const A = doc([
  {
    pubkey: PK1,
    signed_blocks: [{ slot: "10", signing_root: r(10) }, { slot: "12" }],
    signed_attestations: [
      { source_epoch: "1", target_epoch: "2", signing_root: r(2) },
      { source_epoch: "2", target_epoch: "3" },
    ],
  },
  {
    pubkey: PK2,
    signed_blocks: [],
    signed_attestations: [{ source_epoch: "0", target_epoch: "5", signing_root: r(5) }],
  },
]);

const B = doc([
  {
    pubkey: PK1,
    signed_blocks: [{ slot: "12" }, { slot: "20", signing_root: r(20) }],
    signed_attestations: [
      { source_epoch: "2", target_epoch: "3" },
      { source_epoch: "3", target_epoch: "4", signing_root: r(4) },
    ],
  },
  { pubkey: PK3, signed_blocks: [{ slot: "7", signing_root: r(7) }], signed_attestations: [] },
]);

function importDoc(db: SlashingProtectionDb, d: unknown) {
  return importInterchange(db, parseInterchange(d));
}

describe("interchange", () => {
  it("export → import → export is stable, and re-importing adds nothing", () => {
    const db = freshDb();
    importDoc(db, A);
    db.checkAndRecordAttestation(testPubkey(1), 3n, 4n, testRoot(44));
    db.checkAndRecordBlock(testPubkey(2), 99n, testRoot(99));
    const first = exportInterchange(db);
    const copy = freshDb(null);
    importDoc(copy, JSON.parse(serializeInterchange(first)));
    expect(exportInterchange(copy)).toEqual(first);
    const again = importDoc(db, first);
    expect([again.newBlocks, again.newAttestations]).toEqual([0, 0]);
    expect(exportInterchange(db)).toEqual(first);
    expect(first.data.map((d) => d.pubkey)).toEqual([PK1, PK2]);
    expect(first.data[0]?.signed_attestations).toContainEqual({
      source_epoch: "3",
      target_epoch: "4",
      signing_root: r(44),
    });
  });

  it("merges two overlapping interchanges, in either order, without duplicates", () => {
    const ab = freshDb();
    importDoc(ab, A);
    const summary = importDoc(ab, B);
    expect(summary).toEqual({ validators: 2, blocks: 3, attestations: 2, newBlocks: 2, newAttestations: 1 });
    const ba = freshDb();
    importDoc(ba, B);
    importDoc(ba, A);
    const merged = exportInterchange(ab);
    expect(exportInterchange(ba)).toEqual(merged);
    expect(merged.data.find((d) => d.pubkey === PK1)).toEqual({
      pubkey: PK1,
      signed_blocks: [{ slot: "10", signing_root: r(10) }, { slot: "12" }, { slot: "20", signing_root: r(20) }],
      signed_attestations: [
        { source_epoch: "1", target_epoch: "2", signing_root: r(2) },
        { source_epoch: "2", target_epoch: "3" },
        { source_epoch: "3", target_epoch: "4", signing_root: r(4) },
      ],
    });
    // Everything from both files now constrains signing.
    expect(() => ab.checkAndRecordBlock(testPubkey(1), 20n, testRoot(21))).toThrow(SlashingError);
    expect(() => ab.checkAndRecordBlock(testPubkey(3), 7n, testRoot(8))).toThrow(SlashingError);
    expect(() => ab.checkAndRecordAttestation(testPubkey(2), 1n, 4n, testRoot(1))).toThrow(SlashingError);
    expect(() => ab.checkAndRecordAttestation(testPubkey(1), 4n, 5n, testRoot(5))).not.toThrow();
  });

  describe("malformed input is refused with the field named, and changes nothing", () => {
    const valid = A.data[0]!;
    const cases: [string, string | unknown, RegExp][] = [
      ["not JSON", "{ not json", /not valid JSON/],
      ["no metadata", { data: [] }, /"metadata"/],
      ["version 4", { ...A, metadata: { ...A.metadata, interchange_format_version: "4" } }, /must be "5"/],
      [
        "short genesis root",
        { ...A, metadata: { ...A.metadata, genesis_validators_root: toHex(GVR).slice(0, -2) } },
        /"metadata\.genesis_validators_root"/,
      ],
      ["bad pubkey", doc([{ ...valid, pubkey: "0x1234" }]), /"data\[0\]\.pubkey"/],
      ["negative slot", doc([{ ...valid, signed_blocks: [{ slot: "-1" }] }]), /signed_blocks\[0\]\.slot/],
      ["numeric slot", doc([{ ...valid, signed_blocks: [{ slot: 5 }] }] as never), /signed_blocks\[0\]\.slot/],
      ["slot beyond 2^63", doc([{ ...valid, signed_blocks: [{ slot: "18446744073709551615" }] }]), /2\^63/],
      [
        "bad signing root",
        doc([{ ...valid, signed_attestations: [{ source_epoch: "1", target_epoch: "9", signing_root: "0xzz" }] }]),
        /signed_attestations\[0\]\.signing_root/,
      ],
      ["missing signed_attestations", doc([{ pubkey: PK2, signed_blocks: [] }] as never), /signed_attestations/],
      [
        "a bad entry after good ones",
        doc([valid, { pubkey: PK3, signed_blocks: [{ slot: "x" }], signed_attestations: [] }]),
        /data\[1\]\.signed_blocks\[0\]\.slot/,
      ],
    ];
    for (const [name, input, message] of cases) {
      it(name, () => {
        const db = freshDb();
        importDoc(db, B);
        const before = exportInterchange(db);
        const text = typeof input === "string" && name === "not JSON" ? input : JSON.stringify(input);
        const fn = () => importInterchange(db, parseInterchangeText(text));
        expect(fn).toThrow(InputError);
        expect(fn).toThrow(message);
        expect(exportInterchange(db)).toEqual(before);
      });
    }
  });

  it("refuses a wrong genesis validators root and imports nothing of that file", () => {
    const db = freshDb();
    importDoc(db, A);
    const before = exportInterchange(db);
    try {
      importDoc(db, { ...B, metadata: { ...B.metadata, genesis_validators_root: toHex(OTHER_GVR) } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SlashingError);
      expect((err as SlashingError).type).toEqual({
        code: "WRONG_GENESIS_VALIDATORS_ROOT",
        expected: GVR,
        actual: OTHER_GVR,
      });
    }
    expect(exportInterchange(db)).toEqual(before);
  });

  it("pins an unpinned database to the first imported genesis validators root", () => {
    const db = freshDb(null);
    expect(() => exportInterchange(db)).toThrow(InputError);
    importDoc(db, doc([], OTHER_GVR));
    expect(db.genesisValidatorsRoot).toEqual(OTHER_GVR);
    expect(() => importDoc(db, A)).toThrow(SlashingError);
  });

  it("imports slashable data as is, and then refuses everything that conflicts with any of it", () => {
    const db = freshDb();
    importDoc(
      db,
      doc([
        {
          pubkey: PK1,
          signed_blocks: [
            { slot: "10", signing_root: r(1) },
            { slot: "10", signing_root: r(2) },
          ],
          signed_attestations: [
            { source_epoch: "0", target_epoch: "10" },
            { source_epoch: "2", target_epoch: "3" },
          ],
        },
      ]),
    );
    expect(() => db.checkAndRecordBlock(testPubkey(1), 10n, testRoot(1))).toThrow(SlashingError);
    expect(() => db.checkAndRecordAttestation(testPubkey(1), 1n, 9n, testRoot(1))).toThrow(SlashingError);
    expect(() => db.checkAndRecordAttestation(testPubkey(1), 1n, 11n, testRoot(1))).toThrow(SlashingError);
    expect(() => db.checkAndRecordAttestation(testPubkey(1), 10n, 11n, testRoot(1))).not.toThrow();
  });

  it("minimal export keeps one block and one attestation per validator, enough for the low watermarks", () => {
    const db = freshDb();
    importDoc(db, A);
    importDoc(db, B);
    const minimal = exportInterchange(db, { format: "minimal", pubkeys: [testPubkey(1), testPubkey(3)] });
    expect(minimal.data).toEqual([
      {
        pubkey: PK1,
        signed_blocks: [{ slot: "20", signing_root: r(20) }],
        signed_attestations: [{ source_epoch: "3", target_epoch: "4", signing_root: r(4) }],
      },
      { pubkey: PK3, signed_blocks: [{ slot: "7", signing_root: r(7) }], signed_attestations: [] },
    ]);
    const target = freshDb();
    importDoc(target, minimal);
    expect(() => target.checkAndRecordBlock(testPubkey(1), 15n, testRoot(1))).toThrow(SlashingError);
    expect(() => target.checkAndRecordAttestation(testPubkey(1), 3n, 4n, testRoot(9))).toThrow(SlashingError);
    expect(() => target.checkAndRecordAttestation(testPubkey(1), 3n, 5n, testRoot(9))).not.toThrow();
    expect(exportInterchange(target, { format: "minimal" }).data[0]?.signed_attestations).toEqual([
      { source_epoch: "3", target_epoch: "5", signing_root: r(9) },
    ]);
  });

  it("refuses to export a validator without records", () => {
    const db = freshDb();
    importDoc(db, A);
    expect(() => exportInterchange(db, { pubkeys: [testPubkey(9)] })).toThrow(/no slashing protection records/);
  });
});

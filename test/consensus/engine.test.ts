// Duty agreement over signed batches (src/consensus/engine.ts, wire.ts) with real identity keys, an
// in-memory network, and a Byzantine peer that runs its own code with a valid identity.
import { sha256 } from "@noble/hashes/sha2.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  AGREEMENT_MAX_LEAVES_PER_PEER,
  AGREEMENT_MAX_PENDING_PER_PEER,
  AGREEMENT_MAX_PROOFS_PER_PEER,
  type AgreementValue,
  DutyAgreement,
} from "../../src/consensus/engine.js";
import { AGREEMENT_KEYS_KEPT_PER_SENDER, agreementKeyVerifier, createAgreementKey } from "../../src/consensus/keys.js";
import {
  batchTree,
  evidenceValid,
  leafOf,
  PARTIAL_CODE,
  QBFT_TYPE_CODES,
  rootFromPath,
  sealBatch,
} from "../../src/consensus/wire.js";
import { toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import type { Root, ShareIndex } from "../../src/lib/types.js";
import { generateIdentity, type Identity, identityVerifier } from "../../src/p2p/identity.js";
import { Batch, type Entry } from "../../src/pb/consensus.js";

const N = 4;
const LOCK = new Uint8Array(32).fill(7);
const PK = new Uint8Array(48).fill(1);
const PK_HEX = toHex(PK);
const enc = (s: string) => new TextEncoder().encode(s);
const rootOf = (json: Uint8Array) => sha256(json) as Root;
const value = (s: string): AgreementValue => ({ root: rootOf(enc(s)), json: enc(s) });

/** The engine's leader of round 1 for a duty of kind `attester` at `slot` (validator index 0). */
function leader1(slot: number): number {
  const offset = slot + [..."attester"].reduce((a, c) => a + c.charCodeAt(0), 0);
  return ((offset + 1) % N) + 1;
}
const slotLedBy = (i: number) => Array.from({ length: 8 }, (_, k) => 1000 + k).find((s) => leader1(s) === i)!;

let engines: DutyAgreement[] = [];
afterEach(() => {
  for (const e of engines) e.stop();
  engines = [];
});

/** Counts each node's dropped agreement messages by reason (the engine's metrics hook). */
function dropCounter() {
  const drops = new Map<number, Map<string, number>>();
  const metricsFor = (self: number) => ({
    agreementDecided: () => {},
    agreementTimeout: () => {},
    agreementInstances: () => {},
    agreementDropped: (reason: string) => {
      const by = drops.get(self) ?? new Map<string, number>();
      by.set(reason, (by.get(reason) ?? 0) + 1);
      drops.set(self, by);
    },
  });
  return { metricsFor, dropped: (self: number, reason: string) => drops.get(self)?.get(reason) ?? 0 };
}

async function network(
  byzantine: number | undefined,
  metricsFor?: (self: number) => ReturnType<ReturnType<typeof dropCounter>["metricsFor"]>,
) {
  const ids: Identity[] = [];
  for (let i = 0; i < N; i++) ids.push(await generateIdentity());
  const verifyIdentity = identityVerifier(ids.map((x) => x.peerId));
  const verify = agreementKeyVerifier(LOCK, verifyIdentity);
  const keys = ids.map((id, k) => createAgreementKey(LOCK, k + 1, (b) => id.signSync(b)));
  const inboxes: ((from: number, bytes: Uint8Array) => void)[] = [];
  const delivered: { from: number; to: number; bytes: Uint8Array }[] = [];
  const nodes = ids.map((_id, k) => {
    const self = k + 1;
    if (self === byzantine) return undefined;
    const e = new DutyAgreement(
      { n: N, self: self as ShareIndex, lockHash: LOCK, validatorIndex: new Map([[PK_HEX, 0]]), learnerUpToSlot: 0 },
      {
        broadcast: (bytes) => {
          for (let to = 1; to <= N; to++) {
            if (to === self) continue;
            setImmediate(() => {
              delivered.push({ from: self, to, bytes });
              inboxes[to - 1]?.(self, bytes);
            });
          }
        },
        batchKey: keys[k]!,
        verifyBatch: agreementKeyVerifier(LOCK, verifyIdentity),
        rootOf: (_pk, _duty, json) => rootOf(json),
        raiseParticipationSlot: () => {},
        logger: silentLogger(),
        metrics: metricsFor?.(self),
      },
    );
    engines.push(e);
    inboxes[k] = (from, bytes) => e.receive(from, bytes);
    return e;
  });
  /** Sends a batch from the Byzantine node, signed with its real identity, to some nodes. */
  const sendAs = (from: number, entries: Entry[], to: number[], badSignature = false) => {
    // a bad signature: the sender's agreement key over other bytes
    const own = keys[from - 1]!;
    const signer = { key: own.key, sign: (b: Uint8Array) => own.sign(badSignature ? new Uint8Array(1) : b) };
    const bytes = sealBatch(LOCK, from, entries, signer, () => {});
    for (const t of to) setImmediate(() => inboxes[t - 1]?.(from, bytes));
  };
  return { ids, nodes, sendAs, verify, delivered };
}

const propose = (e: DutyAgreement, duty: string, v: string, valid: string[]) =>
  e.propose(
    PK_HEX,
    PK,
    duty,
    value(v),
    (root, json) => valid.some((x) => toHex(rootOf(enc(x))) === root) && toHex(rootOf(json)) === root,
    AbortSignal.timeout(20_000),
  );

const entry = (
  type: keyof typeof QBFT_TYPE_CODES,
  duty: string,
  round: number,
  sender: number,
  v?: string,
  json?: string,
): Entry => ({
  msg: {
    type: QBFT_TYPE_CODES[type],
    validator: PK as Uint8Array<ArrayBuffer>,
    duty,
    round,
    sender,
    value: (v === undefined ? new Uint8Array(0) : rootOf(enc(v))) as Uint8Array<ArrayBuffer>,
    preparedRound: 0,
    preparedValue: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
  },
  valueJson: (json === undefined ? new Uint8Array(0) : enc(json)) as Uint8Array<ArrayBuffer>,
  justification: [],
  partialSignature: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
});

describe("batch Merkle evidence", () => {
  it("every leaf's path leads to the root; a wrong index, length or sibling does not", () => {
    for (const count of [1, 2, 3, 5, 8, 13]) {
      const leaves = Array.from({ length: count }, (_, i) => sha256(new Uint8Array([i])));
      const tree = batchTree(leaves);
      leaves.forEach((leaf, i) => {
        expect(rootFromPath(leaf, i, count, tree.path(i))).toEqual(tree.root);
        if (count > 1) expect(rootFromPath(leaf, (i + 1) % count, count, tree.path(i))).not.toEqual(tree.root);
      });
      expect(rootFromPath(leaves[0]!, count, count, tree.path(0))).toBeUndefined();
    }
    // a peer's huge leaf count is refused at once (a shift-based depth loop would never end)
    expect(rootFromPath(new Uint8Array(32), 0, 2 ** 31, [])).toBeUndefined();
    expect(rootFromPath(new Uint8Array(32), -1, 4, [])).toBeUndefined();
  });

  it("relayed evidence verifies under an agreement key its sender certified, for this cluster only", async () => {
    const ids = [await generateIdentity(), await generateIdentity()];
    const verifyIdentity = identityVerifier(ids.map((x) => x.peerId));
    const verify = agreementKeyVerifier(LOCK, verifyIdentity);
    const entries = [entry("PREPARE", "attester/1", 1, 1, "A"), entry("COMMIT", "attester/1", 1, 1, "A")];
    const sealed = (signer: Parameters<typeof sealBatch>[3]) => {
      let evidence: Parameters<typeof evidenceValid>[1][] = [];
      const bytes = sealBatch(LOCK, 1, entries, signer, (ev) => {
        evidence = ev;
      });
      return { evidence, batch: Batch.decode(bytes) };
    };
    const key1 = createAgreementKey(LOCK, 1, (b) => ids[0]!.signSync(b));
    const good = sealed(key1);
    expect(good.evidence.every((ev) => evidenceValid(LOCK, ev, verify, new Set()))).toBe(true);
    expect(good.batch.key?.publicKey).toHaveLength(32);
    expect(good.batch.signature).toHaveLength(64);
    // a fresh verifier (no cached certificate) agrees
    expect(evidenceValid(LOCK, good.evidence[0]!, agreementKeyVerifier(LOCK, verifyIdentity), new Set())).toBe(true);
    // a key operator 2 certified, claiming operator 1: refused
    const byOther = sealed(createAgreementKey(LOCK, 1, (b) => ids[1]!.signSync(b)));
    expect(evidenceValid(LOCK, byOther.evidence[0]!, verify, new Set())).toBe(false);
    // a key operator 1 certified as operator 2 (another share index): refused as operator 1's
    const asOther = sealed(createAgreementKey(LOCK, 2, (b) => ids[0]!.signSync(b)));
    expect(evidenceValid(LOCK, asOther.evidence[0]!, verify, new Set())).toBe(false);
    // a key certified for another cluster: refused
    const otherCluster = sealed(createAgreementKey(new Uint8Array(32), 1, (b) => ids[0]!.signSync(b)));
    expect(evidenceValid(LOCK, otherCluster.evidence[0]!, verify, new Set())).toBe(false);
    // operator 1's certified key, but the batch signed by another Ed25519 key
    const other = createAgreementKey(LOCK, 1, (b) => ids[0]!.signSync(b));
    const swapped = sealed({ key: key1.key, sign: other.sign });
    expect(evidenceValid(LOCK, swapped.evidence[0]!, verify, new Set())).toBe(false);
    // no key, or a malformed one: refused, nothing thrown
    const { key: _drop, ...keyless } = good.evidence[0]!;
    expect(evidenceValid(LOCK, keyless, verify, new Set())).toBe(false);
    const shortKey = { ...good.evidence[0]!, key: { ...key1.key, publicKey: key1.key.publicKey.slice(1) } };
    expect(evidenceValid(LOCK, shortKey, verify, new Set())).toBe(false);
    // another session
    expect(evidenceValid(new Uint8Array(32), good.evidence[0]!, verify, new Set())).toBe(false);
    expect(leafOf(entries[0]!.msg!)).toHaveLength(32);
    // once a batch's evidence verified, a copy of its other message with a garbage signature or
    // key is not taken on the strength of the cache (it would be relayed and fail elsewhere)
    const cache = new Set<string>();
    expect(evidenceValid(LOCK, good.evidence[0]!, verify, cache)).toBe(true);
    const badSig = { ...good.evidence[1]!, signature: new Uint8Array(64) as Uint8Array<ArrayBuffer> };
    expect(evidenceValid(LOCK, badSig, verify, cache)).toBe(false);
    const badKey = { ...good.evidence[1]!, key: byOther.batch.key };
    expect(evidenceValid(LOCK, badKey, verify, cache)).toBe(false);
    expect(evidenceValid(LOCK, good.evidence[1]!, verify, cache)).toBe(true);
  });

  it("a verifier keeps a few certified agreement keys per sender: a restarted peer's new key still verifies", async () => {
    const id = await generateIdentity();
    let identityChecks = 0;
    const verifyIdentity = identityVerifier([id.peerId]);
    const verify = agreementKeyVerifier(LOCK, (i, b, s) => {
      identityChecks += 1;
      return verifyIdentity(i, b, s);
    });
    const bytes = new Uint8Array([1, 2, 3]);
    const keys = Array.from({ length: AGREEMENT_KEYS_KEPT_PER_SENDER + 1 }, () =>
      createAgreementKey(LOCK, 1, (b) => id.signSync(b)),
    );
    for (const k of keys) expect(verify(1, k.key, bytes, k.sign(bytes))).toBe(true);
    expect(identityChecks).toBe(keys.length);
    // the most recent keys are kept: their certificates are not checked again
    for (const k of keys.slice(1)) expect(verify(1, k.key, bytes, k.sign(bytes))).toBe(true);
    expect(identityChecks).toBe(keys.length);
    // the oldest was dropped: checked again, and still valid
    expect(verify(1, keys[0]!.key, bytes, keys[0]!.sign(bytes))).toBe(true);
    expect(identityChecks).toBe(keys.length + 1);
    // a wrong-length signature is refused before any check
    expect(verify(1, keys[1]!.key, bytes, new Uint8Array(63))).toBe(false);
  });
});

describe("duty agreement engine", () => {
  it("four honest nodes with four different values decide one of them", async () => {
    const { nodes } = await network(undefined);
    const vals = ["A", "B", "C", "D"];
    const decided = await Promise.all(nodes.map((e, i) => propose(e!, "attester/1000", vals[i]!, vals)));
    expect(new Set(decided.map((d) => toHex(d.root))).size).toBe(1);
    expect(vals.map((v) => toHex(rootOf(enc(v))))).toContain(toHex(decided[0]!.root));
  });

  it("a node asked late decides at once from the messages it held", async () => {
    const { nodes } = await network(undefined);
    const duty = `attester/${slotLedBy(1)}`;
    const first = await Promise.all(nodes.slice(0, 3).map((e) => propose(e!, duty, "A", ["A"])));
    const late = await propose(nodes[3]!, duty, "B", ["A", "B"]);
    expect(toHex(late.root)).toBe(toHex(first[0]!.root));
  });

  for (const behaviour of [
    "is silent",
    "equivocates",
    "proposes a value honest nodes refuse",
    "sends garbage",
  ] as const) {
    it(`a Byzantine leader that ${behaviour}: the honest nodes decide one valid value`, async () => {
      const { nodes, sendAs } = await network(4);
      const slot = slotLedBy(4);
      const duty = `attester/${slot}`;
      const honest = nodes.slice(0, 3) as DutyAgreement[];
      if (behaviour === "equivocates") {
        sendAs(
          4,
          [
            entry("PRE_PREPARE", duty, 1, 4, "A", "A"),
            entry("PREPARE", duty, 1, 4, "A"),
            entry("COMMIT", duty, 1, 4, "A"),
          ],
          [1],
        );
        sendAs(
          4,
          [
            entry("PRE_PREPARE", duty, 1, 4, "B", "B"),
            entry("PREPARE", duty, 1, 4, "B"),
            entry("COMMIT", duty, 1, 4, "B"),
          ],
          [2, 3],
        );
      } else if (behaviour === "proposes a value honest nodes refuse") {
        sendAs(
          4,
          [
            entry("PRE_PREPARE", duty, 1, 4, "X", "X"),
            entry("PREPARE", duty, 1, 4, "X"),
            entry("COMMIT", duty, 1, 4, "X"),
          ],
          [1, 2, 3],
        );
      } else if (behaviour === "sends garbage") {
        const forged = entry("PREPARE", duty, 1, 1, "X");
        sendAs(
          4,
          [forged, entry("PRE_PREPARE", duty, 9, 4, "X", "Y"), entry("COMMIT", "not a duty", 1, 4, "A")],
          [1, 2, 3],
        );
        for (const to of [0, 1, 2]) honest[to]!.receive(4, new Uint8Array(300).fill(0xab));
        const bogus = Batch.encode({
          session: LOCK as Uint8Array<ArrayBuffer>,
          sender: 4,
          entries: [entry("DECIDED", duty, 1, 4, "X", "X")],
          signature: new Uint8Array(70) as Uint8Array<ArrayBuffer>,
        });
        for (const e of honest) e.receive(4, bogus);
      }
      const decided = await Promise.all(honest.map((e, i) => propose(e, duty, ["A", "B", "C"][i]!, ["A", "B", "C"])));
      const roots = new Set(decided.map((d) => toHex(d.root)));
      expect(roots.size).toBe(1);
      expect(["A", "B", "C"].map((v) => toHex(rootOf(enc(v))))).toContain([...roots][0]);
    }, 30_000);
  }

  it("round changes under a bad batch signature are dropped, so they cannot spoil a leader's justification", async () => {
    const { nodes, sendAs } = await network(4);
    const slot = slotLedBy(4);
    const duty = `attester/${slot}`;
    const rcs = [2, 3, 4, 5, 6, 7, 8].map((r) => entry("ROUND_CHANGE", duty, r, 4));
    sendAs(4, rcs, [1, 2, 3], true);
    const honest = nodes.slice(0, 3) as DutyAgreement[];
    const decided = await Promise.all(honest.map((e) => propose(e, duty, "A", ["A"])));
    expect(new Set(decided.map((d) => toHex(d.root))).size).toBe(1);
  }, 30_000);

  it(`one peer can hold at most ${AGREEMENT_MAX_PENDING_PER_PEER} duties this node was not asked for`, async () => {
    const { nodes, sendAs } = await network(4);
    const total = AGREEMENT_MAX_PENDING_PER_PEER + 2_000;
    for (let start = 0; start < total; start += 4_000) {
      const entries = Array.from({ length: Math.min(4_000, total - start) }, (_, k) =>
        entry("PREPARE", `attester/${start + k}`, 1, 4, "A"),
      );
      sendAs(4, entries, [1]);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(nodes[0]!.size).toBe(AGREEMENT_MAX_PENDING_PER_PEER);
  }, 30_000);

  it(`one peer's evidence is capped at ${AGREEMENT_MAX_PROOFS_PER_PEER} messages; the honest nodes still decide`, async () => {
    const counter = dropCounter();
    const { nodes, sendAs } = await network(4, counter.metricsFor);
    // 9 distinct messages for each of 4096 duties node 1 was not asked for: 36864 > the cap
    const perDuty = (duty: string): Entry[] => [
      ...[1, 2, 3, 4].flatMap((r) => [entry("PREPARE", duty, r, 4, "A"), entry("COMMIT", duty, r, 4, "A")]),
      entry("ROUND_CHANGE", duty, 2, 4),
    ];
    const all = Array.from({ length: AGREEMENT_MAX_PENDING_PER_PEER }, (_, k) => perDuty(`attester/${k}`)).flat();
    for (let start = 0; start < all.length; start += 4_000) sendAs(4, all.slice(start, start + 4_000), [1]);
    await expect
      .poll(() => counter.dropped(1, "evidence_cap"), { timeout: 10_000 })
      .toBe(all.length - AGREEMENT_MAX_PROOFS_PER_PEER);
    expect(counter.dropped(1, "instance_cap")).toBe(0);
    // the cap is node 4's alone: nodes 1–3 agree on a new duty with their own evidence
    const duty = `attester/${slotLedBy(1)}`;
    const decided = await Promise.all(nodes.slice(0, 3).map((e) => propose(e!, duty, "B", ["B"])));
    for (const d of decided) expect(toHex(d.root)).toBe(toHex(rootOf(enc("B"))));
  }, 60_000);

  it(`a peer cannot pin more than ${AGREEMENT_MAX_LEAVES_PER_PEER} batch leaves with one kept message per batch`, async () => {
    const counter = dropCounter();
    const { sendAs } = await network(4, counter.metricsFor);
    // each batch: one new message, and 4095 copies of one already held (kept once, ignored after)
    const filler = entry("PREPARE", "attester/0", 1, 4, "A");
    sendAs(4, [filler], [1]);
    const batches = AGREEMENT_MAX_LEAVES_PER_PEER / 4_096 + 3;
    for (let b = 0; b < batches; b++) {
      sendAs(
        4,
        [entry("PREPARE", `attester/${b + 1}`, 1, 4, "A"), ...Array.from({ length: 4_095 }, () => filler)],
        [1],
      );
    }
    // the first batch pinned 1 leaf, so 15 full ones fit: the rest each lose their one new message
    await expect.poll(() => counter.dropped(1, "evidence_cap"), { timeout: 10_000 }).toBe(batches - 15);
  }, 60_000);
});

describe("partial signatures after a decision", () => {
  /** A stand-in partial: 96 bytes, each the sender's share index (the engine never checks them). */
  const fake = (self: number) => new Uint8Array(96).fill(self);
  const partialEntry = (duty: string, sender: number, v: string, sig: Uint8Array): Entry => ({
    ...entry("PRE_PREPARE", duty, 1, sender, v),
    msg: { ...entry("PRE_PREPARE", duty, 1, sender, v).msg!, type: PARTIAL_CODE },
    partialSignature: sig as Uint8Array<ArrayBuffer>,
  });

  it("each node that shares its partial after deciding reaches every peer's decision, as it arrives", async () => {
    const { nodes } = await network(undefined);
    const duty = `attester/${slotLedBy(2)}`;
    const decided = await Promise.all(nodes.map((e) => propose(e!, duty, "A", ["A"])));
    nodes.forEach((e, k) => {
      e!.sharePartial(PK_HEX, duty, decided[k]!.root, fake(k + 1));
    });
    const peers = (self: number) => [1, 2, 3, 4].filter((i) => i !== self);
    await expect
      .poll(() => decided.every((d, k) => peers(k + 1).every((i) => d.partials!.get(i as ShareIndex) !== undefined)))
      .toBe(true);
    decided.forEach((d, k) => {
      expect(d.partials!.get((k + 1) as ShareIndex)).toBeUndefined();
      for (const i of peers(k + 1)) expect(d.partials!.get(i as ShareIndex)).toEqual(fake(i));
    });
  });

  it("a partial for an undecided duty, for another root, or twice, is not sent", async () => {
    const { nodes, delivered } = await network(undefined);
    const duty = `attester/${slotLedBy(3)}`;
    nodes[0]!.sharePartial(PK_HEX, duty, rootOf(enc("A")), fake(1));
    const decided = await Promise.all(nodes.map((e) => propose(e!, duty, "A", ["A"])));
    // the last commits are still on their way: count from when the network is quiet
    await new Promise((r) => setTimeout(r, 100));
    const before = delivered.length;
    nodes[0]!.sharePartial(PK_HEX, duty, rootOf(enc("B")), fake(1));
    nodes[0]!.sharePartial(PK_HEX, duty, decided[0]!.root, new Uint8Array(95));
    await new Promise((r) => setTimeout(r, 50));
    expect(delivered.length).toBe(before);
    nodes[0]!.sharePartial(PK_HEX, duty, decided[0]!.root, fake(1));
    nodes[0]!.sharePartial(PK_HEX, duty, decided[0]!.root, fake(9));
    await expect.poll(() => decided[1]!.partials!.get(1 as ShareIndex)).toEqual(fake(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(delivered.length).toBe(before + 3);
  });

  it("a Byzantine peer's partials: the first per duty counts, one for another value is not the decision's, malformed ones drop the batch", async () => {
    const counter = dropCounter();
    const { nodes, sendAs } = await network(4, counter.metricsFor);
    const duty = `attester/${slotLedBy(1)}`;
    // before anyone decided: a partial over B (not what is decided), then one over A (ignored: second)
    sendAs(4, [partialEntry(duty, 4, "B", fake(4))], [1, 2, 3]);
    sendAs(4, [partialEntry(duty, 4, "A", fake(4))], [1, 2, 3]);
    // malformed: a partial on a PREPARE, a short partial, a PARTIAL with value bytes
    const onPrepare = { ...entry("PREPARE", duty, 1, 4, "A"), partialSignature: fake(4) as Uint8Array<ArrayBuffer> };
    sendAs(4, [onPrepare], [1, 2, 3]);
    sendAs(4, [partialEntry(duty, 4, "A", new Uint8Array(95))], [1, 2, 3]);
    sendAs(4, [{ ...partialEntry(duty, 4, "A", fake(4)), valueJson: enc("A") as Uint8Array<ArrayBuffer> }], [1, 2, 3]);
    await expect
      .poll(() => [1, 2, 3].map((i) => counter.dropped(i, "invalid_message")), { timeout: 5_000 })
      .toEqual([3, 3, 3]);
    const decided = await Promise.all(nodes.slice(0, 3).map((e) => propose(e!, duty, "A", ["A"])));
    for (const d of decided) {
      expect(toHex(d.root)).toBe(toHex(rootOf(enc("A"))));
      expect(d.partials!.get(4 as ShareIndex)).toBeUndefined();
    }
  });
});

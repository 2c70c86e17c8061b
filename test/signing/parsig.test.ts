// The partial push of /cohort/parsig/push/1.0.0: its codec and its once-per-turn batching.
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import type { Root } from "../../src/lib/types.js";
import { PARSIG_PUSH_MAX_ENTRIES } from "../../src/p2p/protocols.js";
import { ParSigPush } from "../../src/pb/parsig.js";
import {
  createPartialPusher,
  type DecidedPartialPush,
  decodeParSigPush,
  encodeParSigPush,
} from "../../src/signing/parsig.js";

const lockHash = new Uint8Array(32).fill(7);
const sk = SecretKey.fromBytes(new Uint8Array(32).fill(1));
const root = new Uint8Array(32).fill(9) as Root;
const partial = (slot: number): DecidedPartialPush => ({
  publicKey: sk.publicKey(),
  duty: `attester/${slot}`,
  root,
  signature: sk.sign(root),
});

describe("partial push", () => {
  it("round-trips, bound to the lock", () => {
    const ps = [partial(1), partial(2)];
    const back = decodeParSigPush(lockHash, encodeParSigPush(lockHash, ps));
    expect(back.map((p) => p.duty)).toEqual(["attester/1", "attester/2"]);
    expect(back[0]!.signature).toEqual(ps[0]!.signature);
    expect(back[0]!.root).toEqual(root);
    expect(back[0]!.publicKey).toEqual(ps[0]!.publicKey);
  });

  it("refuses another lock, undecodable bytes, wrong lengths, empty or long duty keys, too many entries", () => {
    expect(() => decodeParSigPush(lockHash, encodeParSigPush(new Uint8Array(32), [partial(1)]))).toThrow(/another/);
    expect(() => decodeParSigPush(lockHash, new Uint8Array(64).fill(0xff))).toThrow();
    const bad = (p: Partial<DecidedPartialPush>) => encodeParSigPush(lockHash, [{ ...partial(1), ...p }]);
    expect(() => decodeParSigPush(lockHash, bad({ publicKey: new Uint8Array(47) }))).toThrow(/public_key/);
    expect(() => decodeParSigPush(lockHash, bad({ root: new Uint8Array(31) as Root }))).toThrow(/signing_root/);
    expect(() => decodeParSigPush(lockHash, bad({ signature: new Uint8Array(95) }))).toThrow(/partial_signature/);
    expect(() => decodeParSigPush(lockHash, bad({ duty: "" }))).toThrow(/duty/);
    expect(() => decodeParSigPush(lockHash, bad({ duty: "x".repeat(97) }))).toThrow(/duty/);
    const many = Array.from({ length: PARSIG_PUSH_MAX_ENTRIES + 1 }, (_, i) => partial(i));
    expect(() => decodeParSigPush(lockHash, encodeParSigPush(lockHash, many))).toThrow();
    expect(decodeParSigPush(lockHash, encodeParSigPush(lockHash, many.slice(1)))).toHaveLength(PARSIG_PUSH_MAX_ENTRIES);
  });

  it("sends the partials of one event-loop turn as one push, split at the entry cap", async () => {
    const sent: Uint8Array[] = [];
    const push = createPartialPusher(lockHash, (bytes) => sent.push(bytes));
    for (let i = 0; i < PARSIG_PUSH_MAX_ENTRIES + 3; i++) push(partial(i));
    expect(sent).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(sent.map((b) => ParSigPush.decode(b).partials.length)).toEqual([PARSIG_PUSH_MAX_ENTRIES, 3]);
    push(partial(1));
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(3);
  });
});

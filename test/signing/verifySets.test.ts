// findInvalid (batch, then bisect) and verify-and-combine over real BLS keys and shares.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SecretKey, type SignatureSet, verify } from "../../src/crypto/bls.js";
import { Polynomial } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import { timeSlicer } from "../../src/lib/slice.js";
import type { BlsPublicKey, BlsSignature } from "../../src/lib/types.js";
import {
  combineOptimistic,
  findInvalid,
  findInvalidSliced,
  type PartialSignatures,
  SLICED_CHECK_SETS,
  verifyAndCombine,
} from "../../src/signing/verifySets.js";

const keys = Array.from({ length: 10 }, () => SecretKey.random());
/** 100 sets: 10 keys × 10 messages, so both the distinct-message and the same-message batches run. */
const good: SignatureSet[] = Array.from({ length: 100 }, (_, i) => {
  const key = keys[i % 10]!;
  const message = new Uint8Array(32).fill(Math.floor(i / 10));
  return { publicKey: key.publicKey(), message, signature: key.sign(message) };
});
/** Same sets, every message distinct (verifyBatch rather than verifyGroups). */
const distinct: SignatureSet[] = Array.from({ length: 40 }, (_, i) => {
  const key = keys[i % 10]!;
  const message = new Uint8Array(32).fill(i + 1);
  return { publicKey: key.publicKey(), message, signature: key.sign(message) };
});
const otherSig = SecretKey.random().sign(new Uint8Array(32));

function corrupt(sets: readonly SignatureSet[], bad: readonly number[]): SignatureSet[] {
  return sets.map((s, i) => (bad.includes(i) ? { ...s, signature: otherSig } : s));
}

describe("findInvalid", () => {
  it("finds nothing in an empty list", () => {
    expect(findInvalid([])).toEqual([]);
  });

  it("finds nothing when every set verifies", () => {
    expect(findInvalid(good)).toEqual([]);
    expect(findInvalid(distinct)).toEqual([]);
    expect(findInvalid(good.slice(0, 1))).toEqual([]);
  });

  it("one bad signature among 100 is found by its index", () => {
    for (const i of [0, 37, 99]) expect(findInvalid(corrupt(good, [i]))).toEqual([i]);
    expect(findInvalid(corrupt(distinct, [17]))).toEqual([17]);
  });

  it("a wrong message or key is as invalid as a wrong signature", () => {
    const sets = good.map((s) => ({ ...s }));
    sets[5] = { ...sets[5]!, message: new Uint8Array(32).fill(0xee) };
    // set 60 is keys[0]'s
    sets[60] = { ...sets[60]!, publicKey: keys[1]!.publicKey() };
    expect(findInvalid(sets)).toEqual([5, 60]);
  });

  it("malformed points count as invalid, never throw", () => {
    const sets = good.slice(0, 8).map((s) => ({ ...s }));
    sets[2] = { ...sets[2]!, signature: new Uint8Array(96).fill(0xff) };
    sets[6] = { ...sets[6]!, publicKey: new Uint8Array(48) };
    expect(findInvalid(sets)).toEqual([2, 6]);
    expect(findInvalid([{ ...good[0]!, signature: new Uint8Array(5) }])).toEqual([0]);
  });

  it("property: exactly the corrupted indices are reported, ascending", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 6 }), (bad) => {
        expect(findInvalid(corrupt(distinct, bad))).toEqual([...bad].sort((a, b) => a - b));
      }),
      { numRuns: 15 },
    );
  });
});

describe("findInvalidSliced", () => {
  it("finds what findInvalid finds, across chunk boundaries, and lets other work in between chunks", async () => {
    // 100 sets span two chunks of 64: corruptions on either side of the boundary and at both ends
    expect(SLICED_CHECK_SETS).toBeLessThan(good.length);
    for (const bad of [[], [0], [63, 64], [5, 70, 99], [SLICED_CHECK_SETS - 1]]) {
      const sets = corrupt(good, bad);
      let turns = 0;
      const tick = setInterval(() => turns++, 0);
      // a zero-length slice pauses before every chunk
      const found = await findInvalidSliced(sets, timeSlicer(0));
      clearInterval(tick);
      expect(found).toEqual(findInvalid(sets));
      expect(found).toEqual(bad);
      expect(turns).toBeGreaterThan(0);
    }
  });
});

describe("verifyAndCombine", () => {
  const n = 5;
  const t = 3;
  const messages = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
  const polys = messages.map(() => Polynomial.random(t));
  const sets = (tamper: (v: number, i: number, sig: Uint8Array) => Uint8Array = (_v, _i, s) => s) =>
    polys.map((poly, v): PartialSignatures => {
      const shares = Array.from({ length: n }, (_, i) => poly.evaluate(i + 1));
      return {
        message: messages[v]!,
        publicKey: poly.secret().publicKey(),
        publicShares: shares.map((s) => s.publicKey()) as BlsPublicKey[],
        partials: shares.map((s, i) => ({ index: i + 1, value: tamper(v, i + 1, s.sign(messages[v]!)) })),
        trusted: new Set([1]),
      };
    });

  it("combines t valid partials into the group signature and checks every untrusted one", async () => {
    const out = await verifyAndCombine(sets(), t);
    out.forEach((r, v) => {
      expect(r.invalid).toEqual([]);
      expect(r.valid).toEqual([2, 3, 4, 5]);
      expect(verify(polys[v]!.secret().publicKey(), messages[v]!, r.signature!)).toBe(true);
      expect(toHex(r.signature!)).toBe(toHex(polys[v]!.secret().sign(messages[v]!)));
    });
  });

  it("names a bad partial even when t good ones would do, and combines around it", async () => {
    const out = await verifyAndCombine(
      sets((v, i, s) => (v === 1 && i === 2 ? otherSig : s)),
      t,
    );
    expect(out[0]!.invalid).toEqual([]);
    expect(out[1]!.invalid).toEqual([2]);
    expect(verify(polys[1]!.secret().publicKey(), messages[1]!, out[1]!.signature!)).toBe(true);
  });

  it("fewer than t valid partials: no signature, the bad ones named", async () => {
    const out = await verifyAndCombine(
      sets((_v, i, s) => (i >= 3 ? otherSig : s)),
      t,
    );
    for (const r of out) {
      expect(r.signature).toBeUndefined();
      expect(r.invalid).toEqual([3, 4, 5]);
    }
  });

  it("public shares that do not match the group key throw", async () => {
    const s = sets();
    s[0] = { ...s[0]!, publicKey: keys[0]!.publicKey() };
    await expect(verifyAndCombine(s, t)).rejects.toThrow(/does not verify under the group key/);
  });
});

describe("combineOptimistic", () => {
  const t = 3;
  const poly = Polynomial.random(t);
  const message = new Uint8Array(32).fill(9);
  const shares = Array.from({ length: 4 }, (_, i) => poly.evaluate(i + 1));
  const base: PartialSignatures = {
    message,
    publicKey: poly.secret().publicKey(),
    publicShares: shares.map((s) => s.publicKey()) as BlsPublicKey[],
    partials: shares.map((s, i) => ({ index: i + 1, value: s.sign(message) })),
  };
  const counting = () => {
    const calls: BlsSignature[] = [];
    return {
      calls,
      verify: (pk: BlsPublicKey, m: Uint8Array, sig: BlsSignature) => {
        calls.push(sig);
        return verify(pk, m, sig);
      },
    };
  };

  it("all honest: one verification of the combination, no partial checked", async () => {
    const c = counting();
    const r = await combineOptimistic(base, t, c.verify);
    expect(c.calls).toHaveLength(1);
    expect(r).toMatchObject({ invalid: [], valid: [] });
    expect(toHex(r.signature!)).toBe(toHex(poly.secret().sign(message)));
  });

  it("a bad partial among the first t: found, and the valid ones combined", async () => {
    const c = counting();
    const partials = base.partials.map((p) => (p.index === 2 ? { ...p, value: otherSig } : p));
    const r = await combineOptimistic({ ...base, partials }, t, c.verify);
    expect(c.calls).toHaveLength(1);
    expect(r.invalid).toEqual([2]);
    expect(r.valid).toEqual([1, 3, 4]);
    expect(toHex(r.signature!)).toBe(toHex(poly.secret().sign(message)));
  });

  it("a malformed partial is invalid, not a rejection", async () => {
    const partials = base.partials.map((p) => (p.index === 1 ? { ...p, value: new Uint8Array(96).fill(0xff) } : p));
    const r = await combineOptimistic({ ...base, partials }, t, verify);
    expect(r.invalid).toEqual([1]);
    expect(r.signature).toBeDefined();
  });

  it("fewer than t partials: nothing verified, nothing combined", async () => {
    const c = counting();
    const r = await combineOptimistic({ ...base, partials: base.partials.slice(0, 2) }, t, c.verify);
    expect(c.calls).toHaveLength(0);
    expect(r.signature).toBeUndefined();
  });
});

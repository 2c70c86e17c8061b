// Threshold BLS: Shamir shares, Feldman commitments, Lagrange combination; cross-checked with @noble/curves.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePublicKey, SecretKey, verify } from "../../src/crypto/bls.js";
import {
  combineSignatures,
  combinesCheaply,
  G1Vector,
  interpolatePublicKey,
  lagrangeCoefficients,
  Polynomial,
  recoverSecret,
  sharesLieOnPolynomials,
  sumSecretKeys,
  verifyShare,
  verifySharesBatch,
} from "../../src/crypto/tbls.js";
import { nonSubgroupG1 } from "../helpers/points.js";

const ETH_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const Fr = bls12_381.fields.Fr;

describe("Shamir shares (fast-check)", () => {
  it("any t of n shares recover the secret, t − 1 do not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.integer({ min: 1, max: n }),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i + 1),
              { minLength: n, maxLength: n },
            ),
          ),
        ),
        ([n, t, order]) => {
          const poly = Polynomial.random(t);
          const shares = Array.from({ length: n }, (_, i) => ({ index: i + 1, value: poly.evaluate(i + 1) }));
          const chosen = order.slice(0, t).map((i) => shares[i - 1]!);
          expect(recoverSecret(chosen).equals(poly.secret())).toBe(true);
          if (t > 1) expect(recoverSecret(chosen.slice(0, t - 1)).equals(poly.secret())).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("any t partial signatures combine to the group signature; a wrong partial does not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (t, msg) => {
        const n = t + 2;
        const poly = Polynomial.random(t);
        const group = poly.secret().publicKey();
        const partials = Array.from({ length: n }, (_, i) => ({ index: i + 1, value: poly.evaluate(i + 1).sign(msg) }));
        const sig = combineSignatures(partials.slice(n - t));
        expect(verify(group, msg, sig)).toBe(true);
        const bad = partials.slice(0, t).map((p) => ({ ...p }));
        bad[0]!.value = partials[n - 1]!.value;
        expect(verify(group, msg, combineSignatures(bad))).toBe(false);
        expect(verify(group, msg, combineSignatures(partials.slice(0, t - 1)))).toBe(false);
      }),
      { numRuns: 8 },
    );
  });
});

describe("cross-check with noble", () => {
  it("combined signature equals noble's signature by the whole key", () => {
    const poly = Polynomial.random(3);
    const msg = new Uint8Array(32).fill(7);
    const partials = [2, 4, 5].map((i) => ({ index: i, value: poly.evaluate(i).sign(msg) }));
    const noble = bls12_381.longSignatures;
    const H = noble.hash(msg, ETH_DST);
    const expected = noble.sign(H, poly.secret().toBytes()).toBytes(true);
    expect(Buffer.from(combineSignatures(partials)).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
  });

  it("every t-subset of 7 shares combines to the whole key's signature, byte for byte", () => {
    // covers integer coefficients (D = 1), fractional ones (D > 1) and negative ones
    const poly = Polynomial.random(4);
    const msg = new Uint8Array(32).fill(9);
    const expected = Buffer.from(poly.secret().sign(msg)).toString("hex");
    const partials = Array.from({ length: 7 }, (_, i) => ({ index: i + 1, value: poly.evaluate(i + 1).sign(msg) }));
    const subsets = (from: number, k: number): number[][] =>
      k === 0 ? [[]] : from > 7 ? [] : [...subsets(from + 1, k - 1).map((s) => [from, ...s]), ...subsets(from + 1, k)];
    const all = subsets(1, 4);
    expect(all).toHaveLength(35);
    for (const set of all) {
      // in both orders: the plan is per index sequence
      for (const order of [set, [...set].reverse()]) {
        const sig = combineSignatures(order.map((i) => partials[i - 1]!));
        expect(Buffer.from(sig).toString("hex"), `indices ${order}`).toBe(expected);
      }
    }
  });

  it("combinesCheaply: integer Lagrange coefficients at 0", () => {
    expect(
      [
        [1, 2, 3],
        [1, 2, 4],
        [1, 3, 4],
        [2, 3, 4],
        [4, 2, 1],
      ].map(combinesCheaply),
    ).toEqual([true, false, true, true, false]);
    expect(() => combinesCheaply([1, 1, 2])).toThrow(RangeError);
  });

  it("large share indices (coefficients beyond 128 bits) take the Lagrange path and agree", () => {
    const t = 11;
    const poly = Polynomial.random(t);
    const msg = new Uint8Array(32).fill(3);
    const indices = Array.from({ length: t }, (_, k) => 65535 - 7 * k);
    const partials = indices.map((i) => ({ index: i, value: poly.evaluate(i).sign(msg) }));
    expect(Buffer.from(combineSignatures(partials)).toString("hex")).toBe(
      Buffer.from(poly.secret().sign(msg)).toString("hex"),
    );
  });

  it("commitment evaluation equals noble's Σ C_k·j^k", () => {
    const poly = Polynomial.random(4);
    const C = poly.commitments();
    const vec = G1Vector.fromPoints(C);
    for (const j of [1, 2, 7]) {
      let acc = bls12_381.G1.Point.ZERO;
      C.forEach((c, k) => {
        acc = acc.add(bls12_381.G1.Point.fromBytes(c).multiply(Fr.pow(BigInt(j), BigInt(k)) || 1n));
      });
      expect(Buffer.from(vec.evaluate(j)).toString("hex")).toBe(acc.toHex(true));
      expect(Buffer.from(vec.evaluate(j)).toString("hex")).toBe(
        Buffer.from(poly.evaluate(j).publicKey()).toString("hex"),
      );
    }
  });

  it("lagrange coefficients sum to 1 at x = 0", () => {
    const l = lagrangeCoefficients([1, 3, 4]);
    expect(l.reduce((a, b) => Fr.add(a, b), 0n)).toBe(1n);
    expect(() => lagrangeCoefficients([1, 1])).toThrow(/distinct/);
    expect(() => lagrangeCoefficients([0, 1])).toThrow(RangeError);
  });

  it("public shares interpolate to the group key and predict other shares", () => {
    const poly = Polynomial.random(3);
    const pub = [1, 2, 3, 4].map((i) => ({ index: i, value: poly.evaluate(i).publicKey() }));
    expect(Buffer.from(interpolatePublicKey(pub.slice(1))).toString("hex")).toBe(
      Buffer.from(poly.secret().publicKey()).toString("hex"),
    );
    expect(Buffer.from(interpolatePublicKey(pub.slice(0, 3), 4)).toString("hex")).toBe(
      Buffer.from(pub[3]!.value).toString("hex"),
    );
  });

  it("sumSecretKeys adds shares over Fr", () => {
    const a = [SecretKey.random(), SecretKey.random()];
    const sum = sumSecretKeys(a);
    expect(sum.scalar).toBe(Fr.add(a[0]!.scalar, a[1]!.scalar));
  });
});

describe("Feldman commitment checks", () => {
  const t = 3;
  const dealers = [0, 1, 2, 3].map(() => Polynomial.random(t));
  const vectors = dealers.map((d) => G1Vector.fromPoints(d.commitments()));

  it("batched check accepts honest shares and rejects one bad share; single check finds it", async () => {
    const j = 2;
    const items = dealers.map((d, i) => ({ commitments: vectors[i]!, share: d.evaluate(j) }));
    expect(await verifySharesBatch(items, j)).toBe(true);
    const bad = items.map((x) => ({ ...x }));
    bad[1]!.share = dealers[1]!.evaluate(3);
    expect(await verifySharesBatch(bad, j)).toBe(false);
    expect(bad.map((x) => verifyShare(x, j))).toEqual([true, false, true, true]);
  });

  it("rejects non-canonical, infinity and out-of-subgroup commitments", () => {
    const good = dealers[0]!.commitments();
    const concat = (pts: Uint8Array[]) => Buffer.concat(pts);
    expect(G1Vector.fromBytes(concat(good), 3).length).toBe(3);
    expect(() => G1Vector.fromBytes(concat(good), 4)).toThrow(/bytes/);
    const inf = new Uint8Array(48);
    inf[0] = 0xc0;
    expect(() => G1Vector.fromBytes(concat([good[0]!, inf, good[2]!]), 3, "commitments")).toThrow(/commitments\[1\]/);
    const outside = nonSubgroupG1();
    expect(() => parsePublicKey(outside)).toThrow(RangeError);
    expect(() => G1Vector.fromBytes(concat([good[0]!, good[1]!, outside]), 3)).toThrow(/commitments\[2\]/);
    const nonCanonical = Uint8Array.from(good[0]!);
    nonCanonical[0]! &= 0x7f; // compression flag cleared on a 48-byte point
    expect(() => G1Vector.fromBytes(concat([nonCanonical, good[1]!, good[2]!]), 3)).toThrow(/commitments\[0\]/);
  });
});

describe("sharesLieOnPolynomials: every validator's public shares at once", () => {
  const validator = (n: number, t: number) => {
    const poly = Polynomial.random(t);
    return {
      publicKey: poly.secret().publicKey(),
      publicShares: Array.from({ length: n }, (_, i) => poly.evaluate(i + 1).publicKey()),
    };
  };

  it("holds for honest shares, and fails when any key or share of any validator is off", () => {
    for (const [n, t] of [
      [4, 3],
      [7, 5],
      [3, 3],
    ] as const) {
      const items = Array.from({ length: 12 }, () => validator(n, t));
      expect(sharesLieOnPolynomials(items, t), `${n}/${t}`).toBe(true);
      const other = SecretKey.random().publicKey();
      // a wrong key of one validator
      expect(
        sharesLieOnPolynomials(
          items.map((v, i) => (i === 5 ? { ...v, publicKey: other } : v)),
          t,
        ),
      ).toBe(false);
      // a wrong share of one validator: the last (checked against the polynomial of 1..t) and the first
      for (const k of [n - 1, 0]) {
        const bad = items.map((v, i) =>
          i === 7 ? { ...v, publicShares: v.publicShares.map((s, j) => (j === k ? other : s)) } : v,
        );
        expect(sharesLieOnPolynomials(bad, t), `${n}/${t} share ${k}`).toBe(false);
      }
      // two validators' keys swapped: each alone is a valid point, neither is on its polynomial
      const swapped = items.map((v, i) =>
        i === 0 ? { ...v, publicKey: items[1]!.publicKey } : i === 1 ? { ...v, publicKey: items[0]!.publicKey } : v,
      );
      expect(sharesLieOnPolynomials(swapped, t)).toBe(false);
    }
  });

  it("is true for no validators, and throws on a malformed point or a t outside [1, n]", () => {
    expect(sharesLieOnPolynomials([], 3)).toBe(true);
    const v = validator(4, 3);
    expect(() => sharesLieOnPolynomials([{ ...v, publicKey: nonSubgroupG1() }], 3)).toThrow(RangeError);
    expect(() => sharesLieOnPolynomials([v], 5)).toThrow(RangeError);
    expect(() => sharesLieOnPolynomials([v, validator(5, 3)], 3)).toThrow(RangeError);
  });
});

import { bls12_381 } from "@noble/curves/bls12-381.js";

const { G1 } = bls12_381;
const Fp = bls12_381.fields.Fp;

/**
 * A compressed G1 encoding of a point that is on the curve y² = x³ + 4 but outside the r-order
 * subgroup, found by scanning small x (noble checks both facts).
 */
export function nonSubgroupG1(): Uint8Array {
  for (let x = 1n; ; x++) {
    const y2 = Fp.add(Fp.mul(Fp.mul(x, x), x), 4n);
    let y: bigint;
    try {
      y = Fp.sqrt(y2);
    } catch {
      continue;
    }
    const p = G1.Point.fromAffine({ x, y });
    // on the curve by construction (y² = x³ + 4)
    if (p.isTorsionFree()) continue;
    // compressed: flag 0x80, sign bit 0x20 when y is the lexicographically larger root
    const out = new Uint8Array(48);
    let v = x;
    for (let i = 47; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    out[0]! |= 0x80;
    if (y > (Fp.ORDER - 1n) / 2n) out[0]! |= 0x20;
    return out;
  }
}

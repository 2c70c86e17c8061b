/**
 * The one verification path for sets of BLS signatures, shared by the DKG's artifacts and the
 * runtime: batch first (random linear combination, one multi-pairing;
 * https://ethresear.ch/t/fast-verification-of-multiple-bls-signatures/5407), bisect on failure to
 * name the bad ones; and verify-and-combine for partial signatures (DESIGN.md § DKG protocol step 8,
 * § Signing protocol step 5).
 */
import { type SameMessageGroup, type SignatureSet, verify, verifyBatch, verifyGroups } from "../crypto/bls.js";
import { combineSignatures, type Indexed } from "../crypto/tbls.js";
import { noPause, type Pause } from "../lib/slice.js";
import type { BlsPublicKey, BlsSignature, ShareIndex } from "../lib/types.js";

/**
 * One check of the sets at `idx`: sets sharing a message are folded into one blinded pair each
 * (one Miller loop per distinct message), otherwise one multi-pairing over all of them.
 * @returns false when any does not verify or any point is malformed
 */
function batchVerifies(sets: readonly SignatureSet[], idx: readonly number[]): boolean {
  try {
    if (idx.length === 1) {
      const s = sets[idx[0]!]!;
      return verify(s.publicKey, s.message, s.signature);
    }
    const groups = new Map<string, SameMessageGroup>();
    for (const i of idx) {
      const s = sets[i]!;
      const key = Buffer.from(s.message.buffer, s.message.byteOffset, s.message.byteLength).toString("latin1");
      let g = groups.get(key);
      if (g === undefined) {
        g = { message: s.message, pairs: [] };
        groups.set(key, g);
      }
      g.pairs.push({ publicKey: s.publicKey, signature: s.signature });
    }
    if (groups.size < idx.length) return verifyGroups([...groups.values()]);
    return verifyBatch(idx.map((i) => sets[i]!));
  } catch {
    return false;
  }
}

/**
 * Indices of the sets that do not verify: one batched check of all of them, then, on failure,
 * bisection (a half that passes clears its sets; when the left half passes the right one is known
 * to fail and is split without being checked again). With b bad sets among m this costs about
 * 2b·log2(m) batched checks, and one when all verify. A malformed key or signature counts as a set
 * that does not verify.
 * @param sets (48-byte G1 public key, message, 96-byte G2 signature) triples
 * @returns 0-based indices into `sets`, ascending; empty when every set verifies (or `sets` is empty)
 */
export function findInvalid(sets: readonly SignatureSet[]): number[] {
  const bad: number[] = [];
  const visit = (idx: number[], knownBad: boolean) => {
    if (!knownBad && batchVerifies(sets, idx)) return;
    if (idx.length === 1) {
      bad.push(idx[0]!);
      return;
    }
    const mid = idx.length >> 1;
    const left = idx.slice(0, mid);
    const leftOk = batchVerifies(sets, left);
    if (!leftOk) visit(left, true);
    visit(idx.slice(mid), leftOk);
  };
  if (sets.length > 0)
    visit(
      Array.from(sets, (_, i) => i),
      false,
    );
  return bad;
}

/**
 * Sets per batched check of {@link findInvalidSliced}: about 30 ms of pairings (0.46 ms a set, one
 * more final exponentiation per chunk: about 1% over one batch of all of them).
 */
export const SLICED_CHECK_SETS = 64;

/**
 * {@link findInvalid} over chunks of {@link SLICED_CHECK_SETS} sets, with `pause()` before each, so
 * that checking the (n − 1)·V proofs of possession or deposit partials of a 10,000-validator DKG
 * never holds the event loop for more than one chunk. Same result as {@link findInvalid}.
 * @returns 0-based indices into `sets`, ascending
 */
export async function findInvalidSliced(sets: readonly SignatureSet[], pause: Pause): Promise<number[]> {
  const bad: number[] = [];
  for (let o = 0; o < sets.length; o += SLICED_CHECK_SETS) {
    await pause();
    for (const i of findInvalid(sets.slice(o, o + SLICED_CHECK_SETS))) bad.push(o + i);
  }
  return bad;
}

/** Partial signatures over one message, with the keys that check them. */
export interface PartialSignatures {
  /** The signed message (a signing root). */
  message: Uint8Array;
  /** Group public key, 48-byte compressed G1. */
  publicKey: BlsPublicKey;
  /** Public shares by 1-based share index (array index i − 1), 48-byte compressed G1. */
  publicShares: readonly BlsPublicKey[];
  /** 96-byte compressed G2 partials with distinct share indices, in order of preference: the first t valid ones are combined. */
  partials: readonly Indexed<Uint8Array>[];
  /** Share indices whose partials are known valid (this node's own, or checked before): not checked again. */
  trusted?: ReadonlySet<number>;
}

/** What {@link verifyAndCombine} made of one {@link PartialSignatures}. */
export interface Combined {
  /** The combined signature, verified under the group key; undefined with fewer than t valid partials. */
  signature?: BlsSignature;
  /** Share indices whose partials do not verify under their public share (malformed included), ascending by position. */
  invalid: ShareIndex[];
  /** Share indices whose untrusted partials were checked in this call and verify. */
  valid: ShareIndex[];
}

/**
 * Verify-and-combine: checks every untrusted partial of every set under its public share in one
 * batch ({@link findInvalid}: same-message partials cost one Miller loop per message), combines the
 * first t valid partials of each set by Lagrange interpolation at 0, and checks every combined
 * signature under its group key in one more batch. With `pause`, the checks run in chunks
 * ({@link findInvalidSliced}) and the combinations one set at a time, each after `pause()`.
 * @param threshold t ≥ 1
 * @throws Error when partials that verify under their public shares combine to a signature that
 *   does not verify under the group key: the public shares do not interpolate to the group key
 */
export async function verifyAndCombine(
  sets: readonly PartialSignatures[],
  threshold: number,
  pause: Pause = noPause,
): Promise<Combined[]> {
  const checks: SignatureSet[] = [];
  const owner: { set: number; index: number }[] = [];
  sets.forEach((s, k) => {
    for (const p of s.partials) {
      if (s.trusted?.has(p.index)) continue;
      checks.push({ publicKey: s.publicShares[p.index - 1]!, message: s.message, signature: p.value });
      owner.push({ set: k, index: p.index });
    }
  });
  const invalid = new Set(await findInvalidSliced(checks, pause));
  const out: Combined[] = sets.map(() => ({ invalid: [], valid: [] }));
  owner.forEach((o, c) => {
    const r = out[o.set]!;
    (invalid.has(c) ? r.invalid : r.valid).push(o.index as ShareIndex);
  });
  const combined: { set: number; check: SignatureSet }[] = [];
  for (let k = 0; k < sets.length; k++) {
    await pause();
    const s = sets[k]!;
    const bad = new Set<number>(out[k]!.invalid);
    const pick = s.partials.filter((p) => !bad.has(p.index)).slice(0, threshold);
    if (pick.length < threshold) continue;
    const signature = combineSignatures(pick);
    out[k]!.signature = signature;
    combined.push({ set: k, check: { publicKey: s.publicKey, message: s.message, signature } });
  }
  const wrong = await findInvalidSliced(
    combined.map((c) => c.check),
    pause,
  );
  if (wrong.length > 0) {
    throw new Error(
      `partials that verify combine to a signature that does not verify under the group key (set ${combined[wrong[0]!]!.set})`,
    );
  }
  return out;
}

/**
 * The runtime's fast path in front of {@link verifyAndCombine}: combines the first t partials
 * without checking them (nor their subgroups) and verifies only the result, with `verifyCombined`
 * (a node's batching {@link VerifyQueue}); only when that fails are the untrusted partials checked
 * one batch at a time and the valid ones combined. One verification per duty when every peer is
 * honest, instead of t.
 * @param verifyCombined CoreVerify of the combined signature under the group key, subgroup check
 *   included; false on a malformed point, never rejects
 * @throws as {@link verifyAndCombine}
 */
export async function combineOptimistic(
  set: PartialSignatures,
  threshold: number,
  verifyCombined: (publicKey: BlsPublicKey, message: Uint8Array, signature: BlsSignature) => Promise<boolean> | boolean,
): Promise<Combined> {
  if (set.partials.length < threshold) return { invalid: [], valid: [] };
  let signature: BlsSignature | undefined;
  try {
    signature = combineSignatures(set.partials.slice(0, threshold), { validate: false });
  } catch {
    signature = undefined;
  }
  if (signature !== undefined && (await verifyCombined(set.publicKey, set.message, signature))) {
    return { signature, invalid: [], valid: [] };
  }
  return (await verifyAndCombine([set], threshold))[0]!;
}

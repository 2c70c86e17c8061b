/**
 * Micro-batched verification of combined signatures. Every verification asked for in one event-loop
 * turn is checked in one multi-pairing (blst verifyMultipleAggregateSignatures with random 64-bit
 * weights): n + 1 Miller loops and one final exponentiation instead of 2n and n. A lone request is
 * verified on its own, so an idle node adds no latency; a failed batch is bisected
 * ({@link findInvalid}), so each caller gets its own answer.
 */
import { findInvalid } from "./verifySets.js";

/** Most signatures in one multi-pairing; a longer queue is split. */
export const VERIFY_BATCH_MAX = 64;

interface Pending {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  resolve: (ok: boolean) => void;
}

/** Verifies (public key, message, signature) triples in batches per event-loop turn. */
export class VerifyQueue {
  #pending: Pending[] = [];
  #scheduled = false;
  #batches = 0;

  /** Multi-pairings run so far (for tests and metrics). */
  get batches(): number {
    return this.#batches;
  }

  /**
   * CoreVerify of `signature` (96-byte G2) over `message` under `publicKey` (48-byte G1),
   * including the signature's subgroup check.
   * @returns false when it does not verify or either point is malformed; never rejects
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => {
      this.#pending.push({ publicKey, message, signature, resolve });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const all = this.#pending;
    this.#pending = [];
    for (let o = 0; o < all.length; o += VERIFY_BATCH_MAX) {
      const batch = all.slice(o, o + VERIFY_BATCH_MAX);
      if (batch.length > 1) this.#batches++;
      const bad = new Set(findInvalid(batch));
      batch.forEach((p, i) => {
        p.resolve(!bad.has(i));
      });
    }
  }
}

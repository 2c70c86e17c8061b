/**
 * Agreement round timers, set for a 300 ms round trip between operators (DESIGN.md § Reaching
 * peers): a round that decides takes three one-way delays (pre-prepare, prepare, commit), about
 * 450 ms at that round trip, so the first round has twice that and each later round 500 ms more,
 * as QBFT's growing timers need for liveness after the network stabilises (Moniz 2020, § 4).
 */

/** Round 1's timer, ms. */
export const ROUND_TIMEOUT_BASE_MS = 1_000;
/** Added to the timer for each round after the first, ms. */
export const ROUND_TIMEOUT_INCREMENT_MS = 500;

/** The timer of a 1-based round, ms. */
export function roundTimeoutMs(round: number): number {
  return ROUND_TIMEOUT_BASE_MS + (round - 1) * ROUND_TIMEOUT_INCREMENT_MS;
}

/**
 * Which peers a requester asks first, and how long it gives them before asking the rest
 * ({@link gatherSignature}'s hedged fan-out). Kept per node from the partial-signature round trips
 * it sees: an exponentially weighted mean per peer, and the time of the peer's last failure.
 */

/** Weight of a new round trip in the mean. */
const EWMA_ALPHA = 0.2;
/** A peer that failed within this long is asked after the others, ms. */
const FAILURE_MEMORY_MS = 30_000;
/** The hedge delay is this many times the slowest first peer's mean round trip… */
const HEDGE_FACTOR = 4;
/** …but at least this, ms: below it, scheduling noise would ask every peer. */
export const HEDGE_MIN_MS = 20;

/** Round-trip statistics of the peers, by 1-based share index. */
export class PeerLatency {
  readonly #mean = new Map<number, number>();
  readonly #failedAt = new Map<number, number>();

  /** Records a partial-signature round trip of `ms` milliseconds from peer `index`. */
  observe(index: number, ms: number): void {
    const prev = this.#mean.get(index);
    this.#mean.set(index, prev === undefined ? ms : prev + EWMA_ALPHA * (ms - prev));
  }

  /**
   * Records that peer `index` failed at `now` (ms, monotonic): no answer, or a partial that did not
   * verify. It is asked after the others for {@link FAILURE_MEMORY_MS}.
   */
  failed(index: number, now: number): void {
    this.#failedAt.set(index, now);
  }

  /** Whether peer `index` failed within {@link FAILURE_MEMORY_MS} before `now` (ms, monotonic). */
  failedRecently(index: number, now: number): boolean {
    const failed = this.#failedAt.get(index);
    return failed !== undefined && now - failed < FAILURE_MEMORY_MS;
  }

  /** Mean round trip of peer `index`, ms; undefined before its first answer. */
  mean(index: number): number | undefined {
    return this.#mean.get(index);
  }

  /**
   * `peers` in order of preference: connected before disconnected, then those without a recent
   * failure, then by mean round trip (a peer not yet measured first, so it gets measured).
   */
  order<T extends { index: number }>(peers: readonly T[], connected: (peer: T) => boolean, now: number): T[] {
    const rank = (p: T) =>
      [connected(p) ? 0 : 1, this.failedRecently(p.index, now) ? 1 : 0, this.#mean.get(p.index) ?? 0] as const;
    const ranked = peers.map((p) => ({ p, r: rank(p) }));
    ranked.sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2]);
    return ranked.map((x) => x.p);
  }

  /**
   * How long the first peers get before the rest are asked, ms: {@link HEDGE_FACTOR} times the
   * slowest mean among `first`, at least {@link HEDGE_MIN_MS}, at most `maxMs`.
   */
  hedgeDelay(first: readonly { index: number }[], maxMs: number): number {
    const slowest = Math.max(0, ...first.map((p) => this.#mean.get(p.index) ?? 0));
    return Math.min(maxMs, Math.max(HEDGE_MIN_MS, HEDGE_FACTOR * slowest));
  }

  /**
   * The `k` peers to ask first from `ordered` (the output of {@link order}), moved to the front. When
   * the first `k` fail `cheap` (their share indices with this node's make an expensive combination)
   * and another choice among the first `k + 2` passes it with a slowest mean round trip no more
   * than {@link CHEAP_SET_SLACK_MS} above, that one is used instead.
   */
  preferCheap<T extends { index: number }>(
    ordered: readonly T[],
    k: number,
    cheap: (first: readonly T[]) => boolean,
  ): T[] {
    if (k <= 0 || ordered.length <= k || cheap(ordered.slice(0, k))) return [...ordered];
    const slowest = (set: readonly T[]) => Math.max(0, ...set.map((p) => this.#mean.get(p.index) ?? 0));
    const limit = slowest(ordered.slice(0, k)) + CHEAP_SET_SLACK_MS;
    const pool = ordered.slice(0, Math.min(ordered.length, k + 2));
    let best: T[] | undefined;
    for (const set of subsets(pool, k)) {
      if (!cheap(set) || slowest(set) > limit) continue;
      if (best === undefined || slowest(set) < slowest(best)) best = set;
    }
    if (best === undefined) return [...ordered];
    const chosen = new Set(best);
    return [...best, ...ordered.filter((p) => !chosen.has(p))];
  }
}

/** How much slower (mean round trip, ms) a cheaper-to-combine choice of first peers may be. */
export const CHEAP_SET_SLACK_MS = 2;

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...tail] = items as [T, ...T[]];
  return [...subsets(tail, k - 1).map((s) => [head, ...s]), ...subsets(tail, k)];
}

/**
 * Exponential backoff between retries (dial, send, hello): the delay starts at `minDelayMs`, is
 * multiplied by `factor` after each wait up to `maxDelayMs`, and every wait ends early when the
 * caller's signal aborts or {@link Backoff.wake} is called (a peer that just connected).
 */

/** Sleeps `ms` milliseconds or until `signal` aborts; never rejects. */
export type SleepFn = (ms: number, signal: AbortSignal) => Promise<void>;

/** Resolves after `ms`, or early (never rejecting) when `signal` aborts. The timer is unref'd. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Options of {@link Backoff}. */
export interface BackoffOpts {
  /** First delay, ms (> 0). */
  minDelayMs: number;
  /** Largest delay, ms (≥ `minDelayMs`). */
  maxDelayMs: number;
  /** Growth per wait; default 2. */
  factor?: number;
  /** Ends every wait at once, and makes later waits return immediately. */
  signal: AbortSignal;
  /** The sleep to use; default {@link sleep} (tests inject one that records the delays). */
  sleep?: SleepFn;
}

/**
 * One retry loop's backoff state. Typical use:
 * `while (!signal.aborted) { if (await attempt()) return; await backoff.wait(); }`.
 */
export class Backoff {
  private delay: number;
  private wakeCurrent: (() => void) | undefined;
  private readonly factor: number;
  private readonly sleepFn: SleepFn;

  /** @throws RangeError when the delays are not 0 < minDelayMs ≤ maxDelayMs or `factor` < 1 */
  constructor(private readonly opts: BackoffOpts) {
    if (!(opts.minDelayMs > 0) || !(opts.maxDelayMs >= opts.minDelayMs)) {
      throw new RangeError(
        `"minDelayMs" and "maxDelayMs" must satisfy 0 < min ≤ max, got ${opts.minDelayMs} and ${opts.maxDelayMs}`,
      );
    }
    this.factor = opts.factor ?? 2;
    if (!(this.factor >= 1)) throw new RangeError(`"factor" must be at least 1, got ${this.factor}`);
    this.delay = opts.minDelayMs;
    this.sleepFn = opts.sleep ?? sleep;
  }

  /** The delay the next {@link wait} sleeps, ms. */
  get nextDelayMs(): number {
    return this.delay;
  }

  /** Starts over from `minDelayMs` (after a success). */
  reset(): void {
    this.delay = this.opts.minDelayMs;
  }

  /**
   * Sleeps the current delay, then grows it. Returns at once when the signal has aborted; returns
   * early, without growing the delay further, when the signal aborts or {@link wake} is called.
   */
  async wait(): Promise<void> {
    const { signal } = this.opts;
    if (signal.aborted) return;
    const ms = this.delay;
    this.delay = Math.min(this.delay * this.factor, this.opts.maxDelayMs);
    const cut = new AbortController();
    const onAbort = () => cut.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.wakeCurrent = onAbort;
    try {
      await this.sleepFn(ms, cut.signal);
    } finally {
      if (this.wakeCurrent === onAbort) this.wakeCurrent = undefined;
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Ends the wait in progress now, if any (the next wait sleeps as usual). */
  wake(): void {
    this.wakeCurrent?.();
  }
}

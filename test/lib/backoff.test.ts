/** The retry backoff: delays grow to the cap and reset; waits end on abort or wake; the default sleep is abortable. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Backoff, sleep } from "../../src/lib/backoff.js";

/** A sleep that records each delay and resolves only when told to, or when its signal aborts. */
function manualSleep() {
  const calls: { ms: number; signal: AbortSignal; resolve: () => void }[] = [];
  const fn = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      calls.push({ ms, signal, resolve });
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  return { calls, fn };
}

describe("Backoff", () => {
  it("doubles from the minimum up to the maximum, and reset starts over", async () => {
    const delays: number[] = [];
    const b = new Backoff({
      minDelayMs: 250,
      maxDelayMs: 5_000,
      signal: new AbortController().signal,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    for (let i = 0; i < 7; i++) await b.wait();
    expect(delays).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    b.reset();
    expect(b.nextDelayMs).toBe(250);
    await b.wait();
    expect(delays.at(-1)).toBe(250);
  });

  it("honours another growth factor", async () => {
    const delays: number[] = [];
    const b = new Backoff({
      minDelayMs: 10,
      maxDelayMs: 100,
      factor: 3,
      signal: new AbortController().signal,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    for (let i = 0; i < 4; i++) await b.wait();
    expect(delays).toEqual([10, 30, 90, 100]);
  });

  it("wake() ends the wait in progress, and only that one", async () => {
    const s = manualSleep();
    const b = new Backoff({ minDelayMs: 1_000, maxDelayMs: 1_000, signal: new AbortController().signal, sleep: s.fn });
    b.wake(); // no wait in progress: nothing to cut short
    const first = b.wait();
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]!.signal.aborted).toBe(false);
    b.wake();
    await first;
    expect(s.calls[0]!.signal.aborted).toBe(true);
    const second = b.wait();
    expect(s.calls[1]!.signal.aborted).toBe(false);
    s.calls[1]!.resolve();
    await second;
  });

  it("the caller's abort ends a wait, and later waits return without sleeping", async () => {
    const s = manualSleep();
    const ctrl = new AbortController();
    const b = new Backoff({ minDelayMs: 1_000, maxDelayMs: 1_000, signal: ctrl.signal, sleep: s.fn });
    const w = b.wait();
    ctrl.abort();
    await w;
    expect(s.calls[0]!.signal.aborted).toBe(true);
    await b.wait();
    expect(s.calls).toHaveLength(1);
  });

  it("refuses delays that are not 0 < min ≤ max and a factor below 1", () => {
    const signal = new AbortController().signal;
    expect(() => new Backoff({ minDelayMs: 0, maxDelayMs: 10, signal })).toThrow(RangeError);
    expect(() => new Backoff({ minDelayMs: 20, maxDelayMs: 10, signal })).toThrow(RangeError);
    expect(() => new Backoff({ minDelayMs: 1, maxDelayMs: 10, factor: 0.5, signal })).toThrow(RangeError);
  });
});

describe("sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after its delay on the (fake) clock, or at once when aborted", async () => {
    vi.useFakeTimers();
    let done = false;
    const p = sleep(1_000, new AbortController().signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);

    const ctrl = new AbortController();
    let early = false;
    const q = sleep(60_000, ctrl.signal).then(() => {
      early = true;
    });
    ctrl.abort();
    await q;
    expect(early).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    ctrl.abort();
    await sleep(60_000, ctrl.signal);
  });
});

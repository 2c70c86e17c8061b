/**
 * Cooperative time slicing for long computations on the event loop. A DKG of 10,000 validators
 * computes for minutes; run as one synchronous call it starves stream reads, sync and heartbeats
 * until peers time out (Charon #2547). Such loops call `await pause()` between items: the call
 * resolves at once while the current slice is short, and lets pending I/O in (one macrotask turn)
 * once it has run for {@link COMPUTE_SLICE_MS}.
 */

/**
 * Longest stretch a sliced computation keeps the event loop, ms. Short against every protocol
 * timeout (the DKG's 10 s stream deadlines, heartbeats), long against the cost of one turn (a few
 * microseconds), so slicing costs well under 1% of the computation.
 */
export const COMPUTE_SLICE_MS = 20;

/**
 * Resolves at once while the current slice is under its length; otherwise after one macrotask
 * turn (setImmediate), with a new slice begun. Never rejects.
 */
export type Pause = () => Promise<void>;

/** A {@link Pause} with its own slice of `ms` (default {@link COMPUTE_SLICE_MS}). */
export function timeSlicer(ms: number = COMPUTE_SLICE_MS): Pause {
  let since = performance.now();
  const resolved = Promise.resolve();
  return () => {
    if (performance.now() - since < ms) return resolved;
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        since = performance.now();
        resolve();
      });
    });
  };
}

/** A {@link Pause} that never yields: for tests and callers that want a computation in one go. */
export const noPause: Pause = () => Promise.resolve();

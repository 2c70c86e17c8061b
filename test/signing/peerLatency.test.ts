// PeerLatency: the order in which peers are asked and the hedge delay.
import { describe, expect, it } from "vitest";
import { combinesCheaply } from "../../src/crypto/tbls.js";
import { CHEAP_SET_SLACK_MS, HEDGE_MIN_MS, PeerLatency } from "../../src/signing/peerLatency.js";

const peers = [2, 3, 4].map((index) => ({ index }));
const all = () => true;

describe("PeerLatency", () => {
  it("orders measured peers by mean round trip, unmeasured first", () => {
    const l = new PeerLatency();
    l.observe(2, 9);
    l.observe(3, 3);
    expect(l.order(peers, all, 0).map((p) => p.index)).toEqual([4, 3, 2]);
    l.observe(4, 5);
    expect(l.order(peers, all, 0).map((p) => p.index)).toEqual([3, 4, 2]);
  });

  it("puts disconnected peers last and recently failed ones after the rest", () => {
    const l = new PeerLatency();
    for (const p of peers) l.observe(p.index, p.index);
    l.failed(2, 1_000);
    expect(l.order(peers, (p) => p.index !== 3, 2_000).map((p) => p.index)).toEqual([4, 2, 3]);
    // an answer does not clear it (the answer may be a bad partial); time does
    l.observe(2, 2);
    expect(l.order(peers, all, 2_000).map((p) => p.index)).toEqual([3, 4, 2]);
    expect(l.order(peers, all, 100_000).map((p) => p.index)).toEqual([2, 3, 4]);
  });

  it("keeps an exponentially weighted mean", () => {
    const l = new PeerLatency();
    l.observe(2, 10);
    l.observe(2, 20);
    expect(l.mean(2)).toBeCloseTo(12);
  });

  it("hedge delay: a multiple of the slowest first peer, clamped", () => {
    const l = new PeerLatency();
    expect(l.hedgeDelay(peers.slice(0, 2), 500)).toBe(HEDGE_MIN_MS);
    l.observe(2, 10);
    l.observe(3, 30);
    expect(l.hedgeDelay(peers.slice(0, 2), 500)).toBe(120);
    expect(l.hedgeDelay(peers.slice(0, 2), 100)).toBe(100);
  });

  it("prefers first peers whose share indices combine cheaply, when nearly as fast", () => {
    const l = new PeerLatency();
    l.observe(2, 1);
    l.observe(4, 1);
    l.observe(3, 1.5);
    const cheap = (first: readonly { index: number }[]) => combinesCheaply([1, ...first.map((p) => p.index)]);
    const ordered = l.order(peers, all, 0);
    expect(ordered.map((p) => p.index)).toEqual([2, 4, 3]);
    // {1, 2, 4} needs a full-size scalar multiplication; {1, 2, 3} does not
    expect(l.preferCheap(ordered, 2, cheap).map((p) => p.index)).toEqual([2, 3, 4]);
    // not when the cheap choice is much slower
    l.observe(3, 1.5 + 5 * CHEAP_SET_SLACK_MS);
    l.observe(3, 1.5 + 5 * CHEAP_SET_SLACK_MS);
    expect(l.preferCheap(l.order(peers, all, 0), 2, cheap).map((p) => p.index)).toEqual([2, 4, 3]);
  });
});

// Heartbeats over a fake host whose pings are answered, fail or hang as a test says.
import { afterEach, describe, expect, it, vi } from "vitest";
import { startHeartbeats } from "../../src/p2p/heartbeat.js";

afterEach(() => {
  vi.useRealTimers();
});

/** A host whose peers answer pings as `answer` says, after `delayMs` of fake time. */
function fakeHost(answer: (peer: string) => "ok" | "fail" | "hang", connected = new Set(["a", "b", "c"])) {
  const pings: string[] = [];
  return {
    pings,
    connected,
    isConnected: (peer: string) => connected.has(peer),
    ping: (peer: string, opts: { signal?: AbortSignal } = {}) => {
      pings.push(peer);
      const how = answer(peer);
      if (how === "ok") return Promise.resolve(3);
      if (how === "fail") return Promise.reject(new Error("stream reset"));
      return new Promise<number>((_, reject) =>
        opts.signal?.addEventListener("abort", () => reject(opts.signal!.reason as Error)),
      );
    },
  };
}

describe("heartbeats", () => {
  it("count answered, failed and timed-out pings per peer; a ping in flight is not doubled", async () => {
    vi.useFakeTimers();
    const host = fakeHost((p) => (p === "a" ? "ok" : p === "b" ? "fail" : "hang"));
    const hb = startHeartbeats(host, ["a", "b", "c"], { intervalMs: 1000, timeoutMs: 2500 });
    await vi.advanceTimersByTimeAsync(4000);
    const by = hb.byPeer();
    expect(by.get("a")).toMatchObject({ sent: 4, answered: 4, missed: 0 });
    expect(by.get("b")).toMatchObject({ sent: 4, answered: 0, missed: 4 });
    // c: the first ping hangs until its 2.5 s deadline (missed), the next goes out at 3 s
    expect(by.get("c")).toMatchObject({ sent: 2, answered: 0, missed: 1 });
    const total = hb.stop();
    expect(total).toMatchObject({ sent: 10, answered: 4, missed: 5 });
    await vi.advanceTimersByTimeAsync(5000);
    // stopped: nothing more is sent, and the abandoned ping to c is not counted as missed
    expect(hb.counts()).toEqual(total);
    expect(host.pings).toHaveLength(10);
  });

  it("skip peers that are not connected, and a failure after the peer left is not a miss", async () => {
    vi.useFakeTimers();
    const host = fakeHost(() => "hang", new Set(["a"]));
    const hb = startHeartbeats(host, ["a", "b"], { intervalMs: 1000, timeoutMs: 10_000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(host.pings).toEqual(["a"]);
    host.connected.delete("a");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(hb.stop()).toMatchObject({ sent: 1, answered: 0, missed: 0 });
  });
});

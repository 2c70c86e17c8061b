// Request/response over one long-lived stream per peer (src/p2p/channel.ts), over real libp2p on loopback.
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/lib/logger.js";
import {
  CHANNEL_MAX_ENTRIES,
  CHANNEL_MAX_STREAMS,
  CHANNEL_PEER_MAX_INFLIGHT,
  ChannelClient,
  ChannelRefusal,
  decodeFrame,
  encodeFrames,
  OneWaySender,
  serveChannel,
  serveOneWay,
} from "../../src/p2p/channel.js";
import { createHost, type Host } from "../../src/p2p/host.js";
import { generateIdentity } from "../../src/p2p/identity.js";
import {
  CONSENSUS_MAX_MESSAGE_BYTES,
  CONSENSUS_PROTOCOL,
  PARSIG_MAX_MESSAGE_BYTES,
  PARSIG_PROTOCOL,
} from "../../src/p2p/protocols.js";
import { freePort, tcpAddr } from "./helpers.js";

const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function pair(delayOdd: boolean) {
  const a = await generateIdentity();
  const b = await generateIdentity();
  const addr = tcpAddr(await freePort());
  const ha = await createHost({ identity: a, peers: [{ peerId: b.peerId, addresses: [addr] }] });
  const makeServer = async () => {
    const hb = await createHost({ identity: b, peers: [{ peerId: a.peerId }], listenAddresses: [addr] });
    await serveChannel(
      hb,
      PARSIG_PROTOCOL,
      async ({ bytes }) => {
        // odd requests answer late: responses come back out of order
        if (delayOdd && bytes[0]! % 2 === 1) await new Promise((r) => setTimeout(r, 30));
        return Uint8Array.from([bytes[0]!, 0xff]);
      },
      silentLogger(),
    );
    await hb.start();
    hosts.push(hb);
    return hb;
  };
  const hb = await makeServer();
  await ha.start();
  hosts.push(ha);
  return { ha, hb, peer: b.peerId, makeServer, self: a };
}

describe("ChannelClient / serveChannel", () => {
  it("answers many concurrent requests on one stream, each with its own response, in any order", async () => {
    const { ha, peer } = await pair(true);
    const client = new ChannelClient(ha, peer, PARSIG_PROTOCOL);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.request(Uint8Array.from([i]), { signal: AbortSignal.timeout(10_000) }),
      ),
    );
    answers.forEach((a, i) => {
      expect([...a]).toEqual([i, 0xff]);
    });
  });

  it("fails pending requests when the peer goes away, then reopens the stream once it is back", async () => {
    const { ha, hb, peer, makeServer } = await pair(false);
    const client = new ChannelClient(ha, peer, PARSIG_PROTOCOL);
    expect([...(await client.request(Uint8Array.from([2]), { signal: AbortSignal.timeout(10_000) }))]).toEqual([
      2, 0xff,
    ]);
    await hb.stop();
    await expect(client.request(Uint8Array.from([4]), { signal: AbortSignal.timeout(3_000) })).rejects.toBeDefined();
    await makeServer();
    let answer: Uint8Array | undefined;
    for (let k = 0; k < 50 && answer === undefined; k++) {
      answer = await client
        .request(Uint8Array.from([6]), { signal: AbortSignal.timeout(2_000) })
        .catch(() => undefined);
      if (answer === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect([...(answer ?? [])]).toEqual([6, 0xff]);
  });

  it("an aborted request rejects with the signal's reason and leaves the stream usable", async () => {
    const { ha, peer } = await pair(true);
    const client = new ChannelClient(ha, peer, PARSIG_PROTOCOL);
    const ctl = new AbortController();
    const slow = client.request(Uint8Array.from([1]), { signal: ctl.signal });
    ctl.abort(new Error("caller gave up"));
    await expect(slow).rejects.toThrow("caller gave up");
    expect([...(await client.request(Uint8Array.from([8]), { signal: AbortSignal.timeout(10_000) }))]).toEqual([
      8, 0xff,
    ]);
  });
});

describe("channel: a malformed frame from a peer", () => {
  it("a request too large for a frame fails alone; one made in the same turn is still answered", async () => {
    const { ha, peer } = await pair(false);
    const client = new ChannelClient(ha, peer, PARSIG_PROTOCOL);
    // open the stream first, so both requests below queue in one event-loop turn
    await client.request(Uint8Array.from([2]), { signal: AbortSignal.timeout(10_000) });
    const huge = client.request(new Uint8Array(PARSIG_MAX_MESSAGE_BYTES), { signal: AbortSignal.timeout(10_000) });
    const small = client.request(Uint8Array.from([4]), { signal: AbortSignal.timeout(10_000) });
    await expect(huge).rejects.toThrow(/exceeds the \d+-byte frame limit/);
    expect([...(await small)]).toEqual([4, 0xff]);
  });

  it("ends that stream only: the server keeps answering other streams", async () => {
    const { ha, peer } = await pair(false);
    const raw = await ha.openStream(peer, PARSIG_PROTOCOL, { timeoutMs: 5_000 });
    await raw.write(Uint8Array.from([0, 1, 2]));
    await expect(raw.read({ timeoutMs: 5_000 })).rejects.toBeDefined();
    const client = new ChannelClient(ha, peer, PARSIG_PROTOCOL);
    expect([...(await client.request(Uint8Array.from([3]), { signal: AbortSignal.timeout(10_000) }))]).toEqual([
      3, 0xff,
    ]);
  });
});

describe("channel: one peer's caps, across its streams and connections", () => {
  it("holds at most CHANNEL_PEER_MAX_INFLIGHT requests of a peer, stops reading it, and answers all once they finish", async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    const addr = tcpAddr(await freePort());
    const hb = await createHost({ identity: b, peers: [{ peerId: a.peerId }], listenAddresses: [addr] });
    hosts.push(hb);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = 0;
    const server = await serveChannel(
      hb,
      PARSIG_PROTOCOL,
      async ({ bytes }) => {
        started += 1;
        await gate;
        return bytes;
      },
      silentLogger(),
    );
    await hb.start();
    // two connections of one peer (two hosts with its identity), one channel each
    const clients: ChannelClient[] = [];
    for (let k = 0; k < 2; k++) {
      const ha = await createHost({ identity: a, peers: [{ peerId: b.peerId, addresses: [addr] }] });
      await ha.start();
      hosts.push(ha);
      clients.push(new ChannelClient(ha, b.peerId, PARSIG_PROTOCOL));
    }
    const total = CHANNEL_PEER_MAX_INFLIGHT + 500;
    const answers = Array.from({ length: total }, (_, i) =>
      clients[i % 2]!.request(Uint8Array.from([i & 0xff, i >> 8]), { signal: AbortSignal.timeout(30_000) }),
    );
    for (let k = 0; k < 100 && started < CHANNEL_PEER_MAX_INFLIGHT; k++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const load = server.load().get(a.peerId)!;
    expect(started).toBe(CHANNEL_PEER_MAX_INFLIGHT);
    expect(load.inflight).toBe(CHANNEL_PEER_MAX_INFLIGHT);
    expect(load.streams).toBe(2);
    expect(load.paused).toBe(true);
    release();
    const got = await Promise.all(answers);
    got.forEach((g, i) => {
      expect([...g]).toEqual([i & 0xff, i >> 8]);
    });
    expect(server.load().get(a.peerId)!.inflight).toBe(0);
  }, 60_000);

  it("a peer's streams past CHANNEL_MAX_STREAMS are reset, whatever connection they come on", async () => {
    const { ha, hb, peer, self } = await pair(false);
    const errors: unknown[] = [];
    hb.onStreamError((e) => errors.push(e.error));
    const other = await createHost({
      identity: self,
      peers: [{ peerId: peer, addresses: hb.listenAddresses() }],
    });
    await other.start();
    hosts.push(other);
    const open: Awaited<ReturnType<Host["openStream"]>>[] = [];
    for (let k = 0; k < CHANNEL_MAX_STREAMS; k++) {
      open.push(await (k % 2 ? other : ha).openStream(peer, PARSIG_PROTOCOL, { timeoutMs: 5_000 }));
    }
    // each stream is served once a request arrives on it
    for (const s of open) await s.write(encodeFrames([{ id: 1n, payload: Uint8Array.from([1]) }], 1 << 20)[0]!.bytes);
    for (const s of open) await s.read({ timeoutMs: 5_000 });
    const extra = await other.openStream(peer, PARSIG_PROTOCOL, { timeoutMs: 5_000 });
    // the server resets it at once: the write may already fail
    await extra.write(encodeFrames([{ id: 1n, payload: Uint8Array.from([1]) }], 1 << 20)[0]!.bytes).catch(() => {});
    await expect(extra.read({ timeoutMs: 5_000 })).rejects.toBeDefined();
    expect(errors.some((e) => e instanceof ChannelRefusal && e.reason === "too_many_streams")).toBe(true);
  });
});

describe("channel frames", () => {
  const entries = [
    { id: 1n, payload: Uint8Array.from([1, 2, 3]) },
    { id: 2n ** 63n + 5n, payload: new Uint8Array(0) },
    { id: 7n, payload: new Uint8Array(100).fill(9) },
  ];

  it("round-trips several entries in one frame", () => {
    const frames = encodeFrames(entries, 1 << 20);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.ids).toEqual([1n, 2n ** 63n + 5n, 7n]);
    const back = decodeFrame(frames[0]!.bytes);
    expect(back.map((e) => e.id)).toEqual(entries.map((e) => e.id));
    back.forEach((e, i) => {
      expect([...e.payload]).toEqual([...entries[i]!.payload]);
    });
  });

  it("splits at the frame limit, in order, and refuses an entry larger than the limit", () => {
    const frames = encodeFrames(entries, 12 + 100);
    expect(frames.map((f) => f.ids)).toEqual([[1n, 2n ** 63n + 5n], [7n]]);
    expect(() => encodeFrames(entries, 50)).toThrow(RangeError);
  });

  it("refuses a frame of more than CHANNEL_MAX_ENTRIES entries before decoding any; senders split at it", () => {
    const many = Array.from({ length: CHANNEL_MAX_ENTRIES + 904 }, (_, i) => ({
      id: BigInt(i),
      payload: new Uint8Array(0),
    }));
    const frames = encodeFrames(many, 1 << 20);
    expect(frames.map((f) => f.ids.length)).toEqual([CHANNEL_MAX_ENTRIES, 904]);
    expect(decodeFrame(frames[0]!.bytes)).toHaveLength(CHANNEL_MAX_ENTRIES);
    // 1 MiB of empty entries: 87,381 of them in one frame
    const [flood] = encodeFrames(
      Array.from({ length: Math.floor((1 << 20) / 12) }, (_, i) => ({ id: BigInt(i), payload: new Uint8Array(0) })),
      1 << 20,
      Number.MAX_SAFE_INTEGER,
    );
    let refusal: unknown;
    try {
      decodeFrame(flood!.bytes);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ChannelRefusal);
    expect((refusal as ChannelRefusal).reason).toBe("too_many_entries");
  });

  it("rejects truncated and empty frames", () => {
    const [f] = encodeFrames(entries, 1 << 20);
    expect(() => decodeFrame(f!.bytes.subarray(0, f!.bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeFrame(f!.bytes.subarray(0, 5))).toThrow(/truncated/);
    expect(() => decodeFrame(new Uint8Array(0))).toThrow(/empty/);
  });
});

describe("OneWaySender / serveOneWay", () => {
  async function oneWayPair(opts: { rate?: { perSecond: number; burst: number }; cost?: number } = {}) {
    const a = await generateIdentity();
    const b = await generateIdentity();
    const addr = tcpAddr(await freePort());
    const ha = await createHost({ identity: a, peers: [{ peerId: b.peerId, addresses: [addr] }] });
    const hb = await createHost({ identity: b, peers: [{ peerId: a.peerId }], listenAddresses: [addr] });
    const got: { peer: string; bytes: number[]; at: number }[] = [];
    await serveOneWay(
      hb,
      CONSENSUS_PROTOCOL,
      (peer, bytes) => {
        got.push({ peer, bytes: [...bytes], at: performance.now() });
        return opts.cost;
      },
      silentLogger(),
      { rate: opts.rate },
    );
    await hb.start();
    await ha.start();
    hosts.push(ha, hb);
    return { ha, got, peer: b.peerId, sender: a.peerId };
  }

  it("delivers messages in order with the authenticated sender, nothing answered", async () => {
    const { ha, got, peer, sender } = await oneWayPair();
    const out = new OneWaySender(ha, peer, CONSENSUS_PROTOCOL);
    for (let i = 0; i < 50; i++) out.send(Uint8Array.from([i]));
    for (let k = 0; k < 100 && got.length < 50; k++) await new Promise((r) => setTimeout(r, 20));
    expect(got.map((g) => g.bytes[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(got.map((g) => g.peer))).toEqual(new Set([sender]));
  });

  it("a peer over its rate budget is read no faster than the budget refills, across its streams, and loses nothing", async () => {
    // each message costs 5 units; 20 units at once, then 200 per second
    const { ha, got, peer } = await oneWayPair({ rate: { perSecond: 200, burst: 20 }, cost: 5 });
    // two senders: two streams of the same peer, drawing on one budget
    const outs = [new OneWaySender(ha, peer, CONSENSUS_PROTOCOL), new OneWaySender(ha, peer, CONSENSUS_PROTOCOL)];
    for (let i = 0; i < 10; i++) for (const [k, out] of outs.entries()) out.send(Uint8Array.from([k, i]));
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(20);
    // the 20th message is read only once 19 × 5 − 20 = 75 units refilled: at least 375 ms after the first
    // (a budget per stream would let both streams' tenth in after 125 ms)
    expect(got[19]!.at - got[0]!.at).toBeGreaterThanOrEqual(350);
    for (const k of [0, 1]) {
      expect(got.filter((g) => g.bytes[0] === k).map((g) => g.bytes[1])).toEqual(
        Array.from({ length: 10 }, (_, i) => i),
      );
    }
  });

  it("a message over the protocol's cap is dropped and reported; later ones go out on a new stream", async () => {
    const { ha, got, peer } = await oneWayPair();
    const drops: unknown[] = [];
    const out = new OneWaySender(ha, peer, CONSENSUS_PROTOCOL, (err) => drops.push(err));
    out.send(new Uint8Array(CONSENSUS_MAX_MESSAGE_BYTES + 1));
    out.send(Uint8Array.from([7]));
    for (let k = 0; k < 100 && got.length < 1; k++) await new Promise((r) => setTimeout(r, 20));
    expect(drops).toHaveLength(1);
    expect(got.map((g) => g.bytes)).toEqual([[7]]);
  });
});

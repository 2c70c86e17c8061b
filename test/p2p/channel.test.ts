// Request/response over one long-lived stream per peer (src/p2p/channel.ts), over real libp2p on loopback.
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/lib/logger.js";
import {
  ChannelClient,
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
  return { ha, hb, peer: b.peerId, makeServer };
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

  it("rejects truncated and empty frames", () => {
    const [f] = encodeFrames(entries, 1 << 20);
    expect(() => decodeFrame(f!.bytes.subarray(0, f!.bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeFrame(f!.bytes.subarray(0, 5))).toThrow(/truncated/);
    expect(() => decodeFrame(new Uint8Array(0))).toThrow(/empty/);
  });
});

describe("OneWaySender / serveOneWay", () => {
  async function oneWayPair() {
    const a = await generateIdentity();
    const b = await generateIdentity();
    const addr = tcpAddr(await freePort());
    const ha = await createHost({ identity: a, peers: [{ peerId: b.peerId, addresses: [addr] }] });
    const hb = await createHost({ identity: b, peers: [{ peerId: a.peerId }], listenAddresses: [addr] });
    const got: { peer: string; bytes: number[] }[] = [];
    await serveOneWay(hb, CONSENSUS_PROTOCOL, (peer, bytes) => got.push({ peer, bytes: [...bytes] }), silentLogger());
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

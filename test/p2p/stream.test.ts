/** Length-prefixed stream I/O: size caps, read timeouts, aborts, bad framing; raw in-memory pairs and real hosts. */
import { streamPair } from "@libp2p/utils";
import { afterEach, describe, expect, it } from "vitest";
import { createHost, type Host, type StreamErrorEvent } from "../../src/p2p/host.js";
import { deadline, P2pError, type P2pStream, wrapStream } from "../../src/p2p/stream.js";
import { cleanupIdentities, newIdentity } from "./helpers.js";

const PEER = "16Uiu2HAmTestPeer";

async function pair(maxMessageBytes = 16, readTimeoutMs = 5_000) {
  const [out, inb] = await streamPair({ protocol: "/t/1" });
  const reader = wrapStream(inb, {
    remotePeer: PEER,
    connectionId: "c1",
    protocol: "/t/1",
    maxMessageBytes,
    readTimeoutMs,
  });
  const writer = wrapStream(out, { remotePeer: PEER, connectionId: "c1", maxMessageBytes, readTimeoutMs });
  return { out, inb, reader, writer };
}

async function rejection(p: Promise<unknown>): Promise<P2pError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(P2pError);
  return err as P2pError;
}

describe("wrapStream over an in-memory pair", () => {
  it("round-trips messages up to the cap, including an empty one, in order", async () => {
    const { reader, writer } = await pair(16);
    const msgs = [new Uint8Array(16).fill(7), new Uint8Array(0), Uint8Array.of(1, 2, 3)];
    for (const m of msgs) await writer.write(m);
    for (const m of msgs) expect(await reader.read()).toEqual(m);
  });

  it("refuses to write a message above the cap", async () => {
    const { writer } = await pair(16);
    await expect(writer.write(new Uint8Array(17))).rejects.toThrow(RangeError);
  });

  it("rejects a length prefix above the cap with MESSAGE_TOO_LARGE and resets the stream", async () => {
    const { out, inb, reader } = await pair(16);
    out.send(Uint8Array.of(17, ...new Uint8Array(17)));
    const err = await rejection(reader.read());
    expect(err.type).toEqual({ code: "MESSAGE_TOO_LARGE", peer: PEER, protocol: "/t/1", maxBytes: 16 });
    expect(inb.status).not.toBe("open");
  });

  it("rejects an overlong varint with MESSAGE_TOO_LARGE", async () => {
    const { out, reader } = await pair(16);
    out.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01));
    expect((await rejection(reader.read())).code).toBe("MESSAGE_TOO_LARGE");
  });

  it("fails with STREAM_CLOSED when the stream ends mid-message or before any message", async () => {
    const a = await pair(16);
    a.out.send(Uint8Array.of(10, 1, 2, 3));
    await a.out.close();
    expect((await rejection(a.reader.read())).code).toBe("STREAM_CLOSED");
    const b = await pair(16);
    await b.out.close();
    expect((await rejection(b.reader.read())).code).toBe("STREAM_CLOSED");
  });

  it("fails with READ_TIMEOUT when nothing arrives in time, and resets the stream", async () => {
    const { inb, reader } = await pair(16);
    const err = await rejection(reader.read({ timeoutMs: 50 }));
    expect(err.type).toEqual({ code: "READ_TIMEOUT", peer: PEER, protocol: "/t/1", timeoutMs: 50 });
    expect(inb.status).not.toBe("open");
  });

  it("a partial message that stalls times out too", async () => {
    const { out, reader } = await pair(16);
    out.send(Uint8Array.of(10, 1, 2));
    expect((await rejection(reader.read({ timeoutMs: 50 }))).code).toBe("READ_TIMEOUT");
  });

  it("fails with ABORTED when the caller's signal fires", async () => {
    const { reader } = await pair(16);
    const ctrl = new AbortController();
    const p = reader.read({ signal: ctrl.signal });
    ctrl.abort();
    expect((await rejection(p)).code).toBe("ABORTED");
  });
});

describe("deadline", () => {
  it("fires on its own timer and reports it, or follows the parent signal", async () => {
    const own = deadline(10);
    await new Promise((r) => own.signal.addEventListener("abort", r));
    expect(own.timedOut()).toBe(true);
    const parent = new AbortController();
    const linked = deadline(60_000, parent.signal);
    parent.abort();
    expect(linked.signal.aborted).toBe(true);
    expect(linked.timedOut()).toBe(false);
    linked.clear();
  });
});

describe("host streams over real libp2p", () => {
  let hosts: Host[] = [];
  afterEach(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    hosts = [];
    await cleanupIdentities();
  });

  async function twoHosts() {
    const a = await newIdentity();
    const b = await newIdentity();
    const ha = await createHost({ identity: a, peers: [{ peerId: b.peerId }] });
    const hb = await createHost({ identity: b, peers: [{ peerId: a.peerId }] });
    hosts.push(ha, hb);
    await ha.start();
    await hb.start();
    await ha.dial(b.peerId, hb.listenAddresses());
    const errors: StreamErrorEvent[] = [];
    hb.onStreamError((e) => errors.push(e));
    return { ha, hb, a, b, errors };
  }

  it("answers requests up to the cap; an oversized request is reported and the host keeps serving", async () => {
    const { ha, hb, a, b, errors } = await twoHosts();
    await hb.handleRequest(
      "/t/echo/1",
      async ({ peer, bytes }) => {
        expect(peer).toBe(a.peerId);
        return bytes;
      },
      { maxMessageBytes: 1024 },
    );
    const ok = new Uint8Array(1024).fill(9);
    expect(await ha.request(b.peerId, "/t/echo/1", ok, { maxMessageBytes: 2048 })).toEqual(ok);

    const err = await rejection(ha.request(b.peerId, "/t/echo/1", new Uint8Array(1025), { maxMessageBytes: 2048 }));
    expect(["STREAM_CLOSED", "READ_TIMEOUT"]).toContain(err.code);
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]!.peer).toBe(a.peerId);
    expect((errors[0]!.error as P2pError).code).toBe("MESSAGE_TOO_LARGE");

    expect(await ha.request(b.peerId, "/t/echo/1", Uint8Array.of(1))).toEqual(Uint8Array.of(1));
  });

  it("an inbound stream that sends nothing times out on the handler's own deadline and is reported", async () => {
    const { ha, b, hb, errors } = await twoHosts();
    await hb.handleRequest("/t/echo/1", async ({ bytes }) => bytes, { timeoutMs: 100 });
    const stream: P2pStream = await ha.openStream(b.peerId, "/t/echo/1");
    const err = await rejection(stream.read({ timeoutMs: 10_000 }));
    expect(err.code).toBe("STREAM_CLOSED");
    await expect.poll(() => errors.length).toBe(1);
    expect((errors[0]!.error as P2pError).code).toBe("READ_TIMEOUT");
  });

  it("a request with no response fails with READ_TIMEOUT; a thrown handler resets only its stream", async () => {
    const { ha, hb, b, errors } = await twoHosts();
    await hb.handleRequest(
      "/t/silent/1",
      async (_req, { signal }) => {
        await new Promise((r) => signal.addEventListener("abort", r));
        throw new Error("gave up");
      },
      { timeoutMs: 2_000 },
    );
    const err = await rejection(ha.request(b.peerId, "/t/silent/1", Uint8Array.of(1), { timeoutMs: 100 }));
    expect(err.type).toMatchObject({ code: "READ_TIMEOUT", peer: b.peerId, timeoutMs: 100 });

    await hb.handleRequest("/t/throw/1", async () => {
      throw new Error("handler bug");
    });
    expect((await rejection(ha.request(b.peerId, "/t/throw/1", Uint8Array.of(1)))).code).toBe("STREAM_CLOSED");
    await expect.poll(() => errors.some((e) => (e.error as Error).message === "handler bug")).toBe(true);
  });

  it("a request aborted by the caller fails with ABORTED", async () => {
    const { ha, hb, b } = await twoHosts();
    await hb.handleRequest("/t/silent/1", async (_req, { signal }) => {
      await new Promise((r) => signal.addEventListener("abort", r));
      return new Uint8Array(0);
    });
    const ctrl = new AbortController();
    const p = ha.request(b.peerId, "/t/silent/1", Uint8Array.of(1), { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 50);
    expect((await rejection(p)).code).toBe("ABORTED");
  });
});

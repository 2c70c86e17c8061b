/**
 * The networked ceremony transport on real libp2p hosts, against real and hand-driven peers: hello
 * agreement (session, version, signature), restart detection, how inbound envelopes are checked,
 * buffered and de-duplicated, and how their chunks are bounded and refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { chunkFrames, decodeAck, decodeChunk, encodeAck, encodeChunk } from "../../src/dkg/chunks.js";
import { attemptSession, sealEnvelope } from "../../src/dkg/envelope.js";
import type { EnvelopeLimits } from "../../src/dkg/limits.js";
import type { NetworkCeremonyTransport } from "../../src/dkg/net.js";
import {
  DKG_BCAST_PROTOCOL,
  DKG_CHUNKED_LIMITS,
  DKG_MAX_FRAME_BYTES,
  DKG_MAX_STREAMS_PER_PEER,
  DKG_RELAY_PROTOCOL,
  DKG_SHARE_PROTOCOL,
  hostLimitOpts,
  SYNC_LIMITS,
  SYNC_PROTOCOL,
} from "../../src/dkg/protocols.js";
import { decodeRelayRequest, encodeRelayRequest } from "../../src/dkg/relay.js";
import { DKG_PROTOCOL_VERSION, STEP } from "../../src/dkg/steps.js";
import type { CodedError } from "../../src/lib/errors.js";
import { InputError } from "../../src/lib/errors.js";
import type { ShareIndex } from "../../src/lib/types.js";
import type { Host } from "../../src/p2p/host.js";
import { type Identity, verifyIdentitySignature } from "../../src/p2p/identity.js";
import { Envelope, MessageKind } from "../../src/pb/bcast.js";
import { Hello, HelloResponse } from "../../src/pb/sync.js";
import { cleanupIdentities, freePort, idx, newIdentity, sessionOf, tcpAddr } from "../p2p/helpers.js";
import {
  envelope,
  netTransport,
  newNonce,
  payloadOf,
  type RawPeer,
  rawPeer,
  sendEnvelope,
  sendFrames,
  signedHello,
} from "./netHelpers.js";

const VERSION = "cohort/test-1";
const S = sessionOf(1);
const LONG = () => AbortSignal.timeout(30_000);

let transports: NetworkCeremonyTransport[] = [];
let hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all(hosts.map((h) => h.stop()));
  transports = [];
  hosts = [];
  await cleanupIdentities();
});

interface Op {
  identity: Identity;
  address: string;
}

async function ops(n: number): Promise<Op[]> {
  const out: Op[] = [];
  for (let i = 0; i < n; i++) out.push({ identity: await newIdentity(), address: tcpAddr(await freePort()) });
  return out;
}

/** Operator 2 as a raw peer of operator 1 (this suite's session and version), listening on its address. */
async function rawSecond(all: Op[]): Promise<RawPeer> {
  const m = await rawPeer({
    identity: all[1]!.identity,
    peers: [{ peerId: all[0]!.identity.peerId, addresses: [all[0]!.address] }],
    session: S,
    version: VERSION,
    listen: all[1]!.address,
  });
  hosts.push(m.host);
  return m;
}

async function transport(
  all: Op[],
  i: number,
  over: {
    session?: Uint8Array;
    version?: string;
    onPeerFault?: (p: ShareIndex, r: string) => void;
    limits?: EnvelopeLimits;
    chunkBytes?: number;
  } = {},
): Promise<NetworkCeremonyTransport> {
  const t = await netTransport({
    identity: all[i]!.identity,
    operators: all.map((o) => ({ peerId: o.identity.peerId, addresses: [o.address] })),
    session: over.session ?? S,
    protocolVersion: over.version ?? VERSION,
    listenAddress: all[i]!.address,
    onPeerFault: over.onPeerFault,
    limits: over.limits,
    chunkBytes: over.chunkBytes,
  });
  transports.push(t);
  return t;
}

async function typeOf(p: Promise<unknown>): Promise<{ code: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return (err as CodedError<{ code: string }>).type;
}

describe("hello", () => {
  it("a protocol version mismatch fails both nodes at once, naming the peer and both versions", async () => {
    const all = await ops(2);
    const a = await transport(all, 0, { version: "cohort/1.0.0" });
    const b = await transport(all, 1, { version: "cohort/1.1.0" });
    const [ea, eb] = await Promise.all([typeOf(a.connect({ signal: LONG() })), typeOf(b.connect({ signal: LONG() }))]);
    expect(ea).toEqual({ code: "VERSION_MISMATCH", peer: 2, ours: "cohort/1.0.0", theirs: "cohort/1.1.0" });
    expect(eb).toEqual({ code: "VERSION_MISMATCH", peer: 1, ours: "cohort/1.1.0", theirs: "cohort/1.0.0" });
  });

  it("a session mismatch fails both nodes, naming the peer", async () => {
    const all = await ops(2);
    const a = await transport(all, 0, { session: sessionOf(1) });
    const b = await transport(all, 1, { session: sessionOf(2) });
    const [ea, eb] = await Promise.all([typeOf(a.connect({ signal: LONG() })), typeOf(b.connect({ signal: LONG() }))]);
    expect(ea).toEqual({ code: "SESSION_MISMATCH", peer: 2 });
    expect(eb).toEqual({ code: "SESSION_MISMATCH", peer: 1 });
  });

  it("a node that only accepted the peer's connection also counts it as synced", async () => {
    const all = await ops(2);
    // b's address hint for a is wrong, so only a can dial
    const a = await transport(all, 0);
    const bOps = all.map((o, i) => (i === 0 ? { ...o, address: "/ip4/127.0.0.1/tcp/1" } : o));
    const b = await netTransport({
      identity: all[1]!.identity,
      operators: bOps.map((o) => ({ peerId: o.identity.peerId, addresses: [o.address] })),
      session: S,
      protocolVersion: VERSION,
      listenAddress: all[1]!.address,
    });
    transports.push(b);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    const [ra, rb] = await Promise.all([
      a.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "from a") }, { signal: LONG() }),
      b.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 2, 1, "from b") }, { signal: LONG() }),
    ]);
    expect(payloadOf(ra.get(idx(2))!.broadcast)).toBe("from b");
    expect(payloadOf(rb.get(idx(1))!.broadcast)).toBe("from a");
  });

  it("a hello with a bad signature is refused and the peer reported; the good one then syncs", async () => {
    const all = await ops(2);
    const faults: [ShareIndex, string][] = [];
    const a = await transport(all, 0, { onPeerFault: (p, r) => faults.push([p, r]) });
    const m = await rawPeer({
      identity: all[1]!.identity,
      peers: [{ peerId: all[0]!.identity.peerId, addresses: [all[0]!.address] }],
      session: S,
      version: VERSION,
    });
    hosts.push(m.host);
    const connected = a.connect({ signal: LONG() });
    await expect.poll(() => a.listenAddresses().length).toBeGreaterThan(0);
    const forged = Hello.decode(await signedHello(await newIdentity(), S, VERSION));
    const resp = HelloResponse.decode(
      await m.host.request(
        all[0]!.identity.peerId,
        SYNC_PROTOCOL,
        Hello.encode({ ...forged }),
        hostLimitOpts(SYNC_LIMITS),
      ),
    );
    expect(resp.error).toMatch(/signature/);
    expect(faults[0]?.[0]).toBe(2);
    expect(faults[0]?.[1]).toMatch(/signature/);
    expect((await m.hello(all[0]!.identity.peerId)).error).toBe("");
    await connected;
  });

  it("a peer that restarts after a step fails itself and the others with PEER_RESTARTED", async () => {
    const all = await ops(2);
    const a = await transport(all, 0);
    const b = await transport(all, 1);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    await Promise.all([
      a.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a1") }, { signal: LONG() }),
      b.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 2, 1, "b1") }, { signal: LONG() }),
    ]);
    await b.close();
    const b2 = await transport(all, 1);
    expect(await typeOf(b2.connect({ signal: LONG() }))).toEqual({
      code: "PEER_RESTARTED",
      step: 0,
      peer: 1,
      peerStep: 1,
    });
    expect(
      await typeOf(
        a.exchange(2, { channel: "bcast", broadcast: envelope(a.session()!, 1, 2, "a2") }, { signal: LONG() }),
      ),
    ).toEqual({ code: "PEER_RESTARTED", step: 1, peer: 2, peerStep: 0 });
  });
});

describe("hello nonces and protocol versions", () => {
  async function withRawPeer(version = VERSION, listen = true) {
    const all = await ops(2);
    const faults: [ShareIndex, string][] = [];
    const a = await transport(all, 0, { version, onPeerFault: (p, r) => faults.push([p, r]) });
    const m = await rawPeer({
      identity: all[1]!.identity,
      peers: [{ peerId: all[0]!.identity.peerId, addresses: [all[0]!.address] }],
      session: S,
      version,
      listen: listen ? all[1]!.address : undefined,
    });
    hosts.push(m.host);
    return { a, m, aId: all[0]!.identity.peerId, faults };
  }
  const sendHello = async (m: RawPeer, to: string, bytes: Uint8Array) =>
    HelloResponse.decode(await m.host.request(to, SYNC_PROTOCOL, bytes, hostLimitOpts(SYNC_LIMITS)));

  it("the attempt session hashes the definition hash and both nonces in share-index order", async () => {
    const { a, m } = await withRawPeer();
    const sync = await a.connect({ signal: LONG() });
    expect(sync.nonces[1]).toEqual(m.nonce);
    expect(sync.nonces[0]).toHaveLength(32);
    expect(sync.session).toEqual(attemptSession(S, sync.nonces));
    expect(a.session()).toEqual(sync.session);
    expect(sync.session).not.toEqual(attemptSession(S, [sync.nonces[0]!, newNonce()]));
  });

  it("the same nonce again is no restart; a new nonce after sync is, before any step", async () => {
    const { a, m, aId } = await withRawPeer();
    await a.connect({ signal: LONG() });
    // a retry, or the same process on a new connection (relays and hole punching open new ones)
    expect((await m.hello(aId)).error).toBe("");
    const restarted = await sendHello(m, aId, await signedHello(m.identity, S, VERSION, 0, newNonce()));
    expect(restarted.error).toMatch(/cannot resume/);
    expect(restarted.hello?.step).toBeGreaterThan(0);
    expect(
      await typeOf(
        a.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a1") }, { signal: LONG() }),
      ),
    ).toEqual({ code: "PEER_RESTARTED", step: 0, peer: 2, peerStep: 0 });
  });

  it("a hello without a 32-byte nonce is refused and reported", async () => {
    const { a, m, aId, faults } = await withRawPeer();
    const connected = a.connect({ signal: LONG() });
    await expect.poll(() => a.listenAddresses().length).toBeGreaterThan(0);
    const resp = await sendHello(m, aId, await signedHello(m.identity, S, VERSION, 0, new Uint8Array(5)));
    expect(resp.error).toMatch(/nonce/);
    expect(faults.some(([p, r]) => p === 2 && /nonce/.test(r))).toBe(true);
    expect((await m.hello(aId)).error).toBe("");
    await connected;
  });

  it("a version-1 node (no nonce) fails at once with VERSION_MISMATCH, and can verify the answer", async () => {
    // not listening: the only hello the node sees is the version-1 one below
    const { a, m, aId } = await withRawPeer(DKG_PROTOCOL_VERSION, false);
    const failed = typeOf(a.connect({ signal: LONG() }));
    await expect.poll(() => a.listenAddresses().length).toBeGreaterThan(0);
    const resp = await sendHello(m, aId, await signedHello(m.identity, S, "cohort/dkg/1", 0, new Uint8Array(0)));
    expect(await failed).toEqual({
      code: "VERSION_MISMATCH",
      peer: 2,
      ours: DKG_PROTOCOL_VERSION,
      theirs: "cohort/dkg/1",
    });
    expect(resp.error).toMatch(/version/);
    // what a version-1 node checks: the signature over the hello re-encoded without fields it does not know
    const h = resp.hello!;
    expect(h.nonce).toHaveLength(0);
    expect(h.protocolVersion).toBe(DKG_PROTOCOL_VERSION);
    const v1 = Hello.encode({
      session: h.session,
      protocolVersion: h.protocolVersion,
      step: h.step,
      signature: new Uint8Array(0),
      nonce: new Uint8Array(0),
    });
    expect(await verifyIdentitySignature(aId, v1, h.signature)).toBe(true);
  });
});

describe("inbound envelopes from a hand-driven peer", () => {
  async function setup(): Promise<{
    a: NetworkCeremonyTransport;
    m: RawPeer;
    aId: string;
    faults: [ShareIndex, string][];
  }> {
    const all = await ops(2);
    const faults: [ShareIndex, string][] = [];
    const a = await transport(all, 0, { onPeerFault: (p, r) => faults.push([p, r]) });
    const m = await rawSecond(all);
    await a.connect({ signal: LONG() });
    return { a, m, aId: all[0]!.identity.peerId, faults };
  }

  const send = async (m: RawPeer, to: string, protocol: string, bytes: Uint8Array) =>
    await sendEnvelope(m.host, to, protocol, bytes);

  it("malformed, mis-addressed and oversized messages are refused and reported; the node keeps working", async () => {
    const { a, m, aId, faults } = await setup();
    const header = { session: a.session()!, sender: 2, step: 1 };
    expect(
      await sendEnvelope(m.host, aId, DKG_BCAST_PROTOCOL, Uint8Array.of(0xff, 0xff, 0xff), { header }),
    ).toMatchObject({ ok: false });
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(sessionOf(9), 2, 1, "x"))).toMatchObject({ ok: false });
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 1, 1, "claims to be a"))).toMatchObject({
      ok: false,
    });
    expect(await send(m, aId, DKG_SHARE_PROTOCOL, envelope(a.session()!, 2, 0, "step 0"))).toMatchObject({ ok: false });
    const big = new Uint8Array(DKG_MAX_FRAME_BYTES + 1);
    await expect(m.host.request(aId, DKG_SHARE_PROTOCOL, big, { maxMessageBytes: big.length })).rejects.toThrow();
    await expect.poll(() => faults.length).toBe(5);
    expect(faults.every(([p]) => p === 2)).toBe(true);
    expect(faults.map(([, r]) => r).join("\n")).toMatch(
      /malformed envelope[\s\S]*another session[\s\S]*claims sender 1[\s\S]*step 0[\s\S]*exceeds/,
    );
    expect(a.faults().get(idx(2))).toBe(5);

    // none of that was buffered: the step completes with the peer's real message
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "real"))).toEqual({ ok: true });
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "mine") },
      { signal: LONG() },
    );
    expect(payloadOf(got.get(idx(2))!.broadcast)).toBe("real");
    expect(m.received.map((r) => payloadOf(r.bytes))).toEqual(["mine"]);
  });

  it("keeps the first of two different messages for a step, buffers one future step, refuses a second", async () => {
    const { a, m, aId } = await setup();
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "first"))).toEqual({ ok: true });
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "second"))).toEqual({ ok: true });
    expect(await send(m, aId, DKG_SHARE_PROTOCOL, envelope(a.session()!, 2, 1, "share"))).toEqual({ ok: true });
    const r1 = await a.exchange(
      1,
      {
        channel: "bcast",
        broadcast: envelope(a.session()!, 1, 1, "a1"),
        direct: new Map([[idx(2), envelope(a.session()!, 1, 1, "a→m")]]),
      },
      { signal: LONG() },
    );
    expect(payloadOf(r1.get(idx(2))!.broadcast)).toBe("first");
    expect(payloadOf(r1.get(idx(2))!.direct!)).toBe("share");

    // between steps: the peer may be one step ahead, not two
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 3, "step 3"))).toEqual({ ok: true });
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 4, "step 4"))).toMatchObject({ ok: false });
    // a late copy of a finished step is acked, not stored
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "first"))).toEqual({ ok: true });
    const r3 = await a.exchange(
      3,
      { channel: "parsig", broadcast: envelope(a.session()!, 1, 3, "a3") },
      { signal: LONG() },
    );
    expect(payloadOf(r3.get(idx(2))!.broadcast)).toBe("step 3");
    expect(r3.get(idx(2))!.direct).toBeUndefined();
  });

  it("the last step completes with a peer that sent its message and left before acking this node's", async () => {
    const { a, m, aId } = await setup();
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "m confirms"))).toMatchObject({
      ok: true,
    });
    await m.host.stop();
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a confirms") },
      { signal: LONG(), final: true },
    );
    expect(payloadOf(got.get(idx(2))!.broadcast)).toBe("m confirms");
    // its own confirmation never reaches the departed peer: close() gives up after the linger
    await a.close({ lingerMs: 200 });
  });

  it("a step that is not the last fails when the peer left before acking, though its message is here", async () => {
    const { a, m, aId } = await setup();
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "m1"))).toMatchObject({ ok: true });
    await m.host.stop();
    const p = a.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a1") }, { signal: LONG() });
    expect(await typeOf(p)).toMatchObject({ code: "PEER_DISCONNECTED", step: 1, peer: 2 });
  });

  it("close() delivers the last step's message to a peer still waiting for it", async () => {
    const all = await ops(2);
    const a = await transport(all, 0);
    const b = await transport(all, 1);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    const pb = b.exchange(1, { channel: "bcast", broadcast: envelope(b.session()!, 2, 1, "b") }, { signal: LONG() });
    await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a") },
      {
        signal: LONG(),
        final: true,
      },
    );
    await a.close({ lingerMs: 30_000 });
    expect(payloadOf((await pb).get(idx(1))!.broadcast)).toBe("a");
  });

  it("a message for a step this node skipped is refused", async () => {
    const { a, m, aId } = await setup();
    await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 2, "two"));
    await a.exchange(2, { channel: "bcast", broadcast: envelope(a.session()!, 1, 2, "a2") }, { signal: LONG() });
    expect(await send(m, aId, DKG_BCAST_PROTOCOL, envelope(a.session()!, 2, 1, "one"))).toMatchObject({ ok: false });
  });
});

describe("exchange and lifecycle", () => {
  it("caller cancellation gives ABORTED; close() fails a pending exchange and is idempotent", async () => {
    const all = await ops(2);
    const a = await transport(all, 0);
    const b = await transport(all, 1);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    const ctrl = new AbortController();
    const p = a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a1") },
      { signal: ctrl.signal },
    );
    ctrl.abort();
    expect(await typeOf(p)).toEqual({ code: "ABORTED", step: 1 });
    const q = typeOf(
      a.exchange(2, { channel: "bcast", broadcast: envelope(a.session()!, 1, 2, "a2") }, { signal: LONG() }),
    );
    await a.close();
    expect(await q).toEqual({ code: "ABORTED", step: 2 });
    await a.close();
  });

  it("reports missing peers through onWaiting and validates its arguments", async () => {
    const all = await ops(2);
    const a = await transport(all, 0);
    const b = await transport(all, 1);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    const out = { channel: "bcast" as const, broadcast: envelope(a.session()!, 1, 1, "a1") };
    await expect(a.exchange(0, out, { signal: LONG() })).rejects.toThrow(RangeError);
    await expect(a.exchange(1, { ...out, direct: new Map() }, { signal: LONG() })).rejects.toThrow(RangeError);
    await expect(
      a.exchange(1, { ...out, direct: new Map([[idx(3), new Uint8Array(1)]]) }, { signal: LONG() }),
    ).rejects.toThrow(RangeError);
    const waits: ShareIndex[][] = [];
    const pa = a.exchange(1, out, { signal: LONG(), onWaiting: (s, missing) => s === 1 && waits.push(missing) });
    await expect.poll(() => waits.length).toBeGreaterThan(0);
    expect(waits[0]).toEqual([2]);
    await expect(a.exchange(2, out, { signal: LONG() })).rejects.toThrow(/while step 1 is running/);
    await b.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 2, 1, "b1") }, { signal: LONG() });
    await pa;
    await expect(a.exchange(1, out, { signal: LONG() })).rejects.toThrow(RangeError);
  });

  it("a one-operator session connects and exchanges with nobody", async () => {
    const all = await ops(1);
    const a = await transport(all, 0);
    await a.connect({ signal: LONG() });
    expect(
      (await a.exchange(1, { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "x") }, { signal: LONG() }))
        .size,
    ).toBe(0);
  });

  it("refuses a session that is not 32 bytes, a node outside the operators, and repeated operators", async () => {
    const all = await ops(2);
    const base = {
      identity: all[0]!.identity,
      operators: all.map((o) => ({ peerId: o.identity.peerId, addresses: [o.address] })),
      session: S,
      protocolVersion: VERSION,
    };
    await expect(netTransport({ ...base, session: new Uint8Array(31) })).rejects.toThrow(RangeError);
    await expect(netTransport({ ...base, identity: await newIdentity() })).rejects.toThrow(InputError);
    await expect(netTransport({ ...base, operators: [...base.operators, base.operators[1]!] })).rejects.toThrow(
      InputError,
    );
  });
});

describe("chunks from a hand-driven peer", () => {
  /** Step 1 broadcasts of at most 2,000 bytes, step 1 direct of at most 500; nothing at step 2's direct. */
  const LIMITS: EnvelopeLimits = (step, kind) =>
    kind === "broadcast" ? (step === 1 ? 2_000 : 64 * 1024) : step === 1 ? 500 : undefined;

  async function setup(chunkBytes?: number) {
    const all = await ops(2);
    const faults: [ShareIndex, string][] = [];
    const a = await transport(all, 0, { onPeerFault: (p, r) => faults.push([p, r]), limits: LIMITS, chunkBytes });
    const m = await rawSecond(all);
    await a.connect({ signal: LONG() });
    return { a, m, aId: all[0]!.identity.peerId, faults };
  }
  const big = (session: Uint8Array, sender: number, step: number, bytes: number) =>
    envelope(session, sender, step, "x".repeat(bytes));

  it("envelopes in many small chunks arrive whole, in both directions", async () => {
    const { a, m, aId, faults } = await setup(16);
    const theirs = big(a.session()!, 2, 1, 1_500);
    const theirShare = big(a.session()!, 2, 1, 400);
    expect(await sendEnvelope(m.host, aId, DKG_BCAST_PROTOCOL, theirs, { chunkBytes: 7 })).toEqual({ ok: true });
    expect(await sendEnvelope(m.host, aId, DKG_SHARE_PROTOCOL, theirShare, { chunkBytes: 3 })).toEqual({ ok: true });
    const mine = big(a.session()!, 1, 1, 1_800);
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: mine, direct: new Map([[idx(2), big(a.session()!, 1, 1, 450)]]) },
      { signal: LONG() },
    );
    expect(got.get(idx(2))!.broadcast).toEqual(theirs);
    expect(got.get(idx(2))!.direct).toEqual(theirShare);
    expect(m.received.map((r) => r.bytes.length).sort((x, y) => x - y)).toEqual(
      [mine.length, big(a.session()!, 1, 1, 450).length].sort((x, y) => x - y),
    );
    expect(m.received.find((r) => r.protocol === DKG_BCAST_PROTOCOL)!.bytes).toEqual(mine);
    expect(faults).toEqual([]);
  });

  it("a total above the step's bound is refused at its first chunk, naming the peer; the real one then counts", async () => {
    const { a, m, aId, faults } = await setup();
    const head = { session: a.session()!, sender: 2, step: 1 };
    // one header announcing 4 GiB: refused before any of it is read or allocated
    const liar = encodeChunk({ ...head, totalBytes: 0xffff_ffff, count: 5_000, index: 0 }, new Uint8Array(10));
    expect(await sendFrames(m.host, aId, DKG_BCAST_PROTOCOL, [liar])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/announces 4294967295 bytes, more than the 2000/),
    });
    expect(await sendEnvelope(m.host, aId, DKG_BCAST_PROTOCOL, big(a.session()!, 2, 1, 2_100))).toMatchObject({
      ok: false,
    });
    expect(await sendEnvelope(m.host, aId, DKG_SHARE_PROTOCOL, big(a.session()!, 2, 1, 600))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/more than the 500/),
    });
    expect(await sendEnvelope(m.host, aId, DKG_SHARE_PROTOCOL, big(a.session()!, 2, 2, 10))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no direct envelope is expected at step 2/),
    });
    expect(faults).toHaveLength(4);
    expect(faults.every(([p]) => p === 2)).toBe(true);
    const real = big(a.session()!, 2, 1, 1_900);
    expect(await sendEnvelope(m.host, aId, DKG_BCAST_PROTOCOL, real, { chunkBytes: 100 })).toEqual({ ok: true });
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a") },
      { signal: LONG() },
    );
    expect(got.get(idx(2))!.broadcast).toEqual(real);
  });

  it("duplicate, out-of-order and mismatched chunks are refused mid-envelope and nothing is kept", async () => {
    const { a, m, aId, faults } = await setup();
    const env = big(a.session()!, 2, 1, 300);
    const cs = [...chunkFrames({ session: a.session()!, sender: 2, step: 1 }, env, 100)];
    const refused = async (frames: Uint8Array[], reason: RegExp) =>
      expect(await sendFrames(m.host, aId, DKG_BCAST_PROTOCOL, frames)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(reason),
      });
    await refused([cs[0]!, cs[0]!], /duplicate chunk 0/);
    await refused([cs[0]!, cs[2]!, cs[1]!], /chunk 2 out of order/);
    await refused([cs[1]!], /first chunk has index 1/);
    const other = decodeChunk(cs[1]!);
    await refused([cs[0]!, encodeChunk({ ...other.header, sender: 1 }, other.data)], /another envelope/);
    // an envelope whose own step differs from its chunks'
    const step2 = big(a.session()!, 2, 2, 300);
    await refused(
      [...chunkFrames({ session: a.session()!, sender: 2, step: 1 }, step2, 100)],
      /step 2 in chunks of step 1/,
    );
    expect(faults).toHaveLength(5);
    expect(faults.map(([, r]) => r).every((r) => r.startsWith(DKG_BCAST_PROTOCOL))).toBe(true);
    expect(await sendFrames(m.host, aId, DKG_BCAST_PROTOCOL, cs)).toEqual({ ok: true });
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a") },
      { signal: LONG() },
    );
    expect(got.get(idx(2))!.broadcast).toEqual(env);
  });

  it("a sender's retry replaces its unfinished upload of the same envelope", async () => {
    const { a, m, aId } = await setup();
    const env = big(a.session()!, 2, 1, 300);
    const cs = [...chunkFrames({ session: a.session()!, sender: 2, step: 1 }, env, 100)];
    // an upload that stops after its first chunk, its stream left open
    const stalled = await m.host.openStream(aId, DKG_BCAST_PROTOCOL, hostLimitOpts(DKG_CHUNKED_LIMITS));
    const stalledAck = stalled.read();
    await stalled.write(cs[0]!);
    expect(await sendFrames(m.host, aId, DKG_BCAST_PROTOCOL, cs)).toEqual({ ok: true });
    // the replaced upload is over: finishing it now gets no ack (its stream was reset), where an
    // upload still being reassembled would be acked as a repeat
    await Promise.allSettled(cs.slice(1).map((c) => stalled.write(c)));
    await expect(stalledAck).rejects.toThrow();
    const got = await a.exchange(
      1,
      { channel: "bcast", broadcast: envelope(a.session()!, 1, 1, "a") },
      { signal: LONG() },
    );
    expect(got.get(idx(2))!.broadcast).toEqual(env);
  });

  it(`before sync ends, a peer holds at most ${DKG_MAX_STREAMS_PER_PEER} streams of a protocol; past that they are reset unread`, async () => {
    // operator 3 never comes, so node 1's streams wait for the attempt session, each holding its first frame
    const all = await ops(3);
    const faults: [ShareIndex, string][] = [];
    const a = await transport(all, 0, { onPeerFault: (p, r) => faults.push([p, r]), limits: LIMITS });
    const m = await rawSecond(all);
    const stop = new AbortController();
    const connecting = a.connect({ signal: stop.signal }).catch(() => undefined);
    const aId = all[0]!.identity.peerId;
    await expect
      .poll(async () =>
        m.host.dial(aId, [all[0]!.address]).then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);
    const opts = hostLimitOpts(DKG_CHUNKED_LIMITS);
    const frame = new Uint8Array(1000).fill(7);
    const held = [];
    for (let k = 0; k < DKG_MAX_STREAMS_PER_PEER; k++) {
      const st = await m.host.openStream(aId, DKG_BCAST_PROTOCOL, opts);
      await st.write(frame);
      held.push(st);
    }
    const extra = await m.host.openStream(aId, DKG_BCAST_PROTOCOL, opts);
    await Promise.allSettled([extra.write(frame)]);
    await expect(extra.read({ timeoutMs: 10_000 })).rejects.toThrow();
    await expect.poll(() => faults.map(([, r]) => r).join("\n")).toMatch(/more than 8 streams at once/);
    expect(faults.every(([p]) => p === 2)).toBe(true);
    // another protocol has its own cap
    const share = await m.host.openStream(aId, DKG_SHARE_PROTOCOL, opts);
    await share.write(frame);
    await new Promise((r) => setTimeout(r, 200));
    expect(faults).toHaveLength(1);
    for (const st of [...held, share]) st.abort(new Error("test done"));
    stop.abort();
    await connecting;
  });

  it("refuses to send an envelope above its own step's bound", async () => {
    const { a } = await setup();
    await expect(
      a.exchange(1, { channel: "bcast", broadcast: big(a.session()!, 1, 1, 2_100) }, { signal: LONG() }),
    ).rejects.toThrow(/at most 2000 bytes at step 1/);
    await expect(
      a.exchange(
        1,
        {
          channel: "bcast",
          broadcast: envelope(a.session()!, 1, 1, "a"),
          direct: new Map([[idx(2), big(a.session()!, 1, 1, 600)]]),
        },
        { signal: LONG() },
      ),
    ).rejects.toThrow(RangeError);
  });
});

describe("relay of withheld broadcasts", () => {
  it("a copy from a peer that moved on is kept only once it checks out; a forged one is the relayer's fault", async () => {
    const all = await ops(3);
    const a = await transport(all, 0);
    const opA = { peerId: all[0]!.identity.peerId, addresses: [all[0]!.address] };
    const raw = async (k: number) => {
      const m = await rawPeer({
        identity: all[k]!.identity,
        peers: [opA],
        session: S,
        version: VERSION,
        listen: all[k]!.address,
      });
      hosts.push(m.host);
      return m;
    };
    const [b, c] = [await raw(1), await raw(2)];
    await a.connect({ signal: LONG() });
    const session = a.session()!;
    // operator 3's genuine deal, which it sends operator 2 but withholds from operator 1
    const genuine = await sealEnvelope(c.identity, session, idx(3), MessageKind.DEAL, new TextEncoder().encode("c1"));
    const forged = envelope(session, 3, STEP.DEAL, "c1 forged"); // unsigned
    const asked: string[] = [];
    await b.host.handle(
      DKG_RELAY_PROTOCOL,
      async (stream, { signal }) => {
        const req = decodeRelayRequest(await stream.read({ signal }));
        asked.push(`${req.step}:${req.sender}`);
        await stream.write(encodeAck(), { signal });
        const copy = asked.length === 1 ? forged : genuine;
        for (const f of chunkFrames({ session, sender: 3, step: STEP.DEAL }, copy, 1024))
          await stream.write(f, { signal });
        await stream.close({ signal });
      },
      hostLimitOpts(DKG_CHUNKED_LIMITS),
    );
    const faults = () => [...a.faults().keys()];
    const pa = a.exchange(
      STEP.DEAL,
      { channel: "bcast", broadcast: envelope(session, 1, STEP.DEAL, "a1") },
      { signal: LONG() },
    );
    // operator 2 sends its deal and moves on to the echo
    expect((await sendEnvelope(b.host, opA.peerId, DKG_BCAST_PROTOCOL, envelope(session, 2, STEP.DEAL, "b1"))).ok).toBe(
      true,
    );
    expect((await sendEnvelope(b.host, opA.peerId, DKG_BCAST_PROTOCOL, envelope(session, 2, STEP.ECHO, "b2"))).ok).toBe(
      true,
    );
    const got = await pa;
    expect(asked).toEqual(["1:3", "1:3"]);
    expect(Buffer.from(got.get(idx(3))!.broadcast).equals(Buffer.from(genuine))).toBe(true);
    expect(payloadOf(got.get(idx(2))!.broadcast)).toBe("b1");
    // the forged copy counted against operator 2, who relayed it, never against operator 3
    expect(faults()).toEqual([2]);

    // operator 1 relays what it holds of the finished step, once per asker and copy up to a budget
    const ask = async (step: number, sender: number) => {
      const stream = await b.host.openStream(opA.peerId, DKG_RELAY_PROTOCOL, hostLimitOpts(DKG_CHUNKED_LIMITS));
      await stream.write(encodeRelayRequest({ session, step, sender }));
      const ack = decodeAck(await stream.read());
      // a copy this small travels as one chunk
      return { ack, chunk: ack.ok ? decodeChunk(await stream.read()) : undefined };
    };
    const held = await ask(STEP.DEAL, 3);
    expect(held.ack.ok).toBe(true);
    expect(held.chunk!.header).toMatchObject({ sender: 3, step: STEP.DEAL, totalBytes: genuine.length, count: 1 });
    expect(Buffer.from(held.chunk!.data).equals(Buffer.from(genuine))).toBe(true);
    expect((await ask(STEP.ECHO, 3)).ack).toMatchObject({ ok: false });
    expect((await ask(STEP.DEAL, 2)).ack).toMatchObject({ ok: false, reason: expect.stringMatching(/to relay to 2/) });
  });
});

describe("abort", () => {
  it("a peer's signed abort fails the exchange still waiting for it with PEER_ABORTED and the envelope", async () => {
    const all = await ops(3);
    const [a, b, c] = [await transport(all, 0), await transport(all, 1), await transport(all, 2)];
    await Promise.all([a, b, c].map((t) => t.connect({ signal: LONG() })));
    const session = a.session()!;
    const abort = Envelope.encode({
      session: Uint8Array.from(session),
      sender: 1,
      step: 0,
      kind: MessageKind.ABORT,
      payload: new TextEncoder().encode("gave up"),
      signature: new Uint8Array(0),
    });
    const pb = b.exchange(1, { channel: "bcast", broadcast: envelope(session, 2, 1, "b1") }, { signal: LONG() });
    const pc = c.exchange(1, { channel: "bcast", broadcast: envelope(session, 3, 1, "c1") }, { signal: LONG() });
    const settled = Promise.allSettled([pb, pc]);
    await a.abort(abort, { timeoutMs: 30_000 });
    for (const r of await settled) {
      expect(r.status).toBe("rejected");
      const err = (r as PromiseRejectedResult).reason as CodedError<{ code: string; envelope: Uint8Array }>;
      expect(err.type).toMatchObject({ code: "PEER_ABORTED", step: 1, peer: 1 });
      expect(Buffer.from(err.type.envelope).equals(Buffer.from(abort))).toBe(true);
    }
  });

  it("an abort on a step protocol, or a step envelope on the abort protocol, is refused and reported", async () => {
    const faults: string[] = [];
    const all = await ops(2);
    const a = await transport(all, 0, { onPeerFault: (_p, r) => faults.push(r) });
    const b = await transport(all, 1);
    await Promise.all([a.connect({ signal: LONG() }), b.connect({ signal: LONG() })]);
    const session = a.session()!;
    const asAbort = Envelope.encode({
      session: Uint8Array.from(session),
      sender: 2,
      step: 1,
      kind: MessageKind.ABORT,
      payload: new Uint8Array(0),
      signature: new Uint8Array(0),
    });
    // b's transport sends what it is given: the abort protocol carries step 0, an ABORT-kind envelope
    await b.abort(envelope(session, 2, 0, "not an abort"), { timeoutMs: 10_000 });
    const steps = Promise.allSettled([
      a.exchange(1, { channel: "bcast", broadcast: envelope(session, 1, 1, "a1") }, { signal: LONG() }),
      b.exchange(1, { channel: "bcast", broadcast: asAbort }, { signal: LONG() }),
    ]);
    await expect.poll(() => faults.join("\n")).toMatch(/UNSPECIFIED on the abort protocol/);
    await expect.poll(() => faults.join("\n")).toMatch(/kind ABORT on the broadcast protocol/);
    await Promise.all([a.close(), b.close()]);
    await steps;
  });
});

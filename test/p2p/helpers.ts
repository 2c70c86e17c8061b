/** Test helpers for the p2p layer: identities in temp dirs, free loopback ports, envelopes, raw peers. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { ShareIndex } from "../../src/lib/types.js";
import { encodeAck } from "../../src/p2p/ceremony.js";
import { createHost, type Host } from "../../src/p2p/host.js";
import { createIdentity, type Identity } from "../../src/p2p/identity.js";
import { DKG_BCAST_PROTOCOL, DKG_PARSIG_PROTOCOL, DKG_SHARE_PROTOCOL, SYNC_PROTOCOL } from "../../src/p2p/protocols.js";
import { Envelope } from "../../src/pb/bcast.js";
import { Hello, HelloResponse } from "../../src/pb/sync.js";

const dirs: string[] = [];

/** A fresh operator identity, stored in a temp dir removed by {@link cleanupIdentities}. */
export async function newIdentity(): Promise<Identity> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "cohort-p2p-"));
  dirs.push(dir);
  return await createIdentity(path.join(dir, "data"));
}

export async function cleanupIdentities(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      srv.close(() => resolve(addr.port));
    });
  });
}

export const tcpAddr = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`;

/** A deterministic 32-byte session filled with `fill`. */
export const sessionOf = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

/** An unsigned envelope (the transport does not check signatures). */
export function envelope(session: Uint8Array, sender: number, step: number, payload: string): Uint8Array {
  return Envelope.encode({
    session: Uint8Array.from(session),
    sender,
    step,
    payload: new TextEncoder().encode(payload),
    signature: new Uint8Array(0),
  });
}

export function payloadOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(Envelope.decode(bytes).payload);
}

/** A fresh 32-byte hello nonce. */
export const newNonce = (): Uint8Array => Uint8Array.from(randomBytes(32));

/** A signed Hello as a real node would send it (an empty `nonce` gives a version-1 hello). */
export async function signedHello(
  identity: Identity,
  session: Uint8Array,
  version: string,
  step = 0,
  nonce: Uint8Array = newNonce(),
): Promise<Uint8Array> {
  const base = { session: Uint8Array.from(session), protocolVersion: version, step, nonce: Uint8Array.from(nonce) };
  const signature = await identity.sign(Hello.encode({ ...base, signature: new Uint8Array(0) }));
  return Hello.encode({ ...base, signature: Uint8Array.from(signature) });
}

/**
 * A hand-driven peer speaking the ceremony protocols on a bare host: it answers hellos and acks every
 * envelope, and records what it received. Tests use it to send malformed traffic.
 */
export interface RawPeer {
  host: Host;
  identity: Identity;
  received: { protocol: string; bytes: Uint8Array }[];
  /** The nonce of this peer's hello. */
  nonce: Uint8Array;
  /** Sends this peer's hello to `peer` and returns the decoded response. */
  hello(peer: string): Promise<HelloResponse>;
}

export async function rawPeer(opts: {
  identity: Identity;
  peers: { peerId: string; addresses?: string[] }[];
  session: Uint8Array;
  version: string;
  listen?: string;
}): Promise<RawPeer> {
  const host = await createHost({
    identity: opts.identity,
    peers: opts.peers,
    listenAddresses: opts.listen === undefined ? undefined : [opts.listen],
  });
  const received: RawPeer["received"] = [];
  const nonce = newNonce();
  const helloBytes = await signedHello(opts.identity, opts.session, opts.version, 0, nonce);
  await host.handleRequest(SYNC_PROTOCOL, async () => HelloResponse.encode({ hello: Hello.decode(helloBytes) }));
  for (const protocol of [DKG_BCAST_PROTOCOL, DKG_SHARE_PROTOCOL, DKG_PARSIG_PROTOCOL]) {
    await host.handleRequest(protocol, async ({ bytes }) => {
      received.push({ protocol, bytes });
      return encodeAck();
    });
  }
  await host.start();
  return {
    host,
    identity: opts.identity,
    received,
    nonce,
    hello: async (peer) => HelloResponse.decode(await host.request(peer, SYNC_PROTOCOL, helloBytes)),
  };
}

export const idx = (i: number): ShareIndex => i as ShareIndex;

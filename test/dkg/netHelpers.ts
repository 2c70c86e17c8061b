/**
 * Test helpers for the networked DKG transport: transports on real hosts, unsigned envelopes, signed
 * hellos, and a hand-driven raw peer that speaks the DKG protocols (and can send malformed chunks).
 */
import { randomBytes } from "node:crypto";
import { chunkFrames, decodeAck, decodeChunk, encodeAck, Reassembly } from "../../src/dkg/chunks.js";
import type { EnvelopeLimits } from "../../src/dkg/limits.js";
import {
  type CeremonyTransportOpts,
  createCeremonyTransport,
  type NetworkCeremonyTransport,
} from "../../src/dkg/net.js";
import {
  DKG_BCAST_PROTOCOL,
  DKG_CHUNKED_LIMITS,
  DKG_PARSIG_PROTOCOL,
  DKG_SHARE_PROTOCOL,
  hostLimitOpts,
  SYNC_LIMITS,
  SYNC_PROTOCOL,
} from "../../src/dkg/protocols.js";
import { signHello } from "../../src/dkg/sync.js";
import { createHost, type Host } from "../../src/p2p/host.js";
import type { Identity } from "../../src/p2p/identity.js";
import { Envelope } from "../../src/pb/bcast.js";
import { Hello, HelloResponse } from "../../src/pb/sync.js";

/** Bound for every step and kind in transport tests, whose envelopes are small and steps arbitrary: 64 KiB. */
export const TEST_LIMITS: EnvelopeLimits = () => 64 * 1024;

/** Options of {@link netTransport}: the transport's, with the limits defaulting to {@link TEST_LIMITS}. */
export type NetTransportOpts = Omit<CeremonyTransportOpts, "identity" | "limits"> & {
  identity: Identity;
  limits?: EnvelopeLimits;
  /** Multiaddr to listen on; default loopback, OS-chosen port. */
  listenAddress?: string;
  /** Replaces the host the transport runs on (a Byzantine node's network edge, see {@link withholdingHost}). */
  wrapHost?: (host: Host) => Host;
};

/** A host gated to the operators, and the ceremony transport on it (which owns the host). */
export async function netTransport(opts: NetTransportOpts): Promise<NetworkCeremonyTransport> {
  const host = await createHost({
    identity: opts.identity,
    peers: opts.operators,
    listenAddresses: opts.listenAddress === undefined ? undefined : [opts.listenAddress],
  });
  return await createCeremonyTransport(
    { ...opts, limits: opts.limits ?? TEST_LIMITS },
    { host: opts.wrapHost?.(host) ?? host, logger: opts.logger },
  );
}

/** What a withholding node keeps from one peer: its own messages on a protocol, or its acks of the peer's. */
export interface Withhold {
  /** Do not open a stream to `peer` on `protocol` (the send fails and is retried, as on a lost link). */
  send?: (peer: string, protocol: string) => boolean;
  /** Accept `peer`'s message on `protocol` but never write the ack back. */
  ack?: (peer: string, protocol: string) => boolean;
}

/**
 * A host that withholds, per {@link Withhold}, what a Byzantine node sends one peer; everything else
 * passes through unchanged. The transport on top is the real one.
 */
export function withholdingHost(host: Host, rule: Withhold): Host {
  const withheld = new Error("withheld by a Byzantine node");
  return new Proxy(host, {
    get(target, prop, receiver) {
      if (prop === "openStream") {
        return (peer: string, protocol: string, o?: Parameters<Host["openStream"]>[2]) =>
          rule.send?.(peer, protocol) === true ? Promise.reject(withheld) : target.openStream(peer, protocol, o);
      }
      if (prop === "handle") {
        return (protocol: string, handler: Parameters<Host["handle"]>[1], o?: Parameters<Host["handle"]>[2]) =>
          target.handle(
            protocol,
            (stream, ctx) => {
              if (rule.ack?.(stream.remotePeer, protocol) !== true) return handler(stream, ctx);
              const mute = new Proxy(stream, {
                get(st, p, r) {
                  if (p === "write") return () => Promise.reject(withheld);
                  const v = Reflect.get(st, p, r);
                  return typeof v === "function" ? v.bind(st) : v;
                },
              });
              return handler(mute, ctx);
            },
            o,
          );
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

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
  return await signHello(identity, { session, protocolVersion: version, step, nonce });
}

/**
 * Sends raw frames to `to` on one stream of a chunked DKG protocol and returns the decoded ack. Frames
 * the peer never reads (it answered early) are not sent.
 */
export async function sendFrames(
  host: Host,
  to: string,
  protocol: string,
  frames: Iterable<Uint8Array>,
): Promise<ReturnType<typeof decodeAck>> {
  const stream = await host.openStream(to, protocol, hostLimitOpts(DKG_CHUNKED_LIMITS));
  const answered = new AbortController();
  const ack = stream.read().finally(() => answered.abort());
  const writes = (async () => {
    for (const f of frames) {
      if (answered.signal.aborted) return false;
      await stream.write(f, { signal: answered.signal });
    }
    return true;
  })();
  const [w, a] = await Promise.allSettled([writes, ack]);
  // a peer that refused mid-way may have reset the stream: its ack says why
  if (a.status === "rejected") throw a.reason;
  if (w.status === "fulfilled" && w.value) await stream.close();
  else stream.abort(new Error("refused"));
  const bytes = a.value;
  return decodeAck(bytes);
}

/**
 * Sends an envelope as a real node would: chunks of `chunkBytes` (default one chunk), each header
 * taken from the envelope (or from `header` for an envelope that does not decode).
 */
export async function sendEnvelope(
  host: Host,
  to: string,
  protocol: string,
  bytes: Uint8Array,
  opts: { header?: { session: Uint8Array; sender: number; step: number }; chunkBytes?: number } = {},
): Promise<ReturnType<typeof decodeAck>> {
  const header = opts.header ?? (({ session, sender, step }) => ({ session, sender, step }))(Envelope.decode(bytes));
  return await sendFrames(host, to, protocol, chunkFrames(header, bytes, opts.chunkBytes ?? 64 * 1024));
}

/**
 * A hand-driven peer speaking the ceremony protocols on a bare host: it answers hellos and acks every
 * envelope once reassembled, and records what it received. Tests use it to send malformed traffic.
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
  await host.handleRequest(
    SYNC_PROTOCOL,
    async () => HelloResponse.encode({ hello: Hello.decode(helloBytes) }),
    hostLimitOpts(SYNC_LIMITS),
  );
  for (const protocol of [DKG_BCAST_PROTOCOL, DKG_SHARE_PROTOCOL, DKG_PARSIG_PROTOCOL]) {
    await host.handle(
      protocol,
      async (stream, { signal }) => {
        const first = decodeChunk(await stream.read({ signal }));
        const r = new Reassembly(first.header, 1 << 30);
        let bytes = r.add(first);
        while (bytes === undefined) bytes = r.add(decodeChunk(await stream.read({ signal })));
        received.push({ protocol, bytes: Uint8Array.from(bytes) });
        await stream.write(encodeAck(), { signal });
        await stream.close({ signal });
      },
      hostLimitOpts(DKG_CHUNKED_LIMITS),
    );
  }
  await host.start();
  return {
    host,
    identity: opts.identity,
    received,
    nonce,
    hello: async (peer) =>
      HelloResponse.decode(await host.request(peer, SYNC_PROTOCOL, helloBytes, hostLimitOpts(SYNC_LIMITS))),
  };
}

/**
 * The libp2p host: TCP + Noise + Yamux with identify and ping, keyed by the operator identity, behind a
 * connection gater that admits only the allow-listed peer IDs (DESIGN.md § Security model, peer gating).
 * No discovery, no DHT, no autodial. The rest of cohort talks to the network through {@link Host} only.
 */
import "../lib/polyfill.js";
import { identify } from "@libp2p/identify";
import type { Connection, ConnectionGater, PeerId, Stream } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Ping, ping } from "@libp2p/ping";
import { prometheusMetrics } from "@libp2p/prometheus-metrics";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type Libp2p } from "libp2p";
import type { Registry } from "prom-client";
import { Backoff } from "../lib/backoff.js";
import { InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { silentLogger } from "../lib/logger.js";
import type { Identity } from "./identity.js";
import { parsePeerId } from "./identity.js";
import {
  CLOSE_FLUSH_TIMEOUT_MS,
  DEFAULT_LISTEN_ADDRESS,
  DIAL_TIMEOUT_MS,
  INBOUND_CONNECTIONS_PER_SECOND_PER_HOST,
  protocolLimits,
  RETRY_MAX_DELAY_MS,
  RETRY_MIN_DELAY_MS,
} from "./protocols.js";
import { deadline, P2pError, type P2pStream, wrapStream } from "./stream.js";

/** A peer the host may talk to, with optional multiaddr hints such as `/ip4/10.0.0.2/tcp/3610`. */
export interface PeerEntry {
  /** Base58 secp256k1 peer ID. */
  peerId: string;
  /** Multiaddr strings; a trailing `/p2p/<peerId>` is optional but must match when present. */
  addresses?: string[];
}

/** Options of {@link createHost}. */
export interface HostOpts {
  /** This node's identity; its key is the libp2p private key. */
  identity: Identity;
  /** The allow-list: only these peers may connect, in either direction. This node's own entry is ignored. */
  peers: PeerEntry[];
  /** Multiaddrs to listen on; default `[DEFAULT_LISTEN_ADDRESS]` (`/ip4/127.0.0.1/tcp/0`, loopback only). */
  listenAddresses?: string[];
}

/** Collaborators of {@link createHost}. */
export interface HostModules {
  logger?: Logger;
  /** When set, libp2p's own metrics (connections, streams, bytes) are registered on this prom-client registry. */
  metricsRegistry?: Registry;
}

/**
 * Per-handler overrides of the protocol's limits (`PROTOCOL_LIMITS`, else `DEFAULT_PROTOCOL_LIMITS`).
 * A protocol defined outside src/p2p passes its own limits here and in {@link OutboundOpts}.
 */
export interface HandleOpts {
  /** Largest message a read accepts, bytes. */
  maxMessageBytes?: number;
  /** Bound on each read and on the whole handler run, ms. */
  timeoutMs?: number;
  /** Streams per connection at once, per direction. */
  maxStreams?: number;
}

/** Options of an outbound stream or request. */
export interface OutboundOpts {
  signal?: AbortSignal;
  /** Largest response accepted, bytes; default the protocol's cap. */
  maxMessageBytes?: number;
  /** Bound on the whole request (dial, write, read response) or on each read of an opened stream, ms. */
  timeoutMs?: number;
  /** Outbound streams per connection at once on this protocol; default the protocol's budget. */
  maxStreams?: number;
}

/** Handles one inbound stream; `signal` fires when the handler's time is up or the host stops. */
export type StreamHandler = (stream: P2pStream, ctx: { signal: AbortSignal }) => Promise<void>;

/** One inbound request: the Noise-authenticated sender, the connection it came on, and the message. */
export interface InboundRequest {
  /** Remote peer ID (base58). */
  peer: string;
  /** ID of the connection the request arrived on. */
  connectionId: string;
  bytes: Uint8Array;
}

/** Answers one inbound request; the returned bytes are the response. */
export type RequestHandler = (req: InboundRequest, ctx: { signal: AbortSignal }) => Promise<Uint8Array>;

/** A failure of an inbound stream, with the remote peer (base58) and protocol. */
export interface StreamErrorEvent {
  peer: string;
  protocol: string;
  error: unknown;
}

/** The p2p host as the rest of cohort sees it: peer IDs and multiaddrs are strings, payloads bytes. */
export interface Host {
  /** This node's peer ID (base58). */
  readonly peerId: string;
  /** Starts listening. Idempotent. @throws InputError "listen_address" when an address cannot be bound */
  start(): Promise<void>;
  /** Waits briefly for in-flight inbound handlers, then closes every connection and listener. Idempotent. */
  stop(): Promise<void>;
  /** Addresses this host listens on, each ending in `/p2p/<peerId>`. Empty before `start`. */
  listenAddresses(): string[];
  /** True when `peer` is allow-listed (never true for this node itself). */
  isAllowed(peer: string): boolean;
  /** True when at least one connection to `peer` is open. */
  isConnected(peer: string): boolean;
  /** Peer IDs with at least one open connection. */
  connectedPeers(): string[];
  /** IDs of the connections open to `peer` (see {@link P2pStream.connectionId}). */
  connectionIds(peer: string): string[];
  /**
   * Connects to `peer`, trying `addresses` (multiaddr strings) and any stored hints. Resolves at once when
   * already connected.
   * @throws P2pError PEER_NOT_ALLOWED, DIAL_FAILED, ABORTED, NOT_STARTED; InputError for a malformed address
   */
  dial(peer: string, addresses?: string[], opts?: { signal?: AbortSignal }): Promise<void>;
  /** Closes every connection to `peer`. */
  hangUp(peer: string): Promise<void>;
  /**
   * One libp2p ping (`/ipfs/ping/1.0.0`) over an open connection to `peer`.
   * @returns the round trip, ms
   * @throws P2pError PEER_NOT_ALLOWED; whatever the ping fails with (no connection, `signal`)
   */
  ping(peer: string, opts?: { signal?: AbortSignal }): Promise<number>;
  /**
   * Registers `handler` for inbound streams on `protocol`. A handler error resets that stream, is logged
   * at debug level and reported to {@link Host.onStreamError} listeners; it never reaches the event loop.
   */
  handle(protocol: string, handler: StreamHandler, opts?: HandleOpts): Promise<void>;
  /**
   * Request/response on `protocol`: reads one message, answers with `handler`'s bytes and closes the
   * stream. Built on {@link Host.handle}.
   */
  handleRequest(protocol: string, handler: RequestHandler, opts?: HandleOpts): Promise<void>;
  /** Removes the handler of `protocol`. */
  unhandle(protocol: string): Promise<void>;
  /**
   * Opens a stream to `peer` on `protocol`, dialling it through stored hints if needed.
   * @throws P2pError PEER_NOT_ALLOWED, DIAL_FAILED, ABORTED, NOT_STARTED
   */
  openStream(peer: string, protocol: string, opts?: OutboundOpts): Promise<P2pStream>;
  /**
   * Sends `bytes` to `peer` on `protocol` and returns its one-message response. The whole exchange is
   * bounded by `timeoutMs` (default the protocol's read timeout) and `signal`.
   * @throws P2pError PEER_NOT_ALLOWED, DIAL_FAILED, READ_TIMEOUT, MESSAGE_TOO_LARGE, MALFORMED_FRAME, STREAM_CLOSED, ABORTED
   */
  request(peer: string, protocol: string, bytes: Uint8Array, opts?: OutboundOpts): Promise<Uint8Array>;
  /** Calls `cb` when the first connection to an allow-listed peer opens. Returns an unsubscribe function. */
  onPeerConnect(cb: (peer: string) => void): () => void;
  /** Calls `cb` when the last connection to a peer closes. Returns an unsubscribe function. */
  onPeerDisconnect(cb: (peer: string) => void): () => void;
  /** Calls `cb` when an inbound stream fails (malformed, oversized, timed out, handler error). */
  onStreamError(cb: (e: StreamErrorEvent) => void): () => void;
}

/**
 * Parses a multiaddr hint for `peer`, appending `/p2p/<peer>` when absent.
 * @throws InputError "addresses" when malformed or naming another peer
 */
export function peerMultiaddr(peer: string, address: string): Multiaddr {
  let ma: Multiaddr;
  try {
    ma = multiaddr(address);
  } catch (err) {
    throw new InputError("addresses", `"addresses" of ${peer}: not a multiaddr: ${address}`, { cause: err });
  }
  const p2p = ma.getComponents().find((c) => c.name === "p2p");
  if (p2p === undefined) return ma.encapsulate(`/p2p/${peer}`);
  if (p2p.value !== peer) {
    throw new InputError("addresses", `"addresses" of ${peer}: ${address} names another peer`);
  }
  return ma;
}

/** The gater: every check that names a peer denies anyone outside `allowed`. */
function allowListGater(allowed: ReadonlySet<string>): ConnectionGater {
  const deny = (peer: PeerId): boolean => !allowed.has(peer.toString());
  return {
    denyDialPeer: deny,
    denyDialMultiaddr: (ma: Multiaddr) => {
      const p2p = ma.getComponents().find((c) => c.name === "p2p");
      return p2p?.value !== undefined && !allowed.has(p2p.value);
    },
    denyOutboundConnection: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // cohort relays nothing for anyone
    denyInboundRelayReservation: () => true,
    denyOutboundRelayedConnection: () => true,
    denyInboundRelayedConnection: (_relay: PeerId, remote: PeerId) => deny(remote),
    filterMultiaddrForPeer: (peer: PeerId) => !deny(peer),
  };
}

/**
 * Builds (but does not start) a libp2p host for `opts.identity`, gated to `opts.peers`.
 * @throws InputError "peers" for a malformed peer ID; "addresses" / "listen_address" for a malformed multiaddr
 */
export async function createHost(opts: HostOpts, modules: HostModules = {}): Promise<Host> {
  const log = (modules.logger ?? silentLogger()).child({ module: "p2p" });
  const selfId = opts.identity.peerId;
  const hints = new Map<string, Multiaddr[]>();
  for (const entry of opts.peers) {
    const peer = parsePeerId(entry.peerId, "peers");
    if (peer === selfId) continue;
    const list = hints.get(peer) ?? [];
    for (const a of entry.addresses ?? []) list.push(peerMultiaddr(peer, a));
    hints.set(peer, list);
  }
  const allowed = new Set(hints.keys());
  const listen = opts.listenAddresses ?? [DEFAULT_LISTEN_ADDRESS];
  for (const a of listen) {
    try {
      multiaddr(a);
    } catch (err) {
      throw new InputError("listen_address", `"listen_address" is not a multiaddr: ${a}`, { cause: err });
    }
  }

  const node: Libp2p = await createLibp2p({
    start: false,
    privateKey: opts.identity.privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: allowListGater(allowed),
    connectionManager: {
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND_PER_HOST,
      dialTimeout: DIAL_TIMEOUT_MS,
    },
    peerDiscovery: [],
    // heartbeats (src/p2p/heartbeat.ts) ping once a second: a stream still closing must not refuse the next
    services: { identify: identify(), ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }) },
    ...(modules.metricsRegistry === undefined
      ? {}
      : { metrics: prometheusMetrics({ registry: modules.metricsRegistry, preserveExistingMetrics: true }) }),
  });

  let state: "new" | "started" | "stopped" = "new";
  const stopCtrl = new AbortController();
  const inflight = new Set<Promise<void>>();
  const connectCbs = new Set<(peer: string) => void>();
  const disconnectCbs = new Set<(peer: string) => void>();
  const errorCbs = new Set<(e: StreamErrorEvent) => void>();

  const emit = <T>(cbs: Set<(v: T) => void>, v: T): void => {
    for (const cb of cbs) {
      try {
        cb(v);
      } catch (err) {
        log.error({ err }, "p2p event listener threw");
      }
    }
  };
  node.addEventListener("peer:connect", (evt) => {
    const peer = evt.detail.toString();
    log.debug({ peer_id: peer }, "peer connected");
    emit(connectCbs, peer);
  });
  node.addEventListener("peer:disconnect", (evt) => {
    const peer = evt.detail.toString();
    log.debug({ peer_id: peer }, "peer disconnected");
    emit(disconnectCbs, peer);
  });

  const subscribe = <T>(cbs: Set<(v: T) => void>, cb: (v: T) => void): (() => void) => {
    cbs.add(cb);
    return () => cbs.delete(cb);
  };

  // Parsing a secp256k1 peer ID decompresses its public key (a square root in JS, ~1.5 ms): the
  // allow-list is fixed, so parse each once.
  const peerIds = new Map<string, PeerId>();
  const toPeerId = (peer: string): PeerId => {
    let id = peerIds.get(peer);
    if (id === undefined) {
      id = peerIdFromString(peer);
      if (allowed.has(peer)) peerIds.set(peer, id);
    }
    return id;
  };
  const checkPeer = (peer: string): PeerId => {
    if (state !== "started") throw new P2pError({ code: "NOT_STARTED" }, "p2p host is not running");
    if (!allowed.has(peer))
      throw new P2pError({ code: "PEER_NOT_ALLOWED", peer }, `peer ${peer} is not in the allow-list`);
    return toPeerId(peer);
  };

  const host: Host = {
    peerId: selfId,

    async start() {
      if (state !== "new") return;
      for (const [peer, addrs] of hints) {
        if (addrs.length > 0) await node.peerStore.merge(peerIdFromString(peer), { multiaddrs: addrs });
      }
      try {
        await node.start();
      } catch (err) {
        throw new InputError("listen_address", `cannot listen on ${listen.join(", ")}: ${listenReason(err)}`, {
          cause: err,
        });
      }
      state = "started";
      log.info({ peer_id: selfId, addresses: host.listenAddresses() }, "p2p host listening");
    },

    async stop() {
      if (state === "stopped") return;
      const wasStarted = state === "started";
      state = "stopped";
      if (inflight.size > 0) {
        const dl = deadline(CLOSE_FLUSH_TIMEOUT_MS);
        const timeout = new Promise<void>((resolve) => dl.signal.addEventListener("abort", () => resolve()));
        await Promise.race([Promise.allSettled([...inflight]), timeout]);
        dl.clear();
      }
      stopCtrl.abort(new Error("p2p host stopped"));
      if (wasStarted) await node.stop();
      log.debug({ peer_id: selfId }, "p2p host stopped");
    },

    listenAddresses: () => node.getMultiaddrs().map((ma) => ma.toString()),
    isAllowed: (peer) => allowed.has(peer),
    isConnected: (peer) => allowed.has(peer) && node.getConnections(toPeerId(peer)).length > 0,
    connectedPeers: () => node.getPeers().map((p) => p.toString()),
    connectionIds: (peer) => (allowed.has(peer) ? node.getConnections(toPeerId(peer)).map((c) => c.id) : []),

    async ping(peer, pingOpts = {}) {
      const id = checkPeer(peer);
      if (node.getConnections(id).length === 0) throw new Error(`no connection to ${peer}`);
      return await (node.services as { ping: Ping }).ping.ping(id, { signal: pingOpts.signal });
    },

    async dial(peer, addresses = [], dialOpts = {}) {
      const id = checkPeer(peer);
      const mas = addresses.map((a) => peerMultiaddr(peer, a));
      if (mas.length > 0) await node.peerStore.merge(id, { multiaddrs: mas });
      try {
        await node.dial(id, { signal: dialOpts.signal });
      } catch (err) {
        if (dialOpts.signal?.aborted)
          throw new P2pError({ code: "ABORTED", peer, protocol: "" }, `dial ${peer}: aborted`, { cause: err });
        throw new P2pError({ code: "DIAL_FAILED", peer }, `dial ${peer}`, { cause: err });
      }
    },

    async hangUp(peer) {
      if (state !== "started") return;
      await node.hangUp(peerIdFromString(peer));
    },

    async handle(protocol, handler, handleOpts = {}) {
      const limits = protocolLimits(protocol);
      const maxMessageBytes = handleOpts.maxMessageBytes ?? limits.maxMessageBytes;
      const timeoutMs = handleOpts.timeoutMs ?? limits.readTimeoutMs;
      const maxStreams = handleOpts.maxStreams ?? limits.maxStreams;
      await node.handle(
        protocol,
        (stream: Stream, connection: Connection) => {
          const peer = connection.remotePeer.toString();
          const wrapped = wrapStream(stream, {
            remotePeer: peer,
            connectionId: connection.id,
            protocol,
            maxMessageBytes,
            readTimeoutMs: timeoutMs,
          });
          // inbound handlers own their time bound, as js-libp2p identify's do
          const dl = deadline(timeoutMs, stopCtrl.signal);
          const task = (async () => {
            try {
              await handler(wrapped, { signal: dl.signal });
            } catch (caught) {
              let err = caught;
              // the handler's deadline is its read timeout: report it as one, not as a caller abort
              if (err instanceof P2pError && err.code === "ABORTED" && dl.timedOut()) {
                err = new P2pError(
                  { code: "READ_TIMEOUT", peer, protocol, timeoutMs },
                  `handle ${protocol} from ${peer}: not done within ${timeoutMs} ms`,
                  { cause: err },
                );
              }
              wrapped.abort(err instanceof Error ? err : new Error(String(err)));
              log.debug({ peer_id: peer, protocol, err }, "inbound stream failed");
              emit(errorCbs, { peer, protocol, error: err });
            } finally {
              dl.clear();
            }
          })();
          inflight.add(task);
          void task.finally(() => inflight.delete(task));
        },
        { maxInboundStreams: maxStreams, maxOutboundStreams: maxStreams, force: true },
      );
    },

    async handleRequest(protocol, handler, handleOpts = {}) {
      await host.handle(
        protocol,
        async (stream, { signal }) => {
          const bytes = await stream.read({ signal });
          const response = await handler(
            { peer: stream.remotePeer, connectionId: stream.connectionId, bytes },
            { signal },
          );
          await stream.write(response, { signal });
          await stream.close({ signal });
        },
        handleOpts,
      );
    },

    async unhandle(protocol) {
      await node.unhandle(protocol);
    },

    async openStream(peer, protocol, streamOpts = {}) {
      const id = checkPeer(peer);
      const limits = protocolLimits(protocol);
      let stream: Stream;
      let connection: Connection;
      try {
        connection = await node.dial(id, { signal: streamOpts.signal });
        stream = await connection.newStream(protocol, {
          signal: streamOpts.signal,
          maxOutboundStreams: streamOpts.maxStreams ?? limits.maxStreams,
        });
      } catch (err) {
        if (streamOpts.signal?.aborted) {
          throw new P2pError({ code: "ABORTED", peer, protocol }, `open ${protocol} to ${peer}: aborted`, {
            cause: err,
          });
        }
        throw new P2pError({ code: "DIAL_FAILED", peer, protocol }, `open ${protocol} to ${peer}`, { cause: err });
      }
      return wrapStream(stream, {
        remotePeer: peer,
        connectionId: connection.id,
        protocol,
        maxMessageBytes: streamOpts.maxMessageBytes ?? limits.maxMessageBytes,
        readTimeoutMs: streamOpts.timeoutMs ?? limits.readTimeoutMs,
      });
    },

    async request(peer, protocol, bytes, reqOpts = {}) {
      const timeoutMs = reqOpts.timeoutMs ?? protocolLimits(protocol).readTimeoutMs;
      const dl = deadline(timeoutMs, reqOpts.signal);
      let stream: P2pStream | undefined;
      try {
        stream = await host.openStream(peer, protocol, { ...reqOpts, signal: dl.signal });
        await stream.write(bytes, { signal: dl.signal });
        const response = await stream.read({ signal: dl.signal, timeoutMs });
        await stream.close({ signal: dl.signal });
        return response;
      } catch (err) {
        if (dl.timedOut() && !reqOpts.signal?.aborted) {
          stream?.abort(new Error("request timed out"));
          throw new P2pError(
            { code: "READ_TIMEOUT", peer, protocol, timeoutMs },
            `request ${protocol} to ${peer}: no response within ${timeoutMs} ms`,
            {
              cause: err,
            },
          );
        }
        if (err instanceof P2pError && err.code === "ABORTED" && !reqOpts.signal?.aborted) {
          throw new P2pError({ code: "STREAM_CLOSED", peer, protocol }, `request ${protocol} to ${peer}`, {
            cause: err,
          });
        }
        throw err;
      } finally {
        dl.clear();
      }
    },

    onPeerConnect: (cb) => subscribe(connectCbs, cb),
    onPeerDisconnect: (cb) => subscribe(disconnectCbs, cb),
    onStreamError: (cb) => subscribe(errorCbs, cb),
  };
  return host;
}

/**
 * Keeps `host` connected to every allow-listed peer of `peers` until `signal` aborts: dials each with
 * exponential backoff (RETRY_MIN_DELAY_MS … RETRY_MAX_DELAY_MS) and redials when it drops. For the
 * runtime node (DESIGN.md § Signing protocol: "reconnects with backoff"). Never rejects; failures are
 * logged at debug level.
 */
export function keepConnected(host: Host, peers: PeerEntry[], opts: { signal: AbortSignal; logger?: Logger }): void {
  const log = (opts.logger ?? silentLogger()).child({ module: "p2p" });
  const { signal } = opts;
  for (const entry of peers) {
    if (!host.isAllowed(entry.peerId)) continue;
    const loop = async (): Promise<void> => {
      const backoff = new Backoff({ minDelayMs: RETRY_MIN_DELAY_MS, maxDelayMs: RETRY_MAX_DELAY_MS, signal });
      while (!signal.aborted) {
        if (host.isConnected(entry.peerId)) {
          backoff.reset();
          await new Promise<void>((resolve) => {
            const done = () => {
              off();
              signal.removeEventListener("abort", done);
              resolve();
            };
            const off = host.onPeerDisconnect((p) => p === entry.peerId && done());
            signal.addEventListener("abort", done, { once: true });
            // it may have dropped between the check and the subscription
            if (!host.isConnected(entry.peerId)) done();
          });
          continue;
        }
        try {
          await host.dial(entry.peerId, entry.addresses, { signal });
          log.debug({ peer_id: entry.peerId }, "connected");
          continue;
        } catch (err) {
          if (signal.aborted) return;
          log.debug(
            { peer_id: entry.peerId, err: (err as Error).message, retry_ms: backoff.nextDelayMs },
            "dial failed",
          );
        }
        await backoff.wait();
      }
    };
    void loop().catch((err: unknown) => log.error({ err, peer_id: entry.peerId }, "reconnect loop failed"));
  }
}

/**
 * One line for a failed listen. libp2p's error lists every address with its cause's stack
 * ("/ip4/…: Error: listen EADDRINUSE: address already in use 127.0.0.1:9000\n    at …"): keep the
 * causes, whatever their error class.
 */
function listenReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const causes = [...message.matchAll(/^\s*\/\S+: (?:\w*Error: )?(.+)$/gm)].map((m) => m[1]!.trim());
  return causes.length > 0 ? [...new Set(causes)].join("; ") : (message.split("\n")[0] ?? message);
}

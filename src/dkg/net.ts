/**
 * The networked {@link CeremonyTransport}, over the p2p {@link Host}: signed hello sync (DESIGN.md
 * § DKG protocol step 1), then one all-to-all exchange per step over `DKG_BCAST_PROTOCOL`,
 * `DKG_PARSIG_PROTOCOL` and `DKG_SHARE_PROTOCOL`. Each envelope travels as chunks of a fixed cap
 * (src/dkg/chunks.ts), its announced total bounded per step (src/dkg/limits.ts), and is acknowledged
 * once all its chunks arrived. Envelope signatures are left to the DKG core, which keeps them as
 * evidence; this layer routes on the envelope header and the Noise-authenticated peer. Each run draws
 * a fresh hello nonce; after sync only envelopes of the attempt session are accepted. A step still
 * waiting for a peer's broadcast asks the peers that moved on for a signed copy on
 * `DKG_RELAY_PROTOCOL` (src/dkg/relay.ts), and serves its own copies of the last finished step.
 */
import { createHash, randomBytes } from "node:crypto";
import { Backoff } from "../lib/backoff.js";
import { bytesEqual } from "../lib/bytes.js";
import { CodedError, InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { silentLogger } from "../lib/logger.js";
import type { ShareIndex } from "../lib/types.js";
import type { Host } from "../p2p/host.js";
import { type Identity, parsePeerId, verifyIdentitySignature } from "../p2p/identity.js";
import { RETRY_MAX_DELAY_MS, RETRY_MIN_DELAY_MS } from "../p2p/protocols.js";
import { deadline, P2pError, type P2pStream } from "../p2p/stream.js";
import { Envelope, MessageKind } from "../pb/bcast.js";
import { Hello, HelloResponse } from "../pb/sync.js";
import {
  type ChunkHeader,
  ChunkRefused,
  checkChunkBytes,
  chunkFrames,
  decodeAck,
  decodeChunk,
  encodeAck,
  MAX_CHUNK_DATA_BYTES,
  Reassembly,
} from "./chunks.js";
import { attemptSession, NONCE_BYTES } from "./envelope.js";
import type { EnvelopeKind, EnvelopeLimits } from "./limits.js";
import {
  CHANNEL_PROTOCOL,
  DKG_ABORT_PROTOCOL,
  DKG_BCAST_PROTOCOL,
  DKG_CHUNK_READ_TIMEOUT_MS,
  DKG_CHUNKED_LIMITS,
  DKG_MAX_STREAMS_PER_PEER,
  DKG_MESSAGE_TIMEOUT_MS,
  DKG_PARSIG_PROTOCOL,
  DKG_RELAY_AFTER_MS,
  DKG_RELAY_INTERVAL_MS,
  DKG_RELAY_MAX_SERVES,
  DKG_RELAY_PROTOCOL,
  DKG_SHARE_PROTOCOL,
  DKG_WITHHELD_AFTER_MS,
  hostLimitOpts,
  PEER_RECONNECT_GRACE_MS,
  SYNC_LIMITS,
  SYNC_PROTOCOL,
  WAITING_REPORT_INTERVAL_MS,
} from "./protocols.js";
import { checkRelayed, decodeRelayRequest, encodeRelayRequest, relayKey } from "./relay.js";
import { signHello, verifyHello } from "./sync.js";
import type {
  CeremonyTransport,
  IdentityVerifier,
  Inbound,
  TransportError,
  TransportErrorType,
  WaitingCallback,
} from "./transport.js";

/** One operator of the session, in definition order (share index = position + 1). */
export interface CeremonyOperator {
  /** Base58 secp256k1 peer ID. */
  peerId: string;
  /** Multiaddr hints, e.g. `/ip4/10.0.0.2/tcp/3610` (a `/p2p/<peerId>` suffix is optional). */
  addresses: string[];
}

/** Options of {@link createCeremonyTransport}. */
export interface CeremonyTransportOpts {
  /** This node's identity (its peer ID and identity-key signer); must be one of `operators`. */
  identity: Pick<Identity, "peerId" | "sign">;
  /** All n operators, this node included, in definition order. */
  operators: CeremonyOperator[];
  /** Session binding: the definition hash, 32 bytes. */
  session: Uint8Array;
  /** cohort protocol version; peers must match exactly. */
  protocolVersion: string;
  /**
   * The most bytes each step's envelopes may have ({@link envelopeLimits} of the definition): a peer's
   * envelope announcing more is refused before anything is allocated, and so is this node's own.
   */
  limits: EnvelopeLimits;
  /** Data bytes per chunk this node sends, 1 … `MAX_CHUNK_DATA_BYTES` (the default). */
  chunkBytes?: number;
  /** WITHHELD after this many ms of every other peer having moved on; default `DKG_WITHHELD_AFTER_MS`. */
  withheldAfterMs?: number;
  /** Logger; `modules.logger` takes precedence. */
  logger?: Logger;
  /** Called when a peer misbehaves: malformed, oversized or mis-addressed message, bad hello signature. */
  onPeerFault?: (peer: ShareIndex, reason: string) => void;
}

/** Collaborators of {@link createCeremonyTransport}. */
export interface CeremonyTransportModules {
  /**
   * The p2p host, built (not started) for this node's identity and allow-listing every operator. The
   * transport registers its handlers on it, starts it in `connect` and stops it in `close`.
   */
  host: Host;
  logger?: Logger;
}

/** The networked ceremony transport, with a few introspection helpers on top of the interface. */
export interface NetworkCeremonyTransport extends CeremonyTransport {
  /** Addresses the host listens on (each ending in `/p2p/<peerId>`); empty before `connect`. */
  listenAddresses(): string[];
  /** Misbehaviour count per peer share index (peers with none are absent). */
  faults(): ReadonlyMap<ShareIndex, number>;
  /** The attempt session (32 bytes) once `connect` resolved, else undefined. */
  session(): Uint8Array | undefined;
}

interface Slot {
  bytes?: Uint8Array;
  digest: string;
}

interface PeerState {
  index: ShareIndex;
  peerId: string;
  addresses: string[];
  synced: boolean;
  /** Highest step of any message exchanged with this peer, in either direction (received or acked). */
  maxStep: number;
  /** The peer's hello nonce for this attempt; a hello with another one after sync means a restart. */
  nonce?: Uint8Array;
  /** Messages received, by step then kind. */
  slots: Map<number, Partial<Record<EnvelopeKind, Slot>>>;
  /** Envelopes being reassembled, by step then kind: at most one each, a newer stream replaces an older. */
  receiving: Map<number, Partial<Record<EnvelopeKind, AbortController>>>;
  faults: number;
  graceTimer?: NodeJS.Timeout;
  /** Disconnected for longer than the grace period. */
  gone: boolean;
  /** The peer's signed ABORT envelope, once one arrived: it left the ceremony. */
  aborted?: Uint8Array;
  /** Its inbound streams open now, by protocol (at most {@link DKG_MAX_STREAMS_PER_PEER} each). */
  inbound: Map<string, number>;
  /** Relayed copies served to this peer, by {@link relayKey} (at most {@link DKG_RELAY_MAX_SERVES} each). */
  served: Map<string, number>;
}

interface ActiveExchange {
  step: number;
  expectDirect: boolean;
  /** The last step: done with a peer once its message is here, acked or not. */
  final: boolean;
  acked: Map<ShareIndex, Set<EnvelopeKind>>;
  check(): void;
  fail(err: TransportError): void;
}

/** The step an abort's chunks and envelope carry: none of the exchanged steps (its payload names one). */
const STEP_ABORT = 0;

function digestOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function transportError(type: TransportErrorType, message: string, cause?: unknown): TransportError {
  return new CodedError<TransportErrorType>(type, message, cause === undefined ? undefined : { cause });
}

/** A signal aborted with the default reason (`controller.abort()`) means cancellation; anything else a timeout. */
function isCancellation(signal: AbortSignal): boolean {
  const r: unknown = signal.reason;
  return r instanceof Error && r.name === "AbortError";
}

/**
 * Creates the ceremony transport for one session on `modules.host`, registering its handlers now; the
 * host starts listening in `connect()`. Share indices are 1-based positions in `opts.operators`.
 *
 * Failure semantics (all `CodedError<TransportErrorType>`):
 * - VERSION_MISMATCH / SESSION_MISMATCH: a peer's signed hello disagrees; fails at once on both sides.
 * - PEER_RESTARTED: a peer sent a hello with a new nonce after this node fixed the attempt session (its
 *   connections do not matter: relays and hole punching also open new ones); the restarted node itself
 *   fails with PEER_RESTARTED naming the peer that refused it. Before that, a new nonce replaces the old.
 * - PEER_DISCONNECTED: a synced peer stayed disconnected for `PEER_RECONNECT_GRACE_MS` while this node
 *   still lacked its message (or its ack) for the current step, or at the start of the next step.
 * - TIMEOUT / ABORTED: the caller's signal fired; ABORTED only for the default `AbortError` reason.
 *
 * @throws InputError "operators" when this node is not an operator, a peer ID repeats, or the host does
 *   not allow an operator; RangeError when `session` is not 32 bytes or `chunkBytes` is out of range
 */
export async function createCeremonyTransport(
  opts: CeremonyTransportOpts,
  modules: CeremonyTransportModules,
): Promise<NetworkCeremonyTransport> {
  if (opts.session.length !== 32) throw new RangeError(`"session" must be 32 bytes, got ${opts.session.length}`);
  const chunkBytes = opts.chunkBytes ?? MAX_CHUNK_DATA_BYTES;
  checkChunkBytes(chunkBytes);
  const log = (modules.logger ?? opts.logger ?? silentLogger()).child({ module: "ceremony-transport" });
  const { host } = modules;
  const session = Uint8Array.from(opts.session);
  const version = opts.protocolVersion;

  const peers = new Map<ShareIndex, PeerState>();
  const byPeerId = new Map<string, PeerState>();
  let self: ShareIndex | undefined;
  const seen = new Set<string>();
  opts.operators.forEach((op, i) => {
    const peerId = parsePeerId(op.peerId, `operators[${i}].peer_id`);
    const index = (i + 1) as ShareIndex;
    if (seen.has(peerId)) throw new InputError("operators", `"operators" lists peer ${peerId} twice`);
    seen.add(peerId);
    if (peerId === opts.identity.peerId) {
      self = index;
      return;
    }
    if (!host.isAllowed(peerId)) {
      throw new InputError("operators", `operator ${index} (${peerId}) is not in the p2p host's allow-list`);
    }
    const st: PeerState = {
      index,
      peerId,
      addresses: op.addresses,
      synced: false,
      maxStep: 0,
      slots: new Map(),
      receiving: new Map(),
      faults: 0,
      gone: false,
      inbound: new Map(),
      served: new Map(),
    };
    peers.set(index, st);
    byPeerId.set(peerId, st);
  });
  if (self === undefined) {
    throw new InputError("operators", `this node's peer ID ${opts.identity.peerId} is not one of the operators`);
  }
  const selfIndex: ShareIndex = self;
  const withheldAfterMs = opts.withheldAfterMs ?? DKG_WITHHELD_AFTER_MS;
  /** Checks relayed copies: the operators' identity keys, by share index. */
  const relayVerifier: IdentityVerifier = {
    verify: (sender, msg, sig) => {
      const op = opts.operators[sender - 1];
      if (op === undefined) throw new RangeError(`unknown operator ${sender}`);
      return verifyIdentitySignature(op.peerId, msg, sig);
    },
  };
  /** Every peer's broadcast of the last finished step, by sender: what this node relays to a peer behind. */
  let relayable: { step: number; bytes: Map<ShareIndex, Uint8Array> } | undefined;

  let state: "new" | "connecting" | "connected" | "closed" = "new";
  /** The last step's send loops, still delivering after it completed ({@link CeremonyTransport.close} waits). */
  let lingering: { sends: AbortController; settled: Promise<void> } | undefined;
  /** Step of the running or last finished exchange; 0 during connect. */
  let current = 0;
  let fatal: TransportError | undefined;
  let active: ActiveExchange | undefined;
  let onSyncChange: (() => void) | undefined;
  /** During connect: each peer's hello-retry backoff, woken early when the peer connects to us. */
  const helloBackoffs = new Map<ShareIndex, Backoff>();
  const life = new AbortController();
  const helloByStep = new Map<number, Promise<Uint8Array>>();
  const nonce = Uint8Array.from(randomBytes(NONCE_BYTES));
  /** The attempt session, fixed when connect resolves. */
  let attempt: Uint8Array | undefined;
  const attemptWaiters = new Set<() => void>();

  const describe = (idx: ShareIndex): string => `${idx} (${peers.get(idx)?.peerId ?? "?"})`;

  const fault = (peer: PeerState, reason: string): void => {
    peer.faults++;
    log.warn({ peer: peer.index, peer_id: peer.peerId, reason }, "peer misbehaved");
    try {
      opts.onPeerFault?.(peer.index, reason);
    } catch (err) {
      log.error({ err }, "onPeerFault threw");
    }
  };

  const setFatal = (err: TransportError): void => {
    if (fatal !== undefined) return;
    fatal = err;
    log.error({ code: err.code, err: err.message }, "ceremony transport failed");
    active?.fail(err);
    onSyncChange?.();
  };

  /** This node's signed hello; step −1 is the nonce-less hello answered on a version mismatch. */
  const signedHello = (step: number): Promise<Uint8Array> => {
    let p = helloByStep.get(step);
    if (p === undefined) {
      p = signHello(opts.identity, {
        session,
        protocolVersion: version,
        step: Math.max(step, 0),
        nonce: step < 0 ? new Uint8Array(0) : nonce,
      });
      helloByStep.set(step, p);
    }
    return p;
  };

  /**
   * Records a peer's hello nonce. A new one before the attempt is fixed replaces the old (the peer
   * restarted during sync); after that it is a restart, fatal for this attempt.
   * @returns false when the restart was latched as fatal
   */
  const recordNonce = (peer: PeerState, theirs: Uint8Array): boolean => {
    if (peer.nonce !== undefined && !bytesEqual(peer.nonce, theirs)) {
      if (attempt !== undefined) {
        setFatal(
          transportError(
            { code: "PEER_RESTARTED", step: current, peer: peer.index, peerStep: 0 },
            `peer ${describe(peer.index)} restarted: it sent a hello with a new nonce at step ${current}`,
          ),
        );
        return false;
      }
      log.warn({ peer: peer.index, peer_id: peer.peerId }, "peer restarted during sync");
    }
    peer.nonce = Uint8Array.from(theirs);
    return true;
  };

  /** Resolves once the attempt session is fixed; rejects when `signal` or the transport's life ends. */
  const attemptKnown = (signal: AbortSignal): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      if (attempt !== undefined) return resolve(attempt);
      const done = () => {
        attemptWaiters.delete(done);
        signal.removeEventListener("abort", done);
        life.signal.removeEventListener("abort", done);
        if (attempt !== undefined) resolve(attempt);
        else reject(new Error("sync did not finish"));
      };
      attemptWaiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      life.signal.addEventListener("abort", done, { once: true });
    });

  /** Records step traffic with `peer`. */
  const advance = (peer: PeerState, step: number): void => {
    if (step > peer.maxStep) peer.maxStep = step;
  };

  const markSynced = (peer: PeerState): void => {
    if (peer.synced) return;
    peer.synced = true;
    log.info({ peer: peer.index, peer_id: peer.peerId }, "peer synced");
    onSyncChange?.();
  };

  /** Hello agreement checks shared by both directions; latches the fatal error and returns false on mismatch. */
  const helloAgrees = (peer: PeerState, hello: Hello): boolean => {
    if (hello.protocolVersion !== version) {
      setFatal(
        transportError(
          { code: "VERSION_MISMATCH", peer: peer.index, ours: version, theirs: hello.protocolVersion },
          `peer ${describe(peer.index)} runs protocol version ${JSON.stringify(hello.protocolVersion)}, this node ${JSON.stringify(version)}`,
        ),
      );
      return false;
    }
    if (!bytesEqual(hello.session, session)) {
      setFatal(
        transportError(
          { code: "SESSION_MISMATCH", peer: peer.index },
          `peer ${describe(peer.index)} is in another session (definition hash differs)`,
        ),
      );
      return false;
    }
    return true;
  };

  // ---- inbound: sync ----

  await host.handleRequest(
    SYNC_PROTOCOL,
    async ({ peer: peerId, bytes }) => {
      const peer = byPeerId.get(peerId);
      if (peer === undefined) return HelloResponse.encode({ error: "not an operator of this session" });
      let hello: Hello;
      try {
        hello = Hello.decode(bytes);
      } catch (err) {
        fault(peer, `malformed hello: ${(err as Error).message}`);
        return HelloResponse.encode({ error: "malformed hello" });
      }
      if (!(await verifyHello(peer.peerId, hello))) {
        fault(peer, "hello signature does not verify");
        return HelloResponse.encode({ error: "hello signature does not verify" });
      }
      const ours = Hello.decode(await signedHello(0));
      if (!helloAgrees(peer, hello)) {
        if (hello.protocolVersion !== version) {
          // without the nonce an older node, which drops the unknown field, can verify it and report the versions
          return HelloResponse.encode({
            hello: Hello.decode(await signedHello(-1)),
            error: "protocol version mismatch",
          });
        }
        return HelloResponse.encode({ hello: ours, error: "session mismatch" });
      }
      if (hello.nonce.length !== NONCE_BYTES) {
        fault(peer, `hello nonce must be ${NONCE_BYTES} bytes, got ${hello.nonce.length}`);
        return HelloResponse.encode({ error: "malformed hello nonce" });
      }
      if (!recordNonce(peer, hello.nonce)) {
        const ahead = Hello.decode(await signedHello(Math.max(current, 1)));
        return HelloResponse.encode({
          hello: ahead,
          error: `this node is at step ${current}; the ceremony cannot resume`,
        });
      }
      advance(peer, hello.step);
      markSynced(peer);
      return HelloResponse.encode({ hello: ours });
    },
    hostLimitOpts(SYNC_LIMITS),
  );

  // ---- inbound: envelopes ----

  const hasFutureStep = (peer: PeerState, step: number): number | undefined => {
    for (const [s, sl] of peer.slots) {
      if (s > current && s !== step && (sl.broadcast !== undefined || sl.direct !== undefined)) return s;
    }
    for (const [s, r] of peer.receiving) {
      if (s > current && s !== step && (r.broadcast !== undefined || r.direct !== undefined)) return s;
    }
    return undefined;
  };

  /**
   * Checks a first chunk's header before anything is allocated.
   * @returns the refusal reason, or the step's bound on the envelope's total
   */
  const checkHeader = (peer: PeerState, kind: EnvelopeKind, h: ChunkHeader): { reason?: string; limit?: number } => {
    if (attempt === undefined || !bytesEqual(h.session, attempt))
      return { reason: `chunk for another session or attempt (step ${h.step})` };
    if (h.sender !== peer.index)
      return { reason: `chunk claims sender ${h.sender} on a stream from peer ${peer.index}` };
    if (kind === "abort") {
      const limit = opts.limits(h.step, kind);
      return limit === undefined ? { reason: `an abort carries step 0, not ${h.step}` } : { limit };
    }
    if (h.step < 1) return { reason: "chunk for step 0" };
    const limit = opts.limits(h.step, kind);
    if (limit === undefined) return { reason: `no ${kind} envelope is expected at step ${h.step}` };
    if (peer.slots.get(h.step)?.[kind] !== undefined) return { limit }; // a repeat: compared once whole
    if (h.step < current || (h.step === current && active === undefined)) {
      return { reason: `${kind} message for step ${h.step}, which this node has finished (now at ${current})` };
    }
    if (h.step > current) {
      const other = hasFutureStep(peer, h.step);
      if (other !== undefined) return { reason: `messages for two future steps (${other} and ${h.step})` };
    }
    return { limit };
  };

  /** Validates a reassembled envelope; returns the refusal reason, or a commit to run once the ack is sent. */
  const checkEnvelope = (
    peer: PeerState,
    kind: EnvelopeKind,
    bytes: Uint8Array,
    chunkStep: number,
  ): { reason?: string; commit?: () => void } => {
    let env: Envelope;
    try {
      env = Envelope.decode(bytes);
    } catch (err) {
      return { reason: `malformed envelope: ${(err as Error).message}` };
    }
    if (attempt === undefined || !bytesEqual(env.session, attempt))
      return { reason: `envelope for another session or attempt (step ${env.step})` };
    if (env.sender !== peer.index)
      return { reason: `envelope claims sender ${env.sender} on a stream from peer ${peer.index}` };
    if (env.step !== chunkStep) return { reason: `envelope for step ${env.step} in chunks of step ${chunkStep}` };
    if ((kind === "abort") !== (env.kind === MessageKind.ABORT))
      return { reason: `envelope of kind ${env.kind} on the ${kind} protocol` };
    if (kind === "abort") {
      if (peer.aborted !== undefined) return {}; // a repeat: the first one stands
      return {
        commit: () => {
          peer.aborted = bytes;
          log.warn({ peer: peer.index, peer_id: peer.peerId }, "peer aborted the ceremony");
          active?.check();
        },
      };
    }
    const step = env.step;
    const existing = peer.slots.get(step)?.[kind];
    const digest = digestOf(bytes);
    if (existing !== undefined) {
      if (existing.digest !== digest) {
        log.warn(
          { peer: peer.index, peer_id: peer.peerId, step, kind },
          "second, different message for the same step; keeping the first",
        );
      }
      return {};
    }
    // the step may have finished while the chunks were arriving
    if (step < current || (step === current && active === undefined)) {
      return { reason: `${kind} message for step ${step}, which this node has finished (now at ${current})` };
    }
    return {
      commit: () => {
        const entry = peer.slots.get(step) ?? {};
        entry[kind] = { bytes, digest };
        peer.slots.set(step, entry);
        advance(peer, step);
        active?.check();
      },
    };
  };

  /** Reads one chunked envelope from `stream`, checks it, and acks or refuses it. */
  const receiveEnvelopeFor =
    (kind: EnvelopeKind, protocol: string) =>
    async (peer: PeerState | undefined, stream: P2pStream, signal: AbortSignal): Promise<void> => {
      const first = await stream.read({ signal, timeoutMs: DKG_CHUNK_READ_TIMEOUT_MS });
      const answer = async (reason?: string) => {
        await stream.write(encodeAck(reason), { signal });
        await stream.close({ signal });
      };
      if (peer === undefined) return await answer("not an operator of this session");
      const refuse = async (reason: string) => {
        fault(peer, `${protocol}: ${reason}`);
        await answer(reason);
      };
      // a peer that finished sync first may send before this node knows every nonce: hold the ack
      await attemptKnown(signal);
      let chunk: ReturnType<typeof decodeChunk>;
      try {
        chunk = decodeChunk(first);
      } catch (err) {
        return await refuse((err as Error).message);
      }
      const step = chunk.header.step;
      const pre = checkHeader(peer, kind, chunk.header);
      if (pre.reason !== undefined) return await refuse(pre.reason);
      let reassembly: Reassembly;
      try {
        reassembly = new Reassembly(chunk.header, pre.limit!);
      } catch (err) {
        if (err instanceof ChunkRefused) return await refuse(err.message);
        throw err;
      }
      // one envelope per step and kind in reassembly: a newer stream (the sender's retry) replaces an older
      const receiving = peer.receiving.get(step) ?? {};
      peer.receiving.set(step, receiving);
      receiving[kind]?.abort();
      const mine = new AbortController();
      receiving[kind] = mine;
      const reading = AbortSignal.any([signal, mine.signal]);
      let verdict: { reason?: string; commit?: () => void };
      try {
        let bytes = reassembly.add(chunk);
        while (bytes === undefined) {
          const frame = await stream.read({ signal: reading, timeoutMs: DKG_CHUNK_READ_TIMEOUT_MS });
          try {
            bytes = reassembly.add(decodeChunk(frame));
          } catch (err) {
            if (err instanceof RangeError) return await refuse(err.message);
            throw err;
          }
        }
        verdict = checkEnvelope(peer, kind, bytes, step);
      } finally {
        if (receiving[kind] === mine) delete receiving[kind];
        if (receiving.broadcast === undefined && receiving.direct === undefined) peer.receiving.delete(step);
      }
      if (verdict.reason !== undefined) return await refuse(verdict.reason);
      try {
        // ack before delivering: the step may complete on delivery and the runner may close the host at once
        await answer();
      } finally {
        verdict.commit?.();
      }
    };
  /** Serves a chunked protocol: at most DKG_MAX_STREAMS_PER_PEER streams of one peer at once. */
  const capped = (
    protocol: string,
    serve: (peer: PeerState | undefined, stream: P2pStream, signal: AbortSignal) => Promise<void>,
  ) => {
    return async (stream: P2pStream, { signal }: { signal: AbortSignal }): Promise<void> => {
      const peer = byPeerId.get(stream.remotePeer);
      if (peer !== undefined) {
        const open = peer.inbound.get(protocol) ?? 0;
        if (open >= DKG_MAX_STREAMS_PER_PEER) {
          fault(peer, `${protocol}: more than ${DKG_MAX_STREAMS_PER_PEER} streams at once`);
          stream.abort(new Error(`more than ${DKG_MAX_STREAMS_PER_PEER} streams at once`));
          return;
        }
        peer.inbound.set(protocol, open + 1);
      }
      try {
        await serve(peer, stream, signal);
      } finally {
        if (peer !== undefined) peer.inbound.set(protocol, (peer.inbound.get(protocol) ?? 1) - 1);
      }
    };
  };

  const envelopeHandler = (kind: EnvelopeKind, protocol: string) =>
    capped(protocol, receiveEnvelopeFor(kind, protocol));

  /** A peer's broadcast for `step` held here: of the last finished step, or of the running one. */
  const heldBroadcast = (step: number, sender: ShareIndex): Uint8Array | undefined => {
    if (relayable?.step === step) return relayable.bytes.get(sender);
    return peers.get(sender)?.slots.get(step)?.broadcast?.bytes;
  };

  /** Answers one relay request: an ack, then the held copy as chunks naming its original sender. */
  const serveRelay = async (peer: PeerState | undefined, stream: P2pStream, signal: AbortSignal): Promise<void> => {
    const frame = await stream.read({ signal, timeoutMs: DKG_CHUNK_READ_TIMEOUT_MS });
    const answer = async (reason: string) => {
      await stream.write(encodeAck(reason), { signal });
      await stream.close({ signal });
    };
    if (peer === undefined) return await answer("not an operator of this session");
    if (attempt === undefined) return await answer("this node has not finished sync");
    let req: ReturnType<typeof decodeRelayRequest>;
    try {
      req = decodeRelayRequest(frame);
    } catch (err) {
      fault(peer, `${DKG_RELAY_PROTOCOL}: ${(err as Error).message}`);
      return await answer((err as Error).message);
    }
    if (!bytesEqual(req.session, attempt)) {
      fault(peer, `${DKG_RELAY_PROTOCOL}: request for another session or attempt`);
      return await answer("request for another session or attempt");
    }
    const sender = req.sender as ShareIndex;
    if (req.step < 1 || !peers.has(sender) || sender === peer.index) {
      return await answer(`no copy of step ${req.step} by ${req.sender} to relay to ${peer.index}`);
    }
    const key = relayKey(req.step, sender);
    const times = peer.served.get(key) ?? 0;
    if (times >= DKG_RELAY_MAX_SERVES) return await answer(`copy of step ${req.step} by ${sender} sent ${times} times`);
    const bytes = heldBroadcast(req.step, sender);
    if (bytes === undefined) return await answer(`no copy of step ${req.step} by ${sender} held`);
    peer.served.set(key, times + 1);
    log.info({ peer: peer.index, step: req.step, sender }, "relaying a broadcast to a peer that lacks it");
    await stream.write(encodeAck(), { signal });
    for (const f of chunkFrames({ session: attempt, sender, step: req.step }, bytes, chunkBytes)) {
      await stream.write(f, { signal });
    }
    await stream.close({ signal });
  };

  const chunked = hostLimitOpts(DKG_CHUNKED_LIMITS);
  await host.handle(DKG_RELAY_PROTOCOL, capped(DKG_RELAY_PROTOCOL, serveRelay), chunked);
  await host.handle(DKG_BCAST_PROTOCOL, envelopeHandler("broadcast", DKG_BCAST_PROTOCOL), chunked);
  await host.handle(DKG_PARSIG_PROTOCOL, envelopeHandler("broadcast", DKG_PARSIG_PROTOCOL), chunked);
  await host.handle(DKG_SHARE_PROTOCOL, envelopeHandler("direct", DKG_SHARE_PROTOCOL), chunked);
  await host.handle(DKG_ABORT_PROTOCOL, envelopeHandler("abort", DKG_ABORT_PROTOCOL), chunked);

  host.onStreamError(({ peer: peerId, protocol, error }) => {
    const peer = byPeerId.get(peerId);
    if (peer === undefined) return;
    if (error instanceof P2pError && ["MESSAGE_TOO_LARGE", "MALFORMED_FRAME", "READ_TIMEOUT"].includes(error.code)) {
      fault(peer, `${protocol}: ${error.message}`);
    } else {
      log.debug({ peer: peer.index, protocol, err: error }, "inbound stream failed");
    }
  });

  // ---- connectivity ----

  const redial = async (peer: PeerState, signal: AbortSignal): Promise<void> => {
    const backoff = new Backoff({ minDelayMs: RETRY_MIN_DELAY_MS, maxDelayMs: RETRY_MAX_DELAY_MS, signal });
    while (!signal.aborted && !host.isConnected(peer.peerId)) {
      try {
        await host.dial(peer.peerId, peer.addresses, { signal });
        return;
      } catch (err) {
        log.debug({ peer: peer.index, err: (err as Error).message }, "redial failed");
      }
      await backoff.wait();
    }
  };

  host.onPeerDisconnect((peerId) => {
    const peer = byPeerId.get(peerId);
    if (peer === undefined || !peer.synced || state === "closed" || peer.graceTimer !== undefined) return;
    log.warn({ peer: peer.index, peer_id: peer.peerId, step: current }, "peer disconnected");
    const grace = new AbortController();
    const onLife = () => grace.abort();
    life.signal.addEventListener("abort", onLife, { once: true });
    peer.graceTimer = setTimeout(() => {
      peer.graceTimer = undefined;
      grace.abort();
      life.signal.removeEventListener("abort", onLife);
      if (host.isConnected(peer.peerId)) return;
      peer.gone = true;
      const ex = active;
      if (ex !== undefined && !isDone(peer, ex)) {
        ex.fail(
          transportError(
            { code: "PEER_DISCONNECTED", step: ex.step, peer: peer.index },
            `peer ${describe(peer.index)} disconnected at step ${ex.step}`,
          ),
        );
      }
    }, PEER_RECONNECT_GRACE_MS);
    peer.graceTimer.unref();
    void redial(peer, grace.signal).catch((err: unknown) => log.error({ err, peer: peer.index }, "redial loop failed"));
  });

  host.onPeerConnect((peerId) => {
    const peer = byPeerId.get(peerId);
    if (peer === undefined) return;
    helloBackoffs.get(peer.index)?.wake();
    if (peer.graceTimer !== undefined) {
      clearTimeout(peer.graceTimer);
      peer.graceTimer = undefined;
      log.info({ peer: peer.index, peer_id: peer.peerId }, "peer reconnected");
    }
    peer.gone = false;
  });

  // ---- exchange helpers ----

  function isDone(peer: PeerState, ex: ActiveExchange): boolean {
    const sl = peer.slots.get(ex.step);
    if (ex.final) return sl?.broadcast !== undefined && (!ex.expectDirect || sl.direct !== undefined);
    // its signed message of the next step proves it finished this one, holding this node's: no ack needed
    const finished = peer.slots.get(ex.step + 1)?.broadcast !== undefined;
    const acked = ex.acked.get(peer.index);
    if (sl?.broadcast === undefined || (acked?.has("broadcast") !== true && !finished)) return false;
    if (ex.expectDirect && (sl.direct === undefined || (acked?.has("direct") !== true && !finished))) return false;
    return true;
  }

  /**
   * Asks `via` for `sender`'s broadcast of `step` (src/dkg/relay.ts) and keeps a copy that checks out,
   * as if `sender` had sent it. A copy that fails its checks is `via`'s fault. Never rejects.
   */
  const fetchRelayed = async (via: PeerState, sender: PeerState, step: number, signal: AbortSignal): Promise<void> => {
    const dl = deadline(DKG_MESSAGE_TIMEOUT_MS, signal);
    try {
      const stream = await host.openStream(via.peerId, DKG_RELAY_PROTOCOL, { ...chunked, signal: dl.signal });
      await stream.write(encodeRelayRequest({ session: attempt!, step, sender: sender.index }), { signal: dl.signal });
      const read = () => stream.read({ signal: dl.signal, timeoutMs: DKG_CHUNK_READ_TIMEOUT_MS });
      let ack: ReturnType<typeof decodeAck>;
      try {
        ack = decodeAck(await read());
      } catch (err) {
        if (err instanceof RangeError) return fault(via, `${DKG_RELAY_PROTOCOL}: ${err.message}`);
        throw err;
      }
      if (!ack.ok) {
        log.debug({ via: via.index, sender: sender.index, step, reason: ack.reason }, "peer holds no copy");
        return;
      }
      const limit = opts.limits(step, "broadcast");
      let bytes: Uint8Array | undefined;
      try {
        const first = decodeChunk(await read());
        const h = first.header;
        if (!bytesEqual(h.session, attempt!) || h.sender !== sender.index || h.step !== step || limit === undefined) {
          return fault(via, `${DKG_RELAY_PROTOCOL}: relayed chunks are of another envelope than asked for`);
        }
        const reassembly = new Reassembly(h, limit);
        bytes = reassembly.add(first);
        while (bytes === undefined) bytes = reassembly.add(decodeChunk(await read()));
      } catch (err) {
        if (err instanceof RangeError) return fault(via, `${DKG_RELAY_PROTOCOL}: ${err.message}`);
        throw err;
      }
      const checked = await checkRelayed(bytes, {
        session: attempt!,
        step,
        sender: sender.index,
        n: opts.operators.length,
        verifier: relayVerifier,
      });
      if ("reason" in checked) return fault(via, `${DKG_RELAY_PROTOCOL}: ${checked.reason}`);
      keepRelayed(sender, step, bytes, via);
    } catch (err) {
      log.debug({ via: via.index, sender: sender.index, step, err: (err as Error).message }, "relay request failed");
    } finally {
      dl.clear();
    }
  };

  /** Files a checked relayed copy in `sender`'s slot for `step`, unless this node has finished that step. */
  const keepRelayed = (sender: PeerState, step: number, bytes: Uint8Array, via: PeerState): void => {
    if (step < current || step > current + 1 || (step === current && active === undefined)) return;
    const entry = sender.slots.get(step) ?? {};
    const digest = digestOf(bytes);
    if (entry.broadcast !== undefined) {
      if (entry.broadcast.digest !== digest) {
        log.warn(
          { peer: sender.index, via: via.index, step },
          "relayed copy differs from the message held; keeping the first",
        );
      }
      return;
    }
    log.info({ peer: sender.index, via: via.index, step }, "kept a relayed copy of a peer's broadcast");
    entry.broadcast = { bytes, digest };
    sender.slots.set(step, entry);
    advance(sender, step);
    active?.check();
  };

  /**
   * Delivers one envelope to `peer` on one stream: its chunks, then the peer's ack, read all along so
   * a refusal mid-way stops the upload. Bounded by `DKG_MESSAGE_TIMEOUT_MS`.
   * @returns the ack's bytes
   * @throws P2pError when the stream fails before an ack arrived
   */
  const deliver = async (
    peer: PeerState,
    protocol: string,
    bytes: Uint8Array,
    step: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> => {
    const dl = deadline(DKG_MESSAGE_TIMEOUT_MS, signal);
    try {
      const stream = await host.openStream(peer.peerId, protocol, { ...chunked, signal: dl.signal });
      const writing = new AbortController();
      const writeSignal = AbortSignal.any([dl.signal, writing.signal]);
      const ack = stream.read({ signal: dl.signal, timeoutMs: DKG_MESSAGE_TIMEOUT_MS });
      const writes = (async () => {
        for (const frame of chunkFrames({ session: attempt!, sender: selfIndex, step }, bytes, chunkBytes)) {
          if (writing.signal.aborted) return;
          await stream.write(frame, { signal: writeSignal });
        }
      })();
      // an early answer (a refusal) ends the upload
      const answered = ack.finally(() => writing.abort());
      const [w, a] = await Promise.allSettled([writes, answered]);
      if (a.status === "fulfilled") {
        if (w.status === "fulfilled") await stream.close({ signal: dl.signal });
        return a.value;
      }
      throw a.reason;
    } finally {
      dl.clear();
    }
  };

  const sendUntilAcked = async (
    peer: PeerState,
    protocol: string,
    bytes: Uint8Array,
    onAck: () => void,
    step: number,
    signal: AbortSignal,
  ): Promise<void> => {
    const backoff = new Backoff({ minDelayMs: RETRY_MIN_DELAY_MS, maxDelayMs: RETRY_MAX_DELAY_MS, signal });
    while (!signal.aborted) {
      let ack: ReturnType<typeof decodeAck> | undefined;
      try {
        const resp = await deliver(peer, protocol, bytes, step, signal);
        try {
          ack = decodeAck(resp);
        } catch (err) {
          fault(peer, `${protocol}: ${(err as Error).message}`);
        }
      } catch (err) {
        if (signal.aborted) return;
        log.debug({ peer: peer.index, step, protocol, err: (err as Error).message }, "send failed; retrying");
      }
      if (ack?.ok === true) {
        onAck();
        return;
      }
      if (ack?.ok === false) {
        log.error(
          { peer: peer.index, peer_id: peer.peerId, step, protocol, reason: ack.reason },
          "peer refused this node's message",
        );
        return;
      }
      await backoff.wait();
    }
  };

  /** Reports `missing` through `onWaiting` when it changes and every WAITING_REPORT_INTERVAL_MS. */
  const waitingReporter = (step: number, onWaiting: WaitingCallback | undefined) => {
    let last = "";
    let latest: ShareIndex[] = [];
    const call = (missing: ShareIndex[]) => {
      try {
        onWaiting?.(step, missing);
      } catch (err) {
        log.error({ err }, "onWaiting threw");
      }
    };
    const timer = setInterval(() => call(latest), WAITING_REPORT_INTERVAL_MS);
    timer.unref();
    return {
      update(missing: ShareIndex[]) {
        latest = missing;
        const key = missing.join(",");
        if (key !== last) {
          last = key;
          call(missing);
        }
      },
      stop: () => clearInterval(timer),
    };
  };

  /** Refuses this node's own envelope when it exceeds its step's bound: the peers would refuse it. */
  const checkOwn = (step: number, kind: EnvelopeKind, what: string, bytes: Uint8Array): void => {
    const limit = opts.limits(step, kind);
    if (limit === undefined) throw new RangeError(`"${what}": no ${kind} envelope is expected at step ${step}`);
    if (bytes.length > limit) {
      throw new RangeError(`"${what}" must be at most ${limit} bytes at step ${step}, got ${bytes.length}`);
    }
  };

  const transport: NetworkCeremonyTransport = {
    self: selfIndex,
    n: opts.operators.length,

    listenAddresses: () => host.listenAddresses(),

    session: () => attempt,

    faults: () => {
      const out = new Map<ShareIndex, number>();
      for (const p of peers.values()) if (p.faults > 0) out.set(p.index, p.faults);
      return out;
    },

    async connect({ signal, onWaiting }) {
      if (state !== "new") throw new Error(`connect() called in state ${state}`);
      state = "connecting";
      await host.start();
      const helloBytes = await signedHello(0);
      const loops = new AbortController();
      const stopLoops = () => loops.abort();
      life.signal.addEventListener("abort", stopLoops, { once: true });
      const sync = hostLimitOpts(SYNC_LIMITS);

      const helloLoop = async (peer: PeerState): Promise<void> => {
        const backoff = new Backoff({
          minDelayMs: RETRY_MIN_DELAY_MS,
          maxDelayMs: RETRY_MAX_DELAY_MS,
          signal: loops.signal,
        });
        helloBackoffs.set(peer.index, backoff);
        while (!loops.signal.aborted && !peer.synced && fatal === undefined) {
          try {
            await host.dial(peer.peerId, peer.addresses, { signal: loops.signal });
            const resp = HelloResponse.decode(
              await host.request(peer.peerId, SYNC_PROTOCOL, helloBytes, { ...sync, signal: loops.signal }),
            );
            if (resp.hello === undefined) {
              log.warn({ peer: peer.index, reason: resp.error }, "peer refused hello");
            } else if (!(await verifyHello(peer.peerId, resp.hello))) {
              fault(peer, "hello response signature does not verify");
            } else if (helloAgrees(peer, resp.hello)) {
              if (resp.error === "" && resp.hello.nonce.length !== NONCE_BYTES) {
                fault(peer, `hello nonce must be ${NONCE_BYTES} bytes, got ${resp.hello.nonce.length}`);
              } else if (resp.error === "") {
                if (recordNonce(peer, resp.hello.nonce)) markSynced(peer);
                return;
              } else if (resp.hello.step > 0) {
                setFatal(
                  transportError(
                    { code: "PEER_RESTARTED", step: 0, peer: peer.index, peerStep: resp.hello.step },
                    `peer ${describe(peer.index)} is at step ${resp.hello.step}: this node restarted mid-ceremony; restart the ceremony on every node`,
                  ),
                );
                return;
              } else {
                log.warn({ peer: peer.index, reason: resp.error }, "peer refused hello");
              }
            }
          } catch (err) {
            if (loops.signal.aborted) return;
            log.debug({ peer: peer.index, err: (err as Error).message }, "hello failed; retrying");
          }
          // cut short when the peer connects to this node
          await backoff.wait();
        }
      };

      const missing = (): ShareIndex[] => [...peers.values()].filter((p) => !p.synced).map((p) => p.index);
      const reporter = waitingReporter(0, onWaiting);
      let removeAbort = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          const settle = () => {
            if (fatal !== undefined) return reject(fatal);
            if (state === "closed")
              return reject(transportError({ code: "ABORTED", step: 0 }, "transport closed during connect"));
            const m = missing();
            if (m.length === 0) return resolve();
            if (signal.aborted) {
              if (isCancellation(signal))
                return reject(transportError({ code: "ABORTED", step: 0 }, "connect aborted"));
              return reject(
                transportError(
                  { code: "TIMEOUT", step: 0, missing: m },
                  `timed out waiting for peers ${m.map(describe).join(", ")} to connect`,
                ),
              );
            }
            reporter.update(m);
          };
          onSyncChange = settle;
          removeAbort = () => signal.removeEventListener("abort", settle);
          signal.addEventListener("abort", settle, { once: true });
          settle();
          for (const p of peers.values()) {
            void helloLoop(p).catch((err: unknown) => log.error({ err, peer: p.index }, "hello loop failed"));
          }
        });
        const nonces = opts.operators.map((_, i) =>
          i + 1 === selfIndex ? nonce : peers.get((i + 1) as ShareIndex)!.nonce!,
        );
        attempt = attemptSession(session, nonces);
        for (const wake of [...attemptWaiters]) wake();
        state = "connected";
        log.info({ peers: peers.size }, "all peers synced");
        return { nonces, session: attempt };
      } finally {
        onSyncChange = undefined;
        removeAbort();
        reporter.stop();
        loops.abort();
        helloBackoffs.clear();
        life.signal.removeEventListener("abort", stopLoops);
      }
    },

    async exchange(step, out, { signal, onWaiting, final: isFinal }) {
      if (state !== "connected") throw new Error(`exchange() called in state ${state}`);
      if (!Number.isInteger(step) || step <= current) {
        throw new RangeError(`"step" must be an integer above ${current}, got ${step}`);
      }
      if (active !== undefined) throw new Error(`exchange(${step}) while step ${active.step} is running`);
      const direct = out.direct;
      checkOwn(step, "broadcast", "broadcast", out.broadcast);
      if (direct !== undefined) {
        for (const [idx, d] of direct) checkOwn(step, "direct", `direct to ${idx}`, d);
        for (const idx of direct.keys()) {
          if (!peers.has(idx)) throw new RangeError(`"direct" has an entry for ${idx}, which is not a peer`);
        }
        for (const idx of peers.keys()) {
          if (!direct.has(idx)) throw new RangeError(`"direct" lacks an entry for peer ${idx}`);
        }
      }
      if (fatal !== undefined) throw fatal;
      current = step;
      const expectDirect = direct !== undefined && peers.size > 0;
      const sends = new AbortController();
      const onLife = () => sends.abort();
      life.signal.addEventListener("abort", onLife, { once: true });
      const reporter = waitingReporter(step, onWaiting);
      const final = isFinal === true;
      const sendLoops: Promise<void>[] = [];
      let completed = false;

      try {
        return await new Promise<Map<ShareIndex, Inbound>>((resolve, reject) => {
          let settled = false;
          let relayTimer: NodeJS.Timeout | undefined;
          const finish = (err?: TransportError) => {
            if (settled) return;
            settled = true;
            active = undefined;
            clearTimeout(relayTimer);
            signal.removeEventListener("abort", onAbort);
            if (err !== undefined) return reject(err);
            const result = new Map<ShareIndex, Inbound>();
            relayable = { step, bytes: new Map() };
            for (const p of peers.values()) {
              const sl = p.slots.get(step);
              const inbound: Inbound = { broadcast: sl?.broadcast?.bytes ?? new Uint8Array(0) };
              if (expectDirect && sl?.direct?.bytes !== undefined) inbound.direct = sl.direct.bytes;
              else if (sl?.direct !== undefined) {
                log.warn({ peer: p.index, step }, "unexpected direct message in a broadcast-only step; ignored");
              }
              result.set(p.index, inbound);
              if (sl?.broadcast?.bytes !== undefined) relayable.bytes.set(p.index, sl.broadcast.bytes);
              // keep digests only, so late duplicates are still recognised
              if (sl?.broadcast !== undefined) sl.broadcast.bytes = undefined;
              if (sl?.direct !== undefined) sl.direct.bytes = undefined;
            }
            resolve(result);
          };
          const ex: ActiveExchange = {
            step,
            expectDirect,
            final,
            acked: new Map([...peers.keys()].map((i) => [i, new Set<EnvelopeKind>()])),
            check: () => {
              if (settled) return;
              const m = [...peers.values()].filter((p) => !isDone(p, ex));
              if (m.length === 0) return finish();
              // a peer that left with a signed abort will not send this step: say why at once
              const quit = m.find((p) => p.aborted !== undefined);
              if (quit !== undefined) {
                return finish(
                  transportError(
                    {
                      code: "PEER_ABORTED",
                      step,
                      peer: quit.index,
                      envelope: quit.aborted!,
                      missing: m.map((p) => p.index),
                    },
                    `peer ${describe(quit.index)} aborted the ceremony at step ${step}`,
                  ),
                );
              }
              reporter.update(m.map((p) => p.index));
            },
            fail: (err) => finish(err),
          };
          const missingNow = () => [...peers.values()].filter((p) => !isDone(p, ex)).map((p) => p.index);
          const onAbort = () => {
            if (isCancellation(signal))
              return finish(transportError({ code: "ABORTED", step }, `step ${step} aborted`));
            const m = missingNow();
            finish(
              transportError(
                { code: "TIMEOUT", step, missing: m },
                `step ${step}: timed out waiting for peers ${m.map(describe).join(", ")}`,
              ),
            );
          };
          // relay (src/dkg/relay.ts): copies of what the peers that moved on hold and this node lacks
          const inFlight = new Set<string>();
          let nextVia = 0;
          let withheldSince: number | undefined;
          const relayTick = () => {
            if (settled) return;
            const missing = [...peers.values()].filter((p) => !isDone(p, ex));
            const movedOn = (q: PeerState) => q.maxStep > step;
            for (const s of missing) {
              const sl = s.slots.get(step);
              let want: number | undefined;
              if (sl?.broadcast === undefined) {
                if (s.receiving.get(step)?.broadcast === undefined) want = step;
              } else if (!final && s.slots.get(step + 1)?.broadcast === undefined) {
                want = step + 1; // its next message, in place of an ack it does not send
              }
              if (want === undefined || inFlight.has(relayKey(want, s.index))) continue;
              const vias = [...peers.values()].filter(
                (q) => q !== s && !q.gone && host.isConnected(q.peerId) && (movedOn(q) || isDone(q, ex)),
              );
              if (vias.length === 0) continue;
              const via = vias[nextVia++ % vias.length]!;
              const key = relayKey(want, s.index);
              inFlight.add(key);
              void fetchRelayed(via, s, want, sends.signal).finally(() => inFlight.delete(key));
            }
            // only this node still lacks their messages, and nothing of theirs is arriving
            const others = [...peers.values()].filter((p) => !missing.includes(p));
            const stuck =
              !final &&
              missing.length > 0 &&
              others.length > 0 &&
              others.every(movedOn) &&
              missing.every((p) => p.receiving.get(step) === undefined);
            if (!stuck) withheldSince = undefined;
            else if (withheldSince === undefined) withheldSince = Date.now();
            else if (Date.now() - withheldSince >= withheldAfterMs) {
              const m = missing.map((p) => p.index);
              return finish(
                transportError(
                  { code: "WITHHELD", step, missing: m },
                  `step ${step}: every other peer moved on, but peers ${m.map(describe).join(", ")} withheld their messages from this node`,
                ),
              );
            }
            relayTimer = setTimeout(relayTick, DKG_RELAY_INTERVAL_MS);
            relayTimer.unref();
          };
          relayTimer = setTimeout(relayTick, DKG_RELAY_AFTER_MS);
          relayTimer.unref();
          active = ex;
          if (signal.aborted) return onAbort();
          signal.addEventListener("abort", onAbort, { once: true });
          for (const p of peers.values()) {
            // a peer gone after its message for the last step arrived has finished, not failed
            if (p.gone && !isDone(p, ex)) {
              return finish(
                transportError(
                  { code: "PEER_DISCONNECTED", step, peer: p.index },
                  `peer ${describe(p.index)} is disconnected at step ${step}`,
                ),
              );
            }
          }
          for (const p of peers.values()) {
            const acked = ex.acked.get(p.index)!;
            const onAck = (kind: EnvelopeKind) => () => {
              acked.add(kind);
              advance(p, step);
              ex.check();
            };
            const sendLog = (err: unknown) => log.error({ err, peer: p.index }, "send loop failed");
            sendLoops.push(
              sendUntilAcked(
                p,
                CHANNEL_PROTOCOL[out.channel],
                out.broadcast,
                onAck("broadcast"),
                step,
                sends.signal,
              ).catch(sendLog),
            );
            const d = direct?.get(p.index);
            if (d !== undefined)
              sendLoops.push(
                sendUntilAcked(p, DKG_SHARE_PROTOCOL, d, onAck("direct"), step, sends.signal).catch(sendLog),
              );
          }
          ex.check();
        }).then((r) => {
          completed = true;
          return r;
        });
      } finally {
        if (final && completed) {
          // the last step's messages are delivered after it completes: close() waits for them
          lingering = { sends, settled: Promise.all(sendLoops).then(() => undefined) };
        } else {
          sends.abort();
        }
        life.signal.removeEventListener("abort", onLife);
        reporter.stop();
      }
    },

    async abort(envelope, { timeoutMs }) {
      if (state !== "connected" || attempt === undefined) return;
      checkOwn(STEP_ABORT, "abort", "abort", envelope);
      const dl = deadline(timeoutMs, life.signal);
      try {
        await Promise.all(
          [...peers.values()]
            .filter((p) => !p.gone && p.aborted === undefined)
            .map(async (p) => {
              try {
                const ack = decodeAck(await deliver(p, DKG_ABORT_PROTOCOL, envelope, STEP_ABORT, dl.signal));
                if (!ack.ok) log.warn({ peer: p.index, reason: ack.reason }, "peer refused this node's abort");
              } catch (err) {
                log.debug({ peer: p.index, err: (err as Error).message }, "abort not delivered");
              }
            }),
        );
      } finally {
        dl.clear();
      }
    },

    async close(closeOpts?: { lingerMs?: number }) {
      if (state === "closed") return;
      const linger = lingering;
      lingering = undefined;
      if (linger !== undefined) {
        // the last step's sends: each ends at its ack, so this waits only for a peer still reading
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          linger.settled,
          new Promise<void>((r) => {
            timer = setTimeout(r, closeOpts?.lingerMs ?? 0);
          }),
        ]);
        clearTimeout(timer);
        linger.sends.abort();
      }
      state = "closed";
      active?.fail(transportError({ code: "ABORTED", step: current }, `transport closed at step ${current}`));
      onSyncChange?.();
      life.abort();
      for (const p of peers.values()) {
        if (p.graceTimer !== undefined) clearTimeout(p.graceTimer);
        p.graceTimer = undefined;
      }
      await host.stop();
    },
  };
  return transport;
}

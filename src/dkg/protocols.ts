/**
 * The DKG's wire protocols and their limits (DESIGN.md § Wire protocols): the hello sync, and the
 * chunked, acknowledged envelope exchange of every later step. The host (src/p2p) knows nothing of
 * them: the transport passes these limits with every handler it registers and stream it opens.
 */
import type { ProtocolLimits } from "../p2p/protocols.js";
import type { Channel } from "./transport.js";

/** Hello and step barrier: `Hello` / `HelloResponse` (proto/sync.proto), one request and response. */
export const SYNC_PROTOCOL = "/cohort/sync/1.0.0";
/**
 * Signed ceremony broadcasts (`Envelope`, proto/bcast.proto): deal, echo, complaints, justifications,
 * lock signature, confirmation; sent as chunks (src/dkg/chunks.ts), one ack per envelope.
 */
export const DKG_BCAST_PROTOCOL = "/cohort/dkg/bcast/2.0.0";
/** Private shares, point to point (`Envelope` carrying `Shares`), chunked like {@link DKG_BCAST_PROTOCOL}. */
export const DKG_SHARE_PROTOCOL = "/cohort/dkg/share/2.0.0";
/** Partial signatures over the DKG's artifacts (`Envelope` carrying `PartialSignatureSet`), chunked. */
export const DKG_PARSIG_PROTOCOL = "/cohort/dkg/parsig/2.0.0";

/**
 * A node's signed `Abort` (`Envelope` of kind ABORT) before it leaves a failed ceremony, chunked like
 * {@link DKG_BCAST_PROTOCOL}; one per node and attempt.
 */
export const DKG_ABORT_PROTOCOL = "/cohort/dkg/abort/2.0.0";

/**
 * Relay of signed broadcasts (src/dkg/relay.ts): a 40-byte request for one (step, sender), answered
 * by an ack frame and, when held, the envelope as chunks. Served to operators of the session only.
 */
export const DKG_RELAY_PROTOCOL = "/cohort/dkg/relay/2.0.0";

/** The protocol of each step channel's broadcast. */
export const CHANNEL_PROTOCOL: Readonly<Record<Channel, string>> = {
  bcast: DKG_BCAST_PROTOCOL,
  parsig: DKG_PARSIG_PROTOCOL,
};

const KiB = 1024;
const MiB = 1024 * KiB;

/** Largest sync message, bytes: a hello is 32 + version + 32-byte nonce + ~72-byte signature. */
export const SYNC_MAX_MESSAGE_BYTES = 4 * KiB;
/** How long to wait for one hello or its response, ms. */
export const SYNC_READ_TIMEOUT_MS = 10_000;

/**
 * Largest frame on a chunked DKG protocol, bytes: one chunk header and its data. Fixed at any
 * number of validators; an envelope larger than one chunk travels as several.
 */
export const DKG_MAX_FRAME_BYTES = 1 * MiB;
/** How long to wait for the next chunk of an envelope being received, ms. */
export const DKG_CHUNK_READ_TIMEOUT_MS = 30_000;
/**
 * Bound on delivering one envelope, every chunk and the ack, ms; the sender starts over after it.
 * Each chunk also has {@link DKG_CHUNK_READ_TIMEOUT_MS}.
 */
export const DKG_MESSAGE_TIMEOUT_MS = 10 * 60_000;
/** Envelopes in delivery at once on one connection per chunked protocol and direction. */
export const DKG_MAX_STREAMS_PER_CONNECTION = 64;
/**
 * Inbound streams one peer may hold open at once per chunked protocol, across all its connections.
 * An honest sender has one envelope per step and kind in delivery, and a retry replacing it; past
 * the cap a stream is reset before anything is read, so a peer can make this node hold at most
 * this many first frames of {@link DKG_MAX_FRAME_BYTES} per protocol.
 */
export const DKG_MAX_STREAMS_PER_PEER = 8;

/** How long a step waits for a peer's message before asking the peers that moved on for a copy, ms. */
export const DKG_RELAY_AFTER_MS = 2_000;
/** Interval between rounds of relay requests while a step still waits, ms. */
export const DKG_RELAY_INTERVAL_MS = 2_000;
/** Copies of one (step, sender) this node serves one peer: a failed transfer may be asked again. */
export const DKG_RELAY_MAX_SERVES = 4;
/**
 * How long a step goes on once every other peer has moved past it, while messages of the rest
 * (private shares, which cannot be relayed, or a broadcast no one relays) are still missing and none
 * is being received, before it fails with WITHHELD naming them, ms. Well below any ceremony
 * timeout: the peers that moved on would otherwise time out waiting for this node, and name it.
 */
export const DKG_WITHHELD_AFTER_MS = 30_000;

/** Limits of a chunked DKG protocol: frames of {@link DKG_MAX_FRAME_BYTES}. */
export const DKG_CHUNKED_LIMITS: ProtocolLimits = {
  maxMessageBytes: DKG_MAX_FRAME_BYTES,
  readTimeoutMs: DKG_MESSAGE_TIMEOUT_MS,
  maxStreams: DKG_MAX_STREAMS_PER_CONNECTION,
};

/** Limits of the sync protocol. */
export const SYNC_LIMITS: ProtocolLimits = {
  maxMessageBytes: SYNC_MAX_MESSAGE_BYTES,
  readTimeoutMs: SYNC_READ_TIMEOUT_MS,
  maxStreams: DKG_MAX_STREAMS_PER_CONNECTION,
};

/** Limits of every DKG protocol, by protocol ID. */
export const DKG_PROTOCOL_LIMITS: Readonly<Record<string, ProtocolLimits>> = {
  [SYNC_PROTOCOL]: SYNC_LIMITS,
  [DKG_BCAST_PROTOCOL]: DKG_CHUNKED_LIMITS,
  [DKG_SHARE_PROTOCOL]: DKG_CHUNKED_LIMITS,
  [DKG_PARSIG_PROTOCOL]: DKG_CHUNKED_LIMITS,
  [DKG_ABORT_PROTOCOL]: DKG_CHUNKED_LIMITS,
  [DKG_RELAY_PROTOCOL]: DKG_CHUNKED_LIMITS,
};

/** The limits as `Host.handle` / `openStream` / `request` options. */
export function hostLimitOpts(limits: ProtocolLimits): {
  maxMessageBytes: number;
  timeoutMs: number;
  maxStreams: number;
} {
  return { maxMessageBytes: limits.maxMessageBytes, timeoutMs: limits.readTimeoutMs, maxStreams: limits.maxStreams };
}

/** How often a waiting ceremony step reports who is still missing, ms. */
export const WAITING_REPORT_INTERVAL_MS = 5_000;
/** How long a synced peer may stay disconnected before the ceremony fails with PEER_DISCONNECTED, ms. */
export const PEER_RECONNECT_GRACE_MS = 2_000;

/**
 * Wire protocol IDs and their limits: every message is length-prefixed (unsigned varint) and capped,
 * and every read is bounded in time. See DESIGN.md § Wire protocols.
 */

/** Runtime partial-signature exchange (`ParSigRequest` / `ParSigResponse`, proto/parsig.proto), bound to the lock. */
export const PARSIG_PROTOCOL = "/cohort/parsig/2.0.0";
/** Runtime duty agreement: signed QBFT batches (`Batch`, proto/consensus.proto), bound to the lock. */
export const CONSENSUS_PROTOCOL = "/cohort/consensus/2.0.0";

/** One of the protocol IDs whose limits this table holds (protocols defined elsewhere declare their own). */
export type ProtocolId = typeof PARSIG_PROTOCOL | typeof CONSENSUS_PROTOCOL;

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Largest runtime partial-signature frame, bytes: requests made in one turn share a frame. A request
 * for an agreed duty names it (duty key and signing root, under 200 bytes); one for a fixed-value or
 * consented message carries its JSON (every such type's is under 2 KiB), so 1 MiB holds hundreds.
 */
export const PARSIG_MAX_MESSAGE_BYTES = 1 * MiB;
/**
 * Largest agreement frame, bytes: one batch. A PRE_PREPARE carries its request JSON (under 2 KiB for every
 * post-Bellatrix type), a justification up to 2·quorum relayed messages with their Merkle paths.
 */
export const CONSENSUS_MAX_MESSAGE_BYTES = 4 * MiB;
/** Entries one agreement batch may carry; checked while decoding. */
export const CONSENSUS_MAX_ENTRIES = 4096;
/**
 * Agreement entries one peer may have this node handle per second, sustained, and in a burst: a
 * peer's batches past it are read only as the budget refills (its sends stall), so one peer gets a
 * bounded share of this node's event loop. One slot's burst at 10,000 validators is about 2,200
 * duties (313 attestations and as many selection proofs, up to 512 sync-committee members with
 * three duties each) with three or four messages each from a peer: about 8,800 entries at the
 * slot's start, 730 a second over the slot.
 */
export const CONSENSUS_PEER_ENTRIES_PER_SECOND = 4_096;
/** See {@link CONSENSUS_PEER_ENTRIES_PER_SECOND}: the burst a peer may send at once. */
export const CONSENSUS_PEER_ENTRIES_BURST = 16_384;
/** Relayed messages one agreement entry may carry as justification (2·quorum for n ≤ 64). */
export const CONSENSUS_MAX_JUSTIFICATION = 128;

/** How long to wait for one partial-signature message or its response, ms. */
export const PARSIG_READ_TIMEOUT_MS = 60_000;
/** How long to wait for one agreement batch, ms. */
export const CONSENSUS_READ_TIMEOUT_MS = 60_000;

/** Streams one connection may have open on one protocol at once, inbound and outbound. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 64;
/** Parsig streams per connection: a runtime node forwards many duties per slot. */
export const PARSIG_MAX_STREAMS_PER_CONNECTION = 1024;

/** Size cap, read timeout and stream budget of one protocol. */
export interface ProtocolLimits {
  /** Largest message accepted (length-prefix value), bytes. */
  readonly maxMessageBytes: number;
  /** Bound on reading one message (inbound) or on a whole request/response (outbound), ms. */
  readonly readTimeoutMs: number;
  /** Streams open at once per connection on this protocol, per direction. */
  readonly maxStreams: number;
}

/** Limits per protocol ID of the runtime protocols. */
export const PROTOCOL_LIMITS: Readonly<Record<ProtocolId, ProtocolLimits>> = {
  [PARSIG_PROTOCOL]: {
    maxMessageBytes: PARSIG_MAX_MESSAGE_BYTES,
    readTimeoutMs: PARSIG_READ_TIMEOUT_MS,
    maxStreams: PARSIG_MAX_STREAMS_PER_CONNECTION,
  },
  [CONSENSUS_PROTOCOL]: {
    maxMessageBytes: CONSENSUS_MAX_MESSAGE_BYTES,
    readTimeoutMs: CONSENSUS_READ_TIMEOUT_MS,
    maxStreams: DEFAULT_MAX_STREAMS_PER_CONNECTION,
  },
};

/** Largest message of a protocol not in {@link PROTOCOL_LIMITS} unless its caller says otherwise, bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * KiB;
/** Read timeout of a protocol not in {@link PROTOCOL_LIMITS} unless its caller says otherwise, ms. */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

/**
 * Limits of a protocol that is not in {@link PROTOCOL_LIMITS}. A module that defines its own protocol
 * passes its limits to `Host.handle`, `openStream` and `request`.
 */
export const DEFAULT_PROTOCOL_LIMITS: ProtocolLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  maxStreams: DEFAULT_MAX_STREAMS_PER_CONNECTION,
};

/** Returns the limits of `protocol`, or {@link DEFAULT_PROTOCOL_LIMITS} for an unknown one. */
export function protocolLimits(protocol: string): ProtocolLimits {
  return (PROTOCOL_LIMITS as Readonly<Record<string, ProtocolLimits>>)[protocol] ?? DEFAULT_PROTOCOL_LIMITS;
}

/** Default listen address of a host: loopback, OS-chosen port. */
export const DEFAULT_LISTEN_ADDRESS = "/ip4/127.0.0.1/tcp/0";

/** Inbound connections per second accepted from one IP (libp2p defaults to 5; a devnet shares 127.0.0.1). */
export const INBOUND_CONNECTIONS_PER_SECOND_PER_HOST = 100;
/** Bound on one dial attempt (all address hints of a peer), ms. */
export const DIAL_TIMEOUT_MS = 10_000;

/** First delay between dial or send retries to one peer, ms; doubles up to {@link RETRY_MAX_DELAY_MS}. */
export const RETRY_MIN_DELAY_MS = 250;
/** Largest delay between dial or send retries to one peer, ms. */
export const RETRY_MAX_DELAY_MS = 5_000;
/** How long `close()` waits for in-flight acks to flush before stopping the host, ms. */
export const CLOSE_FLUSH_TIMEOUT_MS = 1_000;

/** TCP port of a node whose operator gave no address hint. */
export const DEFAULT_P2P_PORT = 3610;

/**
 * The default libp2p listen address of an operator: loopback (safe by default) on the port of its
 * first address hint, or {@link DEFAULT_P2P_PORT}. Operators pass `--p2p-address` to accept others.
 */
export function defaultListenAddressFor(hints: readonly string[]): string {
  const port = hints[0]?.match(/\/tcp\/(\d+)/)?.[1] ?? String(DEFAULT_P2P_PORT);
  return `/ip4/127.0.0.1/tcp/${port}`;
}

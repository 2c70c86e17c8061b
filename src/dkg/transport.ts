/**
 * The ceremony's view of the network: one all-to-all exchange per step. The networked implementation,
 * over the p2p host, lives in src/dkg/net.ts; tests use the in-memory one in test/dkg/memTransport.ts (Charon's
 * fTransport / frostMemTransport split).
 */
import type { CodedError } from "../lib/errors.js";
import type { ShareIndex } from "../lib/types.js";

/** Which wire protocol a step's broadcast payload travels on. */
export type Channel = "bcast" | "parsig";

/** What this node sends in one step. */
export interface Outbound {
  /** Protocol for `broadcast`: `/cohort/dkg/bcast/2.0.0` or `/cohort/dkg/parsig/2.0.0` (src/dkg/protocols.ts). */
  channel: Channel;
  /** Encoded signed `Envelope` sent to every peer. */
  broadcast: Uint8Array;
  /** Encoded signed `Envelope`s sent point to point on `/cohort/dkg/share/2.0.0`, keyed by receiver. */
  direct?: Map<ShareIndex, Uint8Array>;
}

/** What one peer sent this node in one step. */
export interface Inbound {
  broadcast: Uint8Array;
  /** Present when the step carries direct messages. */
  direct?: Uint8Array;
}

/** Ceremony failures raised by a transport. */
export type TransportErrorType =
  | { code: "TIMEOUT"; step: number; missing: ShareIndex[] }
  | { code: "PEER_DISCONNECTED"; step: number; peer: ShareIndex }
  | { code: "PEER_RESTARTED"; step: number; peer: ShareIndex; peerStep: number }
  | { code: "VERSION_MISMATCH"; peer: ShareIndex; ours: string; theirs: string }
  | { code: "SESSION_MISMATCH"; peer: ShareIndex }
  | { code: "ABORTED"; step: number }
  /**
   * Every other peer moved past `step` (each sent this node a message of a later step), yet `missing`
   * still had not delivered theirs here, none could be relayed (private shares cannot be), and none
   * was being received for the withheld period: they withheld them from this node alone.
   */
  | { code: "WITHHELD"; step: number; missing: ShareIndex[] }
  /**
   * A peer this step still waits for sent its signed abort (see {@link CeremonyTransport.abort}) and
   * left; `envelope` is that ABORT envelope, for the runner to judge. Its session and sender are checked.
   */
  /** `missing`: every peer this node still waited for at `step` when the abort came (`peer` among them). */
  | { code: "PEER_ABORTED"; step: number; peer: ShareIndex; envelope: Uint8Array; missing: ShareIndex[] };

/** What sync agreed on: every operator's hello nonce for this attempt. */
export interface SyncResult {
  /** 32-byte hello nonces, of share index i at array index i − 1 (this node's own included). */
  nonces: Uint8Array[];
  /** The attempt session the transport now routes on: `attemptSession(definition_hash, nonces)`. */
  session: Uint8Array;
}

/** Progress callback: which peers this node is still waiting for in `step`. */
export type WaitingCallback = (step: number, missing: ShareIndex[]) => void;

/**
 * An all-to-all exchange between the n operators of one session, also acting as the step barrier:
 * `exchange(step, …)` resolves only once every peer has sent its message for `step`.
 */
export interface CeremonyTransport {
  /** This node's 1-based share index. */
  readonly self: ShareIndex;
  /** Number of operators, n. */
  readonly n: number;
  /**
   * Sync (DESIGN.md § DKG protocol step 1): waits until every peer is connected and has sent a
   * hello with the same session and protocol version, and returns every operator's nonce. From then on
   * only envelopes of the attempt session are accepted, and a peer's hello with a new nonce means it
   * restarted (PEER_RESTARTED).
   * @throws CodedError<TransportErrorType> TIMEOUT naming the missing peers, VERSION_MISMATCH, ABORTED
   */
  connect(opts: { signal: AbortSignal; onWaiting?: WaitingCallback }): Promise<SyncResult>;
  /**
   * Sends this node's messages for `step` and resolves with every peer's messages for that step
   * (self excluded). Messages for later steps are buffered; a peer whose step goes backwards or
   * that disconnects fails the exchange at once.
   * @param step strictly increasing step number, ≥ 1
   * @param opts.final the ceremony's last step (confirm): it completes once every peer's message is
   *   here, whether or not this node's were acked yet; a peer whose message is here and that then
   *   disconnects has finished, not failed. The sends go on until acked, and {@link close} waits
   *   for them (bounded), so a peer still waiting for this node's message gets it.
   * While it waits, a transport may fetch a peer's signed broadcast for `step` from the peers that
   * moved on (src/dkg/relay.ts), and fail with WITHHELD when only this node lacks it.
   * @throws CodedError<TransportErrorType> TIMEOUT, PEER_DISCONNECTED, PEER_RESTARTED, PEER_ABORTED,
   *   WITHHELD, ABORTED
   */
  exchange(
    step: number,
    out: Outbound,
    opts: { signal: AbortSignal; onWaiting?: WaitingCallback; final?: boolean },
  ): Promise<Map<ShareIndex, Inbound>>;
  /**
   * Sends this node's signed ABORT envelope (kind ABORT, step 0, this attempt's session) to every
   * peer, once each, and resolves when each acked it or `timeoutMs` passed; never rejects. A peer's
   * exchange that still waits for this node then fails with PEER_ABORTED carrying the envelope.
   * Only after {@link connect} resolved (before it, no attempt session exists); otherwise a no-op.
   */
  abort(envelope: Uint8Array, opts: { timeoutMs: number }): Promise<void>;
  /**
   * Releases streams and handlers. Idempotent. With `lingerMs`, after a ceremony that finished, it
   * first keeps serving (acking peers' repeated messages) until every peer has disconnected or
   * `lingerMs` passed: a peer still reading this node's last ack then finishes too, instead of
   * seeing this node vanish mid-step.
   */
  close(opts?: { lingerMs?: number }): Promise<void>;
}

/** Identity-key signer of this node (secp256k1, libp2p key). */
export interface IdentitySigner {
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

/** Verifies identity-key signatures of the operators, by 1-based share index. */
export interface IdentityVerifier {
  /** @returns false on a bad signature; throws RangeError on an unknown index. */
  verify(sender: ShareIndex, msg: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export type TransportError = CodedError<TransportErrorType>;

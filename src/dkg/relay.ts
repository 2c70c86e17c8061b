/**
 * Relay of signed broadcasts (issue 9, withholding). An operator can send a step's broadcast to every
 * peer but one; that node would then fall a step behind while the others wait for it, and at the
 * deadline they would name it. So a node still waiting at step X for an operator's broadcast asks
 * the peers that have moved past X for a copy. A broadcast is signed by its sender, so a copy is as
 * good as the original: the asking node checks the sender's identity signature, session, step and
 * kind before it keeps the copy, and a copy that fails counts against the relayer, never the sender.
 * A copy of the operator's broadcast for step X + 1 also proves it finished X (it holds this node's
 * message), in place of an ack it withholds. Private shares cannot be relayed; a node that lacks
 * only them, once every other peer has moved on, stops with WITHHELD naming the dealer.
 *
 * Request frame, integers unsigned big-endian: `session (32) ‖ step u32 ‖ sender u32`. The answer is
 * one ack frame (src/dkg/chunks.ts): a refusal with its reason, or ACK_OK followed by the envelope
 * as chunks whose header names the original sender.
 */
import { bytesEqual } from "../lib/bytes.js";
import type { ShareIndex } from "../lib/types.js";
import type { Envelope } from "../pb/bcast.js";
import { authenticateEnvelope, PRIVATE_KINDS } from "./envelope.js";
import type { IdentityVerifier } from "./transport.js";

/** Bytes of a relay request. */
export const RELAY_REQUEST_BYTES = 40;

/** Which broadcast a relay request asks for. */
export interface RelayRequest {
  /** The attempt session, 32 bytes. */
  session: Uint8Array;
  /** Ceremony step of the broadcast, ≥ 1. */
  step: number;
  /** 1-based share index of the operator that sent it. */
  sender: number;
}

/** @throws RangeError when `session` is not 32 bytes or `step`/`sender` is not a u32 */
export function encodeRelayRequest(r: RelayRequest): Uint8Array {
  if (r.session.length !== 32) throw new RangeError(`"session" must be 32 bytes, got ${r.session.length}`);
  for (const [name, v] of [
    ["step", r.step],
    ["sender", r.sender],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`"${name}" must be a u32, got ${v}`);
  }
  const out = new Uint8Array(RELAY_REQUEST_BYTES);
  out.set(r.session, 0);
  const view = new DataView(out.buffer);
  view.setUint32(32, r.step);
  view.setUint32(36, r.sender);
  return out;
}

/** @throws RangeError when the frame is not exactly {@link RELAY_REQUEST_BYTES} long */
export function decodeRelayRequest(frame: Uint8Array): RelayRequest {
  if (frame.length !== RELAY_REQUEST_BYTES) {
    throw new RangeError(`relay request must be ${RELAY_REQUEST_BYTES} bytes, got ${frame.length}`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { session: frame.slice(0, 32), step: view.getUint32(32), sender: view.getUint32(36) };
}

/**
 * Checks a relayed copy: a broadcast (not private, not an abort) of `want.step` by `want.sender` in
 * `want.session`, signed by the sender's identity key.
 * @returns the envelope, or why the copy is refused (the relayer's fault)
 */
export async function checkRelayed(
  bytes: Uint8Array,
  want: RelayRequest & { n: number; verifier: IdentityVerifier },
): Promise<{ envelope: Envelope } | { reason: string }> {
  const auth = await authenticateEnvelope(bytes, { session: want.session, n: want.n, verifier: want.verifier });
  if ("detail" in auth) return { reason: `relayed copy: ${auth.detail}` };
  const env = auth.envelope;
  if (!bytesEqual(env.session, want.session)) return { reason: "relayed copy of another session" };
  if (env.sender !== want.sender) return { reason: `relayed copy from ${env.sender}, asked for ${want.sender}` };
  if (env.step !== want.step) return { reason: `relayed copy of step ${env.step}, asked for ${want.step}` };
  if (PRIVATE_KINDS.has(env.kind)) return { reason: "relayed copy of a private message" };
  return { envelope: env };
}

/** A (step, sender) key for maps. */
export const relayKey = (step: number, sender: ShareIndex | number): string => `${step}:${sender}`;

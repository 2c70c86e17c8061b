/** Relay requests and the checks on a relayed copy (src/dkg/relay.ts). */
import { describe, expect, it } from "vitest";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import { checkRelayed, decodeRelayRequest, encodeRelayRequest, RELAY_REQUEST_BYTES } from "../../src/dkg/relay.js";
import { STEP } from "../../src/dkg/steps.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { Envelope, MessageKind } from "../../src/pb/bcast.js";
import { identities, verifierFor } from "./harness.js";

const session = new Uint8Array(32).fill(7);
const payload = new TextEncoder().encode("echo");

describe("relay request", () => {
  it("round-trips and refuses frames of another length or fields that are not u32", () => {
    const bytes = encodeRelayRequest({ session, step: STEP.ECHO, sender: 3 });
    expect(bytes.length).toBe(RELAY_REQUEST_BYTES);
    expect(decodeRelayRequest(bytes)).toEqual({ session, step: STEP.ECHO, sender: 3 });
    expect(() => decodeRelayRequest(bytes.subarray(1))).toThrow(/must be 40 bytes, got 39/);
    expect(() => decodeRelayRequest(new Uint8Array(41))).toThrow(/got 41/);
    expect(() => encodeRelayRequest({ session: session.subarray(1), step: 1, sender: 1 })).toThrow(/"session"/);
    expect(() => encodeRelayRequest({ session, step: -1, sender: 1 })).toThrow(/"step" must be a u32/);
    expect(() => encodeRelayRequest({ session, step: 1, sender: 2 ** 32 })).toThrow(/"sender" must be a u32/);
  });
});

describe("checkRelayed", () => {
  it("keeps only the sender's signed broadcast of the step asked for, in this session", async () => {
    const ids = await identities(4);
    const verifier = verifierFor(ids);
    const want: Parameters<typeof checkRelayed>[1] = { session, step: STEP.ECHO, sender: 3, n: 4, verifier };
    const genuine = await sealEnvelope(ids[2]!.signer, session, 3 as ShareIndex, MessageKind.ECHO, payload);
    const ok = await checkRelayed(genuine, want);
    expect("envelope" in ok && ok.envelope.sender).toBe(3);

    const reason = async (bytes: Uint8Array, w = want) => {
      const r = await checkRelayed(bytes, w);
      return "reason" in r ? r.reason : "kept";
    };
    // signed by the relayer, not the sender it names
    const env = Envelope.decode(
      await sealEnvelope(ids[1]!.signer, session, 2 as ShareIndex, MessageKind.ECHO, payload),
    );
    expect(await reason(Envelope.encode({ ...env, sender: 3 }))).toMatch(/bad identity signature/);
    expect(
      await reason(await sealEnvelope(ids[1]!.signer, session, 2 as ShareIndex, MessageKind.ECHO, payload)),
    ).toMatch(/from 2, asked for 3/);
    expect(await reason(genuine, { ...want, step: STEP.COMPLAIN })).toMatch(/step 2, asked for 3/);
    expect(await reason(genuine, { ...want, session: new Uint8Array(32) })).toMatch(/another session/);
    const shares = await sealEnvelope(ids[2]!.signer, session, 3 as ShareIndex, MessageKind.SHARES, payload, 1);
    expect(await reason(shares, { ...want, step: STEP.DEAL })).toMatch(/private/);
    expect(await reason(Uint8Array.of(0xff, 0xff))).toMatch(/undecodable/);
  });
});

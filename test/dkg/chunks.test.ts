/**
 * Chunked envelopes and their bounds: frames stay under the fixed cap at any size, reassembly gives the
 * envelope back byte for byte, and every malformed sequence is refused with its reason; the per-step
 * bounds hold the largest honest messages and stay finite at 10,000 validators.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ACK_OK,
  CHUNK_HEADER_BYTES,
  type ChunkHeader,
  ChunkRefused,
  checkChunkBytes,
  chunkFrames,
  decodeAck,
  decodeChunk,
  encodeAck,
  encodeChunk,
  MAX_CHUNK_DATA_BYTES,
  Reassembly,
} from "../../src/dkg/chunks.js";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import { envelopeLimits } from "../../src/dkg/limits.js";
import { DKG_MAX_FRAME_BYTES } from "../../src/dkg/protocols.js";
import { STEP } from "../../src/dkg/steps.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { generateIdentity } from "../../src/p2p/identity.js";
import {
  AccusationKind,
  Complaints,
  Deal,
  Echo,
  Justifications,
  LockSignature,
  MessageKind,
  Shares,
} from "../../src/pb/bcast.js";
import { PartialSignatureSet } from "../../src/pb/parsig.js";

const SESSION = new Uint8Array(32).fill(3);
const HEAD = { session: SESSION, sender: 2, step: 1 };

const bytes = (n: number): Uint8Array<ArrayBuffer> => new Uint8Array(randomBytes(n));
const frames = (env: Uint8Array, chunkBytes: number) => [...chunkFrames(HEAD, env, chunkBytes)].map(decodeChunk);

/** Feeds `chunks` to a reassembly started from the first; returns the envelope or the refusal. */
function reassemble(chunks: ReturnType<typeof decodeChunk>[], max = 1 << 20): Uint8Array | string {
  try {
    const r = new Reassembly(chunks[0]!.header, max);
    let out: Uint8Array | undefined;
    for (const c of chunks) out = r.add(c);
    return out ?? "incomplete";
  } catch (err) {
    expect(err).toBeInstanceOf(ChunkRefused);
    return (err as Error).message;
  }
}

/** A chunk with its header changed. */
const edit = (c: ReturnType<typeof decodeChunk>, h: Partial<ChunkHeader>, data = c.data) =>
  decodeChunk(encodeChunk({ ...c.header, ...h }, data));

describe("chunk frames", () => {
  it("splits an envelope into numbered chunks that reassemble to the same bytes", () => {
    const env = bytes(1000);
    const cs = frames(env, 64);
    expect(cs).toHaveLength(16);
    cs.forEach((c, i) => {
      expect(c.header).toMatchObject({ sender: 2, step: 1, totalBytes: 1000, count: 16, index: i });
      expect(c.header.session).toEqual(SESSION);
      expect(c.data.length).toBe(i < 15 ? 64 : 1000 - 15 * 64);
    });
    const r = new Reassembly(cs[0]!.header, 1000);
    for (const c of cs.slice(0, -1)) expect(r.add(c)).toBeUndefined();
    expect(r.received).toBe(15);
    expect(r.add(cs.at(-1)!)).toEqual(env);
  });

  it("keeps every frame under the fixed cap whatever the envelope's size, and sends an empty one as one chunk", () => {
    const env = new Uint8Array(3 * DKG_MAX_FRAME_BYTES + 5);
    const raw = [...chunkFrames(HEAD, env, MAX_CHUNK_DATA_BYTES)];
    expect(raw).toHaveLength(4);
    for (const f of raw) expect(f.length).toBeLessThanOrEqual(DKG_MAX_FRAME_BYTES);
    expect(raw[0]!.length).toBe(DKG_MAX_FRAME_BYTES);
    const empty = frames(new Uint8Array(0), 64);
    expect(empty).toHaveLength(1);
    expect(reassemble(empty)).toEqual(new Uint8Array(0));
  });

  it("refuses a chunk size out of range, a short frame, a bad session and oversized data", () => {
    expect(() => checkChunkBytes(0)).toThrow(RangeError);
    expect(() => checkChunkBytes(MAX_CHUNK_DATA_BYTES + 1)).toThrow(RangeError);
    expect(() => checkChunkBytes(1.5)).toThrow(RangeError);
    expect(() => [...chunkFrames(HEAD, bytes(10), 0)]).toThrow(RangeError);
    expect(() => decodeChunk(new Uint8Array(CHUNK_HEADER_BYTES - 1))).toThrow(RangeError);
    const h = { ...HEAD, totalBytes: 1, count: 1, index: 0 };
    expect(() => encodeChunk({ ...h, session: new Uint8Array(31) }, bytes(1))).toThrow(RangeError);
    expect(() => encodeChunk(h, new Uint8Array(MAX_CHUNK_DATA_BYTES + 1))).toThrow(RangeError);
    expect(() => encodeChunk({ ...h, step: -1 }, bytes(1))).toThrow(RangeError);
  });
});

describe("reassembly refusals", () => {
  const env = bytes(300);
  const cs = frames(env, 100);

  it("refuses an announced total above the step's bound before allocating", () => {
    expect(reassemble(cs, 299)).toMatch(/announces 300 bytes, more than the 299/);
    const huge = edit(cs[0]!, { totalBytes: 0xffff_ffff, count: 5000 });
    expect(reassemble([huge], 1 << 20)).toMatch(/more than the 1048576/);
  });

  it("refuses a first chunk that is not chunk 0, and counts that cannot carry the total", () => {
    expect(reassemble([cs[1]!])).toMatch(/first chunk has index 1/);
    expect(reassemble([edit(cs[0]!, { count: 0 })])).toMatch(/0 chunks/);
    expect(reassemble([edit(cs[0]!, { count: 301 })])).toMatch(/301 chunks for 300 bytes/);
    const big = edit(cs[0]!, { totalBytes: 2 * MAX_CHUNK_DATA_BYTES + 1, count: 2 });
    expect(reassemble([big], 1 << 30)).toMatch(/need more/);
  });

  it("refuses duplicate and out-of-order chunks", () => {
    expect(reassemble([cs[0]!, cs[0]!])).toMatch(/duplicate chunk 0/);
    expect(reassemble([cs[0]!, cs[2]!])).toMatch(/chunk 2 out of order \(expected 1\)/);
    expect(reassemble([cs[0]!, cs[1]!, cs[1]!])).toMatch(/duplicate chunk 1/);
  });

  it("refuses chunks of another envelope, or announcing another total or count", () => {
    expect(reassemble([cs[0]!, edit(cs[1]!, { session: new Uint8Array(32) })])).toMatch(/another envelope/);
    expect(reassemble([cs[0]!, edit(cs[1]!, { sender: 3 })])).toMatch(/another envelope/);
    expect(reassemble([cs[0]!, edit(cs[1]!, { step: 2 })])).toMatch(/another envelope/);
    expect(reassemble([cs[0]!, edit(cs[1]!, { totalBytes: 301 })])).toMatch(/announces 301 bytes in 3 chunks/);
    expect(reassemble([cs[0]!, edit(cs[1]!, { count: 4 })])).toMatch(/in 4 chunks, chunk 0 300 in 3/);
  });

  it("refuses empty chunks, data past the total, a short last chunk and an early fill", () => {
    expect(reassemble([cs[0]!, edit(cs[1]!, {}, new Uint8Array(0))])).toMatch(/chunk 1 is empty/);
    expect(reassemble([cs[0]!, edit(cs[1]!, {}, bytes(250))])).toMatch(/exceed the announced 300/);
    expect(reassemble([cs[0]!, cs[1]!, edit(cs[2]!, {}, bytes(50))])).toMatch(/last chunk ends at byte 250 of/);
    expect(reassemble([cs[0]!, edit(cs[1]!, {}, bytes(200))])).toMatch(/chunk 1 of 3 already reaches/);
    const r = new Reassembly(cs[0]!.header, 300);
    for (const c of cs) r.add(c);
    expect(() => r.add(cs[2]!)).toThrow(/after the last of 3/);
  });
});

describe("acks", () => {
  it("encode and decode", () => {
    expect(encodeAck()).toEqual(Uint8Array.of(ACK_OK));
    expect(decodeAck(encodeAck())).toEqual({ ok: true });
    expect(decodeAck(encodeAck("no"))).toEqual({ ok: false, reason: "no" });
    expect(decodeAck(encodeAck("x".repeat(1000)))).toEqual({ ok: false, reason: "x".repeat(200) });
    expect(() => decodeAck(new Uint8Array(0))).toThrow(RangeError);
    expect(() => decodeAck(Uint8Array.of(7))).toThrow(RangeError);
  });
});

describe("per-step envelope bounds", () => {
  /** The largest honest envelopes of each step for (n, t, V, amounts), sealed with a real identity key. */
  async function largest(n: number, t: number, V: number, amounts: number) {
    const id = await generateIdentity();
    const seal = (kind: MessageKind, payload: Uint8Array, receiver = 0) =>
      sealEnvelope(id, SESSION, n as ShareIndex, kind, payload, receiver);
    const deal = await seal(
      MessageKind.DEAL,
      Deal.encode({ numValidators: V, threshold: t, commitments: bytes(48 * t * V), pops: bytes(96 * V) }),
    );
    const shares = await seal(MessageKind.SHARES, Shares.encode({ receiver: n, shares: bytes(32 * V) }), n);
    const echo = await seal(MessageKind.ECHO, Echo.encode({ dealDigests: Array.from({ length: n }, () => bytes(32)) }));
    const accusation = {
      accused: n,
      validators: Array.from({ length: V }, (_, v) => 0xffff_fff0 + (v % 8)),
      reason: "r".repeat(1024),
      envelope: deal as Uint8Array<ArrayBuffer>,
      kind: AccusationKind.ECHO_MISMATCH,
      echoes: Array.from({ length: n }, () => echo as Uint8Array<ArrayBuffer>),
    };
    const complaints = await seal(
      MessageKind.COMPLAINTS,
      Complaints.encode({ accusations: Array.from({ length: n }, () => accusation) }),
    );
    const justifications = await seal(
      MessageKind.JUSTIFICATIONS,
      Justifications.encode({
        shares: Array.from({ length: (n - 1) * V }, () => ({ accuser: n, validator: 0xffff_fff0, share: bytes(32) })),
      }),
    );
    const partials = await seal(
      MessageKind.DEPOSIT_PARTIALS,
      PartialSignatureSet.encode({
        partials: Array.from({ length: V * amounts }, () => ({
          validator: 0xffff_fff0,
          signingRoot: bytes(32),
          signature: bytes(96),
        })),
      }),
    );
    const lock = await seal(
      MessageKind.LOCK_SIGNATURE,
      LockSignature.encode({ lockHash: bytes(32), signature: bytes(72), shareSignatureAggregate: bytes(96) }),
    );
    return { deal, shares, echo, complaints, justifications, partials, lock };
  }

  it("hold the largest honest envelope of every step, and expect nothing elsewhere", async () => {
    for (const [n, t, V, amounts] of [
      [1, 1, 1, 1],
      [4, 3, 5, 2],
      [7, 5, 20, 3],
    ] as const) {
      const limit = envelopeLimits({ n, t, numValidators: V, rootsPerValidator: amounts });
      const m = await largest(n, t, V, amounts);
      const cases: [number, "broadcast" | "direct", Uint8Array][] = [
        [STEP.DEAL, "broadcast", m.deal],
        [STEP.DEAL, "direct", m.shares],
        [STEP.ECHO, "broadcast", m.echo],
        [STEP.COMPLAIN, "broadcast", m.complaints],
        [STEP.JUSTIFY, "broadcast", m.justifications],
        [STEP.DEPOSIT_PARTIALS, "broadcast", m.partials],
        [STEP.LOCK_SIGNATURES, "broadcast", m.lock],
      ];
      for (const [step, kind, env] of cases) {
        const bound = limit(step, kind)!;
        expect(env.length, `step ${step} ${kind} at n=${n} t=${t} V=${V}`).toBeLessThanOrEqual(bound);
        // tight: within a few hundred bytes per entry of what an honest node sends, not a blanket cap
        expect(bound, `step ${step} ${kind}`).toBeLessThan(2 * env.length + 4096);
      }
      expect(limit(STEP.ECHO, "direct")).toBeUndefined();
      expect(limit(STEP.SYNC, "broadcast")).toBeUndefined();
      expect(limit(99, "broadcast")).toBeUndefined();
    }
  });

  it("grow with V while every frame stays at the fixed cap: a 10,000-validator deal is a few chunks", () => {
    const limit = envelopeLimits({ n: 10, t: 7, numValidators: 10_000, rootsPerValidator: 1 });
    const deal = limit(STEP.DEAL, "broadcast")!;
    expect(deal).toBeGreaterThan(10_000 * (48 * 7 + 96));
    expect(deal).toBeGreaterThan(DKG_MAX_FRAME_BYTES);
    expect(Math.ceil(deal / MAX_CHUNK_DATA_BYTES)).toBeLessThan(10);
    expect(limit(STEP.DEAL, "direct")!).toBeLessThan(DKG_MAX_FRAME_BYTES);
  });

  it("refuse parameters that are not positive integers", () => {
    expect(() => envelopeLimits({ n: 0, t: 1, numValidators: 1, rootsPerValidator: 1 })).toThrow(RangeError);
    expect(() => envelopeLimits({ n: 1, t: 1, numValidators: 1.5, rootsPerValidator: 1 })).toThrow(RangeError);
    expect(() => envelopeLimits({ n: 1, t: 1, numValidators: 1, rootsPerValidator: -1 })).toThrow(RangeError);
  });
});

// Mutation fuzzer (issue 9): operator 1 keeps its valid identity and mutates what it sends in one
// step (one message kind), to every peer or to one only: random byte flips, truncation, random
// payloads and extra fields, re-signed with its key, or the signed envelope itself corrupted. The
// honest nodes must never crash, never name an honest operator, and never end split: either every
// honest node writes the same lock and confirms, or none does, except that a lock already written
// when one honest node stopped is reported unconfirmed.
import { describe, expect, it } from "vitest";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import { DkgError } from "../../src/dkg/errors.js";
import { STEP } from "../../src/dkg/steps.js";
import { toHex } from "../../src/lib/bytes.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { Envelope } from "../../src/pb/bcast.js";
import { identities, type NodeRun, runAll } from "./harness.js";

/** xorshift32: reproducible mutations from a seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

type Mutation = "flip" | "truncate" | "random" | "extra-field" | "corrupt-envelope";
const MUTATIONS: Mutation[] = ["flip", "truncate", "random", "extra-field", "corrupt-envelope"];

function mutatePayload(m: Exclude<Mutation, "corrupt-envelope">, payload: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(payload);
  const byte = () => Math.floor(r() * 256);
  switch (m) {
    case "flip": {
      if (out.length === 0) return Uint8Array.of(byte() | 1);
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) out[Math.floor(r() * out.length)]! ^= 1 << Math.floor(r() * 8);
      return out;
    }
    case "truncate":
      return out.length === 0 ? Uint8Array.of(0x0a) : out.subarray(0, Math.floor(r() * out.length));
    case "random":
      return Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, byte);
    case "extra-field": {
      // a length-delimited field 15 of random bytes (unknown to the schema) or a repeat of field 1
      const data = Uint8Array.from({ length: Math.floor(r() * 40) }, byte);
      const tag = r() < 0.5 ? 0x7a : 0x0a;
      return Uint8Array.from([...out, tag, data.length, ...data]);
    }
  }
}

interface Case {
  step: number;
  kind: "broadcast" | "direct";
  mutation: Mutation;
  /** Receivers of the mutated message (the others get the genuine one). */
  to: number[];
  seed: number;
}

const STEPS: [number, "broadcast" | "direct"][] = [
  [STEP.DEAL, "broadcast"],
  [STEP.DEAL, "direct"],
  [STEP.ECHO, "broadcast"],
  [STEP.COMPLAIN, "broadcast"],
  [STEP.JUSTIFY, "broadcast"],
  [STEP.DEPOSIT_PARTIALS, "broadcast"],
  [STEP.LOCK_SIGNATURES, "broadcast"],
];

const CASES: Case[] = STEPS.flatMap(([step, kind], i) =>
  MUTATIONS.flatMap((mutation, j) =>
    [[2, 3, 4], [2]].map((to, k) => ({ step, kind, mutation, to, seed: 1 + i * 100 + j * 10 + k })),
  ),
);

const HONEST = [2, 3, 4];

/** @returns whether some honest node named operator 1 */
function check(c: Case, runs: NodeRun[]): boolean {
  const honest = runs.filter((r) => HONEST.includes(r.index));
  const label = (r: NodeRun) => `${JSON.stringify(c)} node ${r.index}: ${r.error?.message}`;
  for (const r of honest) {
    if (r.error !== undefined) {
      // a crash would be some other error
      expect(r.error, label(r)).toBeInstanceOf(DkgError);
      for (const culprit of r.error.type.culprits) expect(culprit, label(r)).toBe(1);
    }
  }
  const written = honest.filter((r) => r.persisted);
  if (written.length === honest.length) {
    const locks = new Set(written.map((r) => toHex(r.outcome!.result.lockHash)));
    expect(locks.size, JSON.stringify(c)).toBe(1);
  } else {
    // a node that wrote while another honest node stopped must warn that not every peer confirmed
    for (const r of written) expect(r.outcome?.unconfirmed.length ?? 0, label(r)).toBeGreaterThan(0);
  }
  return honest.some((r) => r.error?.type.culprits.includes(1 as ShareIndex));
}

describe("mutation fuzzer: operator 1 mutates one message kind (n=4, t=3, V=2)", () => {
  it(`${CASES.length} cases: no crash, no honest operator named, no split outcome`, async () => {
    const ids = await identities(4);
    let named = 0;
    for (const c of CASES) {
      const r = rng(c.seed);
      const runs = await runAll({
        n: 4,
        t: 3,
        numValidators: 2,
        timeoutMs: 6_000,
        tamper: async (from, to, step, kind, bytes) => {
          if (from !== 1 || step !== c.step || kind !== c.kind || !c.to.includes(to)) return bytes;
          if (c.mutation === "corrupt-envelope") {
            const out = Uint8Array.from(bytes);
            out[Math.floor(r() * out.length)]! ^= 1 << Math.floor(r() * 8);
            return out;
          }
          const env = Envelope.decode(bytes);
          const payload = mutatePayload(c.mutation, env.payload, r);
          return sealEnvelope(ids[0]!.signer, env.session, 1 as ShareIndex, env.kind, payload, env.receiver);
        },
      });
      if (check(c, runs)) named++;
    }
    // the mutations bite: most cases end with the mutating operator named
    expect(named).toBeGreaterThan(CASES.length / 2);
  }, 600_000);
});

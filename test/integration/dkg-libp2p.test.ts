// Four ceremonies over real libp2p (TCP, Noise, Yamux) on 127.0.0.1, in one process, with the real
// cluster layer: definition hashing, deposit roots, lock hash. Multi-process runs are in test/e2e.

import { beforeAll, describe, expect, it } from "vitest";
import { ceremonyEnvelopeLimits, definitionArtifacts, FINAL_DELIVERY_MS } from "../../src/app/dkg.js";
import { type ClusterDefinition, createDefinition, signDefinition } from "../../src/cluster/definition.js";
import { verifyLock } from "../../src/cluster/lock.js";
import { type CeremonyOutcome, runCeremony } from "../../src/dkg/ceremony.js";
import { DKG_PROTOCOL_VERSION, STEP } from "../../src/dkg/steps.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import { freePort } from "../../src/lib/ports.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { generateIdentity, type Identity, verifyIdentitySignature } from "../../src/p2p/identity.js";
import { netTransport } from "../dkg/netHelpers.js";

const N = 4;
let def: ClusterDefinition;
let ids: Identity[];
let addrs: string[];

beforeAll(async () => {
  ids = [];
  addrs = [];
  for (let i = 0; i < N; i++) {
    ids.push(await generateIdentity());
    addrs.push(`/ip4/127.0.0.1/tcp/${await freePort()}`);
  }
  def = createDefinition({
    name: "integration",
    operators: ids.map((id, i) => `${id.peerId}@${addrs[i]}`),
    numValidators: 3,
    network: resolveNetwork("hoodi"),
    withdrawalAddresses: ["0x000000000000000000000000000000000000dEaD"],
  }).definition;
  for (const id of ids) def = await signDefinition(def, id);
});

/** Runs the ceremony on all four nodes; returns each node's outcome and the faults it counted. */
async function ceremony(chunkBytes?: number): Promise<{ outcome: CeremonyOutcome; faults: number }[]> {
  return await Promise.all(
    ids.map(async (identity, i) => {
      const transport = await netTransport({
        identity,
        operators: def.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses })),
        limits: ceremonyEnvelopeLimits(def),
        chunkBytes,
        session: def.definitionHash,
        protocolVersion: DKG_PROTOCOL_VERSION,
        listenAddress: addrs[i],
        logger: silentLogger(),
      });
      const { builder } = definitionArtifacts(def);
      try {
        const outcome = await runCeremony({
          params: {
            session: def.definitionHash,
            n: N,
            t: def.threshold,
            numValidators: def.numValidators,
            self: (i + 1) as ShareIndex,
          },
          transport,
          signer: identity,
          verifier: { verify: (s, m, sig) => verifyIdentitySignature(def.operators[s - 1]!.peerId, m, sig) },
          artifacts: builder,
          logger: silentLogger(),
          signal: AbortSignal.timeout(120_000),
          persist: async () => {},
        });
        return { outcome, faults: transport.faults().size };
      } finally {
        // as `cohort dkg` does (src/app/dkg.ts): a peer may still be waiting for this node's confirmation
        await transport.close({ lingerMs: FINAL_DELIVERY_MS });
      }
    }),
  );
}

async function expectSameVerifiedLock(runs: { outcome: CeremonyOutcome; faults: number }[]): Promise<void> {
  const outcomes = runs.map((r) => r.outcome);
  const hashes = new Set(outcomes.map((o) => toHex(o.result.lockHash)));
  expect(hashes.size).toBe(1);
  for (const o of outcomes) expect(o.unconfirmed).toEqual([]);
  for (const r of runs) expect(r.faults).toBe(0);
  const { lockOf } = definitionArtifacts(def);
  const lock = lockOf(outcomes[0]!.result);
  expect(toHex(lock.lockHash)).toBe([...hashes][0]);
  expect(await verifyLock(lock)).toEqual({ ok: true, errors: [] });
}

describe("DKG over libp2p, 4 nodes on loopback", () => {
  it("every node ends with the same verified lock", async () => {
    await expectSameVerifiedLock(await ceremony());
  }, 180_000);

  it("with 64-byte chunks (a deal of 3 validators is a dozen of them) every node still ends with it", async () => {
    // every envelope but the smallest crosses several frames; acks come once all its chunks are in
    expect(ceremonyEnvelopeLimits(def)(STEP.DEAL, "broadcast")!).toBeGreaterThan(10 * 64);
    await expectSameVerifiedLock(await ceremony(64));
  }, 180_000);
});

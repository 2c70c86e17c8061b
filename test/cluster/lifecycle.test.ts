// Lifecycle definitions, ceremony roles, lock chains and foreign-lock reports (src/cluster/lifecycle.ts).
import { describe, expect, it } from "vitest";
import { exchangeLockHashes, LOCK_HELLO_BYTES, lockHello, parseLockHello } from "../../src/app/lockExchange.js";
import { definitionToJson, parseDefinition, signDefinition, verifyDefinition } from "../../src/cluster/definition.js";
import {
  ceremonyRoles,
  createAdditionDefinition,
  createReshareDefinition,
  ForeignLockReporter,
  lockRelation,
  verifyLockChain,
} from "../../src/cluster/lifecycle.js";
import { aggregateLockSignatures, buildLock, type ClusterLock, computeLockHash } from "../../src/cluster/lock.js";
import { Polynomial } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import { createHost } from "../../src/p2p/host.js";
import type { Identity } from "../../src/p2p/identity.js";
import { buildTestLock, type Dealt, makeIdentities, signedDefinition } from "./fixtures.js";

const ids = await makeIdentities(5);
const four = ids.slice(0, 4);
const first = await buildTestLock(await signedDefinition(four), four);

async function signAll<T extends { operators: { peerId: string }[] }>(def: T, who: readonly Identity[]): Promise<T> {
  let out = def as never;
  for (const id of who) out = (await signDefinition(out, id)) as never;
  return out;
}

/** The reshared lock of `previous` (secrets `dealt`) for `def`, built as the ceremony does. */
async function reshareLock(
  previous: ClusterLock,
  dealt: Dealt[],
  def: ReturnType<typeof createReshareDefinition>,
  who: Identity[],
) {
  const n = def.operators.length;
  const shares = dealt.map((d) => {
    const poly = Polynomial.withSecret(d.secret, def.threshold);
    return Array.from({ length: n }, (_, m) => poly.evaluate(m + 1));
  });
  const validators = previous.distributedValidators.map((dv, v) => ({
    publicKey: dv.publicKey,
    publicShares: shares[v]!.map((s) => s.publicKey()),
    depositData: dv.depositData,
  }));
  const lockHash = computeLockHash(def, validators);
  return buildLock({
    definition: def,
    distributedValidators: validators,
    signatureAggregate: aggregateLockSignatures(shares.flat().map((s) => s.sign(lockHash))),
    nodeSignatures: await Promise.all(who.map((id) => id.sign(lockHash))),
  });
}

describe("reshare definitions", () => {
  it("non-dealing operators: kept ones that lost their shares receive and deal nothing; the hashes cover them", () => {
    const keep = four.map((i) => i.peerId);
    const def = createReshareDefinition(first.lock, { operators: keep, threshold: 3, nonDealing: [keep[1]!] });
    expect(def.lifecycle!.nonDealing).toEqual([keep[1]]);
    const json = definitionToJson(def) as Record<string, unknown>;
    expect(json.non_dealing_operators).toEqual([keep[1]]);
    const back = parseDefinition(json);
    expect(toHex(back.configHash)).toBe(toHex(def.configHash));
    expect(toHex(back.definitionHash)).toBe(toHex(def.definitionHash));
    // the list is part of what the operators approve
    const plain = createReshareDefinition(first.lock, {
      operators: keep,
      threshold: 3,
      uuid: def.uuid,
      timestamp: def.timestamp,
    });
    expect(toHex(plain.configHash)).not.toBe(toHex(def.configHash));
    expect(definitionToJson(plain)).not.toHaveProperty("non_dealing_operators");
    const roles = ceremonyRoles(def, first.lock);
    expect(roles.dealers).toEqual([1, 3, 4]);
    expect(roles.receivers).toEqual([1, 2, 3, 4]);
    expect([...roles.oldIndex.keys()]).toEqual([1, 3, 4]);
    // not kept, or too few dealers left: refused with the flag named
    expect(() =>
      createReshareDefinition(first.lock, { operators: keep.slice(0, 3), threshold: 2, nonDealing: [keep[3]!] }),
    ).toThrow(/non-dealing\[0\].*not an operator of both/);
    expect(() =>
      createReshareDefinition(first.lock, { operators: keep, threshold: 3, nonDealing: [keep[0]!, keep[1]!] }),
    ).toThrow(/at least the old threshold 3/);
    // a file that names someone outside the new set, or one on an addition, does not parse
    expect(() => parseDefinition({ ...json, non_dealing_operators: [ids[4]!.peerId] })).toThrow(
      /non_dealing_operators\[0\].*not an operator of the new set/,
    );
  });

  it("keeps validators, network and deposits; lists the old operators outside the new set as retiring", async () => {
    const def = createReshareDefinition(first.lock, {
      operators: [ids[0]!, ids[1]!, ids[2]!, ids[4]!].map((i) => i.peerId),
      threshold: 3,
    });
    expect(def.version).toBe("cohort/v3");
    expect(def.lifecycle!.operation).toBe("reshare");
    expect(def.lifecycle!.retiringOperators.map((o) => o.peerId)).toEqual([ids[3]!.peerId]);
    expect(toHex(def.lifecycle!.previousLockHash)).toBe(toHex(first.lock.lockHash));
    expect(definitionToJson(def).validators).toEqual(definitionToJson(first.lock.definition).validators);
    // JSON round trip keeps every hash; the retiring operator must approve too
    expect(toHex(parseDefinition(definitionToJson(def)).definitionHash)).toBe(toHex(def.definitionHash));
    const partly = await signAll(def, [ids[0]!, ids[1]!, ids[2]!, ids[4]!]);
    await expect(verifyDefinition(partly)).rejects.toThrow(/retiring operator 0 .* has not signed/);
    const signed = await signDefinition(partly, ids[3]!);
    await verifyDefinition(signed);
    const roles = ceremonyRoles(signed, first.lock);
    expect(roles.participants).toEqual([0, 1, 2, 4, 3].map((i) => ids[i]!.peerId));
    expect(roles.receivers).toEqual([1, 2, 3, 4]);
    expect(roles.dealers).toEqual([1, 2, 3, 5]);
    expect([...roles.oldIndex]).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 4],
    ]);
  });

  it("refuses too few old operators, an absent operator kept, and a definition for another lock", async () => {
    const peer = (i: number) => ids[i]!.peerId;
    expect(() =>
      createReshareDefinition(first.lock, {
        operators: [peer(0), peer(1), peer(4)],
        absent: [peer(2), peer(3)],
        threshold: 2,
      }),
    ).toThrow(/at least the old threshold 3/);
    expect(() =>
      createReshareDefinition(first.lock, { operators: [peer(0), peer(1), peer(2)], absent: [peer(2)] }),
    ).toThrow(/listed as absent/);
    expect(() =>
      createReshareDefinition(first.lock, { operators: [peer(0), peer(1), peer(2)], absent: [peer(4)] }),
    ).toThrow(/"absent\[0\]" .* is not an operator of the lock/);
    const other = await buildTestLock(await signedDefinition(four), four);
    const def = createReshareDefinition(first.lock, { operators: [peer(0), peer(1), peer(2)], absent: [peer(3)] });
    expect(() => ceremonyRoles(def, other.lock)).toThrow(/names previous lock/);
  });
});

describe("lock chains", () => {
  it("a reshare then an addition verify as a chain; a changed key or another previous lock breaks it", async () => {
    const def = await signAll(
      createReshareDefinition(first.lock, { operators: ids.map((i) => i.peerId), threshold: 4 }),
      ids,
    );
    const second = await reshareLock(first.lock, first.dealt, def, ids);
    expect(await verifyLockChain([first.lock, second])).toEqual([]);
    const addDef = await signAll(
      createAdditionDefinition(second, {
        numValidators: 1,
        withdrawalAddresses: ["0x000000000000000000000000000000000000dEaD"],
      }),
      ids,
    );
    expect(addDef.numValidators).toBe(3);
    expect(ceremonyRoles(addDef, second).carried).toBe(2);
    // a reshare lock whose key differs from the previous lock's (a fresh DKG under the same definition)
    const forged = await buildTestLock(def, ids);
    const errors = await verifyLockChain([first.lock, forged.lock]);
    expect(errors.some((e) => /validator 0's public key differs/.test(e))).toBe(true);
    // a lock that names another previous lock
    const unrelated = await buildTestLock(await signedDefinition(four), four);
    expect((await verifyLockChain([unrelated.lock, second])).join("\n")).toMatch(/names previous lock/);
  });

  it("places a peer's lock as previous, next or unknown, and reports each peer and lock once per interval", async () => {
    const def = await signAll(
      createReshareDefinition(first.lock, { operators: ids.map((i) => i.peerId), threshold: 4 }),
      ids,
    );
    const second = await reshareLock(first.lock, first.dealt, def, ids);
    expect(lockRelation(first.lock.lockHash, second, [])).toBe("previous");
    expect(lockRelation(second.lockHash, first.lock, [second])).toBe("next");
    expect(lockRelation(second.lockHash, first.lock, [])).toBe("unknown");
    const lines: string[] = [];
    let now = 0;
    const r = new ForeignLockReporter(
      second,
      [first.lock],
      (_f, m) => lines.push(m),
      60_000,
      () => now,
    );
    r.report("operator 2", first.lock.lockHash);
    r.report("operator 2", first.lock.lockHash);
    now = 61_000;
    r.report("operator 2", first.lock.lockHash);
    r.report("operator 3", new Uint8Array(32));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/operator 2 still runs the previous lock/);
    expect(lines[2]).toMatch(/operator 3 runs a lock this node does not know/);
  });

  it("two nodes on successive locks name each other when they connect, both ways; a node on the same lock says nothing", async () => {
    const def = await signAll(
      createReshareDefinition(first.lock, { operators: four.map((i) => i.peerId), threshold: 3 }),
      four,
    );
    const second = await reshareLock(first.lock, first.dealt, def, four);
    expect(parseLockHello(lockHello(second))?.previous).toEqual(first.lock.lockHash);
    expect(parseLockHello(lockHello(first.lock))?.previous).toBeUndefined();
    expect(parseLockHello(new Uint8Array(LOCK_HELLO_BYTES - 1))).toBeUndefined();
    const peers = four.slice(0, 3).map((i) => ({ peerId: i.peerId }));
    const hosts = await Promise.all(four.slice(0, 3).map((identity) => createHost({ identity, peers })));
    const lines = new Map<number, string[]>();
    try {
      // node 1 still on the first lock (which does not know the second), nodes 2 and 3 on the second
      const locks = [first.lock, second, second];
      for (const [k, host] of hosts.entries()) {
        const out: string[] = [];
        lines.set(k + 1, out);
        const reporter = new ForeignLockReporter(locks[k]!, k === 0 ? [] : [first.lock], (_f, msg) => out.push(msg));
        await exchangeLockHashes(locks[k]!, {
          host,
          report: (peer, hash, previous) => reporter.report(peer, hash, previous),
          labelOf: (peer) => `operator ${four.findIndex((i) => i.peerId === peer) + 1}`,
          logger: silentLogger(),
        });
        await host.start();
      }
      await hosts[0]!.dial(four[1]!.peerId, hosts[1]!.listenAddresses());
      await hosts[1]!.dial(four[2]!.peerId, hosts[2]!.listenAddresses());
      await expect
        .poll(() => lines.get(1)!.length + lines.get(2)!.length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(2);
      // let both directions of both connections finish
      await new Promise((r) => setTimeout(r, 300));
      expect(lines.get(1)).toEqual([expect.stringMatching(/^peer operator 2 runs a later lock of this cluster/)]);
      expect(lines.get(2)).toEqual([expect.stringMatching(/^peer operator 1 still runs the previous lock/)]);
      expect(lines.get(3)).toEqual([]);
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
    }
  });
});

// A dishonest old operator in a reshare, run as its own OS process with its valid identity (its
// data dir's identity.key) and modified code: it takes part in the ceremony over real libp2p as
// `cohort reshare` does, but deals random secrets instead of its old shares, so the first
// commitment of each of its deals is not its public share in the previous lock. It writes nothing.
//
// Usage: node bad-dealer.mjs '<json>' with { dist: "<repo>/dist", dataDir, definition, timeoutMs }
// It prints one JSON line, {"error": code} or {"ok": true}, and exits 0.
import path from "node:path";

const cfg = JSON.parse(process.argv[2]);
const dist = cfg.dist;
const imp = (m) => import(path.join(dist, "src", m));
const { readDefinitionFile } = await imp("cluster/definition.js");
const { readLockFile } = await imp("cluster/lock.js");
const { ceremonyRoles } = await imp("cluster/lifecycle.js");
const { SecretKey } = await imp("crypto/bls.js");
const { envelopeLimits } = await imp("dkg/limits.js");
const { definitionArtifacts, runCeremonyPlan } = await imp("app/dkg.js");
const { loadIdentity } = await imp("p2p/identity.js");
const { silentLogger } = await imp("lib/logger.js");

const identity = await loadIdentity(cfg.dataDir);
const def = await readDefinitionFile(cfg.definition);
const previous = await readLockFile(path.join(cfg.dataDir, "cluster-lock.json"));
const roles = ceremonyRoles(def, previous);
const self = roles.participants.indexOf(identity.peerId) + 1;
const V = previous.distributedValidators.length;
const { builder, lockOf } = definitionArtifacts(def, previous);
try {
  await runCeremonyPlan({ dataDir: path.join(cfg.dataDir, ".attacker"), timeoutMs: cfg.timeoutMs }, silentLogger(), {
    def,
    self,
    identity,
    participants: roles.participants.map((peerId) => {
      const o = [...def.operators, ...def.lifecycle.retiringOperators].find((x) => x.peerId === peerId);
      return { peerId, addresses: o.addresses };
    }),
    params: {
      dealers: roles.dealers,
      receivers: roles.receivers,
      numValidators: V,
      reshare: {
        oldThreshold: previous.definition.threshold,
        oldIndex: roles.oldIndex,
        publicKeys: previous.distributedValidators.map((dv) => dv.publicKey),
        oldPublicShares: previous.distributedValidators.map((dv) => dv.publicShares),
        // the modification: random secrets, not this operator's old shares
        ownOldShares: Array.from({ length: V }, () => SecretKey.random()),
        ownFloors: Array.from({ length: V }, () => ({ blockSlot: null, sourceEpoch: null, targetEpoch: null })),
      },
    },
    builder,
    lockOf,
    limits: envelopeLimits({ n: roles.participants.length, t: def.threshold, numValidators: V, rootsPerValidator: 0 }),
    write: async () => [],
  });
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ error: err?.type?.code ?? String(err) }));
}

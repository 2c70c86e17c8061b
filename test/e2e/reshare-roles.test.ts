// Reshare roles and faults through the built CLI, in child processes over libp2p: removing an
// operator that never shows up (3 of 4 old operators deal), replacing an operator (the retiring
// one deals and leaves), a lone node's clean timeout naming the missing operators with nothing but
// the failure report written, and a rerun that then succeeds.
import { existsSync, promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { verify } from "../../src/crypto/bls.js";
import { decryptKeystore } from "../../src/crypto/keystore.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { freePort } from "../../src/lib/ports.js";
import { clusterOf, sign, waitForPeers } from "../integration/cluster.js";
import { attestation, rootOf } from "../integration/duties.js";
import { runCli, startCli } from "./cli.js";

let dir: string;
let net: string;
let oldLock: ClusterLock;
let peerId5: string;
const node = (i: number) => path.join(net, `node-${i}`);
const lockFile = (i: number) => path.join(node(i), "cluster-lock.json");
const readLock = async (file: string) => parseLock(JSON.parse(await fsp.readFile(file, "utf8")));
const peerOf = (i: number) => oldLock.definition.operators[i - 1]!.peerId;

async function signAll(file: string, nodes: number[]) {
  for (const i of nodes) {
    const res = await runCli(["definition", "sign", "--data-dir", node(i), "--definition", file]);
    expect(res.code, res.stderr).toBe(0);
  }
}

async function reshareDef(name: string, args: string[]): Promise<string> {
  const file = path.join(dir, name);
  const res = await runCli(["definition", "reshare", "--lock", lockFile(1), ...args, "--out", file]);
  expect(res.code, res.stderr).toBe(0);
  return file;
}

function reshare(i: number, def: string, extra: string[] = []) {
  return startCli(["reshare", "--data-dir", node(i), "--definition", def, "--timeout", "2m", ...extra]).done;
}

/** Each validator's key from the given data dirs' new keystores (their new share indices). */
async function recover(indexed: [number, number][], lock: ClusterLock) {
  for (const [v, dv] of lock.distributedValidators.entries()) {
    const pts = [];
    for (const [i, index] of indexed) {
      const ks = JSON.parse(await fsp.readFile(path.join(node(i), "validator_keys", `keystore-${v}.json`), "utf8"));
      const pw = await fsp.readFile(path.join(node(i), "validator_keys", `keystore-${v}.txt`), "utf8");
      pts.push({ index, value: await decryptKeystore(ks, pw) });
    }
    expect(toHex(recoverSecret(pts).publicKey())).toBe(toHex(dv.publicKey));
  }
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-reshare-roles-"));
  net = path.join(dir, "net");
  const res = await runCli([
    "devnet",
    "--nodes",
    "4",
    "--validators",
    "2",
    "--network",
    "mainnet",
    "--out",
    net,
    "--quiet",
  ]);
  expect(res.code, res.stderr).toBe(0);
  oldLock = await readLock(lockFile(1));
  const id = await runCli(["identity", "create", "--data-dir", node(5)]);
  expect(id.code, id.stderr).toBe(0);
  peerId5 = id.stdout.trim();
}, 180_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("reshare roles and faults", () => {
  it("refuses a definition in which fewer than the old threshold of old operators take part", async () => {
    const res = await runCli([
      "definition",
      "reshare",
      "--lock",
      lockFile(1),
      "--operators",
      [1, 2].map(peerOf).join(","),
      "--absent",
      [3, 4].map(peerOf).join(","),
      "--threshold",
      "2",
      "--out",
      path.join(dir, "too-few.json"),
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/at least the old threshold 3/);
    expect(existsSync(path.join(dir, "too-few.json"))).toBe(false);
  });

  it("a lone node times out naming the missing operators, writes only dkg-failure.json; a rerun succeeds, after a crash too", async () => {
    // operator 4 is gone for good: 1, 2, 3 reshare among themselves (t = 2)
    const def = await reshareDef("remove.json", [
      "--operators",
      [1, 2, 3].map(peerOf).join(","),
      "--absent",
      peerOf(4),
      "--threshold",
      "2",
    ]);
    await signAll(def, [1, 2, 3]);
    const before = await fsp.readFile(lockFile(1), "utf8");
    const lone = await startCli(["reshare", "--data-dir", node(1), "--definition", def, "--timeout", "4s"]).done;
    expect(lone.code).toBe(1);
    expect(lone.stderr).toMatch(/operator.*2.*3|2, 3/);
    const failure = JSON.parse(await fsp.readFile(path.join(node(1), "dkg-failure.json"), "utf8"));
    expect(failure.code).toBe("TIMEOUT");
    expect(failure.culprits.map((c: { peer_id: string }) => c.peer_id).sort()).toEqual([peerOf(2), peerOf(3)].sort());
    expect(await fsp.readFile(lockFile(1), "utf8")).toBe(before);
    expect(existsSync(path.join(node(1), "locks"))).toBe(false);
    // node 2 as a crash would leave it between moving its keystores aside and writing the new
    // lock: its previous keystores aside, other shares (here operator 3's) in validator_keys
    const aside = `validator_keys.previous-${toHex(oldLock.lockHash).slice(2, 10)}`;
    await fsp.rename(path.join(node(2), "validator_keys"), path.join(node(2), aside));
    await fsp.cp(path.join(node(3), "validator_keys"), path.join(node(2), "validator_keys"), { recursive: true });
    // the rerun, with operators 1-3 (4 never shows up)
    const runs = await Promise.all([1, 2, 3].map((i) => reshare(i, def)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const lock = await readLock(lockFile(2));
    expect(lock.definition.operators.map((o) => o.peerId)).toEqual([1, 2, 3].map(peerOf));
    expect(lock.definition.threshold).toBe(2);
    expect(existsSync(path.join(node(1), "dkg-failure.json"))).toBe(false);
    // node 2 dealt from the keystores aside; the stray ones were kept, not deleted
    expect((await fsp.readdir(node(2))).some((f) => f.startsWith("validator_keys.orphaned-"))).toBe(true);
    await recover(
      [
        [1, 1],
        [3, 3],
      ],
      lock,
    );
    // node 4 still holds the first lock: the chain of node 1 starts there
    const v = await runCli(["lock", "verify", "--lock", lockFile(1), "--chain", path.join(node(1), "locks")]);
    expect(v.code, v.stderr).toBe(0);
  }, 240_000);

  it("replaces operator 3 with a new one: the retiring operator deals, receives nothing, and can no longer run the old lock; the new cluster signs", async () => {
    const current = await readLock(lockFile(1));
    const def = path.join(dir, "replace.json");
    const made = await runCli([
      "definition",
      "reshare",
      "--lock",
      lockFile(1),
      "--operators",
      [peerOf(1), peerOf(2), `${peerId5}@/ip4/127.0.0.1/tcp/${await freePort()}`].join(","),
      "--threshold",
      "2",
      "--out",
      def,
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/1 retiring/);
    await signAll(def, [1, 2, 5, 3]);
    const retiringBefore = await fsp.readFile(lockFile(3), "utf8");
    // node 1 alone first: its failure report names each missing operator by its place in the new
    // set (null for the retiring one) and in the old lock (null for the new one)
    const lone = await startCli(["reshare", "--data-dir", node(1), "--definition", def, "--timeout", "3s"]).done;
    expect(lone.code).toBe(1);
    expect(lone.stderr).toContain(`${peerOf(3)} (retiring, old share 3)`);
    const failure = JSON.parse(await fsp.readFile(path.join(node(1), "dkg-failure.json"), "utf8"));
    expect(failure.culprits).toEqual([
      { ceremony_index: 2, share_index: 2, previous_share_index: 2, peer_id: peerOf(2) },
      { ceremony_index: 3, share_index: 3, previous_share_index: null, peer_id: peerId5 },
      { ceremony_index: 4, share_index: null, previous_share_index: 3, peer_id: peerOf(3) },
    ]);
    const runs = await Promise.all([
      reshare(1, def),
      reshare(2, def),
      reshare(5, def, ["--previous-lock", lockFile(1)]),
      reshare(3, def),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs[3]!.stdout).toMatch(/has left the cluster/);
    const lock = await readLock(lockFile(5));
    expect(toHex(lock.definition.lifecycle!.previousLockHash)).toBe(toHex(current.lockHash));
    expect(lock.nodeSignatures).toHaveLength(3);
    // the retiring operator's data dir keeps the chain (its old lock among it) and its keystores;
    // no cluster-lock.json is left for `cohort run`, which refuses the replaced lock even if restored
    expect(existsSync(lockFile(3))).toBe(false);
    expect(await fsp.readFile(path.join(node(3), "locks", `${toHex(current.lockHash)}.json`), "utf8")).toBe(
      retiringBefore,
    );
    expect(existsSync(path.join(node(3), "locks", `${toHex(lock.lockHash)}.json`))).toBe(true);
    expect(existsSync(path.join(node(3), "validator_keys", "keystore-0.json"))).toBe(true);
    await fsp.writeFile(lockFile(3), retiringBefore);
    const restarted = await runCli(["run", "--data-dir", node(3), "--api-address", "127.0.0.1:0"]);
    expect(restarted.code).toBe(2);
    expect(restarted.stderr).toMatch(/was replaced by lock .* run on that lock/);
    await recover(
      [
        [2, 2],
        [5, 3],
      ],
      lock,
    );
    const v = await runCli(["lock", "verify", "--lock", lockFile(5), "--chain", path.join(node(5), "locks")]);
    expect(v.code, v.stderr).toBe(0);
    // the pool's case: the replaced cluster signs with the same validator keys, one client per node
    const cluster = await clusterOf(net, 5);
    try {
      for (const i of [1, 2, 5]) await cluster.start(i);
      for (const i of [1, 2, 5]) await waitForPeers(cluster, i, 2);
      const dv = lock.distributedValidators[0]!;
      expect(toHex(dv.publicKey)).toBe(toHex(oldLock.distributedValidators[0]!.publicKey));
      const body = attestation();
      const replies = await Promise.all([1, 2, 5].map((i) => sign(cluster.apiUrl(i), toHex(dv.publicKey), body)));
      for (const r of replies) expect(r.status, JSON.stringify(r.json)).toBe(200);
      const sig = replies[0]!.json.signature as string;
      for (const r of replies) expect(r.json.signature).toBe(sig);
      expect(verify(dv.publicKey, rootOf(body), fromHex(sig, "signature", 96))).toBe(true);
    } finally {
      await cluster.stopAll();
    }
    // every new operator confirmed at the end of the ceremony: the retiring one may delete its shares
    await fsp.rm(lockFile(3));
    const deleted = await runCli(["lock", "delete-old-keys", "--data-dir", node(3)]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`replaced by ${toHex(lock.lockHash)}`);
    expect(existsSync(path.join(node(3), "validator_keys"))).toBe(false);
  }, 240_000);

  it("a kept operator that lost its shares receives new ones and deals nothing (--non-dealing)", async () => {
    // the cluster is now operators 1, 2 and 5 (t = 2); operator 2 loses its keystores, keeps its identity
    const current = await readLock(lockFile(2));
    const ids = current.definition.operators.map((o) => o.peerId);
    await fsp.rm(path.join(node(2), "validator_keys"), { recursive: true });
    const plain = await reshareDef("lost-plain.json", ["--operators", ids.join(","), "--threshold", "2"]);
    await signAll(plain, [1, 2, 5]);
    const refused = await reshare(2, plain);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds no keystore of it: .*--non-dealing/);
    // dealing would leave fewer than the old threshold: refused when the definition is made
    const tooFew = await runCli([
      "definition",
      "reshare",
      "--lock",
      lockFile(1),
      "--operators",
      ids.join(","),
      "--non-dealing",
      [ids[1], ids[2]].join(","),
      "--out",
      path.join(dir, "lost-too-few.json"),
    ]);
    expect(tooFew.code).toBe(2);
    expect(tooFew.stderr).toMatch(/at least the old threshold 2/);
    const def = await reshareDef("lost.json", [
      "--operators",
      ids.join(","),
      "--threshold",
      "2",
      "--non-dealing",
      ids[1]!,
    ]);
    const json = JSON.parse(await fsp.readFile(def, "utf8"));
    expect(json.non_dealing_operators).toEqual([ids[1]]);
    await signAll(def, [1, 2, 5]);
    const runs = await Promise.all([reshare(1, def), reshare(2, def), reshare(5, def)]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const lock = await readLock(lockFile(2));
    expect(lock.distributedValidators.map((dv) => toHex(dv.publicKey))).toEqual(
      current.distributedValidators.map((dv) => toHex(dv.publicKey)),
    );
    // operator 2's new share, with any other, recovers each key
    await recover(
      [
        [2, 2],
        [5, 3],
      ],
      lock,
    );
    await recover(
      [
        [1, 1],
        [2, 2],
      ],
      lock,
    );
    const v = await runCli(["lock", "verify", "--lock", lockFile(2), "--chain", path.join(node(2), "locks")]);
    expect(v.code, v.stderr).toBe(0);
  }, 240_000);
});

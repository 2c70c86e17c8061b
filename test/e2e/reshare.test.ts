// Cluster lifecycle through the built CLI, in child processes over libp2p: a reshare from 4
// operators (t = 3) to 5 (t = 4) keeps every validator key and deposit; every 4 of the 5 new
// keystores recover each key; old and new shares do not mix; the slashing floor moves with the key;
// `cohort run` on the new lock signs with one validator client per node; then validators are added.
import { existsSync, promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { type SecretKey, verify } from "../../src/crypto/bls.js";
import { decryptKeystore } from "../../src/crypto/keystore.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import { freePort } from "../../src/lib/ports.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { clusterOf, sign, type TestCluster, waitForPeers } from "../integration/cluster.js";
import { attestation, rootOf } from "../integration/duties.js";
import { runCli, startCli } from "./cli.js";

let dir: string;
let net: string;
let oldLock: ClusterLock;
let newLock: ClusterLock;
let cluster: TestCluster | undefined;
let peer5: string;
const node = (i: number) => path.join(net, `node-${i}`);
const readLock = async (file: string) => parseLock(JSON.parse(await fsp.readFile(file, "utf8")));
const confirmedFile = (i: number) => path.join(node(i), "locks", `${toHex(newLock.lockHash)}.confirmed.json`);

async function shares(dataDir: string, keysDir: string, count: number): Promise<SecretKey[]> {
  const out: SecretKey[] = [];
  for (let v = 0; v < count; v++) {
    const ks = JSON.parse(await fsp.readFile(path.join(dataDir, keysDir, `keystore-${v}.json`), "utf8"));
    out.push(await decryptKeystore(ks, await fsp.readFile(path.join(dataDir, keysDir, `keystore-${v}.txt`), "utf8")));
  }
  return out;
}

/** Runs one lifecycle command on nodes `nodes` at once; returns each result. */
async function ceremony(nodes: number[], args: (i: number) => string[]) {
  return Promise.all(nodes.map((i) => startCli(args(i)).done));
}

/** Every node signs the definition in turn. */
async function signAll(file: string, nodes: number[]) {
  for (const i of nodes) {
    const res = await runCli(["definition", "sign", "--data-dir", node(i), "--definition", file]);
    expect(res.code, res.stderr).toBe(0);
  }
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-reshare-"));
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
  oldLock = await readLock(path.join(node(1), "cluster-lock.json"));
  // operator 2 signed a block at slot 9000 and an attestation 200 → 201 with validator 0
  const db = new SlashingProtectionDb({ dataDir: node(2) });
  db.importRecords(oldLock.definition.network.genesisValidatorsRoot, [
    {
      pubkey: oldLock.distributedValidators[0]!.publicKey,
      signedBlocks: [{ slot: 9000n, signingRoot: null }],
      signedAttestations: [{ sourceEpoch: 200n, targetEpoch: 201n, signingRoot: null }],
    },
  ]);
  db.close();
  // operator 3 once imported a block at slot 50: its low watermark (50) lies below the floor
  const db3 = new SlashingProtectionDb({ dataDir: node(3) });
  db3.importRecords(oldLock.definition.network.genesisValidatorsRoot, [
    {
      pubkey: oldLock.distributedValidators[0]!.publicKey,
      signedBlocks: [{ slot: 50n, signingRoot: null }],
      signedAttestations: [],
    },
  ]);
  db3.close();
  const id = await runCli(["identity", "create", "--data-dir", node(5)]);
  expect(id.code, id.stderr).toBe(0);
  peer5 = id.stdout.match(/16Uiu2[1-9A-HJ-NP-Za-km-z]+/)![0];
}, 180_000);

afterAll(async () => {
  await cluster?.stopAll();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("cohort reshare", () => {
  it("4 operators (t=3) to 5 (t=4): same keys and deposits, a verified chain, old shares kept aside", async () => {
    const peerIds = oldLock.definition.operators.map((o) => o.peerId);
    const ids = [...peerIds, `${peer5}@/ip4/127.0.0.1/tcp/${await freePort()}`];
    const def = path.join(dir, "reshare.json");
    const made = await runCli([
      "definition",
      "reshare",
      "--lock",
      path.join(node(1), "cluster-lock.json"),
      "--operators",
      ids.join(","),
      "--threshold",
      "4",
      "--out",
      def,
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/4 operators \(t=3\) → 5 \(t=4\), 0 retiring/);
    await signAll(def, [1, 2, 3, 4, 5]);
    const runs = await ceremony([1, 2, 3, 4, 5], (i) => [
      "reshare",
      "--data-dir",
      node(i),
      "--definition",
      def,
      "--timeout",
      "2m",
      ...(i === 5 ? ["--previous-lock", path.join(node(1), "cluster-lock.json")] : []),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs[0]!.stderr).toMatch(/any 3 of the old shares still hold the validator keys/);
    newLock = await readLock(path.join(node(1), "cluster-lock.json"));
    for (let i = 2; i <= 5; i++) {
      expect(await fsp.readFile(path.join(node(i), "cluster-lock.json"), "utf8")).toBe(
        await fsp.readFile(path.join(node(1), "cluster-lock.json"), "utf8"),
      );
    }
    expect(toHex(newLock.definition.lifecycle!.previousLockHash)).toBe(toHex(oldLock.lockHash));
    expect(newLock.definition.operators).toHaveLength(5);
    newLock.distributedValidators.forEach((dv, v) => {
      const old = oldLock.distributedValidators[v]!;
      expect(toHex(dv.publicKey)).toBe(toHex(old.publicKey));
      expect(dv.depositData.map((d) => toHex(d.depositDataRoot))).toEqual(
        old.depositData.map((d) => toHex(d.depositDataRoot)),
      );
      expect(dv.publicShares).toHaveLength(5);
    });
    // every data dir holds the chain; lock verify checks it
    for (const i of [1, 5]) {
      for (const l of [oldLock, newLock])
        expect(existsSync(path.join(node(i), "locks", `${toHex(l.lockHash)}.json`))).toBe(true);
      const v = await runCli([
        "lock",
        "verify",
        "--lock",
        path.join(node(i), "cluster-lock.json"),
        "--chain",
        path.join(node(i), "locks"),
      ]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/chain ok: 2 lock\(s\)/);
    }
    // the old operators' previous keystores were kept aside, not deleted
    const aside = `validator_keys.previous-${toHex(oldLock.lockHash).slice(2, 10)}`;
    for (let i = 1; i <= 4; i++) expect(existsSync(path.join(node(i), aside, "keystore-0.json"))).toBe(true);
    // every operator confirmed at the end of the ceremony: each data dir records it
    const confirmed = JSON.parse(await fsp.readFile(confirmedFile(1), "utf8"));
    expect(confirmed.confirmed).toEqual(newLock.definition.operators.map((o) => o.peerId));
  }, 240_000);

  it("every 4 of the 5 new keystores recover each key; 3 do not; old and new shares do not mix", async () => {
    const fresh = await Promise.all([1, 2, 3, 4, 5].map((i) => shares(node(i), "validator_keys", 2)));
    const aside = `validator_keys.previous-${toHex(oldLock.lockHash).slice(2, 10)}`;
    const old = await Promise.all([1, 2, 3, 4].map((i) => shares(node(i), aside, 2)));
    for (let v = 0; v < 2; v++) {
      const key = toHex(oldLock.distributedValidators[v]!.publicKey);
      const pts = fresh.map((s, k) => ({ index: k + 1, value: s[v]! }));
      for (let skip = 0; skip < 5; skip++) {
        expect(toHex(recoverSecret(pts.filter((_, k) => k !== skip)).publicKey())).toBe(key);
      }
      expect(toHex(recoverSecret(pts.slice(0, 3)).publicKey())).not.toBe(key);
      const mixed = [{ index: 1, value: old[0]![v]! }, { index: 2, value: old[1]![v]! }, pts[2]!, pts[3]!];
      expect(toHex(recoverSecret(mixed).publicKey())).not.toBe(key);
      // the old shares still hold the key: only deleting them protects against the old operators
      expect(toHex(recoverSecret(old.slice(0, 3).map((s, k) => ({ index: k + 1, value: s[v]! }))).publicKey())).toBe(
        key,
      );
    }
  });

  it("every new operator's slashing database starts at the dealers' floor, a kept one's raised to it", async () => {
    const pk = oldLock.distributedValidators[0]!.publicKey;
    const root = new Uint8Array(32).fill(9) as never;
    for (const i of [5, 3, 1]) {
      const db = new SlashingProtectionDb({ dataDir: node(i) });
      try {
        const m = db.readMaxima(pk);
        expect(m?.maxBlock?.slot).toBe(9000n);
        expect(m?.maxAttestation).toMatchObject({ sourceEpoch: 200n, targetEpoch: 201n });
        // nothing at or below the floor is signed, on a node that had a lower watermark too
        expect(db.wouldRefuseBlock(pk, 8999n, root), `node ${i}`).toBeDefined();
        expect(db.wouldRefuseAttestation(pk, 150n, 199n, root), `node ${i}`).toBeDefined();
        expect(db.wouldRefuseBlock(pk, 9001n, root), `node ${i}`).toBeUndefined();
        // the other validator had no history anywhere: no floor
        const other = db.readMaxima(oldLock.distributedValidators[1]!.publicKey);
        expect(other?.maxBlock ?? null).toBeNull();
        expect(other?.maxAttestation ?? null).toBeNull();
      } finally {
        db.close();
      }
    }
  });

  it("a cohort run cluster on the new lock signs, with one validator client per node; running it confirms the lock for delete-old-keys", async () => {
    // node 2 as if the ceremony's confirmations never reached it: its old keys stay
    await fsp.rm(confirmedFile(2));
    const refused = await runCli(["lock", "delete-old-keys", "--data-dir", node(2)]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not deleting validator_keys\.previous-.*have not confirmed it/);
    expect(refused.stderr).toContain(`5 (${peer5})`);
    const aside = `validator_keys.previous-${toHex(oldLock.lockHash).slice(2, 10)}`;
    expect(existsSync(path.join(node(2), aside))).toBe(true);
    cluster = await clusterOf(net, 5);
    const nodes = [1, 2, 3, 4, 5];
    for (const i of nodes) await cluster.start(i);
    for (const i of nodes) await waitForPeers(cluster, i, 4);
    const pk = toHex(newLock.distributedValidators[1]!.publicKey);
    const body = attestation();
    const replies = await Promise.all(nodes.map((i) => sign(cluster!.apiUrl(i), pk, body)));
    for (const r of replies) expect(r.status, JSON.stringify(r.json)).toBe(200);
    const sig = replies[0]!.json.signature as string;
    for (const r of replies) expect(r.json.signature).toBe(sig);
    expect(verify(newLock.distributedValidators[1]!.publicKey, rootOf(body), Buffer.from(sig.slice(2), "hex"))).toBe(
      true,
    );
    // each peer announced the new lock when it connected: node 2 recorded all of them
    const all = newLock.definition.operators.map((o) => o.peerId);
    const recorded = async () =>
      existsSync(confirmedFile(2)) ? JSON.parse(await fsp.readFile(confirmedFile(2), "utf8")).confirmed : [];
    for (let k = 0; k < 100 && (await recorded()).length < all.length; k++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await recorded()).toEqual(all);
    await cluster.stopAll();
    const deleted = await runCli(["lock", "delete-old-keys", "--data-dir", node(2)]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/deleted .*validator_keys\.previous-/);
    expect(existsSync(path.join(node(2), aside))).toBe(false);
    expect(existsSync(path.join(node(2), "validator_keys", "keystore-0.json"))).toBe(true);
    expect(existsSync(path.join(node(3), aside))).toBe(true);
    const again = await runCli(["lock", "delete-old-keys", "--data-dir", node(2)]);
    expect(again.stdout).toMatch(/no old keystores/);
  }, 120_000);

  it("refuses a rerun over the lock it wrote, naming the data dir", async () => {
    const res = await runCli([
      "reshare",
      "--data-dir",
      node(1),
      "--definition",
      path.join(node(1), "cluster-definition.json"),
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/already holds the lock of this definition/);
  });
});

describe("cohort add-validators", () => {
  it("3 more validators among the same 5 operators: a lone node and a killed one fail cleanly, the rerun gives one lock of 5 that lock verify --chain accepts", async () => {
    const def = path.join(dir, "add.json");
    const made = await runCli([
      "definition",
      "add-validators",
      "--lock",
      path.join(node(1), "cluster-lock.json"),
      "--validators",
      "3",
      "--withdrawal-address",
      "0x000000000000000000000000000000000000dEaD",
      "--out",
      def,
    ]);
    expect(made.code, made.stderr).toBe(0);
    await signAll(def, [1, 2, 3, 4, 5]);
    // node 4 already holds a validator_keys.previous-<h> of this lock (an earlier attempt's): its
    // keystores never go onto it (ENOTEMPTY); they are kept as validator_keys.orphaned-<ms>
    const aside = path.join(node(4), `validator_keys.previous-${toHex(newLock.lockHash).slice(2, 10)}`);
    await fsp.cp(path.join(node(4), "validator_keys"), aside, { recursive: true });
    const add = (i: number, timeout = "2m") => [
      "add-validators",
      "--data-dir",
      node(i),
      "--definition",
      def,
      "--timeout",
      timeout,
    ];
    const peerIds = newLock.definition.operators.map((o) => o.peerId);
    const lockBefore = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => fsp.readFile(path.join(node(i), "cluster-lock.json"), "utf8")),
    );
    const unchanged = async () => {
      for (const i of [1, 2, 3, 4, 5]) {
        expect(await fsp.readFile(path.join(node(i), "cluster-lock.json"), "utf8")).toBe(lockBefore[i - 1]);
        expect(existsSync(path.join(node(i), "validator_keys", "keystore-2.json"))).toBe(false);
      }
    };
    // the DKG's faults: a lone node times out naming the others, writing only dkg-failure.json
    const lone = await runCli(add(1, "3s"));
    expect(lone.code).toBe(1);
    for (const id of peerIds.slice(1)) expect(lone.stderr).toContain(id);
    expect(JSON.parse(await fsp.readFile(path.join(node(1), "dkg-failure.json"), "utf8")).code).toBe("TIMEOUT");
    await unchanged();
    // a node killed mid-ceremony fails the others, with nothing written anywhere
    let killed = false;
    const broken = [1, 2, 3, 4, 5].map((i) =>
      startCli(add(i, "1m"), (line, child) => {
        if (i === 5 && !killed && line.includes("[sync] all peers connected")) {
          killed = true;
          child.kill("SIGKILL");
        }
      }),
    );
    const failed = await Promise.all(broken.map((r) => r.done));
    expect(killed).toBe(true);
    for (const r of failed.slice(0, 4)) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(peerIds[4]!);
    }
    await unchanged();
    // the rerun succeeds
    const runs = await ceremony([1, 2, 3, 4, 5], (i) => add(i));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(node(1), "dkg-failure.json"))).toBe(false);
    const lock = await readLock(path.join(node(3), "cluster-lock.json"));
    expect(lock.distributedValidators).toHaveLength(5);
    expect(existsSync(path.join(aside, "keystore-0.json"))).toBe(true);
    const orphaned = (await fsp.readdir(node(4))).filter((f) => f.startsWith("validator_keys.orphaned-"));
    expect(orphaned).toHaveLength(1);
    expect(existsSync(path.join(node(4), orphaned[0]!, "keystore-1.json"))).toBe(true);
    expect((await shares(node(4), "validator_keys", 5)).map((k) => toHex(k.publicKey()))).toEqual(
      lock.distributedValidators.map((dv) => toHex(dv.publicShares[3]!)),
    );
    lock.distributedValidators.slice(0, 2).forEach((dv, v) => {
      expect(toHex(dv.publicKey)).toBe(toHex(newLock.distributedValidators[v]!.publicKey));
    });
    // keystore numbering continues; deposit data only for the new validators
    const ks = await shares(node(3), "validator_keys", 5);
    lock.distributedValidators.forEach((dv, v) => {
      expect(toHex(ks[v]!.publicKey())).toBe(toHex(dv.publicShares[2]!));
    });
    const deposit = (await fsp.readdir(node(3))).find((f) => f.startsWith("deposit-data-"))!;
    const entries = JSON.parse(await fsp.readFile(path.join(node(3), deposit), "utf8")) as { pubkey: string }[];
    expect(entries.map((e) => `0x${e.pubkey}`)).toEqual(
      lock.distributedValidators.slice(2).map((dv) => toHex(dv.publicKey)),
    );
    const v = await runCli([
      "lock",
      "verify",
      "--lock",
      path.join(node(3), "cluster-lock.json"),
      "--chain",
      path.join(node(3), "locks"),
    ]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/chain ok: 3 lock\(s\)/);
  }, 240_000);
});

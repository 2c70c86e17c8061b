// `cohort create cluster --split-existing-keys` and `cohort split import|sign-lock|assemble` through
// the built CLI: the EIP-2335 test vector's key (../shared/vectors/eip2335/pbkdf2.json, from
// staking-deposit-cli test0.json) is split 4 ways with t = 3 by a trusted dealer; every operator
// imports its bundle, the lock is signed and assembled, and it passes `cohort lock verify`. The
// solo validator's EIP-3076 history reaches every operator's database, `cohort combine` gives the
// vector's secret back, and any 3 shares sign for the vector's public key.
import { existsSync, promises as fsp, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLock } from "../../src/cluster/lock.js";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { decryptKeystore, encryptKeystores } from "../../src/crypto/keystore.js";
import { combineSignatures } from "../../src/crypto/tbls.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { toHex } from "../../src/lib/bytes.js";
import { freePort } from "../../src/lib/ports.js";
import { parseInterchangeText } from "../../src/slashing/interchange.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { VECTORS_DIR } from "../helpers/vectors.js";
import { clusterOf, sign, waitForPeers } from "../integration/cluster.js";
import { attestation, rootOf } from "../integration/duties.js";
import { type CliResult, runCli } from "./cli.js";

const VECTOR_FILE = path.join(VECTORS_DIR, "eip2335/pbkdf2.json");
const VECTOR_PASSWORD = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
const VECTOR_SECRET = "0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const VECTOR_PUBKEY =
  "0x9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07";
const WITHDRAWAL = "0x000000000000000000000000000000000000dEaD";
const N = 4;
const T = 3;

let dir: string;
const ports: number[] = [];
let keystores: string;
let bundles: string;
let historyFile: string;
const peerIds: string[] = [];
const gvr = toHex(resolveNetwork("mainnet").genesisValidatorsRoot);
const dataDir = (i: number) => path.join(dir, `node-${i}`);
const bundle = (i: number) => path.join(bundles, `operator-${i}`);
const root = (b: number) => `0x${b.toString(16).padStart(2, "0").repeat(32)}`;

function ok(res: CliResult): CliResult {
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
  return res;
}

/** Exit 2 with exactly one line on stderr, matching `why`. */
function badInput(res: CliResult, why: RegExp): void {
  expect(res.code, res.stderr).toBe(2);
  const lines = res.stderr.trim().split("\n");
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(why);
}

async function readShare(d: string): Promise<SecretKey> {
  const ks = JSON.parse(await fsp.readFile(path.join(d, "validator_keys/keystore-0.json"), "utf8"));
  return decryptKeystore(ks, await fsp.readFile(path.join(d, "validator_keys/keystore-0.txt"), "utf8"));
}

function createArgs(keystoreDir: string, out: string, extra: string[] = []): string[] {
  return [
    "create",
    "cluster",
    "--split-existing-keys",
    "--keystores",
    keystoreDir,
    "--operators",
    peerIds.map((id, k) => `${id}@/ip4/127.0.0.1/tcp/${ports[k]}`).join(","),
    "--threshold",
    String(T),
    "--network",
    "mainnet",
    "--withdrawal-address",
    WITHDRAWAL,
    "--name",
    "solo-to-cluster",
    ...extra,
    "--out",
    out,
  ];
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-split-"));
  keystores = path.join(dir, "solo");
  await fsp.mkdir(keystores);
  // the vector is read where it lies, never copied
  await fsp.symlink(VECTOR_FILE, path.join(keystores, "keystore-vector.json"));
  await fsp.writeFile(path.join(keystores, "keystore-vector.txt"), `${VECTOR_PASSWORD}\n`);
  historyFile = path.join(dir, "solo-history.json");
  await fsp.writeFile(
    historyFile,
    JSON.stringify({
      metadata: { interchange_format_version: "5", genesis_validators_root: gvr },
      data: [
        {
          pubkey: VECTOR_PUBKEY,
          signed_blocks: [{ slot: "100", signing_root: root(0x11) }],
          signed_attestations: [{ source_epoch: "10", target_epoch: "11", signing_root: root(0x22) }],
        },
      ],
    }),
  );
  for (let i = 1; i <= N; i++) {
    peerIds.push(ok(await runCli(["identity", "create", "--data-dir", dataDir(i)])).stdout.trim());
    ports.push(await freePort());
  }
  bundles = path.join(dir, "bundles");
}, 60_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("cohort create cluster --split-existing-keys", () => {
  it("a dealer splits the vector's key into one bundle per operator", async () => {
    const res = ok(await runCli(createArgs(keystores, bundles, ["--slashing-history", historyFile])));
    expect(res.stdout).toMatch(/split 1 validator key\(s\) into 4 shares, threshold 3, on mainnet/);
    expect(res.stdout).toContain(VECTOR_PUBKEY);
    expect(res.stdout).toMatch(/slashing history: 1 validator\(s\), 1 block\(s\), 1 attestation\(s\)/);
    expect(res.stderr).toMatch(/held the whole validator keys.*delete the source keystores/);
    expect(res.stderr).not.toContain(VECTOR_PASSWORD);
    expect(res.stdout).not.toContain(VECTOR_SECRET.slice(2));
    for (let i = 1; i <= N; i++) {
      expect(statSync(bundle(i)).mode & 0o777).toBe(0o700);
      for (const f of [
        "cluster-definition.json",
        "split-draft.json",
        "slashing-protection-interchange.json",
        "validator_keys/keystore-0.json",
        "validator_keys/keystore-0.txt",
      ]) {
        expect(statSync(path.join(bundle(i), f)).mode & 0o777, f).toBe(0o600);
      }
    }
    // a fresh password per share keystore
    const passwords = new Set<string>();
    for (let i = 1; i <= N; i++) {
      passwords.add(await fsp.readFile(path.join(bundle(i), "validator_keys/keystore-0.txt"), "utf8"));
    }
    expect(passwords.size).toBe(N);
    // nothing staged is left beside --out
    expect((await fsp.readdir(dir)).filter((e) => e.includes(".split-"))).toEqual([]);
  }, 60_000);

  it("refuses an import for another identity, a tampered share, a missing password file: exit 2, nothing written", async () => {
    // bundle 1 in a data dir whose identity is not operator 0's
    const stranger = path.join(dir, "stranger");
    ok(await runCli(["identity", "create", "--data-dir", stranger]));
    badInput(
      await runCli(["split", "import", "--bundle", bundle(1), "--data-dir", stranger]),
      /--bundle .*operator-1 is operator 0's \(share 1, .*\), not this data dir's identity/,
    );
    expect(await fsp.readdir(stranger)).toEqual(["identity.key"]);

    // operator 2's bundle with its share swapped for another key (a valid keystore that decrypts)
    const tampered = path.join(dir, "tampered-2");
    await fsp.cp(bundle(2), tampered, { recursive: true });
    const [other] = await encryptKeystores([{ secret: SecretKey.random(), path: "" }], "pw");
    await fsp.writeFile(path.join(tampered, "validator_keys/keystore-0.json"), JSON.stringify(other));
    await fsp.writeFile(path.join(tampered, "validator_keys/keystore-0.txt"), "pw");
    const op2 = path.join(dir, "op-2-copy");
    await fsp.mkdir(op2, { mode: 0o700 });
    await fsp.copyFile(path.join(dataDir(2), "identity.key"), path.join(op2, "identity.key"));
    badInput(
      await runCli(["split", "import", "--bundle", tampered, "--data-dir", op2]),
      /the share of validator 0 \(0x9612d7a7.*\) is not public share 2 of the draft/,
    );
    expect(await fsp.readdir(op2)).toEqual(["identity.key"]);

    // the bundle's password file gone
    const noPassword = path.join(dir, "no-password-2");
    await fsp.cp(bundle(2), noPassword, { recursive: true });
    await fsp.rm(path.join(noPassword, "validator_keys/keystore-0.txt"));
    badInput(
      await runCli(["split", "import", "--bundle", noPassword, "--data-dir", op2]),
      /cannot read validator_keys\/keystore-0\.txt \(ENOENT\)/,
    );
    expect(await fsp.readdir(op2)).toEqual(["identity.key"]);

    // the dealer's source keystore without its password file
    const noSourcePassword = path.join(dir, "solo-no-password");
    await fsp.mkdir(noSourcePassword);
    await fsp.symlink(VECTOR_FILE, path.join(noSourcePassword, "keystore-vector.json"));
    const never = path.join(dir, "never");
    badInput(
      await runCli(createArgs(noSourcePassword, never)),
      /password file .*solo-no-password\/keystore-vector\.txt for keystore-vector\.json is missing/,
    );
    expect(existsSync(never)).toBe(false);

    // a history with another validator in it, and an existing --out
    const foreign = path.join(dir, "foreign-history.json");
    const doc = JSON.parse(await fsp.readFile(historyFile, "utf8"));
    doc.data.push({ ...doc.data[0], pubkey: toHex(SecretKey.random().publicKey()) });
    await fsp.writeFile(foreign, JSON.stringify(doc));
    badInput(
      await runCli(createArgs(keystores, never, ["--slashing-history", foreign])),
      /"data\[1\]\.pubkey" 0x[0-9a-f]{96} is not one of the split validators/,
    );
    expect(existsSync(never)).toBe(false);
    badInput(await runCli(createArgs(keystores, bundles)), /--out .*bundles already exists/);
  }, 120_000);

  it("every operator imports and signs; the assembled lock passes cohort lock verify", async () => {
    // the definition goes round: each operator adds its approval to the previous one's copy
    for (let i = 1; i <= N; i++) {
      const args = ["split", "import", "--bundle", bundle(i), "--data-dir", dataDir(i)];
      if (i > 1) args.push("--definition", path.join(dataDir(i - 1), "cluster-definition.json"));
      if (i === 2) {
        // operator 0's approval altered on the way: refused, naming it, nothing written
        const altered = path.join(dir, "altered-definition.json");
        const d = JSON.parse(await fsp.readFile(path.join(dataDir(1), "cluster-definition.json"), "utf8"));
        const sig: string = d.operators[0].config_signature;
        d.operators[0].config_signature = `${sig.slice(0, -2)}${sig.endsWith("00") ? "01" : "00"}`;
        await fsp.writeFile(altered, JSON.stringify(d));
        badInput(
          await runCli(["split", "import", "--bundle", bundle(2), "--data-dir", dataDir(2), "--definition", altered]),
          /operator 0 \(.*\): "operators\[0\]\.config_signature" does not verify/,
        );
        expect(await fsp.readdir(dataDir(2))).toEqual(["identity.key"]);
      }
      const res = ok(await runCli(args));
      expect(res.stdout).toMatch(new RegExp(`imported share ${i} of 1 validator\\(s\\)`));
      expect(res.stdout).toMatch(/slashing history imported: 1 validator\(s\), 1 block\(s\), 1 attestation\(s\)/);
      expect(res.stdout).toMatch(new RegExp(`${i} of ${N} operators have signed`));
      expect(statSync(path.join(dataDir(i), "validator_keys/keystore-0.json")).mode & 0o777).toBe(0o600);
    }
    const signed = path.join(dataDir(N), "cluster-definition.json");
    ok(await runCli(["definition", "verify", "--definition", signed]));

    // an operator cannot sign the lock before every operator approved
    badInput(
      await runCli([
        "split",
        "sign-lock",
        "--data-dir",
        dataDir(1),
        "--definition",
        path.join(dataDir(1), "cluster-definition.json"),
      ]),
      /operator 1 .* has not signed the definition/,
    );
    const sigs: string[] = [];
    let lockHash = "";
    for (let i = 1; i <= N; i++) {
      const res = ok(await runCli(["split", "sign-lock", "--data-dir", dataDir(i), "--definition", signed]));
      const hash = /lock_hash: (0x[0-9a-f]{64})/.exec(res.stdout)![1]!;
      if (i > 1) expect(hash).toBe(lockHash);
      lockHash = hash;
      sigs.push(path.join(dataDir(i), `lock-signature-${i}.json`));
    }

    // refused, naming the operator; nothing written
    badInput(
      await runCli(["split", "assemble", "--data-dir", dataDir(1), "--signatures", ...sigs.slice(0, 3)]),
      /3 of 4 lock signatures given; missing operator 3 \(share 4, /,
    );
    const otherHash = path.join(dir, "lock-signature-other-hash.json");
    const s3 = JSON.parse(await fsp.readFile(sigs[2]!, "utf8"));
    await fsp.writeFile(otherHash, JSON.stringify({ ...s3, lock_hash: root(0x33) }));
    badInput(
      await runCli([
        "split",
        "assemble",
        "--data-dir",
        dataDir(1),
        "--signatures",
        sigs[0]!,
        sigs[1]!,
        otherHash,
        sigs[3]!,
      ]),
      /operator 2 \(share 3, .*\) signed lock_hash 0x3333.*, not this lock's/,
    );
    const s4 = JSON.parse(await fsp.readFile(sigs[3]!, "utf8"));
    const badShare = path.join(dir, "lock-signature-bad-share.json");
    await fsp.writeFile(badShare, JSON.stringify({ ...s4, share_signature_aggregate: s3.share_signature_aggregate }));
    badInput(
      await runCli([
        "split",
        "assemble",
        "--data-dir",
        dataDir(1),
        "--signatures",
        sigs[0]!,
        sigs[1]!,
        sigs[2]!,
        badShare,
      ]),
      /operator 3 \(share 4, .*\): share_signature_aggregate does not verify/,
    );
    expect(existsSync(path.join(dataDir(1), "cluster-lock.json"))).toBe(false);

    const locks: string[] = [];
    for (let i = 1; i <= N; i++) {
      const res = ok(await runCli(["split", "assemble", "--data-dir", dataDir(i), "--signatures", ...sigs]));
      expect(res.stdout).toContain(`lock ok: ${lockHash}`);
      locks.push(await fsp.readFile(path.join(dataDir(i), "cluster-lock.json"), "utf8"));
      expect(existsSync(path.join(dataDir(i), "deposit-data-32eth.json"))).toBe(true);
    }
    expect(new Set(locks).size).toBe(1);
    const verified = ok(await runCli(["lock", "verify", "--lock", path.join(dataDir(1), "cluster-lock.json")]));
    expect(verified.stdout).toContain(`lock ok: ${lockHash}`);
    expect(verified.stdout).toContain(VECTOR_PUBKEY);
    const lock = parseLock(JSON.parse(locks[0]!));
    expect(toHex(lock.distributedValidators[0]!.publicKey)).toBe(VECTOR_PUBKEY);
    expect(lock.definition.threshold).toBe(T);
    // the deposit data is the whole key's, for the vector's key
    const deposit = JSON.parse(await fsp.readFile(path.join(dataDir(1), "deposit-data-32eth.json"), "utf8"));
    expect(deposit[0].pubkey).toBe(VECTOR_PUBKEY.slice(2));
    // a second assemble never writes over the lock
    badInput(
      await runCli(["split", "assemble", "--data-dir", dataDir(1), "--signatures", ...sigs]),
      /already holds cluster-lock\.json/,
    );
  }, 240_000);

  it("each operator's slashing database refuses what the solo history makes slashable", () => {
    const pk = Buffer.from(VECTOR_PUBKEY.slice(2), "hex");
    const other = new Uint8Array(32).fill(0x99);
    for (let i = 1; i <= N; i++) {
      const store = new SlashingProtectionDb({ dataDir: dataDir(i) });
      try {
        expect(toHex(store.genesisValidatorsRoot!)).toBe(gvr);
        expect(store.wouldRefuseBlock(pk, 100n, other)).toBeInstanceOf(SlashingError);
        expect(store.wouldRefuseBlock(pk, 99n, other)).toBeInstanceOf(SlashingError);
        expect(store.wouldRefuseAttestation(pk, 9n, 12n, other)).toBeInstanceOf(SlashingError);
        expect(store.wouldRefuseAttestation(pk, 10n, 11n, other)).toBeInstanceOf(SlashingError);
        // what the history allows stays allowed
        expect(store.wouldRefuseBlock(pk, 101n, other)).toBeUndefined();
        expect(store.wouldRefuseAttestation(pk, 11n, 12n, other)).toBeUndefined();
      } finally {
        store.close();
      }
    }
  });

  it("any 3 shares sign for the vector's key; 2 do not", async () => {
    const shares = await Promise.all([1, 2, 3, 4].map((i) => readShare(dataDir(i))));
    const msg = new Uint8Array(32).fill(7);
    const pk = Buffer.from(VECTOR_PUBKEY.slice(2), "hex");
    const partials = shares.map((s, k) => ({ index: k + 1, value: s.sign(msg) }));
    for (const skip of [0, 1, 2, 3]) {
      const three = partials.filter((_, k) => k !== skip);
      expect(verify(pk, msg, combineSignatures(three)), `without share ${skip + 1}`).toBe(true);
    }
    expect(verify(pk, msg, combineSignatures(partials.slice(0, 2)))).toBe(false);
  });

  it("a cohort run cluster of the 4 operators signs for the vector's key, one validator client per node", async () => {
    const cluster = await clusterOf(dir, N);
    try {
      for (let i = 1; i <= N; i++) await cluster.start(i);
      for (let i = 1; i <= N; i++) await waitForPeers(cluster, i, N - 1);
      const body = attestation();
      const replies = await Promise.all([1, 2, 3, 4].map((i) => sign(cluster.apiUrl(i), VECTOR_PUBKEY, body)));
      for (const r of replies) expect(r.status, JSON.stringify(r.json)).toBe(200);
      const sig = replies[0]!.json.signature as string;
      for (const r of replies) expect(r.json.signature).toBe(sig);
      const pk = Buffer.from(VECTOR_PUBKEY.slice(2), "hex");
      expect(verify(pk, rootOf(body), Buffer.from(sig.slice(2), "hex"))).toBe(true);
    } finally {
      await cluster.stopAll();
    }
  }, 120_000);

  it("cohort combine from 3 operators gives the vector's secret and the solo history", async () => {
    const out = path.join(dir, "whole");
    ok(await runCli(["combine", "--data-dir", dataDir(1), dataDir(3), dataDir(4), "--out", out, "--kdf", "pbkdf2"]));
    const secret = await decryptKeystore(
      JSON.parse(await fsp.readFile(path.join(out, "keystore-0.json"), "utf8")),
      await fsp.readFile(path.join(out, "keystore-0.txt"), "utf8"),
    );
    expect(toHex(secret.toBytes())).toBe(VECTOR_SECRET);
    expect(toHex(secret.publicKey())).toBe(VECTOR_PUBKEY);
    const merged = parseInterchangeText(
      await fsp.readFile(path.join(out, "slashing-protection-interchange.json"), "utf8"),
    );
    expect(merged.data).toHaveLength(1);
    expect(toHex(merged.data[0]!.pubkey)).toBe(VECTOR_PUBKEY);
    expect(merged.data[0]!.signedBlocks.map((b) => b.slot)).toEqual([100n]);
    // the solo history, and the attestation the cluster signed above
    const votes = merged.data[0]!.signedAttestations.map((a) => [a.sourceEpoch, a.targetEpoch]);
    expect(votes).toHaveLength(2);
    expect(votes[0]).toEqual([10n, 11n]);
  }, 120_000);

  it("has --help for every stage", async () => {
    const create = ok(await runCli(["create", "cluster", "--help"]));
    expect(create.stdout).toMatch(/--split-existing-keys/);
    expect(create.stdout).toMatch(/same-named\s+\.txt/);
    for (const cmd of ["import", "sign-lock", "assemble"]) {
      expect(ok(await runCli(["split", cmd, "--help"])).stdout).toMatch(/--data-dir/);
    }
    badInput(
      await runCli([
        "create",
        "cluster",
        "--operators",
        peerIds.join(","),
        "--withdrawal-address",
        WITHDRAWAL,
        "--out",
        "x",
      ]),
      /needs --split-existing-keys/,
    );
  });
});

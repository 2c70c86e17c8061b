// `cohort run` × 4 (t = 3) as OS processes over libp2p on loopback, driven through the Web3Signer API.
import { promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { parseSignRequest, requestSigningRoot } from "../../src/eth2/requests.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import { serveChannel } from "../../src/p2p/channel.js";
import { createHost, keepConnected } from "../../src/p2p/host.js";
import { loadIdentity } from "../../src/p2p/identity.js";
import { PARSIG_PROTOCOL } from "../../src/p2p/protocols.js";
import { ParSigResponse } from "../../src/pb/parsig.js";
import { allSignRequests, attestationRequest, mainnetForkInfo } from "../helpers/signRequests.js";
import { makeCluster, sign, type TestCluster, waitForPeers } from "./cluster.js";

const mainnet = resolveNetwork("mainnet");
let tmp: string;
let cluster: TestCluster;
let pk: string;

function rootOf(body: unknown): Uint8Array {
  return requestSigningRoot(parseSignRequest(body), mainnet);
}

function expectValid(res: { status: number; json: Record<string, unknown> }, body: unknown, key = pk): void {
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  expect(verify(fromHex(key, "pk", 48), rootOf(body), fromHex(res.json.signature, "signature", 96))).toBe(true);
}

/** An attestation body for validator duties at a given target epoch, with a distinguishing block root byte. */
function attestation(target: number, tag: number) {
  const base = attestationRequest(mainnetForkInfo("electra")).body as unknown as {
    attestation: { source: { epoch: string }; target: { epoch: string }; beacon_block_root: string };
  };
  const body = structuredClone(base);
  body.attestation.source.epoch = String(target - 1);
  body.attestation.target.epoch = String(target);
  body.attestation.beacon_block_root = `0x${tag.toString(16).padStart(2, "0").repeat(32)}`;
  return body;
}

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-cluster-"));
  cluster = await makeCluster(path.join(tmp, "net"), { nodes: 4, validators: 2, network: "mainnet" });
  pk = toHex(cluster.lock.distributedValidators[0]!.publicKey);
  await Promise.all([1, 2, 3, 4].map((i) => cluster.start(i)));
  await waitForPeers(cluster, 1, 3);
}, 240_000);

afterAll(async () => {
  await cluster?.stopAll();
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe("signing cluster, 4 nodes, t = 3", () => {
  it("signs all 13 request types; each signature verifies under the validator key", async () => {
    const pk2 = toHex(cluster.lock.distributedValidators[1]!.publicKey);
    for (const { type, body } of allSignRequests(mainnetForkInfo("electra"), "electra")) {
      // BLOCK and BLOCK_V2 fixtures share a slot: one validator signing both would be a double proposal
      const key = type === "BLOCK_V2" ? pk : pk2;
      const res = await sign(cluster.apiUrl(2), key, body);
      expect(res.status, `${type}: ${JSON.stringify(res.json)}`).toBe(200);
      expectValid(res, body, key);
    }
  }, 120_000);

  it("a double vote is refused with 412 at any node", async () => {
    const first = attestation(400_000, 1);
    expectValid(await sign(cluster.apiUrl(1), pk, first), first);
    // the exact repeat is allowed, at another node too
    expectValid(await sign(cluster.apiUrl(3), pk, first), first);
    // fan-out is hedged, so a node may never have been asked for `first`: then its own check
    // passes and its peers' refusals, which leave fewer than t signers, give the 412
    for (const i of [1, 2, 3, 4]) {
      const res = await sign(cluster.apiUrl(i), pk, attestation(400_000, 2));
      expect(res.status, `node ${i}: ${JSON.stringify(res.json)}`).toBe(412);
      expect(res.json.slashing_code, `node ${i}`).toBe("DOUBLE_VOTE");
    }
  }, 60_000);

  it("a node that was down when a vote was signed: its peers' refusals of a conflicting vote give a 412 naming them", async () => {
    await cluster.stop(4);
    const first = attestation(400_500, 1);
    expectValid(await sign(cluster.apiUrl(1), pk, first), first);
    await cluster.start(4);
    await waitForPeers(cluster, 4, 3);
    // node 4's own database never saw `first`, so only its peers can refuse
    const res = await sign(cluster.apiUrl(4), pk, attestation(400_500, 2));
    expect(res.status, JSON.stringify(res.json)).toBe(412);
    expect(res.json.slashing_code).toBe("DOUBLE_VOTE");
    const refused = res.json.refused as string[];
    expect(refused.length).toBeGreaterThanOrEqual(2);
    const peerIds = cluster.lock.definition.operators.slice(0, 3).map((o) => o.peerId);
    for (const entry of refused) {
      expect(
        peerIds.some((id) => entry.includes(id) && entry.endsWith(": DOUBLE_VOTE")),
        entry,
      ).toBe(true);
    }
  }, 60_000);

  it("conflicting attestations sent to different nodes at once never both yield a valid signature", async () => {
    for (let k = 0; k < 5; k++) {
      const target = 401_000 + k;
      const a = attestation(target, 10);
      const b = attestation(target, 11);
      const [ra, rb] = await Promise.all([sign(cluster.apiUrl(1), pk, a), sign(cluster.apiUrl(2), pk, b)]);
      const valid = (r: typeof ra, body: unknown) =>
        r.status === 200 && verify(fromHex(pk, "pk", 48), rootOf(body), fromHex(r.json.signature, "signature", 96));
      expect(valid(ra, a) && valid(rb, b), `round ${k}: ${ra.status} ${rb.status}`).toBe(false);
    }
  }, 60_000);

  it("one node down: still signs; two down: 503 within the deadline naming the missing peers", async () => {
    await cluster.stop(4);
    const one = attestation(402_000, 1);
    expectValid(await sign(cluster.apiUrl(1), pk, one), one);
    await cluster.stop(3);
    const two = attestation(402_001, 1);
    const res = await sign(cluster.apiUrl(1), pk, two);
    expect(res.status).toBe(503);
    const peer3 = cluster.lock.definition.operators[2]!.peerId;
    const peer4 = cluster.lock.definition.operators[3]!.peerId;
    expect(String(res.json.error)).toContain(peer3);
    expect(String(res.json.error)).toContain(peer4);
  }, 60_000);

  it("a node restarted mid-run: signing resumes", async () => {
    await cluster.start(3);
    await waitForPeers(cluster, 1, 2);
    const body = attestation(403_000, 1);
    expectValid(await sign(cluster.apiUrl(1), pk, body), body);
    await cluster.start(4);
  }, 60_000);

  it("bad input gets 400/413 and the node stays up", async () => {
    const url = `${cluster.apiUrl(1)}/api/v1/eth2/sign`;
    const post = (suffix: string, body: string) =>
      fetch(`${url}/${suffix}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect((await post(pk, "{not json")).status).toBe(400);
    expect((await post(pk, JSON.stringify({ type: "ATTESTATION", attestation: 7 }))).status).toBe(400);
    expect((await post(pk.slice(0, 50), JSON.stringify(attestation(404_000, 1)))).status).toBe(400);
    expect((await post(pk, `{"type":"ATTESTATION","pad":"${"x".repeat(2 * 1024 * 1024)}"}`)).status).toBe(413);
    const ok = attestation(404_000, 1);
    expectValid(await sign(cluster.apiUrl(1), pk, ok), ok);
  }, 60_000);

  it("a peer answering with garbage partials: signatures stay correct, the peer is counted, nothing unverified is returned", async () => {
    // node 4's identity, but a parsig handler that answers with random valid G2 points
    await cluster.stop(4);
    const identity = await loadIdentity(path.join(cluster.dir, "node-4"));
    const operators = cluster.lock.definition.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses }));
    const host = await createHost({ identity, peers: operators, listenAddresses: [operators[3]!.addresses[0]!] });
    await serveChannel(
      host,
      PARSIG_PROTOCOL,
      async () =>
        ParSigResponse.encode({
          shareIndex: 4,
          partialSignature: SecretKey.random().sign(new Uint8Array(32)) as Uint8Array<ArrayBuffer>,
          refusalCode: "",
          refusalMessage: "",
        }),
      silentLogger(),
    );
    await host.start();
    const connecting = new AbortController();
    keepConnected(host, operators, { signal: connecting.signal });
    try {
      await waitForPeers(cluster, 1, 3);
      const withThree = attestation(405_000, 1);
      expectValid(await sign(cluster.apiUrl(1), pk, withThree), withThree);
      // with node 3 gone, the garbage partial is needed: it is checked, dropped and counted
      await cluster.stop(3);
      const res = await sign(cluster.apiUrl(1), pk, attestation(405_001, 1));
      expect(res.status).toBe(503);
      expect(res.json.invalid).toEqual([`4 (${operators[3]!.peerId})`]);
      expect(res.json.missing).toEqual([`3 (${operators[2]!.peerId})`]);
      const metrics = await (await fetch(cluster.metricsUrl(1))).text();
      const invalid = /cohort_partials_invalid_total\{peer="4"\} (\d+)/.exec(metrics);
      expect(Number(invalid?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    } finally {
      connecting.abort();
      await host.stop();
    }
  }, 60_000);
});

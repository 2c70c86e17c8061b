// `cohort run` × 4 (t = 3) as OS processes over libp2p on loopback, with one validator client per
// node: every request goes to every node, as n operators' clients send it (DESIGN.md § Signing
// protocol, "The deployment this serves"). Duties are at mainnet's wall-clock slot.
import { promises as fsp } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_AWAITING_CONSENT } from "../../src/cli/consent.js";
import { verify } from "../../src/crypto/bls.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import { ChannelClient, OneWaySender, serveChannel, serveOneWay } from "../../src/p2p/channel.js";
import { createHost, type Host, keepConnected } from "../../src/p2p/host.js";
import { loadIdentity } from "../../src/p2p/identity.js";
import { CONSENSUS_PROTOCOL, PARSIG_PROTOCOL } from "../../src/p2p/protocols.js";
import { Batch } from "../../src/pb/consensus.js";
import { ParSigRequest, ParSigResponse } from "../../src/pb/parsig.js";
import { runCli } from "../e2e/cli.js";
import { makeCluster, sign, type TestCluster, waitForPeers } from "./cluster.js";
import {
  attestation,
  blockHeader,
  currentDuties,
  depositBody,
  FORK_INFO,
  nowSlot,
  registrationBody,
  rootOf,
  slotAfter,
} from "./duties.js";

let tmp: string;
let cluster: TestCluster;
/** Validators are handed out one per test (or per case), so no test's records block another's. */
let nextValidator = 0;
const key = () => toHex(cluster.lock.distributedValidators[nextValidator++]!.publicKey);
const NODES = [1, 2, 3, 4];

type Reply = { status: number; json: Record<string, unknown> };

/** Sends `bodies[i]` to node `nodes[i]` at once: one validator client per node. */
function signAt(pk: string, nodes: number[], bodies: unknown[] | unknown): Promise<Reply[]> {
  return Promise.all(nodes.map((n, i) => sign(cluster.apiUrl(n), pk, Array.isArray(bodies) ? bodies[i] : bodies)));
}

/**
 * A local HTTP server in a beacon node's place: records each POST to its pool, answers 200, or
 * `refuse` with a beacon-API error body.
 */
async function beaconStandIn() {
  const received: { path: string; body: unknown }[] = [];
  const state: { refuse?: { status: number; message: string } } = {};
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      if (state.refuse !== undefined) {
        res.writeHead(state.refuse.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: state.refuse.status, message: state.refuse.message }));
        return;
      }
      received.push({ path: req.url ?? "", body: JSON.parse(text) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    set refuse(r: { status: number; message: string }) {
      state.refuse = r;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function valid(pk: string, r: Reply, body: unknown): boolean {
  return r.status === 200 && verify(fromHex(pk, "pk", 48), rootOf(body), fromHex(r.json.signature, "signature", 96));
}

/** Exactly one signature among the replies, valid for the body it was asked for; the others name its root. */
function expectOneSignature(pk: string, replies: Reply[], bodies: unknown[], conflict: 409 | 412): void {
  const ok = replies.map((r, i) => ({ r, body: bodies[i] })).filter(({ r }) => r.status === 200);
  expect(ok.length, JSON.stringify(replies.map((r) => [r.status, r.json]))).toBeGreaterThanOrEqual(1);
  expect(new Set(ok.map(({ r }) => r.json.signature)).size).toBe(1);
  for (const { r, body } of ok) expect(valid(pk, r, body)).toBe(true);
  const winner = toHex(rootOf(ok[0]!.body));
  for (const r of replies.filter((x) => x.status !== 200)) {
    expect(r.status, JSON.stringify(r.json)).toBe(conflict);
    expect(r.json.decided_signing_root).toBe(winner);
  }
}

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-cluster-"));
  cluster = await makeCluster(path.join(tmp, "net"), { nodes: 4, validators: 40, network: "mainnet" });
  await Promise.all(NODES.map((i) => cluster.start(i)));
  for (const i of NODES) await waitForPeers(cluster, i, 3);
}, 240_000);

afterAll(async () => {
  await cluster?.stopAll();
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe("signing cluster, 4 nodes, t = 3, one validator client per node", () => {
  it("every client asks the same: each duty type signs at every node, one signature that verifies", async () => {
    for (const [type, body] of Object.entries(currentDuties())) {
      if (type === "VOLUNTARY_EXIT") continue;
      const pk = key();
      const replies = await signAt(pk, NODES, body);
      for (const r of replies) expect(r.status, `${type}: ${JSON.stringify(r.json)}`).toBe(200);
      expect(new Set(replies.map((r) => r.json.signature)).size, type).toBe(1);
      expect(valid(pk, replies[0]!, body), type).toBe(true);
    }
    // the lock's deposit is consented to by every operator
    const v = nextValidator;
    const pk = key();
    const dd = cluster.lock.distributedValidators[v]!.depositData[0]!;
    const deposit = depositBody({
      pubkey: dd.pubkey,
      withdrawalCredentials: dd.withdrawalCredentials,
      amount: Number(dd.amountGwei),
    });
    for (const r of await signAt(pk, NODES, deposit)) expect(r.status, JSON.stringify(r.json)).toBe(200);
    // a registration with the lock's fee recipient and a gas limit inside the policy
    const feeRecipient = cluster.lock.definition.validators[v]!.feeRecipient;
    const reg = registrationBody({
      feeRecipient,
      gasLimit: 36_000_000,
      timestamp: Math.floor(Date.now() / 1000),
      pubkey: dd.pubkey,
    });
    const regs = await signAt(pk, NODES, reg);
    for (const r of regs) expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(valid(pk, regs[0]!, reg)).toBe(true);
    // every node combined its agreed duties itself, from the partials its peers sent once they decided
    for (const i of NODES) {
      const text = await (await fetch(cluster.metricsUrl(i))).text();
      const combined = Number(/cohort_group_signatures_total\{source="partials"\} (\d+)/.exec(text)?.[1] ?? 0);
      expect(combined, `node ${i}`).toBeGreaterThan(0);
    }
  }, 120_000);

  it("a voluntary exit signs once t operators consented; until then a 503 says how many more", async () => {
    const pk = key();
    const exit = currentDuties().VOLUNTARY_EXIT;
    const [first] = await signAt(pk, [1], exit);
    expect(first!.status, JSON.stringify(first!.json)).toBe(503);
    expect(first!.json.consent_needed).toBe(2);
    const [second] = await signAt(pk, [2], exit);
    expect(second!.status).toBe(503);
    expect(second!.json.consent_needed, JSON.stringify(second!.json)).toBe(1);
    const [third] = await signAt(pk, [3], exit);
    expect(valid(pk, third!, exit), JSON.stringify(third!.json)).toBe(true);
    // the consent is kept: node 1's retry returns the signature
    const [retry] = await signAt(pk, [1], exit);
    expect(retry!.json.signature).toBe(third!.json.signature);
  }, 60_000);

  it("cohort exit sign and deposit sign: each operator's consent goes to its running node; t of them sign", async () => {
    const v = nextValidator;
    const pk = key();
    const dir = (i: number) => path.join(cluster.dir, `node-${i}`);
    const exit = ["exit", "sign", "--validator", pk, "--validator-index", "4242"];
    for (const i of [1, 2]) {
      const r = await runCli([...exit, "--data-dir", dir(i)]);
      expect(r.code, r.stderr).toBe(EXIT_AWAITING_CONSENT);
      expect(r.stderr).toMatch(new RegExp(`at least ${3 - i} more operator`));
    }
    const done = await runCli([...exit, "--data-dir", dir(3)]);
    expect(done.code, done.stderr).toBe(0);
    const signed = JSON.parse(done.stdout) as {
      message: { epoch: string; validator_index: string };
      signature: string;
    };
    expect(signed.message).toEqual({ epoch: "194048", validator_index: "4242" });
    // EIP-7044: the Capella domain, whatever fork the chain is in
    const body = { ...currentDuties().VOLUNTARY_EXIT, voluntary_exit: signed.message };
    expect(verify(fromHex(pk, "pk", 48), rootOf(body), fromHex(signed.signature, "signature", 96))).toBe(true);
    // a top-up deposit not in the lock: signed once t operators ran deposit sign
    const dep = ["deposit", "sign", "--validator", pk, "--amount", "1"];
    for (const i of [4, 3]) expect((await runCli([...dep, "--data-dir", dir(i)])).code).toBe(EXIT_AWAITING_CONSENT);
    const dd = await runCli([...dep, "--data-dir", dir(2)]);
    expect(dd.code, dd.stderr).toBe(0);
    const entry = JSON.parse(dd.stdout) as { amount: number; withdrawal_credentials: string; signature: string };
    expect(entry.amount).toBe(1_000_000_000);
    expect(`0x${entry.withdrawal_credentials}`).toBe(
      toHex(cluster.lock.distributedValidators[v]!.depositData[0]!.withdrawalCredentials),
    );
    const deposit = depositBody({
      pubkey: cluster.lock.distributedValidators[v]!.publicKey,
      withdrawalCredentials: cluster.lock.distributedValidators[v]!.depositData[0]!.withdrawalCredentials,
      amount: 1_000_000_000,
    });
    expect(verify(fromHex(pk, "pk", 48), rootOf(deposit), fromHex(`0x${entry.signature}`, "signature", 96))).toBe(true);
    // bad input: exit 2, one line naming the flag
    const bad = await runCli(["exit", "sign", "--data-dir", dir(1), "--validator", "0x12", "--validator-index", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--validator/);

    // node 3 combined the exit: it is kept in its data dir, exported, and submitted to a beacon node
    const stored = path.join(dir(3), "exits", `${pk}.json`);
    expect((await fsp.stat(stored)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fsp.readFile(stored, "utf8"))).toEqual(signed);
    const outDir = path.join(tmp, "exported-exits");
    const exp = await runCli(["exit", "export", "--data-dir", dir(3), "--out-dir", outDir]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(await fsp.readFile(path.join(outDir, `exit-${pk}.json`), "utf8"))).toEqual(signed);
    // node 1 never got the signature back: nothing to export there
    expect((await runCli(["exit", "export", "--data-dir", dir(1), "--out-dir", outDir])).code).toBe(1);
    const beacon = await beaconStandIn();
    try {
      const cast = ["exit", "broadcast", "--data-dir", dir(3), "--validator", pk, "--beacon-node", beacon.url];
      const ok = await runCli(cast);
      expect(ok.code, ok.stderr).toBe(0);
      expect(beacon.received).toEqual([{ path: "/eth/v1/beacon/pool/voluntary_exits", body: signed }]);
      beacon.refuse = { status: 400, message: "Invalid voluntary exit: validator is not active" };
      const refused = await runCli(cast);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused the exit \(400\): Invalid voluntary exit: validator is not active/);
      const none = await runCli([...cast.slice(0, 3), dir(1), ...cast.slice(4)]);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/--validator.*no signed exit stored|no signed exit stored/);
      const badUrl = await runCli([...cast.slice(0, -1), "ftp://x"]);
      expect(badUrl.code).toBe(2);
      expect(badUrl.stderr).toMatch(/--beacon-node must be an http\(s\) URL/);
    } finally {
      await beacon.close();
    }
  }, 120_000);

  it("one operator's own node refuses what its operator did not consent to, and records nothing", async () => {
    const v = nextValidator;
    const pk = key();
    const dv = cluster.lock.distributedValidators[v]!;
    const stolen = new Uint8Array(32);
    stolen[0] = 0x01;
    stolen.fill(0xee, 12);
    const deposit = await sign(
      cluster.apiUrl(1),
      pk,
      depositBody({ pubkey: dv.publicKey, withdrawalCredentials: stolen, amount: 1_000_000_000 }),
    );
    expect(deposit.status, JSON.stringify(deposit.json)).toBe(403);
    const theft = registrationBody({
      feeRecipient: new Uint8Array(20).fill(0xee),
      gasLimit: 36_000_000,
      timestamp: Math.floor(Date.now() / 1000),
      pubkey: dv.publicKey,
    });
    expect((await sign(cluster.apiUrl(1), pk, theft)).status).toBe(403);
    const far = blockHeader({ slot: nowSlot() + 1000 });
    const farRes = await sign(cluster.apiUrl(1), pk, far);
    expect(farRes.status).toBe(400);
    expect(String(farRes.json.error)).toMatch(/window/);
    const poison = attestation() as unknown as {
      attestation: { source: { epoch: string }; target: { epoch: string } };
    };
    poison.attestation.source.epoch = "0";
    poison.attestation.target.epoch = "1000000";
    expect((await sign(cluster.apiUrl(1), pk, poison)).status).toBe(400);
    // nothing of that was recorded: a normal attestation and block still sign everywhere
    const ok = attestation();
    for (const r of await signAt(pk, NODES, ok)) expect(r.status, JSON.stringify(r.json)).toBe(200);
    for (const r of await signAt(pk, NODES, blockHeader())) expect(r.status, JSON.stringify(r.json)).toBe(200);
  }, 60_000);

  it("validator clients that disagree: 4 different heads, 2 against 2, other target roots, blocks: one signature each", async () => {
    const heads = [1, 2, 3, 4].map((h) => attestation({ head: h }));
    const pk1 = key();
    expectOneSignature(pk1, await signAt(pk1, NODES, heads), heads, 412);
    const split = [5, 5, 6, 6].map((h) => attestation({ head: h }));
    const pk2 = key();
    expectOneSignature(pk2, await signAt(pk2, NODES, split), split, 412);
    const targets = [7, 8, 9, 10].map((t) => attestation({ targetRoot: t }));
    const pk3 = key();
    expectOneSignature(pk3, await signAt(pk3, NODES, targets), targets, 412);
    const blocks = [1, 2, 3, 4].map((tag) => blockHeader({ tag }));
    const pk4 = key();
    expectOneSignature(pk4, await signAt(pk4, NODES, blocks), blocks, 412);
  }, 60_000);

  it("clients that ask up to 1 s apart still get one signature", async () => {
    const bodies = [11, 12, 13, 14].map((h) => attestation({ head: h }));
    const pk = key();
    const replies = await Promise.all(
      NODES.map(async (n, i) => {
        await new Promise((r) => setTimeout(r, i * 333));
        return sign(cluster.apiUrl(n), pk, bodies[i]);
      }),
    );
    expectOneSignature(pk, replies, bodies, 412);
  }, 60_000);

  it("validator clients asking at only t − 1 nodes get no signature", async () => {
    const pk = key();
    const body = attestation();
    const replies = await signAt(pk, [1, 2], body);
    const peer = (i: number) => cluster.lock.definition.operators[i - 1]!.peerId;
    for (const [k, r] of replies.entries()) {
      expect(r.status, JSON.stringify(r.json)).toBe(503);
      expect(r.json.duty, JSON.stringify(r.json)).toMatch(/^attester\//);
      expect(r.json.round, JSON.stringify(r.json)).toBeGreaterThanOrEqual(1);
      // nodes 3 and 4 are connected, but their clients never asked: they sent nothing for the duty
      const silent = (r.json.silent as string[]).join(" ");
      expect(silent, JSON.stringify(r.json)).toContain(peer(3));
      expect(silent, JSON.stringify(r.json)).toContain(peer(4));
      expect(silent, JSON.stringify(r.json)).not.toContain(peer(k === 0 ? 2 : 1));
    }
  }, 60_000);

  it("a peer with a valid identity and modified code cannot get a partial signature for anything", async () => {
    await cluster.stop(4);
    const v = nextValidator;
    const pk = key();
    const dv = cluster.lock.distributedValidators[v]!;
    const { host, stop } = await impostor4();
    try {
      await waitForPeers(cluster, 1, 3);
      const stolen = new Uint8Array(32);
      stolen[0] = 0x01;
      stolen.fill(0xee, 12);
      const poison = attestation() as unknown as {
        attestation: { source: { epoch: string }; target: { epoch: string } };
      };
      poison.attestation.source.epoch = "0";
      poison.attestation.target.epoch = "1000000";
      const asks: { name: string; code: string; json?: unknown; duty?: string; group?: boolean }[] = [
        {
          name: "deposit to foreign credentials",
          code: "NO_CONSENT",
          json: depositBody({ pubkey: dv.publicKey, withdrawalCredentials: stolen, amount: 1_000_000_000 }),
        },
        {
          name: "foreign fee recipient",
          code: "NO_CONSENT",
          json: registrationBody({
            feeRecipient: new Uint8Array(20).fill(0xee),
            gasLimit: 36_000_000,
            timestamp: 1,
            pubkey: dv.publicKey,
          }),
        },
        { name: "exit nobody consented to", code: "NO_CONSENT", json: currentDuties().VOLUNTARY_EXIT },
        { name: "block at an arbitrary slot", code: "NEEDS_AGREEMENT", json: blockHeader({ slot: nowSlot() }) },
        { name: "far-future attestation", code: "NEEDS_AGREEMENT", json: poison },
        { name: "decided duty that was never decided", code: "NOT_DECIDED", duty: `attester/${nowSlot()}` },
        {
          name: "group signature of a duty that was never decided",
          code: "NOT_DECIDED",
          duty: `attester/${nowSlot()}`,
          group: true,
        },
        { name: "group signature without a duty", code: "MALFORMED", group: true, json: attestation() },
      ];
      await Promise.all(
        [1, 2, 3].map(async (peer) => {
          const ch = new ChannelClient(host, cluster.lock.definition.operators[peer - 1]!.peerId, PARSIG_PROTOCOL);
          const answers = await Promise.all(
            asks.map(async (a) =>
              ParSigResponse.decode(
                await ch.request(
                  ParSigRequest.encode({
                    session: cluster.lock.lockHash as Uint8Array<ArrayBuffer>,
                    publicKey: dv.publicKey as Uint8Array<ArrayBuffer>,
                    requestJson: (a.json
                      ? new TextEncoder().encode(JSON.stringify(a.json))
                      : new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
                    duty: a.duty ?? "",
                    signingRoot: (a.duty ? new Uint8Array(32) : new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
                    group: a.group ?? false,
                  }),
                  { signal: AbortSignal.timeout(30_000) },
                ),
              ),
            ),
          );
          answers.forEach((ans, i) => {
            expect(ans.partialSignature.length, `${asks[i]!.name} at node ${peer}`).toBe(0);
            expect(ans.groupSignature.length, `${asks[i]!.name} at node ${peer}`).toBe(0);
            expect(ans.refusalCode, asks[i]!.name).toBe(asks[i]!.code);
          });
        }),
      );
      // garbage agreement batches: undecodable, for another cluster, claiming another sender
      const garbage = [
        new Uint8Array(512).fill(0xff),
        Batch.encode({
          session: new Uint8Array(32) as Uint8Array<ArrayBuffer>,
          sender: 4,
          entries: [],
          signature: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
        }),
        Batch.encode({
          session: cluster.lock.lockHash as Uint8Array<ArrayBuffer>,
          sender: 2,
          entries: [],
          signature: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
        }),
      ];
      for (const peer of [1, 2, 3]) {
        const out = new OneWaySender(host, cluster.lock.definition.operators[peer - 1]!.peerId, CONSENSUS_PROTOCOL);
        for (const g of garbage) out.send(g);
      }
      // nothing was recorded, and the three honest nodes still sign: the validator is not silenced
      const ok = attestation();
      const replies = await signAt(pk, [1, 2, 3], ok);
      for (const r of replies) expect(valid(pk, r, ok), JSON.stringify(r.json)).toBe(true);
    } finally {
      await stop();
      await cluster.start(4);
      await waitForPeers(cluster, 4, 3);
    }
  }, 90_000);

  it("n − t nodes down still signs; n − t + 1 down gives a 503 naming the peers; a restarted node rejoins", async () => {
    await cluster.stop(4);
    const pk = key();
    const one = attestation();
    for (const r of await signAt(pk, [1, 2, 3], one)) expect(valid(pk, r, one), JSON.stringify(r.json)).toBe(true);
    await cluster.stop(3);
    const pk2 = key();
    const two = attestation();
    const replies = await signAt(pk2, [1, 2], two);
    const peer3 = cluster.lock.definition.operators[2]!.peerId;
    const peer4 = cluster.lock.definition.operators[3]!.peerId;
    for (const r of replies) {
      expect(r.status).toBe(503);
      expect(String(r.json.error)).toContain(peer3);
      expect(String(r.json.error)).toContain(peer4);
    }
    const last = nowSlot();
    await cluster.start(3);
    await cluster.start(4);
    for (const i of NODES) await waitForPeers(cluster, i, 3);
    // a restarted node only learns duties of slots it may have taken part in before; the next slot is new
    await slotAfter(last);
    const pk3 = key();
    const three = attestation();
    const all = await signAt(pk3, NODES, three);
    for (const r of all) expect(valid(pk3, r, three), JSON.stringify(r.json)).toBe(true);
  }, 120_000);

  it("a double vote is refused with 412 at every node", async () => {
    const pk = key();
    const slot = nowSlot();
    const first = attestation({ slot });
    for (const r of await signAt(pk, NODES, first)) expect(r.status).toBe(200);
    // another slot of the same epoch is another duty, with another vote for the same target
    const again = attestation({ slot: slot % 32 === 0 ? slot + 1 : slot - 1, head: 0x77 });
    for (const r of await signAt(pk, NODES, again)) {
      expect(r.status, JSON.stringify(r.json)).toBe(412);
      expect(r.json.slashing_code).toBe("DOUBLE_VOTE");
    }
  }, 60_000);

  it("bad input gets 400/413 and the node stays up", async () => {
    const pk = key();
    const url = `${cluster.apiUrl(1)}/api/v1/eth2/sign`;
    const post = (suffix: string, body: string) =>
      fetch(`${url}/${suffix}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect((await post(pk, "{not json")).status).toBe(400);
    expect((await post(pk, JSON.stringify({ type: "ATTESTATION", attestation: 7 }))).status).toBe(400);
    expect((await post(pk.slice(0, 50), JSON.stringify(attestation()))).status).toBe(400);
    // the server may answer 413 and close before the client has written the whole body
    const big = await post(pk, `{"type":"ATTESTATION","pad":"${"x".repeat(2 * 1024 * 1024)}"}`).then(
      (r) => r.status,
      (err: Error) => (err.cause as { code?: string } | undefined)?.code,
    );
    expect([413, "EPIPE", "ECONNRESET"]).toContain(big);
    const ok = attestation();
    for (const r of await signAt(pk, NODES, ok)) expect(valid(pk, r, ok)).toBe(true);
    expect(FORK_INFO.fork.current_version).toBe("0x06000000");
  }, 60_000);
});

/** Node 4's identity on a host of its own: a peer running modified code that connects as node 4. */
async function impostor4(): Promise<{ host: Host; stop: () => Promise<void> }> {
  const identity = await loadIdentity(path.join(cluster.dir, "node-4"));
  const operators = cluster.lock.definition.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses }));
  const host = await createHost({ identity, peers: operators, listenAddresses: [operators[3]!.addresses[0]!] });
  // it answers every partial request with a refusal and ignores agreement
  await serveChannel(
    host,
    PARSIG_PROTOCOL,
    async () =>
      ParSigResponse.encode({
        shareIndex: 0,
        partialSignature: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
        refusalCode: "NO",
        refusalMessage: "",
        decidedRoot: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
      }),
    silentLogger(),
  );
  await serveOneWay(host, CONSENSUS_PROTOCOL, () => undefined, silentLogger());
  await host.start();
  const connecting = new AbortController();
  keepConnected(host, operators, { signal: connecting.signal });
  return {
    host,
    stop: async () => {
      connecting.abort();
      await host.stop();
    },
  };
}

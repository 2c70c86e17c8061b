/**
 * `cohort devnet --run`: starts one `cohort run` process per devnet node, waits until the cluster
 * can sign, writes `devnet.json`, and stops the processes on request.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { verify } from "../crypto/bls.js";
import { genesisTimeOf, slotClock } from "../eth2/clock.js";
import { parseSignRequest, requestSigningRoot } from "../eth2/requests.js";
import { fromHex, toHex } from "../lib/bytes.js";
import { writeFileAtomic } from "../lib/fs.js";
import { freePort } from "../lib/ports.js";
import { type DevnetResult, spawnCli } from "./devnet.js";

/** How long the nodes get to start and connect. */
export const DEVNET_START_TIMEOUT_MS = 60_000;

/** One running node of the devnet, as written to devnet.json. */
export interface DevnetRunningNode {
  data_dir: string;
  peer_id: string;
  api_url: string;
  metrics_url: string;
  pid: number;
}

export interface DevnetCluster {
  nodes: DevnetRunningNode[];
  /** Path of devnet.json. */
  file: string;
  /** SIGTERM to every node, then waits for them to exit. Idempotent. */
  stop(): Promise<void>;
}

async function until(
  check: () => Promise<boolean>,
  deadline: number,
  what: string,
  children: { child: ChildProcess; tail: string[] }[],
) {
  for (;;) {
    if (await check().catch(() => false)) return;
    const dead = children.findIndex(({ child: c }) => c.exitCode !== null || c.signalCode !== null);
    if (dead >= 0) {
      const { child, tail } = children[dead]!;
      throw new Error(
        `node-${dead + 1} exited (${child.exitCode ?? child.signalCode}) before ${what}` +
          (tail.length > 0 ? `: ${tail.findLast((l) => l.startsWith("error")) ?? tail.at(-1)}` : ""),
      );
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts `cohort run` for every node of a finished devnet on free loopback ports.
 * @param onLine receives every line a node prints (node 1-based index)
 * @param opts.nodeArgs flags for the Node.js runtime of each node (benchmarks: `--cpu-prof`)
 * @param opts.signTimeoutMs each node's `--sign-timeout` in milliseconds (default: `cohort run`'s)
 */
export async function startDevnetNodes(
  devnet: DevnetResult,
  onLine: (node: number, line: string) => void,
  opts: { nodeArgs?: readonly string[]; signTimeoutMs?: number } = {},
): Promise<DevnetCluster> {
  const spawned: { child: ChildProcess; tail: string[] }[] = [];
  const nodes: DevnetRunningNode[] = [];
  for (const n of devnet.nodes) {
    const apiPort = await freePort();
    const metricsPort = await freePort();
    const { child, tail } = spawnCli(
      [
        "run",
        "--data-dir",
        n.dataDir,
        "--p2p-address",
        n.p2pAddress,
        "--api-address",
        `127.0.0.1:${apiPort}`,
        "--metrics-address",
        `127.0.0.1:${metricsPort}`,
        "--log-level",
        "warn",
        ...(opts.signTimeoutMs === undefined ? [] : ["--sign-timeout", `${opts.signTimeoutMs}ms`]),
      ],
      (line) => onLine(n.index, line),
      opts.nodeArgs,
    );
    spawned.push({ child, tail });
    nodes.push({
      data_dir: n.dataDir,
      peer_id: n.peerId,
      api_url: `http://127.0.0.1:${apiPort}`,
      metrics_url: `http://127.0.0.1:${metricsPort}/metrics`,
      pid: child.pid ?? 0,
    });
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.all(
      spawned.map(
        ({ child: c }) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
          }),
      ),
    ).then(() => undefined);
    return stopping;
  };
  try {
    const deadline = Date.now() + DEVNET_START_TIMEOUT_MS;
    for (const node of nodes) {
      await until(
        async () => (await fetch(`${node.api_url}/upcheck`, { signal: AbortSignal.timeout(1000) })).ok,
        deadline,
        `${node.api_url}/upcheck`,
        spawned,
      );
    }
    for (const node of nodes) {
      await until(
        async () => (await fetch(`${node.api_url}/healthcheck`, { signal: AbortSignal.timeout(1000) })).ok,
        deadline,
        "every node to reach its peers",
        spawned,
      );
    }
    const file = path.join(devnet.dir, "devnet.json");
    const doc = {
      nodes,
      validators: devnet.lock.distributedValidators.map((v) => toHex(v.publicKey)),
      validator_clients:
        `Run one validator client per node, each with every validator above, pointed at its own node's api_url ` +
        `as a Web3Signer (e.g. Lodestar: --externalSigner.url <api_url> --externalSigner.fetch), with the lock's ` +
        `fee recipient and doppelganger protection off. A duty gets a signature once a quorum of the nodes' ` +
        `clients asked for it.`,
    };
    await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
    return { nodes, file, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * An ATTESTATION body for the duty at the wall-clock slot of the devnet's network (its window
 * refuses any other), with `fork_info` for the network's genesis fork.
 */
export function currentAttestation(devnet: DevnetResult, tag = 0x11): Record<string, unknown> {
  const net = devnet.lock.definition.network;
  const slot = slotClock(genesisTimeOf(net)).currentSlot();
  const epoch = Math.floor(slot / 32);
  const gfv = toHex(net.genesisForkVersion);
  return {
    type: "ATTESTATION",
    fork_info: {
      fork: { previous_version: gfv, current_version: gfv, epoch: "0" },
      genesis_validators_root: toHex(net.genesisValidatorsRoot),
    },
    attestation: {
      slot: String(slot),
      index: "0",
      beacon_block_root: `0x${tag.toString(16).padStart(2, "0").repeat(32)}`,
      source: { epoch: String(Math.max(0, epoch - 1)), root: `0x${"22".repeat(32)}` },
      target: { epoch: String(epoch), root: `0x${"33".repeat(32)}` },
    },
  };
}

/**
 * Signs one ATTESTATION for the first validator the way n validator clients do: the same request
 * to every node at once. Every node must answer with the same signature, and it must verify under
 * the validator key with the signing root computed here.
 * @returns the slowest node's latency
 * @throws Error when a node refuses, the signatures differ, or the signature does not verify
 */
export async function signOnce(devnet: DevnetResult, cluster: DevnetCluster) {
  const net = devnet.lock.definition.network;
  const publicKey = devnet.lock.distributedValidators[0]!.publicKey;
  const body = currentAttestation(devnet);
  const started = Date.now();
  const answers = await Promise.all(
    cluster.nodes.map(async (node, i) => {
      const res = await fetch(`${node.api_url}/api/v1/eth2/sign/${toHex(publicKey)}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`node ${i + 1} answered ${res.status}: ${text}`);
      return (JSON.parse(text) as { signature: string }).signature;
    }),
  );
  const latencyMs = Date.now() - started;
  if (new Set(answers).size !== 1) throw new Error(`the nodes returned different signatures: ${answers.join(", ")}`);
  const signature = fromHex(answers[0]!, "signature", 96);
  const root = requestSigningRoot(parseSignRequest(body), { genesisForkVersion: net.genesisForkVersion });
  if (!verify(publicKey, root, signature))
    throw new Error("the combined signature does not verify under the validator key");
  return { publicKey, root, signature, latencyMs, nodes: answers.length };
}

/** A devnet on disk plus `cohort run` child processes that tests stop and restart one by one. */
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { freePort } from "../../src/lib/ports.js";
import { CLI, runCli } from "../e2e/cli.js";

export interface TestCluster {
  dir: string;
  lock: ClusterLock;
  apiUrl(i: number): string;
  metricsUrl(i: number): string;
  /** OS process id of node i while it runs. */
  pid(i: number): number | undefined;
  start(i: number): Promise<void>;
  stop(i: number): Promise<void>;
  stopAll(): Promise<void>;
}

/**
 * Runs `cohort devnet` (the DKG in N processes), then returns a handle to start the nodes.
 * `cli` is the `cohort` entry point the nodes run (default this checkout's dist build).
 */
export async function makeCluster(
  dir: string,
  opts: { nodes: number; validators: number; network: string; cli?: string },
): Promise<TestCluster> {
  const res = await runCli([
    "devnet",
    "--nodes",
    String(opts.nodes),
    "--validators",
    String(opts.validators),
    "--network",
    opts.network,
    "--out",
    dir,
    "--quiet",
  ]);
  if (res.code !== 0) throw new Error(`devnet failed: ${res.stderr}`);
  return clusterOf(dir, opts.nodes, opts.cli);
}

/**
 * A handle to start `cohort run` on the data dirs `<dir>/node-1..nodes`, which already hold their
 * lock (a devnet's, or one a lifecycle ceremony wrote).
 */
export async function clusterOf(dir: string, nodes: number, cli?: string): Promise<TestCluster> {
  const opts = { nodes, cli };
  const lock = parseLock(JSON.parse(await fsp.readFile(path.join(dir, "node-1", "cluster-lock.json"), "utf8")));
  const ports = await Promise.all(Array.from({ length: opts.nodes * 2 }, () => freePort()));
  const procs = new Map<number, ChildProcess>();
  const apiUrl = (i: number) => `http://127.0.0.1:${ports[(i - 1) * 2]}`;
  const metricsUrl = (i: number) => `http://127.0.0.1:${ports[(i - 1) * 2 + 1]}/metrics`;
  const stop = async (i: number) => {
    const c = procs.get(i);
    procs.delete(i);
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    });
  };
  return {
    dir,
    lock,
    apiUrl,
    metricsUrl,
    pid: (i) => procs.get(i)?.pid,
    async start(i) {
      const child = spawn(
        process.execPath,
        [
          opts.cli ?? CLI,
          "run",
          "--data-dir",
          path.join(dir, `node-${i}`),
          "--api-address",
          apiUrl(i).slice(7),
          "--metrics-address",
          metricsUrl(i).slice(7, -8),
          "--log-level",
          "warn",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr!.on("data", (b: Buffer) => {
        stderr += b.toString();
      });
      procs.set(i, child);
      for (let k = 0; k < 300; k++) {
        if (child.exitCode !== null) throw new Error(`node-${i} exited ${child.exitCode}: ${stderr}`);
        const ok = await fetch(`${apiUrl(i)}/upcheck`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`node-${i} did not start: ${stderr}`);
    },
    stop,
    async stopAll() {
      await Promise.all([...procs.keys()].map(stop));
    },
  };
}

/** Waits until node i reports at least `peers` peers connected (its /healthcheck data). */
export async function waitForPeers(cluster: TestCluster, i: number, peers: number): Promise<void> {
  for (let k = 0; k < 300; k++) {
    const body = (await fetch(`${cluster.apiUrl(i)}/healthcheck`).then(
      (r) => r.json(),
      () => undefined,
    )) as { checks?: { id: string; data?: { peers_connected?: number } }[] } | undefined;
    const n = body?.checks?.find((c) => c.id === "peers-check")?.data?.peers_connected ?? -1;
    if (n >= peers) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node-${i} never saw ${peers} peers`);
}

/** POSTs a sign request; returns status and parsed body. */
export async function sign(
  url: string,
  publicKey: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/eth2/sign/${publicKey}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * `cohort devnet`: a local n-node cluster on loopback in one command. Identities and the signed
 * definition are made in-process; each `cohort dkg` runs in its own child process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDefinition, serializeDefinition, signDefinition } from "../cluster/definition.js";
import { type ClusterLock, parseLock, verifyLock } from "../cluster/lock.js";
import { type Network, resolveNetwork } from "../eth2/networks.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock, type DataDirLock } from "../lib/lockfile.js";
import { freePort } from "../lib/ports.js";
import { generateIdentity, saveIdentity } from "../p2p/identity.js";
import { FILES } from "./files.js";

/** Burn address used when no withdrawal address is given: devnet deposits are not for real funds. */
export const DEVNET_BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";
const CLI_ENTRY = fileURLToPath(new URL("../cli/main.js", import.meta.url));

export interface DevnetOpts {
  nodes: number;
  threshold?: number;
  validators: number;
  /** A preset's name, or a custom network (e.g. one whose genesis is near now). */
  network: string | Network;
  withdrawalAddress?: string;
  out: string;
  /** Replace an earlier devnet in `out`. */
  force?: boolean;
  timeoutMs: number;
}

export interface DevnetNode {
  index: number;
  dataDir: string;
  peerId: string;
  p2pAddress: string;
}

export interface DevnetResult {
  dir: string;
  nodes: DevnetNode[];
  lock: ClusterLock;
  warnings: string[];
  timings: { setupMs: number; dkgMs: number; verifyMs: number; totalMs: number };
}

/** Callbacks for the terminal. */
export interface DevnetModules {
  /** One line of a child's stderr, or a devnet status line (node 0). */
  onLine: (node: number, line: string) => void;
}

async function prepareOutDir(out: string, force: boolean | undefined): Promise<void> {
  if (await exists(out)) {
    const entries = await fsp.readdir(out);
    if (entries.length > 0) {
      const ours = entries.every((e) => /^node-\d+$/.test(e) || e === "devnet.json" || e === "cluster-definition.json");
      if (!force) throw new InputError("out", `${out} is not empty; pass --force to replace an earlier devnet there`);
      if (!ours) throw new InputError("out", `${out} holds files that are not a cohort devnet; refusing to replace it`);
      // a node of the earlier devnet may still be running (`cohort run`, a DKG): never delete its data
      const held: DataDirLock[] = [];
      try {
        for (const e of entries.filter((e) => /^node-\d+$/.test(e))) {
          try {
            held.push(await acquireDataDirLock(path.join(out, e), "devnet --force"));
          } catch (err) {
            if (!(err instanceof InputError)) throw err;
            throw new InputError(
              "out",
              `${path.join(out, e)} is in use, so --force will not replace it: ${err.message}`,
            );
          }
        }
      } catch (err) {
        for (const lock of held) await lock.release();
        throw err;
      }
      await fsp.rm(out, { recursive: true, force: true });
    }
  }
  await ensureDir(out);
}

interface ChildResult {
  code: number | null;
  tail: string[];
}

/**
 * Starts `cohort <args>` in a child process; every non-empty line it prints goes to `onLine`.
 * @returns the child and the last 20 lines it printed (filled as it runs)
 */
export function spawnCli(
  args: string[],
  onLine: (line: string) => void,
  nodeArgs: readonly string[] = [],
): { child: ChildProcess; tail: string[] } {
  const child = spawn(process.execPath, [...nodeArgs, CLI_ENTRY, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  const feed = (buf: Buffer) => {
    for (const line of buf.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    }
  };
  child.stdout!.on("data", feed);
  child.stderr!.on("data", feed);
  return { child, tail };
}

function runChild(args: string[], node: number, onLine: DevnetModules["onLine"]): Promise<ChildResult> {
  return new Promise((resolve) => {
    const { child, tail } = spawnCli(args, (line) => onLine(node, line));
    child.on("close", (code) => resolve({ code, tail }));
  });
}

/**
 * Creates `out/node-1..N`, an identity each, a definition signed by all, then runs N `cohort dkg`
 * child processes on loopback, checks that every lock is byte-identical and verifies it.
 * @throws InputError on bad options (nothing written); Error when a node fails (its output is in the message)
 */
export async function runDevnet(opts: DevnetOpts, modules: DevnetModules): Promise<DevnetResult> {
  const t0 = Date.now();
  const network = typeof opts.network === "string" ? resolveNetwork(opts.network) : opts.network;
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 64) {
    throw new InputError("nodes", `--nodes must be between 1 and 64, got ${opts.nodes}`);
  }
  const out = path.resolve(opts.out);
  const ports = await Promise.all(Array.from({ length: opts.nodes }, () => freePort()));
  const nodes: DevnetNode[] = [];
  const identities = [];
  for (let i = 1; i <= opts.nodes; i++) {
    const id = await generateIdentity();
    identities.push(id);
    nodes.push({
      index: i,
      dataDir: path.join(out, `node-${i}`),
      peerId: id.peerId,
      p2pAddress: `/ip4/127.0.0.1/tcp/${ports[i - 1]}`,
    });
  }
  const created = createDefinition({
    name: `devnet-${opts.nodes}`,
    operators: nodes.map((n) => `${n.peerId}@${n.p2pAddress}`),
    threshold: opts.threshold,
    numValidators: opts.validators,
    network,
    withdrawalAddresses: [opts.withdrawalAddress ?? DEVNET_BURN_ADDRESS],
    allowSmall: true,
  });
  // the definition validated every option: only now touch the disk
  await prepareOutDir(out, opts.force);
  for (const [i, id] of identities.entries()) await saveIdentity(nodes[i]!.dataDir, id);
  let def = created.definition;
  for (const id of identities) def = await signDefinition(def, id);
  const defFile = path.join(out, FILES.definition);
  await writeFileAtomic(defFile, serializeDefinition(def));
  const warnings = [...created.warnings];
  if (opts.withdrawalAddress === undefined)
    warnings.push(`withdrawal address defaults to the burn address ${DEVNET_BURN_ADDRESS}`);
  const t1 = Date.now();
  modules.onLine(
    0,
    `starting ${opts.nodes} dkg processes (threshold ${def.threshold}, ${def.numValidators} validator(s), ${network.name})`,
  );

  const results = await Promise.all(
    nodes.map((n) =>
      runChild(
        [
          "dkg",
          "--data-dir",
          n.dataDir,
          "--definition",
          defFile,
          "--p2p-address",
          n.p2pAddress,
          "--timeout",
          `${Math.ceil(opts.timeoutMs / 1000)}s`,
        ],
        n.index,
        modules.onLine,
      ),
    ),
  );
  const t2 = Date.now();
  const failed = results.flatMap((r, i) =>
    r.code === 0 ? [] : [`node-${i + 1} exited ${r.code}: ${r.tail.at(-1) ?? ""}`],
  );
  if (failed.length > 0) throw new Error(`dkg failed:\n  ${failed.join("\n  ")}`);

  const texts = await Promise.all(nodes.map((n) => fsp.readFile(path.join(n.dataDir, FILES.lock), "utf8")));
  const differing = texts.flatMap((txt, i) => (txt === texts[0] ? [] : [`node-${i + 1}`]));
  if (differing.length > 0) throw new Error(`locks differ from node-1's: ${differing.join(", ")}`);
  const lock = parseLock(JSON.parse(texts[0]!));
  const verdict = await verifyLock(lock);
  if (!verdict.ok) throw new Error(`lock does not verify: ${verdict.errors.join("; ")}`);
  const t3 = Date.now();
  modules.onLine(0, `all ${opts.nodes} locks identical and verified: ${toHex(lock.lockHash)}`);
  return {
    dir: out,
    nodes,
    lock,
    warnings,
    timings: { setupMs: t1 - t0, dkgMs: t2 - t1, verifyMs: t3 - t2, totalMs: t3 - t0 },
  };
}

/** `cohort devnet`: a local multi-process cluster in one command. */
import path from "node:path";
import type { Command } from "commander";
import { toHex } from "../lib/bytes.js";
import { parseDuration, parsePositiveInt } from "./options.js";

interface DevnetFlags {
  nodes: string;
  threshold?: string;
  validators: string;
  network: string;
  withdrawalAddress?: string;
  out: string;
  force?: boolean;
  timeout: string;
  quiet?: boolean;
}

/** Registers `devnet`. */
export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .description("Create a local N-node cluster on loopback: identities, a signed definition, and a DKG in N processes")
    .option("--nodes <n>", "number of operators", "4")
    .option("--threshold <t>", "signing threshold (default ⌈2n/3⌉)")
    .option("--validators <v>", "number of validators", "1")
    .option("--network <name>", "mainnet, hoodi, sepolia or holesky", "hoodi")
    .option("--withdrawal-address <address>", "execution address for withdrawals (default: the burn address)")
    .requiredOption("--out <dir>", "directory for node-1 … node-N")
    .option("--force", "replace an earlier devnet in --out")
    .option("--timeout <duration>", "DKG timeout per node", "5m")
    .option("--quiet", "print only the summary")
    .action(async (flags: DevnetFlags) => {
      const nodes = parsePositiveInt(flags.nodes, "--nodes", 64);
      const { runDevnet } = await import("../app/devnet.js");
      const result = await runDevnet(
        {
          nodes,
          threshold: flags.threshold === undefined ? undefined : parsePositiveInt(flags.threshold, "--threshold", 64),
          validators: parsePositiveInt(flags.validators, "--validators", 65_536),
          network: flags.network,
          withdrawalAddress: flags.withdrawalAddress,
          out: flags.out,
          force: flags.force,
          timeoutMs: parseDuration(flags.timeout, "--timeout"),
        },
        {
          onLine: (node, line) => {
            if (node === 0) console.error(`devnet │ ${line}`);
            else if (!flags.quiet && (node === 1 || line.startsWith("error"))) console.error(`node-${node} │ ${line}`);
          },
        },
      );
      for (const w of result.warnings) console.error(`warning: ${w}`);
      const def = result.lock.definition;
      const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
      console.log("");
      console.log(
        `cohort devnet: ${result.nodes.length} nodes, threshold ${def.threshold}, network ${def.network.name}`,
      );
      console.log(`lock_hash  ${toHex(result.lock.lockHash)}`);
      console.log("validators:");
      for (const v of result.lock.distributedValidators) console.log(`  ${toHex(v.publicKey)}`);
      console.log("nodes:");
      for (const n of result.nodes)
        console.log(
          `  node-${n.index}  ${n.peerId}  ${n.p2pAddress}  ${path.relative(process.cwd(), n.dataDir) || "."}`,
        );
      console.log(
        `timings: setup ${s(result.timings.setupMs)}, dkg ${s(result.timings.dkgMs)}, verify ${s(result.timings.verifyMs)}, total ${s(result.timings.totalMs)}`,
      );
    });
}

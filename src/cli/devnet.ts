/** `cohort devnet`: a local multi-process cluster in one command. */
import path from "node:path";
import type { Command } from "commander";
import { type NetworkFlags, networkFromFlags, parseDuration, parsePositiveInt } from "../app/options.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { addCustomNetworkOptions } from "./network.js";
import { waitForShutdown } from "./run.js";

interface DevnetFlags extends NetworkFlags {
  nodes: string;
  threshold?: string;
  validators: string;
  withdrawalAddress?: string;
  out: string;
  force?: boolean;
  timeout: string;
  quiet?: boolean;
  run?: boolean;
  signOnce?: boolean;
  signTimeout?: string;
}

/** Registers `devnet`. */
export function registerDevnet(program: Command): void {
  const cmd = program
    .command("devnet")
    .description("Create a local N-node cluster on loopback: identities, a signed definition, and a DKG in N processes")
    .option("--nodes <n>", "number of operators", "4")
    .option("--threshold <t>", "signing threshold (default ⌈2n/3⌉)")
    .option("--validators <v>", "number of validators", "1")
    .option(
      "--network <name>",
      "mainnet, hoodi, sepolia or holesky (default hoodi); with --genesis-fork-version, a custom network's name (default devnet)",
    );
  addCustomNetworkOptions(cmd)
    .option("--withdrawal-address <address>", "execution address for withdrawals (default: the burn address)")
    .requiredOption("--out <dir>", "directory for node-1 … node-N")
    .option("--force", "replace an earlier devnet in --out")
    .option("--timeout <duration>", "DKG timeout per node", "5m")
    .option("--quiet", "print only the summary")
    .option("--run", "then start a signing node per operator, write DIR/devnet.json, and stay up until SIGINT/SIGTERM")
    .option("--sign-timeout <duration>", "with --run: each node's --sign-timeout (default that of cohort run, 4s)")
    .option(
      "--sign-once",
      "with --run: send one attestation to every node (as n validator clients do), verify the signature, print it, and stop",
    )
    .action(async (flags: DevnetFlags) => {
      const nodes = parsePositiveInt(flags.nodes, "--nodes", 64);
      if (flags.signOnce && !flags.run) throw new InputError("--sign-once", "--sign-once needs --run");
      if (flags.signTimeout !== undefined && !flags.run)
        throw new InputError("--sign-timeout", "--sign-timeout needs --run");
      const signTimeoutMs =
        flags.signTimeout === undefined ? undefined : parseDuration(flags.signTimeout, "--sign-timeout");
      const { runDevnet } = await import("../app/devnet.js");
      const result = await runDevnet(
        {
          nodes,
          threshold: flags.threshold === undefined ? undefined : parsePositiveInt(flags.threshold, "--threshold", 64),
          validators: parsePositiveInt(flags.validators, "--validators", 65_536),
          network: networkFromFlags({
            ...flags,
            network: flags.network ?? (flags.genesisForkVersion === undefined ? "hoodi" : "devnet"),
          }),
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
      if (!flags.run) return;
      const { signOnce, startDevnetNodes } = await import("../app/devnetRun.js");
      const cluster = await startDevnetNodes(
        result,
        (node, line) => {
          if (!flags.quiet) console.error(`node-${node} │ ${line}`);
        },
        { signTimeoutMs },
      );
      console.log("");
      console.log(`signing nodes up (${cluster.file}):`);
      for (const n of cluster.nodes) console.log(`  ${n.api_url}  metrics ${n.metrics_url}  pid ${n.pid}`);
      if (flags.signOnce) {
        try {
          const signed = await signOnce(result, cluster);
          console.log("");
          console.log(
            `signed an ATTESTATION at all ${signed.nodes} nodes (one validator client each) in ${signed.latencyMs} ms; every node returned the same signature, and it verifies under the validator key`,
          );
          console.log(`  validator     ${toHex(signed.publicKey)}`);
          console.log(`  signing root  ${toHex(signed.root)}`);
          console.log(`  signature     ${toHex(signed.signature)}`);
        } finally {
          await cluster.stop();
        }
        return;
      }
      const stopped = waitForShutdown("devnet", () => cluster.stop());
      console.log("press Ctrl-C to stop the cluster");
      await stopped;
    });
}

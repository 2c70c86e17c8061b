/** `cohort run`: the signing node for this operator's validator client. */
import path from "node:path";
import type { Command } from "commander";
import { parseRunConfig, RUN_DEFAULTS } from "../app/config.js";
import { FILES } from "../app/files.js";
import { InputError } from "../lib/errors.js";
import { exists } from "../lib/fs.js";
import { createLogger } from "../lib/logger.js";
import { waitForShutdown } from "./run.js";

/** Registers `run`. */
export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Run this operator's signing node: the Web3Signer-compatible API for the validator client, duty agreement and partial signatures over libp2p, slashing protection",
    )
    .option(
      "--data-dir <dir>",
      "data directory holding identity.key, cluster-lock.json and validator_keys/",
      RUN_DEFAULTS.dataDir,
    )
    .option("--api-address <host:port>", "Web3Signer API listen address", RUN_DEFAULTS.apiAddress)
    .option(
      "--metrics-address <host:port>",
      'Prometheus /metrics listen address, or "off"',
      RUN_DEFAULTS.metricsAddress,
    )
    .option(
      "--p2p-address <multiaddr>",
      "libp2p listen address (default: 127.0.0.1 on the port of this operator's address hint, else 3610)",
    )
    .option("--api-token-file <file>", "require Authorization: Bearer <token> with the token in this file")
    .option("--sign-timeout <duration>", "answer 503 when no signature is combined by then", RUN_DEFAULTS.signTimeout)
    .option(
      "--genesis-time <unix-seconds>",
      "genesis time of a custom network in a cohort/v1 lock (presets and cohort/v2 definitions hold theirs): every duty must lie in a window around the wall-clock slot",
    )
    .option("--log-level <level>", "JSON log level (stderr)", RUN_DEFAULTS.logLevel)
    .action(async (flags: Record<string, unknown>) => {
      const config = parseRunConfig(flags);
      for (const f of [FILES.identity, FILES.lock]) {
        if (!(await exists(path.join(config.dataDir, f)))) {
          throw new InputError("--data-dir", `${config.dataDir} holds no ${f}`);
        }
      }
      const logger = createLogger({ level: config.logLevel });
      // loaded on use: libp2p, blst, fastify and SQLite take a second to load
      const { startNode } = await import("../app/run.js");
      const node = await startNode(
        {
          dataDir: config.dataDir,
          api: config.apiAddress,
          metrics: config.metricsAddress,
          p2pAddress: config.p2pAddress,
          apiTokenFile: config.apiTokenFile,
          signTimeoutMs: config.signTimeout,
          genesisTimeSec: config.genesisTime,
        },
        { logger },
      );
      // listening for signals before saying the node is up
      const stopped = waitForShutdown("cohort run", () => node.stop());
      console.error(`cohort run: operator ${node.shareIndex} (${node.peerId})`);
      console.error(`  signing API  ${node.apiUrl}`);
      if (node.metricsUrl) console.error(`  metrics      ${node.metricsUrl}/metrics`);
      await stopped;
    });
}

/** `cohort run`: the signing node for this operator's validator client. */
import path from "node:path";
import type { Command } from "commander";
import { FILES } from "../app/files.js";
import { InputError } from "../lib/errors.js";
import { exists } from "../lib/fs.js";
import { createLogger } from "../lib/logger.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { parseDuration, parseListenAddress, parseLogLevel } from "./options.js";
import { waitForShutdown } from "./run.js";

interface RunFlags {
  dataDir: string;
  apiAddress: string;
  metricsAddress: string;
  p2pAddress?: string;
  apiTokenFile?: string;
  signTimeout: string;
  genesisTime?: string;
  logLevel: string;
}

/** Registers `run`. */
export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Run this operator's signing node: the Web3Signer-compatible API for the validator client, partial signatures over libp2p, slashing protection",
    )
    .option(
      "--data-dir <dir>",
      "data directory holding identity.key, cluster-lock.json and validator_keys/",
      DEFAULT_DATA_DIR,
    )
    .option("--api-address <host:port>", "Web3Signer API listen address", "127.0.0.1:9000")
    .option("--metrics-address <host:port>", 'Prometheus /metrics listen address, or "off"', "127.0.0.1:9100")
    .option(
      "--p2p-address <multiaddr>",
      "libp2p listen address (default: 127.0.0.1 on the port of this operator's address hint, else 3610)",
    )
    .option("--api-token-file <file>", "require Authorization: Bearer <token> with the token in this file")
    .option("--sign-timeout <duration>", "answer 503 when no signature is combined by then", "4s")
    .option(
      "--genesis-time <unix-seconds>",
      "genesis time of a custom network (presets know theirs): every duty must lie in a window around the wall-clock slot",
    )
    .option("--log-level <level>", "JSON log level (stderr)", "info")
    .action(async (flags: RunFlags) => {
      const signTimeoutMs = parseDuration(flags.signTimeout, "--sign-timeout");
      const logLevel = parseLogLevel(flags.logLevel, "--log-level");
      let genesisTimeSec: number | undefined;
      if (flags.genesisTime !== undefined) {
        if (!/^\d{1,12}$/.test(flags.genesisTime)) {
          throw new InputError("--genesis-time", `--genesis-time must be unix seconds, got "${flags.genesisTime}"`);
        }
        genesisTimeSec = Number(flags.genesisTime);
      }
      const api = parseListenAddress(flags.apiAddress, "--api-address");
      const metrics =
        flags.metricsAddress === "off" ? undefined : parseListenAddress(flags.metricsAddress, "--metrics-address");
      for (const f of [FILES.identity, FILES.lock]) {
        if (!(await exists(path.join(flags.dataDir, f)))) {
          throw new InputError("--data-dir", `${flags.dataDir} holds no ${f}`);
        }
      }
      const logger = createLogger({ level: logLevel });
      // loaded on use: libp2p, blst, fastify and SQLite take a second to load
      const { startNode } = await import("../app/run.js");
      const node = await startNode(
        {
          dataDir: flags.dataDir,
          api,
          metrics,
          p2pAddress: flags.p2pAddress,
          apiTokenFile: flags.apiTokenFile,
          signTimeoutMs,
          genesisTimeSec,
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

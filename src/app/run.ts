/**
 * `cohort run` composition root: the signing node, the Web3Signer API and the metrics server,
 * started in that order and stopped in reverse (in-flight API requests finish first).
 */
import { promises as fsp } from "node:fs";
import { createApiServer } from "../api/server.js";
import { InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { createApiMetrics, createMetricsRegistry, createMetricsServer } from "../lib/metrics.js";
import { createNodeMetrics } from "../signing/metrics.js";
import { DEFAULT_SIGN_TIMEOUT_MS, startSigningNode } from "./node.js";
import type { ListenAddress } from "./options.js";

export type { ListenAddress } from "./options.js";

export interface RunOpts {
  dataDir: string;
  api: ListenAddress;
  /** undefined: no metrics server. */
  metrics?: ListenAddress;
  p2pAddress?: string;
  apiTokenFile?: string;
  signTimeoutMs?: number;
  /** Genesis time of a custom network, unix seconds. */
  genesisTimeSec?: number;
}

/** A running `cohort run`. */
export interface RunningNode {
  peerId: string;
  shareIndex: number;
  apiUrl: string;
  metricsUrl?: string;
  /** Stops the API (in-flight requests finish), metrics, p2p and the database. Idempotent. */
  stop(): Promise<void>;
}

async function readToken(file: string): Promise<string> {
  let token: string;
  try {
    token = (await fsp.readFile(file, "utf8")).trim();
  } catch (err) {
    throw new InputError("--api-token-file", `cannot read --api-token-file ${file}`, { cause: err });
  }
  if (token.length < 16)
    throw new InputError("--api-token-file", "--api-token-file must hold a token of at least 16 characters");
  return token;
}

/**
 * Starts everything.
 * @throws InputError for bad files or flags (nothing left running)
 */
export async function startNode(opts: RunOpts, modules: { logger: Logger }): Promise<RunningNode> {
  const bearerToken = opts.apiTokenFile === undefined ? undefined : await readToken(opts.apiTokenFile);
  // libp2p's prometheus-metrics registers the process and Node.js default metrics itself
  const registry = createMetricsRegistry({ collectDefault: false });
  const node = await startSigningNode(
    {
      dataDir: opts.dataDir,
      p2pAddress: opts.p2pAddress,
      signTimeoutMs: opts.signTimeoutMs,
      genesisTimeSec: opts.genesisTimeSec,
    },
    { logger: modules.logger, metrics: createNodeMetrics(registry), metricsRegistry: registry },
  );
  const api = createApiServer(
    {
      host: opts.api.host,
      port: opts.api.port,
      bearerToken,
      signTimeoutMs: opts.signTimeoutMs ?? DEFAULT_SIGN_TIMEOUT_MS,
    },
    { signer: node.signer, logger: modules.logger, metrics: createApiMetrics(registry) },
  );
  const metrics =
    opts.metrics === undefined ? undefined : createMetricsServer(opts.metrics, { registry, logger: modules.logger });
  try {
    const { url: apiUrl } = await api.start();
    const metricsUrl = metrics === undefined ? undefined : (await metrics.start()).url;
    let stopping: Promise<void> | undefined;
    return {
      peerId: node.peerId,
      shareIndex: node.shareIndex,
      apiUrl,
      metricsUrl,
      stop: () => {
        stopping ??= (async () => {
          await api.stop();
          await metrics?.stop();
          await node.stop();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await api.stop();
    await metrics?.stop();
    await node.stop();
    throw err;
  }
}

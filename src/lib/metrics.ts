/**
 * Prometheus metrics with prom-client: one Registry per node, the `/metrics` HTTP server, and the
 * signing API's counters. Names follow https://prometheus.io/docs/practices/naming/.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { errorMessage, InputError } from "./errors.js";
import type { Logger } from "./logger.js";

/** Options for {@link createMetricsRegistry}. */
export interface MetricsRegistryOpts {
  /** Also export prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`); default true. */
  collectDefault?: boolean;
}

/**
 * A fresh prom-client Registry for one node. Every component registers its metrics here (the API
 * through {@link createApiMetrics}, the node its per-peer partial-signature metrics).
 */
export function createMetricsRegistry(opts: MetricsRegistryOpts = {}): Registry {
  const registry = new Registry();
  // prom-client 15 collects default metrics on scrape, no timers.
  if (opts.collectDefault ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Outcome of one sign request, the `result` label of `cohort_api_requests_total`:
 * ok → 200, bad_request → 400/413/415, unknown_key → 404, slashing_refused → 412,
 * unavailable → 503 (not enough partial signatures or deadline), error → 500.
 */
export type SignResult =
  | "ok"
  | "bad_request"
  | "unknown_key"
  | "slashing_refused"
  | "decided_other"
  | "no_consent"
  | "unavailable"
  | "error";

/** What the HTTP API reports about sign requests (src/api/server.ts calls it). */
export interface ApiMetrics {
  /**
   * Counts one sign request. `type` is the Web3Signer request type (`ATTESTATION`, …) or
   * `unknown` when the body named none of the 13 types.
   * @param latencySeconds handling time of the request (parse, signing root, slashing check,
   *   partial-signature exchange, combine, verify), s; only observed for `ok`
   */
  signRequest(type: string, result: SignResult, latencySeconds?: number): void;
}

/**
 * Signing-latency histogram buckets, seconds: a combined signature costs ≈3 ms of CPU, the rest is
 * the round trip to t − 1 peers; an attestation is useless after ≈4 s.
 */
export const SIGNING_LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8];

/**
 * Registers the API metrics on `registry`:
 * - `cohort_api_requests_total{type,result}`: sign requests by request type and {@link SignResult};
 * - `cohort_signing_latency_seconds{type}`: histogram of the handling time of successful sign
 *   requests, seconds (failures are only counted: a deadline would swamp the histogram).
 * @throws Error when called twice on one registry (prom-client rejects duplicate names)
 */
export function createApiMetrics(registry: Registry): ApiMetrics {
  const requests = new Counter({
    name: "cohort_api_requests_total",
    help: "Web3Signer sign requests by request type and result",
    labelNames: ["type", "result"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "cohort_signing_latency_seconds",
    help: "Time from a sign request's body to its combined, verified signature, seconds",
    labelNames: ["type"] as const,
    buckets: SIGNING_LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return {
    signRequest(type, result, latencySeconds) {
      requests.inc({ type, result });
      if (result === "ok" && latencySeconds !== undefined) latency.observe({ type }, latencySeconds);
    },
  };
}

/** Options for {@link createMetricsServer}. */
export interface MetricsServerOpts {
  /** Listen address; default 127.0.0.1 (DESIGN.md § Signing protocol). */
  host?: string;
  /** Listen port; 0 picks a free one (tests). cohort's default is 9100. */
  port: number;
}

/** A started-on-demand HTTP server. */
export interface HttpService {
  /**
   * Listens; resolves with the base URL, e.g. `http://127.0.0.1:9100`.
   * @throws InputError naming the address flag when the address cannot be listened on (EADDRINUSE, …)
   */
  start(): Promise<{ url: string }>;
  /** Stops listening and closes idle connections; resolves when the server has closed. */
  stop(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text exposition format, `registry.contentType`) from
 * `registry`; every other path gets 404, every other method 405. No authentication: bind it to
 * loopback or a monitoring network.
 */
export function createMetricsServer(
  opts: MetricsServerOpts,
  modules: { registry: Registry; logger: Logger },
): HttpService {
  const { registry } = modules;
  const log = modules.logger.child({ module: "metrics" });
  const host = opts.host ?? "127.0.0.1";
  let server: Server | undefined;

  const handle: Parameters<typeof createServer>[1] = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, "collect metrics");
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("collect metrics failed\n");
      },
    );
  };

  return {
    async start() {
      if (server !== undefined) throw new Error("metrics server already started");
      const s = createServer(handle);
      server = s;
      try {
        await new Promise<void>((resolve, reject) => {
          s.once("error", reject);
          s.listen(opts.port, host, () => {
            s.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        server = undefined;
        throw new InputError(
          "--metrics-address",
          `cannot listen for metrics on ${host}:${opts.port}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      const addr = s.address() as AddressInfo;
      const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
      log.info({ url }, "metrics server listening");
      return { url };
    },
    async stop() {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      await new Promise<void>((resolve, reject) => {
        s.close((err) => (err ? reject(err) : resolve()));
        s.closeIdleConnections();
      });
    },
  };
}

import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/lib/logger.js";
import {
  createApiMetrics,
  createMetricsRegistry,
  createMetricsServer,
  type HttpService,
} from "../../src/lib/metrics.js";

function get(url: string, method = "GET"): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("API metrics", () => {
  it("counts requests by type and result and observes latency of successes only", async () => {
    const registry = createMetricsRegistry({ collectDefault: false });
    const m = createApiMetrics(registry);
    m.signRequest("ATTESTATION", "ok", 0.012);
    m.signRequest("ATTESTATION", "ok", 0.3);
    m.signRequest("ATTESTATION", "slashing_refused");
    m.signRequest("BLOCK_V2", "unavailable", 5);
    const text = await registry.metrics();
    expect(text).toContain('cohort_api_requests_total{type="ATTESTATION",result="ok"} 2');
    expect(text).toContain('cohort_api_requests_total{type="ATTESTATION",result="slashing_refused"} 1');
    expect(text).toContain('cohort_api_requests_total{type="BLOCK_V2",result="unavailable"} 1');
    expect(text).toContain('cohort_signing_latency_seconds_count{type="ATTESTATION"} 2');
    expect(text).toContain('cohort_signing_latency_seconds_bucket{le="0.025",type="ATTESTATION"} 1');
    expect(text).not.toContain('cohort_signing_latency_seconds_count{type="BLOCK_V2"}');
  });

  it("refuses to register twice on one registry", () => {
    const registry = createMetricsRegistry({ collectDefault: false });
    createApiMetrics(registry);
    expect(() => createApiMetrics(registry)).toThrow(/already been registered/);
  });

  it("includes process metrics by default", async () => {
    const text = await createMetricsRegistry().metrics();
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain("nodejs_eventloop_lag_seconds");
  });
});

describe("metrics server", () => {
  let server: HttpService | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("serves the registry on GET /metrics and nothing else", async () => {
    const registry = createMetricsRegistry({ collectDefault: false });
    createApiMetrics(registry).signRequest("RANDAO_REVEAL", "ok", 0.001);
    server = createMetricsServer({ port: 0 }, { registry, logger: silentLogger() });
    const { url } = await server.start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await get(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toBe(registry.contentType);
    expect(res.body).toContain('cohort_api_requests_total{type="RANDAO_REVEAL",result="ok"} 1');

    expect((await get(`${url}/metrics?x=1`)).status).toBe(200);
    expect((await get(`${url}/`)).status).toBe(404);
    expect((await get(`${url}/api/v1/eth2/publicKeys`)).status).toBe(404);
    expect((await get(`${url}/metrics`, "POST")).status).toBe(405);
  });

  it("stops, refuses a second start, and reports a busy port", async () => {
    const registry = createMetricsRegistry({ collectDefault: false });
    server = createMetricsServer({ port: 0 }, { registry, logger: silentLogger() });
    const { url } = await server.start();
    await expect(server.start()).rejects.toThrow(/already started/);
    const port = Number(new URL(url).port);
    const clash = createMetricsServer({ port }, { registry, logger: silentLogger() });
    await expect(clash.start()).rejects.toThrow(/listen for metrics .*EADDRINUSE/);
    await server.stop();
    await expect(get(`${url}/metrics`)).rejects.toThrow();
    await server.stop();
  });
});

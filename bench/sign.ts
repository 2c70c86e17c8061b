/**
 * `npm run bench:sign`: a 4-node cluster (t = 3) as 4 `cohort run` processes on this machine, with
 * one simulated validator client per node: every duty is sent to all 4 nodes at once, as 4
 * operators' clients send it, and the nodes agree on its value before they sign. Measures latency
 * at a fixed 50 duties/s, the most duties per second with many in flight, one slot's burst of
 * attestation duties for a 10,000-validator cluster (313 at once), and CPU per duty; prints them
 * next to the targets and DESIGN.md's floor and writes bench/results/sign.json. Every signature is
 * verified under the validator key, after each timed phase and in batches.
 *
 * Duties are attestations at mainnet's wall-clock slot (the nodes refuse any other): each
 * validator signs one per target epoch, for the current and the previous epoch.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runDevnet } from "../src/app/devnet.js";
import { type DevnetCluster, startDevnetNodes } from "../src/app/devnetRun.js";
import { SecretKey, verify, verifyBatch } from "../src/crypto/bls.js";
import { PRESET_GENESIS_TIME, slotClock } from "../src/eth2/clock.js";
import { resolveNetwork } from "../src/eth2/networks.js";
import { parseSignRequest, requestSigningRoot } from "../src/eth2/requests.js";
import { fromHex, toHex } from "../src/lib/bytes.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const NODES = 4;
const VALIDATORS = Number(process.env.BENCH_SIGN_VALIDATORS ?? 2000);
const RATE = Number(process.env.BENCH_SIGN_RATE ?? 50);
const RATE_SECONDS = Number(process.env.BENCH_SIGN_SECONDS ?? 20);
const MAX_SECONDS = Number(process.env.BENCH_SIGN_MAX_SECONDS ?? 10);
/** Duties in flight during the throughput phase (4 requests each). */
const CONCURRENCY = 16;
/** One slot's attestation duties for a 10,000-validator cluster: 10,000 / 32. */
const BURST = 313;
/** Extra node flags for the 4 node processes, e.g. BENCH_SIGN_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_SIGN_NODE_ARGS ?? "").split(" ").filter(Boolean);
/**
 * The floor: every node signs, combines and verifies once per duty, about 9 ms of CPU per
 * duty across 4 nodes (DESIGN.md § Arithmetic floor: 0.5 ms sign + 1.3 ms combine + 1.2 ms verify per node).
 */
const FLOOR_CPU_MS_PER_DUTY = 9;

const mainnet = resolveNetwork("mainnet");
const clock = slotClock(PRESET_GENESIS_TIME.mainnet);
/** Per validator, the target epochs already attested to. */
const used = new Map<number, Set<number>>();
let cursor = 0;
let tag = 0;

/** The next attestation duty no validator has signed: the current epoch first, then the previous one. */
function attestation(): { v: number; body: Record<string, unknown> } {
  const now = clock.currentSlot();
  const current = Math.floor(now / 32);
  for (let tries = 0; tries < VALIDATORS; tries++) {
    const v = cursor++ % VALIDATORS;
    const done = used.get(v) ?? new Set<number>();
    used.set(v, done);
    const target = !done.has(current) ? current : !done.has(current - 1) ? current - 1 : undefined;
    if (target === undefined) continue;
    done.add(target);
    const slot = target === current ? now : target * 32 + 31;
    const hex = (b: number) => `0x${b.toString(16).padStart(2, "0").repeat(32)}`;
    return {
      v,
      body: {
        type: "ATTESTATION",
        fork_info: {
          fork: { previous_version: "0x05000000", current_version: "0x06000000", epoch: "411392" },
          genesis_validators_root: toHex(mainnet.genesisValidatorsRoot),
        },
        attestation: {
          slot: String(slot),
          index: "0",
          beacon_block_root: hex(tag++ % 251),
          source: { epoch: String(target - 1), root: hex(1) },
          target: { epoch: String(target), root: hex(2) },
        },
      },
    };
  }
  throw new Error(`all ${VALIDATORS} validators attested in this and the previous epoch: raise BENCH_SIGN_VALIDATORS`);
}

async function cpuSeconds(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** Median time of one blst verify now, ms: the VM's speed swings, and DESIGN.md's figure is 1.2–1.5 ms. */
function calibrate(): number {
  const sk = SecretKey.random();
  const pk = sk.publicKey();
  const msgs = Array.from({ length: 200 }, (_, i) => new Uint8Array(32).fill(i));
  const sigs = msgs.map((m) => sk.sign(m));
  const times = msgs.map((m, i) => {
    const t = performance.now();
    verify(pk, m, sigs[i]!);
    return performance.now() - t;
  });
  return times.sort((a, b) => a - b)[100]!;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "cohort-bench-sign-"));
let cluster: DevnetCluster | undefined;
try {
  // other processes on the 2 cores (a left-over cluster, a test run) skew every figure here
  const loadBefore = os.loadavg()[0]!;
  if (loadBefore > 1) {
    process.stderr.write(
      `warning: load average ${loadBefore.toFixed(2)} before the benchmark: other processes share the cores, and the figures will show it\n`,
    );
  }
  process.stderr.write("creating a 4-node devnet…\n");
  const devnet = await runDevnet(
    { nodes: NODES, validators: VALIDATORS, network: "mainnet", out: path.join(tmp, "net"), timeoutMs: 600_000 },
    { onLine: () => {} },
  );
  const keys = devnet.lock.distributedValidators.map((dv) => dv.publicKey);
  // BENCH_SIGN_LOG_DIR keeps each node's output (for --trace-* flags in BENCH_SIGN_NODE_ARGS)
  const logDir = process.env.BENCH_SIGN_LOG_DIR;
  cluster = await startDevnetNodes(
    devnet,
    (node, line) => {
      if (logDir !== undefined) appendFileSync(path.join(logDir, `node-${node}.log`), `${line}\n`);
    },
    { nodeArgs: NODE_ARGS },
  );
  const nodes = cluster.nodes.map((n) => ({ api: n.api_url, metrics: n.metrics_url }));
  const received: { publicKey: Uint8Array; body: unknown; signature: Uint8Array }[] = [];
  // node:http with keep-alive: the load generator shares the 2 cores with the nodes, and fetch
  // costs it about 2 ms of CPU per request
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
  const post = (url: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  /** One duty: the same request to every node at once; resolves with each request's latency, ms. */
  const signOne = async (): Promise<number[]> => {
    const { v, body } = attestation();
    const json = JSON.stringify(body);
    const replies = await Promise.all(
      nodes.map(async (n) => {
        const started = performance.now();
        const res = await post(`${n.api}/api/v1/eth2/sign/${toHex(keys[v]!)}`, json);
        const ms = performance.now() - started;
        if (res.status !== 200) throw new Error(`sign failed ${res.status}: ${res.text}`);
        return { ms, signature: (JSON.parse(res.text) as { signature: string }).signature };
      }),
    );
    if (new Set(replies.map((r) => r.signature)).size !== 1) throw new Error("the nodes returned different signatures");
    received.push({ publicKey: keys[v]!, body, signature: fromHex(replies[0]!.signature, "signature", 96) });
    return replies.map((r) => r.ms);
  };
  /** Verifies every signature received so far (64 per multi-pairing, one by one if a batch fails). */
  const verifyReceived = () => {
    for (let o = 0; o < received.length; o += 64) {
      const batch = received.slice(o, o + 64).map((r) => ({
        publicKey: r.publicKey,
        message: requestSigningRoot(parseSignRequest(r.body), mainnet),
        signature: r.signature,
      }));
      if (verifyBatch(batch)) continue;
      for (const s of batch) {
        if (!verify(s.publicKey, s.message, s.signature)) throw new Error("invalid signature");
      }
    }
    const count = received.length;
    received.length = 0;
    return count;
  };
  const verifyBefore = calibrate();
  // warm up: a node runs for days, and V8 optimises the signing path only after some thousands of
  // requests; then one request at a time, for latency with nothing else in flight
  const WARMUP = Number(process.env.BENCH_SIGN_WARMUP ?? 200);
  process.stderr.write(`warming up with ${WARMUP} duties…\n`);
  let warmed = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (warmed++ < WARMUP) await signOne();
    }),
  );
  const sequential: number[] = [];
  for (let k = 0; k < 50; k++) sequential.push(...(await signOne()));
  sequential.sort((a, b) => a - b);
  let verified = verifyReceived();

  process.stderr.write(`${RATE} duties/s for ${RATE_SECONDS} s…\n`);
  const cpu0 = await Promise.all(nodes.map((n) => cpuSeconds(n.metrics)));
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  // a failed request ends the phase after the others settle, so the nodes are still stopped below
  let failure: unknown;
  const t0 = performance.now();
  for (let k = 0; k < RATE * RATE_SECONDS && failure === undefined; k++) {
    const due = t0 + (k * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      signOne().then(
        (ms) => void latencies.push(...ms),
        (err: unknown) => {
          failure ??= err;
        },
      ),
    );
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  const rateWall = (performance.now() - t0) / 1000;
  const cpu1 = await Promise.all(nodes.map((n) => cpuSeconds(n.metrics)));
  latencies.sort((a, b) => a - b);
  verified += verifyReceived();

  process.stderr.write(`maximum throughput, ${CONCURRENCY} in flight for ${MAX_SECONDS} s…\n`);
  let done = 0;
  const clientCpu0 = process.cpuUsage();
  const tMax = performance.now();
  const endAt = tMax + MAX_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < endAt) {
        await signOne();
        done++;
      }
    }),
  );
  const maxWall = (performance.now() - tMax) / 1000;
  const clientCpu = process.cpuUsage(clientCpu0);
  const cpu2 = await Promise.all(nodes.map((n) => cpuSeconds(n.metrics)));
  verified += verifyReceived();
  const maxRate = done / maxWall;
  const cpuPerNodeAtRate = cpu1.map((c, i) => (c - cpu0[i]!) / rateWall);
  const cpuPerSig = cpu2.reduce((a, c, i) => a + (c - cpu1[i]!), 0) / done;

  process.stderr.write(`a burst of ${BURST} duties at once…\n`);
  const tBurst = performance.now();
  await Promise.all(Array.from({ length: BURST }, () => signOne()));
  const burstMs = performance.now() - tBurst;
  verified += verifyReceived();

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    nodes: NODES,
    threshold: devnet.lock.definition.threshold,
    rate_per_second: RATE,
    validators: VALIDATORS,
    requests_per_duty: NODES,
    requests_at_rate: latencies.length,
    load_average_1m_before: loadBefore,
    blst_verify_ms_before: verifyBefore,
    blst_verify_ms_after: calibrate(),
    signatures_verified: verified,
    sequential_latency_ms: { p50: percentile(sequential, 50), p99: percentile(sequential, 99) },
    latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
    cpu_per_node_at_rate_percent: cpuPerNodeAtRate.map((c) => Math.round(c * 1000) / 10),
    max_duties_per_second: maxRate,
    cluster_cpu_ms_per_duty_at_max: cpuPerSig * 1000,
    client_cpu_ms_per_duty_at_max: (clientCpu.user + clientCpu.system) / 1000 / done,
    burst_duties: BURST,
    burst_ms: burstMs,
    floor_cluster_cpu_ms_per_duty: FLOOR_CPU_MS_PER_DUTY,
    floor_duties_per_second_on_2_cores: 2000 / FLOOR_CPU_MS_PER_DUTY,
  };
  console.log("");
  console.log(
    "cohort signing benchmark: 4 `cohort run` processes (t = 3) on this machine, each duty sent to all 4 nodes (one validator client each), agreed, signed, every signature verified",
  );
  console.log("measure                                   value      target   floor");
  console.log(`latency p50, one duty at a time, ms     ${result.sequential_latency_ms.p50.toFixed(1).padStart(8)}`);
  console.log(`latency p50 at ${RATE} duties/s, ms         ${result.latency_ms.p50.toFixed(1).padStart(8)}   ≤ 15`);
  console.log(`latency p99 at ${RATE} duties/s, ms         ${result.latency_ms.p99.toFixed(1).padStart(8)}   ≤ 60`);
  console.log(
    `CPU per node at ${RATE}/s, % of a core     ${result.cpu_per_node_at_rate_percent.join(" / ").padStart(8)}`,
  );
  console.log(
    `max duties/s                            ${maxRate.toFixed(0).padStart(8)}   ≥ 100    ${result.floor_duties_per_second_on_2_cores.toFixed(0)}`,
  );
  console.log(`burst of ${BURST} duties, ms                ${burstMs.toFixed(0).padStart(8)}   ≤ 4000`);
  console.log(
    `cluster CPU per duty at max, ms         ${result.cluster_cpu_ms_per_duty_at_max.toFixed(2).padStart(8)}            ${FLOOR_CPU_MS_PER_DUTY}`,
  );
  mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench/results/sign.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`benchmark client CPU per duty, ms       ${result.client_cpu_ms_per_duty_at_max.toFixed(2).padStart(8)}`);
  console.log(
    `blst verify on this machine, ms (before / after)  ${result.blst_verify_ms_before.toFixed(2)} / ${result.blst_verify_ms_after.toFixed(2)}   DESIGN.md: 1.2–1.5`,
  );
  console.log(`load average (1 min) before the run         ${loadBefore.toFixed(2)}`);
  console.log(`\nall ${verified} signatures verified under their validator keys`);
  console.log("wrote bench/results/sign.json");
} finally {
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * `npm run bench:dkg`: wall time and per-process CPU of `cohort devnet` ceremonies (each node its
 * own OS process on loopback), from all peers connected to artifacts written, next to the
 * arithmetic floor of DESIGN.md, with each node's peak RSS, event-loop delay (p99 and worst) and
 * missed heartbeats (src/p2p/heartbeat.ts). Writes bench/results/dkg.json. BENCH_DKG_CASES picks the
 * rows (e.g. "10x10000", which takes long on 2 cores and is not in the default set).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");

/** DESIGN.md § Arithmetic floor, milliseconds. */
const FLOOR_MS = { sign: 0.47, batchVerifyEach: 0.46, g1Base: 0.15, combineT3: 1.3, combineT7: 3.9 };

interface Case {
  nodes: number;
  validators: number;
}

const CASES: Case[] = (process.env.BENCH_DKG_CASES ?? "4x1,4x100,4x1000,7x100,7x1000,10x1000,4x10000")
  .split(",")
  .map((c) => {
    const [n, v] = c.split("x").map(Number);
    return { nodes: n!, validators: v! };
  });

/**
 * Per-node CPU floor from DESIGN.md's per-operation figures: dealing (t commitments, one PoP,
 * per validator), batch-verifying the other dealers' PoPs, signing and batch-verifying deposit
 * partials, combining, and signing lock_hash. The Feldman MSM and point decompression are extra.
 */
function floorCpuMs(n: number, t: number, v: number): number {
  const combine = t <= 3 ? FLOOR_MS.combineT3 : FLOOR_MS.combineT7;
  return (
    v * (t * FLOOR_MS.g1Base + FLOOR_MS.sign) + // deal
    (n - 1) * v * FLOOR_MS.batchVerifyEach + // PoPs
    v * (FLOOR_MS.sign + (n - 1) * FLOOR_MS.batchVerifyEach + combine + FLOOR_MS.batchVerifyEach) + // deposit
    v * (FLOOR_MS.sign + (n - 1) * FLOOR_MS.batchVerifyEach) // lock_hash share signatures
  );
}

interface LogLine {
  time: string;
  msg: string;
  cpu_user_ms?: number;
  cpu_system_ms?: number;
  rss_peak_mb?: number;
  event_loop_delay_p99_ms?: number;
  event_loop_delay_max_ms?: number;
  heartbeats_missed?: number;
}

function readLog(file: string): LogLine[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as LogLine);
}

const results = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), "cohort-bench-dkg-"));
try {
  for (const c of CASES) {
    const t = Math.ceil((2 * c.nodes) / 3);
    const out = path.join(tmp, `${c.nodes}x${c.validators}`);
    process.stderr.write(`running ${c.nodes} nodes × ${c.validators} validators…\n`);
    const started = Date.now();
    const res = spawnSync(
      process.execPath,
      [
        CLI,
        "devnet",
        "--nodes",
        String(c.nodes),
        "--validators",
        String(c.validators),
        "--out",
        out,
        "--quiet",
        "--timeout",
        "60m",
      ],
      { encoding: "utf8" },
    );
    if (res.status !== 0) throw new Error(`devnet ${c.nodes}x${c.validators} failed: ${res.stderr}`);
    const devnetMs = Date.now() - started;
    const nodes = Array.from({ length: c.nodes }, (_, i) => {
      const log = readLog(path.join(out, `node-${i + 1}`, "dkg.log"));
      const connected = log.find((l) => l.msg === "all peers connected")!;
      const written = log.find((l) => l.msg === "artifacts written")!;
      return {
        connectedAt: Date.parse(connected.time),
        writtenAt: Date.parse(written.time),
        ceremonyCpuMs:
          written.cpu_user_ms! + written.cpu_system_ms! - (connected.cpu_user_ms! + connected.cpu_system_ms!),
        processCpuMs: written.cpu_user_ms! + written.cpu_system_ms!,
        rssMb: written.rss_peak_mb ?? Number.NaN,
        loopP99Ms: written.event_loop_delay_p99_ms ?? Number.NaN,
        loopMaxMs: written.event_loop_delay_max_ms ?? Number.NaN,
        missed: written.heartbeats_missed ?? Number.NaN,
      };
    });
    const allConnected = Math.max(...nodes.map((n) => n.connectedAt));
    const lastWritten = Math.max(...nodes.map((n) => n.writtenAt));
    const cpu = nodes.map((n) => n.ceremonyCpuMs);
    results.push({
      nodes: c.nodes,
      threshold: t,
      validators: c.validators,
      wall_ms: lastWritten - allConnected,
      devnet_total_ms: devnetMs,
      cpu_per_node_ms: { mean: cpu.reduce((a, b) => a + b, 0) / cpu.length, max: Math.max(...cpu) },
      process_cpu_per_node_ms_max: Math.max(...nodes.map((n) => n.processCpuMs)),
      floor_cpu_per_node_ms: floorCpuMs(c.nodes, t, c.validators),
      floor_wall_ms_on_2_cores: (floorCpuMs(c.nodes, t, c.validators) * c.nodes) / 2,
      rss_peak_per_node_mb_max: Math.max(...nodes.map((n) => n.rssMb)),
      event_loop_delay_p99_ms_max: Math.max(...nodes.map((n) => n.loopP99Ms)),
      event_loop_delay_max_ms: Math.max(...nodes.map((n) => n.loopMaxMs)),
      heartbeats_missed: nodes.reduce((a, n) => a + n.missed, 0),
    });
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const f = (ms: number) => (ms / 1000).toFixed(2).padStart(8);
console.log("");
console.log(
  "cohort dkg benchmark: all nodes on this machine (2 cores), wall = all peers connected → last artifacts written",
);
console.log(
  "nodes  t  validators   wall s  cpu/node s (mean)  cpu/node s (max)  floor cpu/node s  floor wall s (2 cores)  rss MB (max)  loop p99 ms  loop max ms  missed heartbeats",
);
for (const r of results) {
  console.log(
    `${String(r.nodes).padStart(5)} ${String(r.threshold).padStart(2)} ${String(r.validators).padStart(11)} ${f(r.wall_ms)} ${f(r.cpu_per_node_ms.mean).padStart(18)} ${f(r.cpu_per_node_ms.max).padStart(17)} ${f(r.floor_cpu_per_node_ms).padStart(17)} ${f(r.floor_wall_ms_on_2_cores).padStart(23)} ${String(r.rss_peak_per_node_mb_max).padStart(13)} ${String(r.event_loop_delay_p99_ms_max).padStart(12)} ${String(r.event_loop_delay_max_ms).padStart(12)} ${String(r.heartbeats_missed).padStart(18)}`,
  );
}
mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
writeFileSync(
  path.join(ROOT, "bench/results/dkg.json"),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2)}\n`,
);
console.log("\nwrote bench/results/dkg.json");

/**
 * `npm run bench:reshare`: a reshare from 4 operators (t = 3) to 5 (t = 4), each node its own OS
 * process on loopback (`cohort reshare` through the CLI), next to the first DKG of the same size
 * (`cohort devnet`: the same 4 × V run just before it, and 5 × V with t = 4, the reshare's process count). Wall = all peers connected → last artifacts
 * written; CPU per node over the same span, from each node's dkg.log. Writes bench/results/reshare.json.
 * BENCH_RESHARE_VALIDATORS="1,100,1000" sets the sizes.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/lib/ports.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");
const SIZES = (process.env.BENCH_RESHARE_VALIDATORS ?? "1,100,1000").split(",").map(Number);

interface LogLine {
  time: string;
  msg: string;
  cpu_user_ms?: number;
  cpu_system_ms?: number;
}

function cli(args: string[]): string {
  const res = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`cohort ${args[0]} ${args[1] ?? ""} failed: ${res.stderr}`);
  return res.stdout;
}

function cliAsync(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`cohort ${args[0]} exited ${code}: ${stderr}`)),
    );
  });
}

/** The last ceremony in a node's dkg.log: when all peers connected, when it wrote, and its CPU in between. */
function lastCeremony(file: string) {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as LogLine);
  const connected = lines.findLast((l) => l.msg === "all peers connected")!;
  const written = lines.findLast((l) => l.msg === "artifacts written")!;
  const cpu = (l: LogLine) => l.cpu_user_ms! + l.cpu_system_ms!;
  return {
    connectedAt: Date.parse(connected.time),
    writtenAt: Date.parse(written.time),
    cpuMs: cpu(written) - cpu(connected),
  };
}

function summarize(nodes: ReturnType<typeof lastCeremony>[]) {
  const cpu = nodes.map((n) => n.cpuMs);
  return {
    wall_ms: Math.max(...nodes.map((n) => n.writtenAt)) - Math.max(...nodes.map((n) => n.connectedAt)),
    cpu_per_node_ms: { mean: cpu.reduce((a, b) => a + b, 0) / cpu.length, max: Math.max(...cpu) },
  };
}

const results = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), "cohort-bench-reshare-"));
try {
  for (const V of SIZES) {
    const net = path.join(tmp, `v${V}`);
    const node = (i: number) => path.join(net, `node-${i}`);
    process.stderr.write(`DKG 4 × ${V}…\n`);
    cli(["devnet", "--nodes", "4", "--validators", String(V), "--out", net, "--quiet", "--timeout", "10m"]);
    const dkg = summarize([1, 2, 3, 4].map((i) => lastCeremony(path.join(node(i), "dkg.log"))));
    const peer5 = cli(["identity", "create", "--data-dir", node(5)]).trim();
    const lock = path.join(node(1), "cluster-lock.json");
    const operators = JSON.parse(readFileSync(lock, "utf8")).definition.operators.map(
      (o: { peer_id: string }) => o.peer_id,
    );
    const def = path.join(net, "reshare.json");
    const port = await freePort();
    cli([
      "definition",
      "reshare",
      "--lock",
      lock,
      "--operators",
      [...operators, `${peer5}@/ip4/127.0.0.1/tcp/${port}`].join(","),
      "--threshold",
      "4",
      "--out",
      def,
    ]);
    for (let i = 1; i <= 5; i++) cli(["definition", "sign", "--data-dir", node(i), "--definition", def]);
    process.stderr.write(`reshare 4 → 5 × ${V}…\n`);
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        cliAsync([
          "reshare",
          "--data-dir",
          node(i),
          "--definition",
          def,
          "--timeout",
          "10m",
          ...(i === 5 ? ["--previous-lock", lock] : []),
        ]),
      ),
    );
    const reshare = summarize([1, 2, 3, 4, 5].map((i) => lastCeremony(path.join(node(i), "dkg.log"))));
    rmSync(net, { recursive: true, force: true });
    // the DKG with the reshare's process count: 5 nodes (t = 4) on the same 2 cores
    process.stderr.write(`DKG 5 × ${V}…\n`);
    const net5 = path.join(tmp, `v${V}-5`);
    cli([
      "devnet",
      "--nodes",
      "5",
      "--threshold",
      "4",
      "--validators",
      String(V),
      "--out",
      net5,
      "--quiet",
      "--timeout",
      "10m",
    ]);
    const dkg5 = summarize([1, 2, 3, 4, 5].map((i) => lastCeremony(path.join(net5, `node-${i}`, "dkg.log"))));
    rmSync(net5, { recursive: true, force: true });
    results.push({ validators: V, dkg_4_t3: dkg, dkg_5_t4: dkg5, reshare_4_to_5_t4: reshare });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const s = (ms: number) => (ms / 1000).toFixed(2).padStart(9);
console.log("");
console.log(
  "cohort reshare benchmark: all nodes on this machine (2 cores); wall = all peers connected → last artifacts written",
);
console.log(
  "validators  DKG 4 wall s  cpu/node s  DKG 5 wall s  cpu/node s  reshare 4→5 wall s  cpu/node s  wall / DKG 5",
);
for (const r of results) {
  console.log(
    `${String(r.validators).padStart(10)} ${s(r.dkg_4_t3.wall_ms).padStart(13)} ${s(r.dkg_4_t3.cpu_per_node_ms.mean).padStart(11)} ${s(r.dkg_5_t4.wall_ms).padStart(13)} ${s(r.dkg_5_t4.cpu_per_node_ms.mean).padStart(11)} ${s(r.reshare_4_to_5_t4.wall_ms).padStart(19)} ${s(r.reshare_4_to_5_t4.cpu_per_node_ms.mean).padStart(11)} ${(r.reshare_4_to_5_t4.wall_ms / r.dkg_5_t4.wall_ms).toFixed(2).padStart(13)}`,
  );
}
mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
writeFileSync(
  path.join(ROOT, "bench/results/reshare.json"),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2)}\n`,
);
console.log("\nwrote bench/results/reshare.json");

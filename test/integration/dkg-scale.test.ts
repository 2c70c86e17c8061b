// A 2000-validator DKG in 4 `cohort dkg` processes (`cohort devnet`, real libp2p on loopback): the
// ceremony's computation is time-sliced (src/lib/slice.ts), so every node keeps answering its
// peers' heartbeats (libp2p pings, src/p2p/heartbeat.ts) throughout. Before slicing, a node held
// its event loop for about 10 s at this size, and at 10,000 validators the ceremony failed with
// PEER_DISCONNECTED. Slow (about a minute on 2 cores): it is the one DKG of this size in CI.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIST_CLI, ensureBuilt } from "../cluster/cli-helpers.js";

const NODES = 4;
const VALIDATORS = 2000;
const dir = mkdtempSync(path.join(os.tmpdir(), "cohort-dkg-scale-"));

interface Written {
  msg: string;
  heartbeats_sent: number;
  heartbeats_answered: number;
  heartbeats_missed: number;
}

let exitCode: number | null = null;
let output = "";

beforeAll(async () => {
  await ensureBuilt();
  const child = spawn(
    process.execPath,
    [
      DIST_CLI,
      "devnet",
      "--nodes",
      String(NODES),
      "--validators",
      String(VALIDATORS),
      "--out",
      path.join(dir, "net"),
      "--quiet",
      "--timeout",
      "20m",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.on("data", (b: Buffer) => {
    output += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    output += b.toString();
  });
  exitCode = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
}, 1_500_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`a DKG of ${VALIDATORS} validators on ${NODES} processes`, () => {
  it("completes, and every node answered every heartbeat its peers sent while it computed", () => {
    expect(exitCode, output.slice(-2000)).toBe(0);
    const lock = JSON.parse(readFileSync(path.join(dir, "net", "node-1", "cluster-lock.json"), "utf8")) as {
      distributed_validators: unknown[];
    };
    expect(lock.distributed_validators).toHaveLength(VALIDATORS);
    for (let i = 1; i <= NODES; i++) {
      const lines = readFileSync(path.join(dir, "net", `node-${i}`, "dkg.log"), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Written);
      const written = lines.find((l) => l.msg === "artifacts written");
      expect(written, `node ${i} wrote its artifacts`).toBeDefined();
      // one heartbeat a second to each of 3 peers through a ceremony of tens of seconds
      expect(written!.heartbeats_answered, `node ${i}`).toBeGreaterThan(3 * 10);
      expect(written!.heartbeats_missed, `node ${i}`).toBe(0);
      expect(
        lines.filter((l) => l.msg === "heartbeat missed"),
        `node ${i}`,
      ).toEqual([]);
    }
  });
});

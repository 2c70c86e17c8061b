/**
 * `cohort slashing import|export` through the built CLI (node dist/src/cli/main.js) in child processes: help, the
 * happy path, bad input (exit 2, one line naming the field, database unchanged) and the data-dir lock.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/lib/bytes.js";
import { acquireDataDirLock, LOCK_FILE } from "../../src/lib/lockfile.js";
import type { Root } from "../../src/lib/types.js";
import {
  exportInterchange,
  type InterchangeJson,
  importInterchange,
  parseInterchange,
} from "../../src/slashing/interchange.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { DIST_CLI, REPO_ROOT, requireBuilt, tempDir, testPubkey, testRoot } from "./helpers.js";

const GVR = testRoot(0x99) as Root;
const PK1 = toHex(testPubkey(1));
const PK2 = toHex(testPubkey(2));

const INTERCHANGE: InterchangeJson = {
  metadata: { interchange_format_version: "5", genesis_validators_root: toHex(GVR) },
  data: [
    {
      pubkey: PK1,
      signed_blocks: [{ slot: "10", signing_root: toHex(testRoot(10)) }, { slot: "11" }],
      signed_attestations: [
        { source_epoch: "1", target_epoch: "2", signing_root: toHex(testRoot(2)) },
        { source_epoch: "2", target_epoch: "3" },
      ],
    },
    { pubkey: PK2, signed_blocks: [], signed_attestations: [{ source_epoch: "4", target_epoch: "5" }] },
  ],
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DIST_CLI, ...args], { cwd: REPO_ROOT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const tmp = tempDir();
beforeAll(() => requireBuilt(DIST_CLI));
afterAll(() => tmp.cleanup());

let dirs = 0;
function newDir(): string {
  const dir = path.join(tmp.dir, `d${dirs++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
  return file;
}

/** A data dir whose database already holds {@link INTERCHANGE}; returns the dir and a snapshot reader. */
function seededDataDir(): { dataDir: string; snapshot: () => InterchangeJson } {
  const dataDir = newDir();
  const db = new SlashingProtectionDb({ dataDir, genesisValidatorsRoot: GVR });
  importInterchange(db, parseInterchange(INTERCHANGE));
  db.close();
  return {
    dataDir,
    snapshot: () => {
      const s = new SlashingProtectionDb({ dataDir });
      try {
        return exportInterchange(s);
      } finally {
        s.close();
      }
    },
  };
}

/** A bad-input failure: exit 2, one line on stderr naming `flag`, no stack trace, nothing on stdout. */
function expectBadInput(r: Result, flag: string, text?: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toContain(flag);
  if (text) expect(lines[0]).toMatch(text);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).toBe("");
}

describe("cohort slashing CLI", () => {
  it("prints --help for the group and both commands", async () => {
    const [group, imp, exp] = await Promise.all([
      cli("slashing", "--help"),
      cli("slashing", "import", "--help"),
      cli("slashing", "export", "--help"),
    ]);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/import/);
    expect(group.stdout).toMatch(/export/);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/--data-dir/);
    expect(imp.stdout).toMatch(/--file/);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toMatch(/--pubkeys/);
    expect(exp.stdout).toMatch(/--format/);
  });

  it("imports, then exports complete and minimal files with mode 0600", async () => {
    const dataDir = path.join(newDir(), "node");
    const input = writeJson("good.json", INTERCHANGE);
    const imp = await cli("slashing", "import", "--data-dir", dataDir, "--file", input);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/imported 2 validator/);
    const complete = path.join(tmp.dir, "complete.json");
    const minimal = path.join(tmp.dir, "minimal.json");
    const [c, m] = [
      await cli("slashing", "export", "--data-dir", dataDir, "--file", complete),
      await cli(
        "slashing",
        "export",
        "--data-dir",
        dataDir,
        "--file",
        minimal,
        "--format",
        "minimal",
        "--pubkeys",
        PK1,
      ),
    ];
    expect(c.code, c.stderr).toBe(0);
    expect(m.code, m.stderr).toBe(0);
    expect(statSync(complete).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(complete, "utf8"))).toEqual(INTERCHANGE);
    expect(JSON.parse(readFileSync(minimal, "utf8")).data).toEqual([
      {
        pubkey: PK1,
        signed_blocks: [{ slot: "11" }],
        signed_attestations: [{ source_epoch: "2", target_epoch: "3" }],
      },
    ]);
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  });

  it("refuses bad files with exit 2 and leaves the database unchanged", async () => {
    const cases: [string, unknown, RegExp][] = [
      ["bad.json", "{ this is not json", /not valid JSON/],
      ["schema.json", { ...INTERCHANGE, data: [{ pubkey: "0x12", signed_blocks: [] }] }, /data\[0\]\.pubkey/],
      [
        "gvr.json",
        { ...INTERCHANGE, metadata: { ...INTERCHANGE.metadata, genesis_validators_root: toHex(testRoot(1)) } },
        /genesis_validators_root/,
      ],
      ["missing.json", undefined, /cannot read/],
    ];
    const seeded = cases.map(() => seededDataDir());
    const before = seeded.map((s) => s.snapshot());
    const results = await Promise.all(
      cases.map(([name, content], i) =>
        cli(
          "slashing",
          "import",
          "--data-dir",
          seeded[i]!.dataDir,
          "--file",
          content === undefined ? path.join(tmp.dir, name) : writeJson(name, content),
        ),
      ),
    );
    for (const [i, r] of results.entries()) {
      expectBadInput(r, "--file", cases[i]![2]);
      expect(seeded[i]!.snapshot()).toEqual(before[i]);
    }
  });

  it("refuses bad flags with exit 2 and writes nothing", async () => {
    const { dataDir } = seededDataDir();
    const empty = path.join(tmp.dir, "never-created");
    const out = path.join(tmp.dir, "not-written.json");
    const [noFile, badKeys, noDb] = await Promise.all([
      cli("slashing", "import", "--data-dir", dataDir),
      cli("slashing", "export", "--data-dir", dataDir, "--file", out, "--pubkeys", "0x1234"),
      cli("slashing", "export", "--data-dir", empty, "--file", out),
    ]);
    expectBadInput(noFile, "--file");
    expectBadInput(badKeys, "--pubkeys");
    expectBadInput(noDb, "--data-dir");
    expect(existsSync(out)).toBe(false);
    expect(existsSync(empty)).toBe(false);
  });

  it("refuses to run while another process holds the data-dir lock, and takes over a dead one's", async () => {
    const held = seededDataDir();
    const before = held.snapshot();
    const input = writeJson("lock.json", {
      ...INTERCHANGE,
      data: [{ ...INTERCHANGE.data[1], pubkey: toHex(testPubkey(3)) }],
    });
    const lock = await acquireDataDirLock(held.dataDir, "cohort run");
    const stale = seededDataDir();
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    writeFileSync(
      path.join(stale.dataDir, LOCK_FILE),
      JSON.stringify({ pid: dead, hostname: os.hostname(), purpose: "cohort run", started_at: "", nonce: "x" }),
    );
    try {
      const [refusedImport, refusedExport, staleImport] = await Promise.all([
        cli("slashing", "import", "--data-dir", held.dataDir, "--file", input),
        cli("slashing", "export", "--data-dir", held.dataDir, "--file", path.join(tmp.dir, "locked.json")),
        cli("slashing", "import", "--data-dir", stale.dataDir, "--file", input),
      ]);
      expectBadInput(refusedImport, "data-dir", new RegExp(`in use by cohort run \\(pid ${process.pid}`));
      expectBadInput(refusedExport, "data-dir", /in use by cohort run/);
      expect(existsSync(path.join(tmp.dir, "locked.json"))).toBe(false);
      expect(held.snapshot()).toEqual(before);
      expect(staleImport.code, staleImport.stderr).toBe(0);
      expect(stale.snapshot().data.map((d) => d.pubkey)).toContain(toHex(testPubkey(3)));
      expect(existsSync(path.join(stale.dataDir, LOCK_FILE))).toBe(false);
    } finally {
      await lock.release();
    }
  });
});

/** Runs the compiled CLI in a child process for test/cli; rebuilds dist/ first when src/ is newer. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../helpers/vectors.js";

/** The compiled CLI entry point. */
export const DIST_CLI = path.join(REPO_ROOT, "dist/src/cli/main.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  return !existsSync(DIST_CLI) || statSync(DIST_CLI).mtimeMs < newestMtime(path.join(REPO_ROOT, "src"));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Makes sure dist/ is at least as new as src/ (`npm run build`), one builder at a time across
 * test workers (a mkdir lock). Type errors elsewhere do not stop tsc from emitting, so only a
 * missing entry point fails.
 */
export async function ensureBuilt(): Promise<void> {
  if (!isStale()) return;
  const lockDir = path.join(REPO_ROOT, "dist", ".build-lock");
  mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      const st = statSync(lockDir, { throwIfNoEntry: false });
      // a lock older than the hook timeout is left over from a killed run
      if (st !== undefined && Date.now() - st.mtimeMs > 110_000) rmSync(lockDir, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (isStale()) spawnSync("npm", ["run", "build"], { cwd: REPO_ROOT, stdio: "ignore" });
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
  if (!existsSync(DIST_CLI)) throw new Error("dist/src/cli/main.js is missing: `npm run build` failed");
}

/** Exit status and output of one CLI run. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli/main.js ...args` in `cwd`. */
export function runCli(args: string[], cwd = REPO_ROOT): CliResult {
  const r = spawnSync(process.execPath, [DIST_CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, COHORT_LOG_LEVEL: "silent" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

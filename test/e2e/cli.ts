/** Runs the built CLI (dist/, made by `npm ci` → prepare) in child processes. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../helpers/vectors.js";

export const CLI = path.join(REPO_ROOT, "dist/src/cli/main.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
}

/** Starts `cohort args…`; `onStderrLine` sees each stderr line as it arrives. */
export function startCli(
  args: string[],
  onStderrLine?: (line: string, child: ChildProcess) => void,
): {
  child: ChildProcess;
  done: Promise<CliResult>;
} {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout!.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    const s = b.toString();
    stderr += s;
    partial += s;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) onStderrLine?.(l, child);
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `cohort args…` to completion. */
export function runCli(args: string[]): Promise<CliResult> {
  return startCli(args).done;
}

#!/usr/bin/env node
/** cohort command-line entry point: parses argv with commander and dispatches to one module per command group. */
import "../lib/polyfill.js";
import { buildProgram } from "./program.js";
import { runCli } from "./run.js";

await runCli(buildProgram(), process.argv);

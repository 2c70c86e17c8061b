/** Maps thrown errors to exit codes and one-line messages. The only place besides commands that prints. */
import { type Command, CommanderError } from "commander";
import { CodedError, errorMessage, InputError } from "../lib/errors.js";

/** Exit codes of every cohort command. */
export const EXIT = {
  OK: 0,
  /** The operation ran and failed (verification failed, ceremony aborted). */
  FAILURE: 1,
  /** Bad input: flag, file or definition. Nothing was written. */
  BAD_INPUT: 2,
  /** DKG artifacts written but not every peer confirmed: do not deposit yet. */
  UNCONFIRMED: 3,
} as const;

/** Thrown by a command to exit with a specific code after printing `message` on stderr. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses argv and runs the matching command; never returns on error (sets process.exitCode). */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
    if (err instanceof CommanderError) {
      // commander already printed help or its own one-line error
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exitCode = EXIT.OK;
      return;
    }
    console.error(`error: ${errorMessage(err)}`);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof CommanderError) return EXIT.BAD_INPUT;
  if (err instanceof InputError || err instanceof TypeError || err instanceof RangeError) return EXIT.BAD_INPUT;
  if (err instanceof CodedError) return EXIT.FAILURE;
  return EXIT.FAILURE;
}

/**
 * Resolves once `stop` has finished after the first SIGINT or SIGTERM. Later signals are ignored
 * while it runs (Ctrl-C reaches every process of the terminal's group, and a parent stopping its
 * children sends SIGTERM on top), so shutdown is never cut short; once it has finished, one exits
 * at once with the exit code already set. A failed stop sets exit code 1.
 * @param name the command, for the message on stderr
 */
export function waitForShutdown(name: string, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let state: "running" | "stopping" | "stopped" = "running";
    const onSignal = (sig: NodeJS.Signals) => {
      if (state === "stopped") process.exit();
      if (state === "stopping") return;
      state = "stopping";
      console.error(`${name}: ${sig}, stopping`);
      stop()
        .catch((err: unknown) => {
          console.error(`error: stop: ${errorMessage(err)}`);
          process.exitCode = EXIT.FAILURE;
        })
        .finally(() => {
          state = "stopped";
          resolve();
        });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/**
 * `cohort run`'s configuration as a zod schema: every flag with its default, checked and turned
 * into the typed {@link RunOpts} the composition root takes. The CLI shows these defaults in
 * `--help` and hands the raw flag strings to {@link parseRunConfig}.
 */
import { z } from "zod";
import { InputError } from "../lib/errors.js";
import { type ListenAddress, parseDuration, parseGenesisTime, parseListenAddress, parseLogLevel } from "./options.js";

/** The defaults of `cohort run`, as its flags spell them. */
export const RUN_DEFAULTS = {
  dataDir: "./.cohort",
  apiAddress: "127.0.0.1:9000",
  metricsAddress: "127.0.0.1:9100",
  /** An attestation's deadline; agreement with a silent leader costs one round change (1 s). */
  signTimeout: "4s",
  logLevel: "info",
} as const;

/** A flag string checked and converted by one of ./options.ts's parsers; its error names the flag. */
function flag<T>(name: string, parse: (v: string, flag: string) => T) {
  return z.string().transform((v, ctx) => {
    try {
      return parse(v, name);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message, params: { flag: name } });
      return z.NEVER;
    }
  });
}

function metricsAddress(v: string, name: string): ListenAddress | undefined {
  return v === "off" ? undefined : parseListenAddress(v, name);
}

/** `cohort run`'s flags (commander's camelCase names) to its typed configuration. */
export const RUN_CONFIG = z.object({
  dataDir: z.string().min(1).default(RUN_DEFAULTS.dataDir),
  apiAddress: flag("--api-address", parseListenAddress).default(
    parseListenAddress(RUN_DEFAULTS.apiAddress, "--api-address"),
  ),
  metricsAddress: flag("--metrics-address", metricsAddress).default(
    parseListenAddress(RUN_DEFAULTS.metricsAddress, "--metrics-address"),
  ),
  p2pAddress: z.string().optional(),
  apiTokenFile: z.string().optional(),
  signTimeout: flag("--sign-timeout", parseDuration).default(parseDuration(RUN_DEFAULTS.signTimeout, "--sign-timeout")),
  genesisTime: flag("--genesis-time", parseGenesisTime).optional(),
  logLevel: flag("--log-level", parseLogLevel).default(RUN_DEFAULTS.logLevel),
});

/** `cohort run`'s configuration, every default filled in. */
export type RunConfig = z.output<typeof RUN_CONFIG>;

/**
 * Checks `cohort run`'s flags and fills in the defaults.
 * @throws InputError naming the first bad flag
 */
export function parseRunConfig(flags: Record<string, unknown>): RunConfig {
  const r = RUN_CONFIG.safeParse(flags);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const name =
    (issue.code === "custom" ? (issue.params?.flag as string | undefined) : undefined) ??
    `--${String(issue.path[0] ?? "flags").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new InputError(name, issue.code === "custom" ? issue.message : `${name} ${issue.message}`);
}

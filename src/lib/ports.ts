/**
 * Loopback TCP ports for local clusters (`cohort devnet`, tests): chosen below the kernel's ephemeral
 * range, so no outgoing connection of any process on the machine can take one between the moment it
 * is chosen and the moment a node listens on it (a port from `listen(0)` lies inside that range, and
 * every dial on the machine draws its local port from there too).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Lowest port handed out: below it lie well-known and registered service ports. */
export const PORT_RANGE_LOW = 10_000;
/** The ephemeral range's start where the kernel does not say (IANA, macOS, Windows). */
const IANA_EPHEMERAL_START = 49_152;
/** Candidates tried before falling back to a kernel-chosen port. */
const ATTEMPTS = 64;

/** Ports this process handed out: never handed out twice, even once closed again. */
const handedOut = new Set<number>();

/** The kernel's ephemeral range (Linux `ip_local_port_range`), else IANA's 49152–65535. */
export function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return { low: low!, high: high! };
  } catch {
    // not Linux: the IANA default
  }
  return { low: IANA_EPHEMERAL_START, high: 65_535 };
}

/**
 * The ports to draw from, outside the ephemeral range: [10000, its start), or above its end when
 * it starts lower (a tuned `1024 60999`); empty when the range covers everything.
 */
export function portRange(): { low: number; high: number } {
  const eph = ephemeralRange();
  if (eph.low > PORT_RANGE_LOW) return { low: PORT_RANGE_LOW, high: eph.low };
  return { low: Math.max(eph.high + 1, PORT_RANGE_LOW), high: 65_536 };
}

/** Binds `port` on `host` and closes it; resolves whether the bind succeeded. */
function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Lets the kernel choose (inside the ephemeral range): the fallback when no candidate binds. */
function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A TCP port free on `host` a moment ago, drawn at random from {@link portRange} (outside the
 * ephemeral range), never one this process handed out before. Falls back to a kernel-chosen port
 * when 64 candidates are all taken or the range is empty. Another process may still draw the same
 * port before this one listens on it: the chance is about (ports chosen but not yet listened on,
 * machine-wide) ÷ the range's size.
 * @param opts.host the address to check, default 127.0.0.1
 * @param opts.random the candidates' source, uniform in [0, 1) (default Math.random; tests)
 * @throws Error only when even the kernel has no port to give
 */
export async function freePort(opts: { host?: string; random?: () => number } = {}): Promise<number> {
  const host = opts.host ?? "127.0.0.1";
  const random = opts.random ?? Math.random;
  const { low, high } = portRange();
  for (let i = 0; i < (high > low ? ATTEMPTS : 0); i++) {
    const port = low + Math.floor(random() * (high - low));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port, host)) return port;
  }
  const port = await kernelPort(host);
  handedOut.add(port);
  return port;
}

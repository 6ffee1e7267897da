import { ConfigError } from "../core/index.js";

/** One listen or connect address: TCP/UDP host and port, or a UNIX socket path. */
export type SocketAddress = { kind: "inet"; host: string; port: number } | { kind: "unix"; path: string };

/**
 * Parses one address as BSPump's `parse_address` does:
 * `"0.0.0.0 8080"`, `"0.0.0.0:8080"`, `":: 8080"`, `":::8080"`, `"[::1]:8080"`, `"*:8080"` (any
 * address), `"8080"` (all interfaces) → INET; a value starting with `/` or `.`, or with no port,
 * → a UNIX socket path. An empty host means all interfaces (`host` is then "").
 */
export function parseAddress(text: string, where = "address"): SocketAddress {
  const value = text.trim();
  if (value === "") throw new ConfigError(`${where}: empty address`);
  if (value.startsWith("/") || value.startsWith(".")) return { kind: "unix", path: value };
  let host: string;
  let portText: string;
  const space = value.split(/\s+/);
  if (space.length === 2) {
    [host, portText] = space as [string, string];
  } else if (space.length > 2) {
    throw new ConfigError(`${where}: cannot parse '${value}' (expected 'host port', 'host:port', 'port' or a socket path)`);
  } else if (/^\d+$/.test(value)) {
    host = "";
    portText = value;
  } else {
    const bracket = /^\[([^\]]*)\]:(\d+)$/.exec(value);
    const colon = value.lastIndexOf(":");
    if (bracket) {
      host = bracket[1]!;
      portText = bracket[2]!;
    } else if (colon >= 0 && /^\d+$/.test(value.slice(colon + 1))) {
      host = value.slice(0, colon);
      portText = value.slice(colon + 1);
    } else {
      // No port at all: a UNIX socket path (as in BSPump).
      return { kind: "unix", path: value };
    }
  }
  if (host === "*") host = "";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ConfigError(`${where}: bad port '${portText}' in '${value}'`);
  return { kind: "inet", host, port };
}

/**
 * Parses a multi-line (or comma-separated) `address` value into one address per line. BSPump parsed
 * every line from the whole value [BUG]; here each line is parsed on its own.
 */
export function parseAddresses(value: string, where = "address"): SocketAddress[] {
  const lines = value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (lines.length === 0) throw new ConfigError(`${where}: no address given`);
  return lines.map((line) => parseAddress(line, where));
}

/** `"host port"` as BSPump puts peers in the context. */
export function formatPeer(host: string | undefined, port: number | undefined): string {
  return `${host ?? ""} ${port ?? ""}`.trim();
}

export function describeAddress(a: SocketAddress): string {
  return a.kind === "unix" ? a.path : `${a.host === "" ? "*" : a.host} ${a.port}`;
}

import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";

/**
 * What the web API does against a browser on another origin (CSRF, DNS rebinding, framing). The
 * API has no cookies, so the risk is a page in a browser that can reach the pump (the pump's own
 * machine, the local network) making requests with no credentials, or with the token only when the
 * token is set and the request carries it.
 */

/** Sent with every response: no MIME sniffing of JSON or text, and the dashboard never framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
};

const LOCAL_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return LOCAL_NAMES.has(h) || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}

/** `host[:port]` or `[v6][:port]` → the host, lower case, without brackets. */
export function hostOf(header: string): string {
  const text = header.trim().toLowerCase();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracket) return bracket[1]!;
  const colon = text.lastIndexOf(":");
  // More than one colon without brackets: a bare IPv6 address.
  return colon > 0 && text.indexOf(":") === colon ? text.slice(0, colon) : text;
}

/**
 * The `Host` names the API answers to: loopback names, the listen address, IP literals (a DNS
 * rebinding attack needs a name that the attacker's DNS answers), and `[web] allowed_hosts`.
 */
export class HostCheck {
  private readonly names: Set<string>;

  constructor(listenHost: string, allowed: readonly string[]) {
    this.names = new Set([listenHost.toLowerCase(), ...allowed.map((h) => hostOf(h))]);
  }

  /** A request without Host (HTTP/1.0) comes from no browser: it passes. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return true;
    const host = hostOf(header);
    return isLoopback(host) || isIP(host) !== 0 || this.names.has(host);
  }
}

/**
 * Why a state-changing request is refused, or null. A cross-origin page can POST `text/plain` or an
 * empty body without a CORS preflight, but not `application/json` nor an `Authorization` header
 * (the API never answers a preflight), so: an `Origin` must be this server's own, and without a
 * token the body must be declared JSON.
 */
export function stateChangeRefusal(req: IncomingMessage, tokenRequired: boolean): { status: number; message: string } | null {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "") {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      // "null" (a sandboxed page, a file:// page) and garbage are foreign origins.
    }
    if (originHost === null || originHost !== (req.headers.host ?? "").toLowerCase()) {
      return { status: 403, message: `cross-origin request refused (Origin ${origin})` };
    }
  }
  if (!tokenRequired) {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") return { status: 415, message: "a state change needs 'Content-Type: application/json'" };
  }
  return null;
}

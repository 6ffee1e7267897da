import { ConfigError } from "../core/index.js";

/** `"8080"`, `":8080"` → 127.0.0.1:8080; `"0.0.0.0:8080"`, `"[::1]:8080"` as given. */
export function parseListen(listen: string): { host: string; port: number } {
  const text = listen.trim().split(/\s+/)[0] ?? "";
  let host = "127.0.0.1";
  let portText = text;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (text.includes(":")) {
    const i = text.lastIndexOf(":");
    if (i > 0) host = text.slice(0, i);
    portText = text.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ConfigError(`[web] listen: expected [host:]port, got '${listen}'`);
  return { host, port };
}

/** If-None-Match: a list of (possibly weak) quoted ETags, or `*`. */
export function etagMatches(header: string | string[] | undefined, hex: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(",") : header;
  for (const raw of value.split(",")) {
    const tag = raw.trim().replace(/^W\//, "");
    if (tag === "*" || tag === `"${hex}"` || tag === hex) return true;
  }
  return false;
}

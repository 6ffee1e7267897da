import { ConfigError, textEncodingName } from "../core/index.js";
import { textCodec, type TextCodec } from "../codec/text.js";

/** BSPump's `response_code` syntax: every integer in the string is accepted ("200, 300 301"). */
export function parseResponseCodes(text: string, where: string): Set<number> {
  const codes = new Set((text.match(/\d+/g) ?? []).map(Number));
  if (codes.size === 0) throw new ConfigError(`${where}: no status code in '${text}'`);
  return codes;
}

/** The charset of a content-type header, or undefined. */
export function charsetOf(contentType: string | null | undefined): string | undefined {
  const m = /charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? "");
  return m?.[1];
}

/** The codec of a body: `encoding` when configured, else the content type's charset when known, else UTF-8. */
export function bodyCodec(encoding: string, contentType: string | null | undefined, where: string): TextCodec {
  if (encoding !== "") return textCodec(encoding, where);
  const charset = charsetOf(contentType);
  return textCodec(charset !== undefined && textEncodingName(charset) !== null ? charset : "utf-8", where);
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** `"host port"`, `"host:port"`, `"[::1]:port"` or `"port"` (127.0.0.1) → host and port. */
export function parseListen(text: string, where: string): { host: string; port: number } {
  const value = text.trim();
  let host = "127.0.0.1";
  let portText = value;
  const parts = value.split(/\s+/);
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (parts.length === 2) [host, portText] = parts as [string, string];
  else if (bracket) [, host, portText] = bracket as unknown as [string, string, string];
  else if (value.includes(":")) {
    const i = value.lastIndexOf(":");
    if (i > 0) host = value.slice(0, i);
    portText = value.slice(i + 1);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new ConfigError(`${where}: expected 'host port', 'host:port' or 'port', got '${text}'`);
  return { host, port: Number(portText) };
}

/** A WebSocket URL (`ws:`, `wss:`, or `http:`/`https:`, which `ws` maps to them), checked at start. */
export function webSocketUrl(text: string, where: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${where}: not a URL: '${text}'`);
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) throw new ConfigError(`${where}: expected a ws://, wss://, http:// or https:// URL, got '${text}'`);
  return text;
}

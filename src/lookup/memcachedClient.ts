/**
 * A small client of memcached's text protocol over one TCP connection (node:net): get, set,
 * delete, flush_all, version. Requests are pipelined and answered in order. The connection is
 * opened on first use and again after it broke; requests in flight when it breaks fail.
 *
 * Values are typed by the item's flags as pymemcache's serde does (what BSPump's Python clients
 * read): text (16) as a string, bytes (0) as a Buffer, integers (2, 4) as numbers; anything else is
 * stored as JSON with flag 32 (pickle, flag 1, is Python-only: such values come back as bytes).
 */
import { connect, type Socket } from "node:net";

const FLAG_BYTES = 0;
const FLAG_INTEGER = 2;
const FLAG_LONG = 4;
const FLAG_TEXT = 16;
/** Ours: a JSON document (pymemcache's serde knows flags up to 16). */
export const FLAG_JSON = 32;

const CRLF = Buffer.from("\r\n");

interface Pending {
  /** A `get` reads VALUE blocks until END; the others one line. */
  multi: boolean;
  resolve: (answer: { line: string; values: Map<string, { flags: number; data: Buffer }> }) => void;
  reject: (error: Error) => void;
}

export class MemcachedError extends Error {
  override name = "MemcachedError";
}

/** `host:port` (BSPump's `server`); the port defaults to 11211. */
export function parseServer(server: string): { host: string; port: number } {
  const m = /^\s*(?:\[([^\]]+)\]|([^:\s]+))(?::(\d+))?\s*$/.exec(server);
  if (m === null) throw new MemcachedError(`memcached server '${server}': host:port expected`);
  return { host: m[1] ?? m[2]!, port: m[3] !== undefined ? Number(m[3]) : 11211 };
}

/** Checks a key as memcached does: 1–250 bytes, no spaces or control characters. */
export function checkKey(key: string): string {
  if (key.length === 0 || Buffer.byteLength(key) > 250 || /[\x00-\x20\x7f]/.test(key)) {
    throw new MemcachedError(`invalid memcached key ${JSON.stringify(key.slice(0, 60))}: 1–250 bytes without spaces or control characters`);
  }
  return key;
}

export function encodeValue(value: unknown): { flags: number; data: Buffer } {
  if (typeof value === "string") return { flags: FLAG_TEXT, data: Buffer.from(value, "utf8") };
  if (value instanceof Uint8Array) return { flags: FLAG_BYTES, data: Buffer.from(value) };
  if (typeof value === "number" && Number.isSafeInteger(value)) return { flags: FLAG_INTEGER, data: Buffer.from(String(value)) };
  if (typeof value === "bigint") return { flags: FLAG_LONG, data: Buffer.from(value.toString()) };
  const json = JSON.stringify(value);
  if (json === undefined) throw new MemcachedError(`a ${typeof value} cannot be stored in memcached`);
  return { flags: FLAG_JSON, data: Buffer.from(json, "utf8") };
}

export function decodeValue(flags: number, data: Buffer): unknown {
  if (flags === FLAG_TEXT) return data.toString("utf8");
  if (flags === FLAG_INTEGER || flags === FLAG_LONG) {
    const n = Number(data.toString("latin1"));
    return Number.isSafeInteger(n) ? n : BigInt(data.toString("latin1"));
  }
  if (flags === FLAG_JSON) return JSON.parse(data.toString("utf8")) as unknown;
  return data;
}

export class MemcachedClient {
  readonly host: string;
  readonly port: number;
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private values = new Map<string, { flags: number; data: Buffer }>();

  constructor(
    server: string,
    private readonly timeoutMs = 10_000,
  ) {
    ({ host: this.host, port: this.port } = parseServer(server));
  }

  private open(): Socket {
    if (this.socket !== null) return this.socket;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.setTimeout(this.timeoutMs);
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("timeout", () => socket.destroy(new MemcachedError(`memcached ${this.host}:${this.port}: no answer in ${this.timeoutMs / 1000} s`)));
    socket.on("error", (e) => this.broken(socket, e));
    socket.on("close", () => this.broken(socket, new MemcachedError(`memcached ${this.host}:${this.port}: connection closed`)));
    this.socket = socket;
    return socket;
  }

  private broken(socket: Socket, error: Error): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.values = new Map();
    for (const p of this.pending.splice(0)) p.reject(new MemcachedError(`memcached ${this.host}:${this.port}: ${error.message}`));
  }

  private request(command: Buffer, multi: boolean): Promise<{ line: string; values: Map<string, { flags: number; data: Buffer }> }> {
    return new Promise((resolve, reject) => {
      const socket = this.open();
      this.pending.push({ multi, resolve, reject });
      socket.write(command);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const eol = this.buffer.indexOf(CRLF);
      if (eol < 0) return;
      const line = this.buffer.toString("latin1", 0, eol);
      const head = this.pending[0];
      if (head?.multi && line.startsWith("VALUE ")) {
        const [, key, flags, bytes] = line.split(" ");
        const size = Number(bytes);
        if (this.buffer.length < eol + 2 + size + 2) return; // the data block is not all here yet
        this.values.set(key!, { flags: Number(flags), data: Buffer.from(this.buffer.subarray(eol + 2, eol + 2 + size)) });
        this.buffer = this.buffer.subarray(eol + 2 + size + 2);
        continue;
      }
      this.buffer = this.buffer.subarray(eol + 2);
      const p = this.pending.shift();
      if (p === undefined) continue;
      const values = this.values;
      this.values = new Map();
      if (line === "ERROR" || line.startsWith("CLIENT_ERROR") || line.startsWith("SERVER_ERROR")) p.reject(new MemcachedError(`memcached ${this.host}:${this.port}: ${line}`));
      else p.resolve({ line, values });
    }
  }

  /** The value of `key`, or undefined when memcached has none. */
  async get(key: string): Promise<unknown> {
    const { values } = await this.request(Buffer.from(`get ${checkKey(key)}\r\n`), true);
    const item = values.get(key);
    return item === undefined ? undefined : decodeValue(item.flags, item.data);
  }

  /** Stores `value` under `key` for `expire` seconds (0: no expiry). */
  async set(key: string, value: unknown, expire = 0): Promise<void> {
    const { flags, data } = encodeValue(value);
    const { line } = await this.request(Buffer.concat([Buffer.from(`set ${checkKey(key)} ${flags} ${Math.max(0, Math.floor(expire))} ${data.length}\r\n`), data, CRLF]), false);
    if (line !== "STORED") throw new MemcachedError(`memcached ${this.host}:${this.port}: set ${key}: ${line}`);
  }

  /** Deletes `key`; true when it was there. */
  async delete(key: string): Promise<boolean> {
    const { line } = await this.request(Buffer.from(`delete ${checkKey(key)}\r\n`), false);
    return line === "DELETED";
  }

  /** Removes every item of the server. */
  async flushAll(): Promise<void> {
    await this.request(Buffer.from("flush_all\r\n"), false);
  }

  async version(): Promise<string> {
    return (await this.request(Buffer.from("version\r\n"), false)).line.replace(/^VERSION /, "");
  }

  /** Closes the connection (the next request opens another). */
  close(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.broken(socket, new MemcachedError("closed"));
    socket.end();
  }
}

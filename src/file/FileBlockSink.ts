import type { ConfigSpec, TypedConfig, EventContext } from "../core/index.js";
import { FileBufferedSink } from "./FileBufferedSink.js";

const CONFIG = {
  flags: { type: "string", default: "O_CREAT", doc: "Accepted for compatibility: files are created when missing and appended to (mode 'w' truncates)" },
} satisfies ConfigSpec;

/**
 * Writes each event's bytes (a Buffer, or a string encoded with `encoding`) to the file as they are,
 * with no separator (BSPump's FileBlockSink; it appends, as BSPump's O_CREAT without truncation did).
 */
export class FileBlockSink extends FileBufferedSink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileBufferedSink["config"];

  protected serialize(_context: EventContext, event: unknown): string | Buffer {
    if (typeof event === "string") return event;
    if (Buffer.isBuffer(event)) return event;
    if (event instanceof Uint8Array) return Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    throw new TypeError(`FileBlockSink expects a Buffer or a string, got ${event === null ? "null" : typeof event}`);
  }
}

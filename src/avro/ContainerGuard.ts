import { Transform, type TransformCallback } from "node:stream";

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const MAX_HEADER_ENTRIES = 10_000;
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

type State = "magic" | "mapCount" | "mapBlockSize" | "key" | "value" | "sync" | "blockCount" | "blockSize" | "blockData" | "blockSync";

/**
 * Checks the structure of an Avro object container file as its bytes stream past, and passes them
 * on unchanged. avsc's decoder trusts the counts and lengths it reads; a corrupt header or block
 * count can send it into a loop of billions of steps (found by the property tests), so each count
 * and length is checked against what a well-formed file allows before the decoder sees it.
 */
export class ContainerGuard extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = "magic";
  private entriesLeft = 0;
  private headerBytes = 0;
  private sync: Buffer | null = null;
  private blockCount = 0;
  private dataLeft = 0;
  private offset = 0;

  /** `maxBlockBytes`: the largest (compressed) block accepted. */
  constructor(private readonly maxBlockBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      this.check();
    } catch (e) {
      callback(e as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const complete = this.state === "blockCount" && this.pending.length === 0;
    callback(complete ? null : new Error(`truncated Avro container at offset ${this.offset} (in ${this.state})`));
  }

  private fail(message: string): never {
    throw new Error(`corrupt Avro container at offset ${this.offset}: ${message}`);
  }

  /** Reads a zigzag varint long; undefined when more bytes are needed. */
  private readLong(): number | undefined {
    let value = 0;
    let shift = 1;
    for (let i = 0; i < this.pending.length; i++) {
      const byte = this.pending[i]!;
      if (i >= 9) this.fail("varint longer than 9 bytes");
      value += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) {
        this.consume(i + 1);
        return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
      shift *= 128;
    }
    return undefined;
  }

  private consume(n: number): void {
    this.pending = this.pending.subarray(n);
    this.offset += n;
    if (this.state !== "blockData" && this.state !== "blockCount" && this.state !== "blockSize" && this.state !== "blockSync") {
      this.headerBytes += n;
      if (this.headerBytes > MAX_HEADER_BYTES) this.fail("header larger than 16 MiB");
    }
  }

  private check(): void {
    for (;;) {
      switch (this.state) {
        case "magic":
          if (this.pending.length < 4) return;
          if (!this.pending.subarray(0, 4).equals(MAGIC)) this.fail("not an Avro object container (bad magic)");
          this.consume(4);
          this.state = "mapCount";
          break;
        case "mapCount": {
          const count = this.readLong();
          if (count === undefined) return;
          if (count === 0) this.state = "sync";
          else {
            this.entriesLeft = Math.abs(count);
            if (this.entriesLeft > MAX_HEADER_ENTRIES) this.fail(`header map of ${this.entriesLeft} entries`);
            this.state = count < 0 ? "mapBlockSize" : "key";
          }
          break;
        }
        case "mapBlockSize": {
          const size = this.readLong();
          if (size === undefined) return;
          if (size < 0 || size > MAX_HEADER_BYTES) this.fail(`header map block of ${size} bytes`);
          this.state = "key";
          break;
        }
        case "key":
        case "value": {
          if (!this.skipBytesField()) return;
          if (this.state === "key") this.state = "value";
          else this.state = --this.entriesLeft === 0 ? "mapCount" : "key";
          break;
        }
        case "sync":
        case "blockSync": {
          if (this.pending.length < 16) return;
          const marker = this.pending.subarray(0, 16);
          if (this.state === "sync") this.sync = Buffer.from(marker);
          else if (!marker.equals(this.sync!)) this.fail("block does not end with the file's sync marker");
          this.consume(16);
          this.state = "blockCount";
          break;
        }
        case "blockCount": {
          const count = this.readLong();
          if (count === undefined) return;
          if (count < 0) this.fail(`negative block count ${count}`);
          this.blockCount = count;
          this.state = "blockSize";
          break;
        }
        case "blockSize": {
          const size = this.readLong();
          if (size === undefined) return;
          if (size < 0 || size > this.maxBlockBytes) this.fail(`block of ${size} bytes (max_block_bytes ${this.maxBlockBytes})`);
          // A record takes at least a byte unless all its fields are empty; allow generous slack.
          if (this.blockCount > size * 8 + 1024) this.fail(`block of ${size} bytes claims ${this.blockCount} records`);
          this.dataLeft = size;
          this.state = "blockData";
          break;
        }
        case "blockData": {
          const n = Math.min(this.dataLeft, this.pending.length);
          this.consume(n);
          this.dataLeft -= n;
          if (this.dataLeft > 0) return;
          this.state = "blockSync";
          break;
        }
      }
    }
  }

  /** Skips an Avro `bytes`/`string` (length + data) of the header; false when more bytes are needed. */
  private skipBytesField(): boolean {
    const saved = this.pending;
    const savedOffset = this.offset;
    const savedHeader = this.headerBytes;
    const length = this.readLong();
    if (length === undefined) return false;
    if (length < 0 || length > MAX_HEADER_BYTES) this.fail(`header field of ${length} bytes`);
    if (this.pending.length < length) {
      // Not all there yet: rewind and wait for more.
      this.pending = saved;
      this.offset = savedOffset;
      this.headerBytes = savedHeader;
      return false;
    }
    this.consume(length);
    return true;
  }
}

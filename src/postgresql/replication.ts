/** The replication protocol's framing (the CopyData messages of a logical replication stream). */

/** "16/B374D848" → 0x16B374D848n. */
export function parseLsn(text: string): bigint {
  const slash = text.indexOf("/");
  if (slash < 0) throw new Error(`not an LSN: ${text}`);
  return (BigInt("0x" + text.slice(0, slash)) << 32n) | BigInt("0x" + text.slice(slash + 1));
}

/** 0x16B374D848n → "16/B374D848". */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** PostgreSQL's epoch, 2000-01-01, in Unix milliseconds. */
const PG_EPOCH_MS = 946684800000;

/**
 * A Standby Status Update ('r'): written, flushed and applied positions (all `lsn`: the slot's
 * confirmed_flush_lsn follows the flushed one), the clock, and whether the server should reply.
 */
export function statusUpdate(lsn: bigint, replyRequested = false): Buffer {
  const b = Buffer.alloc(34);
  b[0] = 0x72;
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(lsn, 9);
  b.writeBigUInt64BE(lsn, 17);
  b.writeBigInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
  b[33] = replyRequested ? 1 : 0;
  return b;
}

/** One CopyData message of the stream: 'w' XLogData (a pgoutput message at `start`) or 'k' keepalive. */
export type StreamMessage = { kind: "data"; start: bigint; payload: Buffer } | { kind: "keepalive"; walEnd: bigint; replyRequested: boolean } | { kind: "unknown"; tag: number };

export function readStreamMessage(chunk: Buffer): StreamMessage {
  const tag = chunk[0]!;
  if (tag === 0x77) return { kind: "data", start: chunk.readBigUInt64BE(1), payload: chunk.subarray(25) };
  if (tag === 0x6b) return { kind: "keepalive", walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
  return { kind: "unknown", tag };
}

import type { KafkaConsumerClient } from "./client.js";

/*
 * The records of a state changelog (stateChangelog.ts): their value, and reading a partition of
 * the topic to its end.
 */

/**
 * A checkpoint's value: a 4-byte length, a JSON header (the input offset it goes with, and the
 * name and length of each state), then the states' bytes in that order.
 */
export function encodeCheckpoint(offset: number, states: ReadonlyMap<string, Uint8Array>): Buffer {
  const sizes: [string, number][] = [];
  const parts: Buffer[] = [];
  for (const [name, bytes] of states) {
    sizes.push([name, bytes.byteLength]);
    parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  const header = Buffer.from(JSON.stringify({ offset, states: sizes }));
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(header.length, 0);
  return Buffer.concat([length, header, ...parts]);
}

export function decodeCheckpoint(value: Buffer): { offset: number; states: Map<string, Uint8Array> } {
  const length = value.readUInt32BE(0);
  const header = JSON.parse(value.toString("utf8", 4, 4 + length)) as { offset: number; states: [string, number][] };
  const states = new Map<string, Uint8Array>();
  let at = 4 + length;
  for (const [name, size] of header.states) {
    states.set(name, value.subarray(at, at + size));
    at += size;
  }
  return { offset: header.offset, states };
}

/**
 * Every record of one partition, oldest first, read with a consumer outside any group (assigned
 * for the read, unassigned after). Offsets may have gaps (compaction, transaction markers): the
 * read ends at the high watermark, or when nothing more came for `idleMs`.
 */
export async function readPartition(reader: KafkaConsumerClient, topic: string, partition: number, idleMs: number): Promise<{ key?: Buffer | null; value: Buffer | null }[]> {
  const { low, high } = await reader.watermarks(topic, partition);
  if (high <= low) return [];
  reader.assignFrom([{ topic, partition, offset: low }]);
  const out: { key?: Buffer | null; value: Buffer | null }[] = [];
  try {
    let next = low;
    let idleSince = Date.now();
    while (next < high && Date.now() - idleSince < idleMs) {
      for (const r of await reader.consume(1000, 200)) {
        if (r.topic !== topic || r.partition !== partition) continue;
        out.push(r);
        next = r.offset + 1;
        idleSince = Date.now();
      }
      // Written in transactions (exactly_once), the partition ends with a commit marker that is
      // never handed over: the client's position goes past it, the last record's offset does not.
      next = Math.max(next, reader.position(topic, partition) ?? next);
    }
  } finally {
    reader.assignFrom([]);
  }
  return out;
}

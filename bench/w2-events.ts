/** The in-memory W2 events shared by bench/w2-window.ts and bench/w2-window-parts.ts. */
import { Source } from "../src/core/index.js";
import { makeRandom } from "../src/random/index.js";

export const RESOLUTION = 60;
const T0 = 1_700_000_000;
const SPAN = 1200; // seconds of event time: 20 windows
const JITTER = 5; // out-of-order by up to 5 s; a lateness of 10 s accepts all of it

export interface Ev {
  "@timestamp": number;
  user: string;
  bytes: number;
}

/** `events` events over SPAN seconds of event time, for `users` users (fixed seed). */
export function generate(events: number, users: number): Ev[] {
  const rnd = makeRandom(42);
  const names = Array.from({ length: users }, (_, i) => `user${i}`);
  const out: Ev[] = new Array<Ev>(events);
  for (let i = 0; i < events; i++) {
    const ts = T0 + (i * SPAN) / events + Math.floor(rnd() * JITTER * 1000) / 1000;
    // Skewed users: a few heavy ones, a long tail.
    const u = Math.floor(users * rnd() ** 2);
    out[i] = { "@timestamp": ts, user: names[u]!, bytes: 1 + Math.floor(rnd() * 1500) };
  }
  return out;
}

export type Result = Map<number, Map<string, { count: number; sum: number }>>;

/** The floor: the best plain loop, a Map of windows of a Map of users. */
export function plainLoop(events: Ev[]): Result {
  const windows: Result = new Map();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const w = Math.floor(e["@timestamp"] / RESOLUTION) * RESOLUTION;
    let users = windows.get(w);
    if (users === undefined) {
      users = new Map();
      windows.set(w, users);
    }
    const cell = users.get(e.user);
    if (cell === undefined) users.set(e.user, { count: 1, sum: e.bytes });
    else {
      cell.count++;
      cell.sum += e.bytes;
    }
  }
  return windows;
}

/** Hands the events over one by one, as a source does, then calls `done`. */
export class ArraySource extends Source {
  events: Ev[] = [];
  done: () => void = () => {};
  async main(): Promise<void> {
    const events = this.events;
    const pipeline = this.pipeline;
    for (let i = 0; i < events.length; i++) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      pipeline.process(events[i]);
    }
    this.done();
  }
}

// The per-event work shared by the floor and the pump harness, so both run the same code.

/** W1: add kb = bytes/1024; drop action == "noop" (returns null). */
export function enrich(event) {
  if (event.action === "noop") return null;
  event.kb = event.bytes / 1024;
  return event;
}

/**
 * C1: the query ContentFilter runs (BSPump's Mongo syntax), and the same test as a hand-written
 * `if` — what the floor and the pump's "hand-written if" row run instead.
 */
export const C1_QUERY = { action: { $in: ["purchase", "login", "click"] }, bytes: { $gte: 100000 } };
export function c1Keep(event) {
  const a = event.action;
  return (a === "purchase" || a === "login" || a === "click") && event.bytes >= 100000;
}

/**
 * W2 for the floor: count and sum(bytes) per user per tumbling window of event time.
 * A window closes when an event arrives `lateness` seconds after its end; totals of closed
 * windows are the check value (windows, count, sum), compared across systems.
 */
export class WindowTotals {
  constructor(resolution, lateness = 5) {
    this.resolution = resolution;
    this.lateness = lateness;
    this.open = new Map(); // window start → Map(user → [count, sum])
    this.closeBefore = -Infinity;
    this.nextClose = Infinity;
    this.windows = 0;
    this.count = 0;
    this.sum = 0;
    this.late = 0;
  }
  add(ts, user, bytes) {
    const start = ts - (ts % this.resolution);
    if (start < this.closeBefore) {
      this.late++;
      return;
    }
    let users = this.open.get(start);
    if (users === undefined) {
      users = new Map();
      this.open.set(start, users);
      if (start < this.nextClose - this.resolution - this.lateness) this.nextClose = start + this.resolution + this.lateness;
    }
    const cell = users.get(user);
    if (cell === undefined) users.set(user, [1, bytes]);
    else {
      cell[0]++;
      cell[1] += bytes;
    }
    if (ts >= this.nextClose) this.closeUpTo(ts);
  }
  /** Closes every window that ended `lateness` seconds before ts. */
  closeUpTo(ts) {
    this.nextClose = Infinity;
    for (const [s, users] of this.open) {
      if (s + this.resolution + this.lateness <= ts) {
        this.emit(users);
        this.open.delete(s);
        if (s + this.resolution > this.closeBefore) this.closeBefore = s + this.resolution;
      } else if (s + this.resolution + this.lateness < this.nextClose) this.nextClose = s + this.resolution + this.lateness;
    }
  }
  emit(users) {
    for (const cell of users.values()) {
      this.windows++;
      this.count += cell[0];
      this.sum += cell[1];
    }
  }
  finish() {
    for (const users of this.open.values()) this.emit(users);
    this.open.clear();
    return { windows: this.windows, count: this.count, sum: this.sum, late: this.late };
  }
}

/**
 * Maintenance of dated indices (BSPump's `bselastic cleanup|reopen|close|delete`): each task looks
 * at the indices matching a pattern and acts on those whose documents all lie in a date range
 * `[min-date 00:00, max-date + 1 day)`, UTC, by the min and max of their timestamp field.
 */
import type { AdminOutput, Connect } from "./admin.js";
import { ElasticSearchHttpError, type ElasticSearchClient } from "./ElasticSearchClient.js";

export interface DatedIndexOptions {
  /** First and last day of the range, YYYY-MM-DD. */
  minDate: string;
  maxDate: string;
  /** Skip indices whose name starts with one of these. */
  exclude: string[];
  /** Only indices matching this pattern. */
  index: string;
  /** The time field of the documents. */
  timestampField: string;
  /** List what would change, change nothing. */
  dryRun?: boolean;
}

interface CatIndex {
  index: string;
  status: string;
  health: string;
  "docs.count": string | null;
}

function parseDay(value: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value) throw new Error(`${what} must be a date YYYY-MM-DD, got '${value}'`);
  return t;
}

/** The window `[min-date 00:00, max-date + 1 day)` in ms (UTC). */
export function dateRange(minDate: string, maxDate: string): [number, number] {
  const min = parseDay(minDate, "--min-date");
  const max = parseDay(maxDate, "--max-date") + 86_400_000;
  if (!(min < max)) throw new Error(`--min-date (${minDate}) must not be after --max-date (${maxDate})`);
  return [min, max];
}

/** Sort key: the text after the last underscore (usually a date or sequence suffix). */
function suffix(name: string): string {
  const at = name.lastIndexOf("_");
  return at < 0 ? name : name.slice(at + 1);
}

/** One run of a task over the indices of a date range; the tasks below use it. */
class DatedIndices {
  readonly es: ElasticSearchClient;
  readonly range: [number, number];

  constructor(
    connect: Connect,
    readonly o: DatedIndexOptions,
    readonly io: AdminOutput,
  ) {
    this.range = dateRange(o.minDate, o.maxDate);
    this.es = connect();
  }

  async indices(): Promise<CatIndex[]> {
    const list = await this.es.json<CatIndex[]>("GET", `_cat/indices/${encodeURIComponent(this.o.index)}?format=json&h=index,status,health,docs.count&expand_wildcards=all`);
    return list
      .filter((i) => !i.index.startsWith(".") && !this.o.exclude.some((p) => i.index.startsWith(p)))
      .sort((a, b) => (suffix(a.index) < suffix(b.index) ? -1 : suffix(a.index) > suffix(b.index) ? 1 : a.index < b.index ? -1 : 1));
  }

  /** Min and max of the timestamp field (ms), null when the index has none; retried. */
  async span(index: string, attempts = 5): Promise<[number, number] | null> {
    const field = this.o.timestampField;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.es.json<{ aggregations: { min: { value: number | null }; max: { value: number | null } } }>("POST", `${encodeURIComponent(index)}/_search?size=0`, {
          aggs: { min: { min: { field } }, max: { max: { field } } },
        });
        const { min, max } = r.aggregations;
        return min.value === null || max.value === null ? null : [min.value, max.value];
      } catch (e) {
        if (attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  inRange(span: [number, number] | null): boolean {
    return span !== null && span[0] >= this.range[0] && span[1] < this.range[1];
  }

  describeSpan(span: [number, number] | null): string {
    return span === null ? `no ${this.o.timestampField}` : `${new Date(span[0]).toISOString()} .. ${new Date(span[1]).toISOString()}`;
  }

  async act(what: "close" | "open" | "delete", index: string): Promise<void> {
    const path = what === "delete" ? encodeURIComponent(index) : `${encodeURIComponent(index)}/_${what}`;
    const r = await this.es.json<{ acknowledged?: boolean }>(what === "delete" ? "DELETE" : "POST", path);
    if (r.acknowledged !== true) throw new Error(`${what} of ${index} was not acknowledged: ${JSON.stringify(r)}`);
    if (what === "open") {
      await this.es.json("GET", `_cluster/health/${encodeURIComponent(index)}?wait_for_status=yellow&timeout=60s`);
    }
  }

  /** Runs `fn` per index, reporting (not throwing) per-index errors. */
  async each(list: CatIndex[], fn: (i: CatIndex) => Promise<void>): Promise<number> {
    let errors = 0;
    let done = 0;
    this.io.progress?.(0, list.length);
    for (const i of list) {
      try {
        await fn(i);
      } catch (e) {
        errors++;
        const msg = e instanceof ElasticSearchHttpError ? `${e.status} ${e.body.slice(0, 300)}` : (e as Error).message;
        this.io.err(`${i.index}: ${msg} (${JSON.stringify(i)})`);
      }
      this.io.progress?.(++done, list.length);
    }
    return errors;
  }

  verb(what: string, index: string, why: string): string {
    return `${this.o.dryRun ? `would ${what}` : what} ${index} (${why})`;
  }
}

async function cleanup(job: DatedIndices): Promise<number> {
  const list = await job.indices();
  let nonGreen = 0;
  let closed = 0;
  let empty = 0;
  const errors = await job.each(list, async (i) => {
    if (i.status !== "open") return;
    if (i.health !== "green") {
      nonGreen++;
      return;
    }
    if (Number(i["docs.count"] ?? "0") === 0) {
      job.io.out(job.verb("delete", i.index, "empty"));
      if (!job.o.dryRun) await job.act("delete", i.index);
      empty++; // BSPump always reported 0 here [BUG]
      return;
    }
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("close", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("close", i.index);
      closed++;
    }
  });
  job.io.out(`Total: ${list.length}, closed (old): ${closed}, not green: ${nonGreen}, deleted (empty): ${empty}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function reopen(job: DatedIndices): Promise<number> {
  // BSPump called COMMAND_reopen with one argument too few, so this command crashed [BUG].
  const list = await job.indices();
  const closedList = list.filter((i) => i.status === "close");
  let reopened = 0;
  const errors = await job.each(closedList, async (i) => {
    if (job.o.dryRun) {
      job.io.out(`would open ${i.index} to read its ${job.o.timestampField} span, and keep it open if it is in range`);
      return;
    }
    await job.act("open", i.index);
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(`open ${i.index} (${job.describeSpan(span)})`);
      reopened++;
    } else {
      await job.act("close", i.index);
    }
  });
  job.io.out(`Total: ${list.length}, closed: ${closedList.length}, reopened: ${reopened}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function close(job: DatedIndices): Promise<number> {
  const list = await job.indices();
  const candidates = list.filter((i) => i.status === "open" && (i.health === "green" || i.health === "yellow"));
  let closed = 0;
  const errors = await job.each(candidates, async (i) => {
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("close", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("close", i.index);
      closed++;
    }
  });
  job.io.out(`Total: ${list.length}, open: ${candidates.length}, closed: ${closed}, remain open: ${candidates.length - closed}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

async function del(job: DatedIndices): Promise<number> {
  const list = await job.indices();
  let deleted = 0;
  const errors = await job.each(list, async (i) => {
    const wasClosed = i.status === "close";
    if (wasClosed && job.o.dryRun) {
      job.io.out(`would open ${i.index} temporarily to read its ${job.o.timestampField} span, and delete it if it is in range`);
      return;
    }
    if (wasClosed) await job.act("open", i.index);
    const span = await job.span(i.index);
    if (job.inRange(span)) {
      job.io.out(job.verb("delete", i.index, job.describeSpan(span)));
      if (!job.o.dryRun) await job.act("delete", i.index);
      deleted++;
    } else if (wasClosed) {
      await job.act("close", i.index);
    }
  });
  job.io.out(`Original: ${list.length}, deleted: ${deleted}, remaining: ${list.length - deleted}, errors: ${errors}`);
  return errors > 0 ? 1 : 0;
}

/** The tasks: cleanup (green open indices: delete empty ones, close those in range), reopen, close, delete. */
export type DatedIndexTask = "cleanup" | "reopen" | "close" | "delete";

const TASKS: Record<DatedIndexTask, (job: DatedIndices) => Promise<number>> = { cleanup, reopen, close, delete: del };

/** Runs `task` over the indices of the range; returns the exit status (1 when any index failed). */
export async function maintainDatedIndices(task: DatedIndexTask, connect: Connect, o: DatedIndexOptions, io: AdminOutput): Promise<number> {
  const job = new DatedIndices(connect, o, io);
  try {
    return await TASKS[task](job);
  } finally {
    job.es.close();
  }
}

/**
 * What the administration tasks share (templates.ts, datedIndices.ts, forceMerge here); the
 * `bselastic` command line is a shell over them.
 */
import type { ElasticSearchClient } from "./ElasticSearchClient.js";

/** Where an administration task reports: a line of progress, a line of error. */
export interface AdminOutput {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Called as a task over many indices goes on: `done` of `total` (bselastic draws a progress line). */
  progress?: (done: number, total: number) => void;
}

/**
 * Makes the client; a task calls it only when it talks to the cluster (not in a dry run, not
 * before its arguments are checked) and closes the client when done.
 */
export type Connect = () => ElasticSearchClient;

/** Sets `index.blocks.write=true` on `index`, then force-merges it to one segment. Returns the exit status. */
export async function forceMerge(connect: Connect, index: string, o: { dryRun?: boolean }, io: AdminOutput): Promise<number> {
  if (o.dryRun) {
    io.out(`would set index.blocks.write=true on ${index} and force-merge it to 1 segment`);
    return 0;
  }
  const es = connect();
  try {
    const r = await es.json<{ acknowledged?: boolean }>("PUT", `${encodeURIComponent(index)}/_settings`, { "index.blocks.write": true });
    if (r.acknowledged !== true) {
      io.err(`Setting index.blocks.write on ${index} was not acknowledged: ${JSON.stringify(r)}`);
      return 1;
    }
    const merged = await es.json("POST", `${encodeURIComponent(index)}/_forcemerge?max_num_segments=1`);
    io.out(JSON.stringify(merged));
    return 0;
  } finally {
    es.close();
  }
}

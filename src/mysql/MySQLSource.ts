import type { Connection as CoreConnection } from "mysql2";
import {
  locateConnection,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
} from "../core/index.js";
import { MySQLConnection } from "./MySQLConnection.js";

const CONFIG = {
  query: { type: "string", default: "", required: true, doc: "SELECT statement run in each cycle" },
  stream_buffer: { type: "int", default: 1000, doc: "Rows read ahead of the pipeline, at most" },
} satisfies ConfigSpec;

/**
 * Runs `query` at each trigger and emits each result row as an object (column → value). Rows are
 * streamed: the socket is paused while the pipeline is not ready and when `stream_buffer` rows wait,
 * so memory stays bounded on any table size. Every row is a new object (BSPump reused one dict for
 * every row [BUG]). The context carries `mysql:query` and `mysql:row` (the row's number in the cycle).
 */
export class MySQLSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: MySQLConnection;
  readonly query: string;
  private readonly streamBuffer: number;
  /** Rows emitted in the last cycle, and cycles run. */
  lastCycleRows = 0;
  cycles = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | MySQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, MySQLConnection);
    this.query = this.config.getString("query");
    this.streamBuffer = Math.max(1, this.config.getInt("stream_buffer"));
  }

  static override ConnectionClass = MySQLConnection;

  async cycle(): Promise<void> {
    const conn = await this.connection.withRetry(() => this.connection.acquire(), () => this.stopping);
    const core = conn.connection as unknown as CoreConnection;
    const stream = core.query(this.query).stream({ highWaterMark: this.streamBuffer });
    let n = 0;
    let complete = false;
    try {
      for await (const row of stream) {
        const go = this.whenReady();
        if (go !== true && !(await go)) break;
        const context: EventContext = { "mysql:query": this.query, "mysql:row": n++ };
        this.pipeline.process(row, context);
      }
      complete = true;
    } finally {
      this.lastCycleRows = n;
      this.cycles++;
      if (complete) {
        if (!this.connection.autocommit) await conn.query("COMMIT").catch(() => {});
        conn.release();
      } else {
        // The result was not read to the end: the connection cannot be reused.
        stream.destroy();
        conn.destroy();
      }
    }
  }
}

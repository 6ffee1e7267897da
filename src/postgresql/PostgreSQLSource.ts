import type Cursor from "pg-cursor";
import {
  dependency,
  locateConnection,
  TriggerSource,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
} from "../core/index.js";
import { PostgreSQLConnection, isRetryable } from "./PostgreSQLConnection.js";

const PgCursor = dependency<typeof Cursor>("pg-cursor");

const CONFIG = {
  query: { type: "string", default: "", required: true, doc: "SELECT statement run in each cycle" },
  stream_buffer: { type: "int", default: 1000, doc: "Rows fetched from the cursor at a time" },
} satisfies ConfigSpec;

/**
 * Runs `query` at each trigger and emits each result row as an object (column → value). Rows are
 * read with a server-side cursor, `stream_buffer` at a time, only when the pipeline is ready, so
 * memory stays bounded on any result size. Every row is a new object (BSPump reused one dict for
 * every row [BUG]). The context carries `postgresql:query` and `postgresql:row` (the row's number
 * in the cycle). A cycle that fails (query error, lost connection) is logged and the next trigger runs again.
 */
export class PostgreSQLSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  static override ConnectionClass = PostgreSQLConnection;

  readonly connection: PostgreSQLConnection;
  readonly query: string;
  private readonly streamBuffer: number;
  /** Rows emitted in the last cycle, and cycles run. */
  lastCycleRows = 0;
  cycles = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | PostgreSQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, PostgreSQLConnection);
    this.query = this.config.getString("query");
    this.streamBuffer = Math.max(1, this.config.getInt("stream_buffer"));
  }

  async cycle(): Promise<void> {
    const client = await this.connection.acquire();
    const cursor = client.query(new (PgCursor())(this.query));
    let n = 0;
    let failure: Error | undefined;
    try {
      for (;;) {
        const rows = (await cursor.read(this.streamBuffer)) as Record<string, unknown>[];
        if (rows.length === 0) break;
        for (const row of rows) {
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
          const context: EventContext = { "postgresql:query": this.query, "postgresql:row": n++ };
          this.pipeline.process(row, context);
        }
      }
    } catch (e) {
      failure = e as Error;
      throw e;
    } finally {
      this.lastCycleRows = n;
      this.cycles++;
      await cursor.close().catch(() => {});
      client.release(failure !== undefined && isRetryable(failure) ? failure : undefined);
    }
  }
}

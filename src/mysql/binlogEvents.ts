import type { AnyBinlogEvent, DeleteRowsEvent, RowData, RowsEvent, TableMapEntry, UpdateRowsEvent, WriteRowsEvent } from "@vlasky/zongji";

/**
 * BSPump's event type names (python-mysql-replication's classes) → the reader's (zongji) event
 * names. Statement-based events (IntvarEvent, Begin/ExecuteLoadQueryEvent) and StopEvent are not
 * offered: the source needs `binlog_format = ROW`, and a replica connection never sees a stop.
 */
export const BINLOG_EVENT_TYPES: Readonly<Record<string, readonly string[]>> = {
  WriteRowsEvent: ["writerows"],
  UpdateRowsEvent: ["updaterows"],
  DeleteRowsEvent: ["deleterows"],
  QueryEvent: ["query"],
  XidEvent: ["xid"],
  GtidEvent: ["mariadbgtid", "gtid"],
  RotateEvent: ["rotate"],
  TableMapEvent: ["tablemap"],
  HeartbeatLogEvent: ["heartbeat"],
  FormatDescriptionEvent: ["format"],
  MariadbAnnotateRowsEvent: ["annotaterows"],
};

/** What the source always reads: transactions' boundaries and rows (the rest only when extracted). */
export const TRACKED_EVENTS = ["mariadbgtid", "gtid", "xid", "query", "rotate", "tablemap", "writerows", "updaterows", "deleterows"];

/** The reader's event name → BSPump's type name. */
export const TYPE_NAMES: ReadonlyMap<string, string> = new Map(Object.entries(BINLOG_EVENT_TYPES).flatMap(([type, names]) => names.map((n) => [n, type] as [string, string])));

/** A change as the source emits it (BSPump's shape, plus `log_file` and `gtid`). */
export interface BinlogRowsEvent {
  type: "WriteRowsEvent" | "UpdateRowsEvent" | "DeleteRowsEvent";
  "@timestamp": number;
  log_file: string;
  log_position: number;
  event_size: number;
  read_bytes: number;
  gtid: string;
  schema: string;
  table: string;
  /** The primary key's column name, or names when it has several; null when there is none or it is not known. */
  primary_key: string | string[] | null;
  rows: Array<{ values: RowData } | { before_values: RowData; after_values: RowData }>;
}

/** Fields every emitted event has. */
export function baseFields(e: AnyBinlogEvent, type: string, logFile: string, gtid: string): Record<string, unknown> {
  return {
    type,
    // BSPump: the header's timestamp, in seconds.
    "@timestamp": Math.floor(e.timestamp / 1000),
    log_file: logFile,
    log_position: e.nextPosition,
    event_size: e.size,
    // The reader consumes an event whole: what BSPump reported as bytes read is its size.
    read_bytes: e.size,
    gtid,
  };
}

/** The BSPump-shaped event of a rows event; null for rows of a table the reader has no columns for. */
export function rowsEvent(e: AnyBinlogEvent, logFile: string, gtid: string, primaryKeys: ReadonlyMap<number, string | string[] | null>): BinlogRowsEvent | null {
  const name = e.getEventName();
  if (name !== "writerows" && name !== "updaterows" && name !== "deleterows") return null;
  const r = e as RowsEvent;
  const table: TableMapEntry | undefined = r.tableMap[r.tableId];
  if (table === undefined) return null;
  const base = baseFields(e, TYPE_NAMES.get(name)!, logFile, gtid) as Omit<BinlogRowsEvent, "schema" | "table" | "primary_key" | "rows">;
  const rows: BinlogRowsEvent["rows"] = name === "updaterows"
    ? (e as UpdateRowsEvent).rows.map((u) => ({ before_values: u.before, after_values: u.after }))
    : (e as WriteRowsEvent | DeleteRowsEvent).rows.map((values) => ({ values }));
  return { ...base, schema: table.parentSchema, table: table.tableName, primary_key: primaryKeys.get(r.tableId) ?? null, rows };
}

/** The BSPump-shaped event of another extracted event. */
export function otherEvent(e: AnyBinlogEvent, logFile: string, gtid: string): Record<string, unknown> {
  const name = e.getEventName();
  const event = baseFields(e, TYPE_NAMES.get(name) ?? name, logFile, gtid);
  switch (e.getEventName()) {
    case "query": {
      const q = e as Extract<AnyBinlogEvent, { getEventName(): "query" }>;
      return { ...event, schema: q.schema, execution_time: q.executionTime, query: q.query };
    }
    case "xid":
      return { ...event, transaction_id: (e as Extract<AnyBinlogEvent, { getEventName(): "xid" }>).xid };
    case "mariadbgtid": {
      const g = e as Extract<AnyBinlogEvent, { getEventName(): "mariadbgtid" }>;
      return { ...event, commit: !g.standalone, GTID_NEXT: g.gtid };
    }
    case "gtid":
      return { ...event, commit: true, GTID_NEXT: (e as Extract<AnyBinlogEvent, { getEventName(): "gtid" }>).gtid };
    case "rotate": {
      const r = e as Extract<AnyBinlogEvent, { getEventName(): "rotate" }>;
      return { ...event, position: r.position, next_binlog_file: r.binlogName };
    }
    case "tablemap": {
      const t = e as Extract<AnyBinlogEvent, { getEventName(): "tablemap" }>;
      const entry = t.tableMap[t.tableId];
      return { ...event, table_id: t.tableId, schema: t.schemaName, table: t.tableName, columns: entry?.columnSchemas.map((c) => c.COLUMN_NAME) ?? [] };
    }
    case "heartbeat":
      return { ...event, current_binlog: (e as Extract<AnyBinlogEvent, { getEventName(): "heartbeat" }>).binlogName };
    case "annotaterows":
      return { ...event, sql_statement: (e as Extract<AnyBinlogEvent, { getEventName(): "annotaterows" }>).statement };
    default:
      return event;
  }
}

import type { ConfigSpec } from "../core/index.js";
import { PARTITIONED_CONFIG } from "./analyzerPartitions.js";

/** TimeWindowAnalyzer's keys, BSPump's names and defaults (and the keys this port adds). */
export const TIME_WINDOW_CONFIG = {
  matrix_id: { type: "string", default: "", doc: "Id of an existing TimeWindowMatrix (registered with addMatrix) to use" },
  resolution: { type: "float", default: 60, doc: "Seconds per time column (the tumbling window length; the slide of a sliding window)" },
  columns: { type: "int", default: 15, doc: "Time columns kept in the matrix" },
  time_source: { type: "string", default: "event", doc: "'event': the time field of the event; 'clock': the application clock", choices: ["event", "clock"] },
  timestamp_attr: { type: "string", default: "@timestamp", doc: "Event field with the event time" },
  timestamp_unit: { type: "string", default: "s", doc: "Unit of numeric timestamps", choices: ["s", "ms"] },
  dimension_attr: { type: "string", default: "dimension", doc: "Event field naming the dimension (row)" },
  value_attr: { type: "string", default: "", doc: "Event field summed (empty: only count)" },
  aggregations: { type: "list", default: ["count", "sum", "min", "max"], doc: "Kept per cell: count, sum, min, max (avg = sum/count)" },
  window_type: { type: "string", default: "tumbling", doc: "'tumbling' or 'sliding'", choices: ["tumbling", "sliding"] },
  window_columns: { type: "int", default: 1, doc: "Columns per sliding window" },
  lateness: { type: "float", default: 0, doc: "Seconds a window stays open after its end, for out-of-order events" },
  max_future: { type: "float", default: 300, doc: "Events this many seconds ahead of the newest time seen are counted as 'future' and not stored" },
  emit: {
    type: "string",
    default: "columns",
    doc: "'columns': one event per closed window with arrays (`dimensions` = names, `count`, `sum`, `avg`, `min`, `max`: one value per name), the cheapest, with fixed keys; 'window': one event per closed window, `dimensions` = {name: {count, sum, avg, min, max}} (a key per dimension: slow to build for many, and a field per name in Elasticsearch); 'dimension': one event per dimension and window; 'none'",
    choices: ["window", "columns", "dimension", "none"],
  },
  emit_empty: { type: "bool", default: false, doc: "Emit windows that had no events" },
  idle_timeout: {
    type: "float",
    default: 900,
    doc: "Seconds (of the analyzer's time) without events after which a dimension is closed: its row is zeroed and reused by the next new dimension, and it is forgotten; only once every window holding its data was emitted. 0: never",
  },
  flush_on_stop: { type: "bool", default: true, doc: "When the pipeline stops, close and emit the open windows" },
  late_target: { type: "string", default: "", doc: "InternalSource address that receives late and future events" },
  persistent: { type: "bool", default: false, doc: "Keep the matrix in files under 'path' so it survives a restart" },
  path: { type: "string", default: "", doc: "Directory of the persistent matrix" },
  ...PARTITIONED_CONFIG,
} satisfies ConfigSpec;

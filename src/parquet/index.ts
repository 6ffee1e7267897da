export { ParquetSink, parsePeriod } from "./ParquetSink.js";
export { parseSchema, inferSchema, convertValue, schemaElement, PARQUET_TYPES, type ParquetColumn, type ParquetColumnType } from "./schema.js";

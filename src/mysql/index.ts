export { MySQLConnection, isRetryable, prepareWrite, RETRY_ERRORS, type PreparedWrite } from "./MySQLConnection.js";
export { MySQLSink } from "./MySQLSink.js";
export { MySQLSource } from "./MySQLSource.js";
export { MySQLLookup } from "./MySQLLookup.js";
export { MySQLBinaryLogSource } from "./MySQLBinaryLogSource.js";
export { BinlogPositionFile, type BinlogPosition } from "./binlogPosition.js";
export type { BinlogRowsEvent } from "./binlogEvents.js";

export { MySQLConnection, isRetryable, prepareWrite, RETRY_ERRORS, type PreparedWrite } from "./MySQLConnection.js";
export { MySQLSink } from "./MySQLSink.js";
export { MySQLSource } from "./MySQLSource.js";
export { MySQLLookup } from "./MySQLLookup.js";

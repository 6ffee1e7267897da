export { PostgreSQLConnection, isRetryable, describeError, parseInt8 } from "./PostgreSQLConnection.js";
export { PostgreSQLSink } from "./PostgreSQLSink.js";
export { PostgreSQLSource } from "./PostgreSQLSource.js";
export { PostgreSQLLookup } from "./PostgreSQLLookup.js";
export { planWrite, copyField, sqlValue, quoteIdent, quoteName, type WritePlan } from "./pgWrite.js";
export { PostgreSQLLogicalReplicationSource, type ChangeEvent } from "./PostgreSQLLogicalReplicationSource.js";

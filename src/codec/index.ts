export { LineFramer, maxLineLengthKey, framingEncoding, splitLines, type LineTarget, type LineFramingOptions } from "./lines.js";
export { CSVRowParser, type CSVRowCallback, type CSVErrorCallback } from "./CSVRowParser.js";
export { CSV_DIALECT_CONFIG, csvDialect, readerOptions, dialectCodes, type CSVDialect, type CSVRowParserOptions } from "./csvdialect.js";
export { csvRecordBuilder, csvRows, type CSVRecordBuilder } from "./csvrecord.js";
export { formatField, formatRow, type CsvFormat } from "./csvformat.js";
export { textCodec, isBytes, type TextCodec, type TextStream } from "./text.js";
export { badInput } from "./badInput.js";
export { parseJSONLine, pythonFloatRepr, pythonJsonDumps, pythonJsonDumpsBytes, NO_VALUE } from "./json.js";

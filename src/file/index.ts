export { FileABCSource, type FileEntry, type ScannedFiles } from "./FileABCSource.js";
export { FileLineSource } from "./FileLineSource.js";
export { FileCSVSource } from "./FileCSVSource.js";
// The CSV parser and dialect live in the codec layer; exported here too, where file users look for them.
export { CSVRowParser, type CSVRowCallback, type CSVErrorCallback } from "../codec/CSVRowParser.js";
export { type CSVRowParserOptions } from "../codec/csvdialect.js";
export { FileJSONSource } from "./FileJSONSource.js";
export { FileBlockSource } from "./FileBlockSource.js";
export { FileMultiLineSource, type FileMultiLineSourceOptions } from "./FileMultiLineSource.js";
export { glob, fnmatch } from "./glob.js";
export { FileBufferedSink } from "./FileBufferedSink.js";
export { FileLineSink } from "./FileLineSink.js";
export { FileCSVSink } from "./FileCSVSink.js";
export { FileBlockSink } from "./FileBlockSink.js";
export { FileJSONSink } from "./FileJSONSink.js";
export { formatField, formatRow, type CsvFormat } from "../codec/csvformat.js";
export { CSVParserProcessor } from "./CSVParserProcessor.js";
export { CSVGenerator } from "./CSVGenerator.js";

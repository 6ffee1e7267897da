export { FileABCSource, type FileEntry } from "./FileABCSource.js";
export { FileLineSource } from "./FileLineSource.js";
export { FileCSVSource, type FileCSVSourceOptions } from "./FileCSVSource.js";
export { FileJSONSource } from "./FileJSONSource.js";
export { FileBlockSource } from "./FileBlockSource.js";
export { FileMultiLineSource, type FileMultiLineSourceOptions } from "./FileMultiLineSource.js";
export { reportBadInput } from "./badInput.js";
export { glob, fnmatch } from "./glob.js";

export { FileABCSource, type FileEntry } from "./FileABCSource.js";
export { FileLineSource } from "./FileLineSource.js";
export { reportBadInput } from "./badInput.js";
export { glob, fnmatch } from "./glob.js";

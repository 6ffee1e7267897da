export { KIBANA_INDEXES, KibanaClient, KibanaHttpError, bulkBody, importHits, importTarget, probeIndexes, readIndex, readKibana } from "./client.js";
export type { BulkItemResult, ImportOptions, ImportResult, Printer } from "./client.js";
export {
  INCLUDES,
  LibraryObject,
  compile,
  decompile,
  decompileLog,
  formatCompiled,
  formatJsonFile,
  includeFileName,
  includeFilesOf,
  loadLibrary,
  normalize,
  objectFileName,
  objectTitle,
  objectType,
  rename,
  stripUnderscoreStar,
  writeAtomic,
} from "./library.js";
export type { CompileOptions, CompileResult, DecompileEntry, DecompileResult, DecompileStatus, KibanaHit, Library, RenameOptions, RenameResult } from "./library.js";
export { document, documentModel } from "./document.js";
export type { DocObject, DocumentOptions, DocumentResult } from "./document.js";
export { jsonEqual, pyDumps } from "./pyjson.js";
export { lookupHit } from "./lookup.js";

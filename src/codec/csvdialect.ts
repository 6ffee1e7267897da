import { ConfigError, toError, type ConfigSpec, type ResolvedConfig } from "../core/index.js";
import { textCodec, type TextStream } from "./text.js";

/**
 * The one declaration of the CSV dialect keys (Python csv's names and defaults), spread into the
 * ConfigDefaults of every CSV component: readers (FileCSVSource, HTTPClientCSVSource,
 * CSVParserProcessor, CSVGenerator, DictionaryLookup, IPGeoLookup) and the writer (FileCSVSink).
 */
export const CSV_DIALECT_CONFIG = {
  dialect: { type: "string", default: "excel", choices: ["excel", "excel-tab", "unix"], doc: "Python csv dialect: excel (',' and CRLF), excel-tab (TAB), unix" },
  delimiter: { type: "string", default: ",", doc: "Field delimiter (excel-tab dialect: TAB)" },
  doublequote: { type: "bool", default: true, doc: "A quote inside a quoted field is written as two quotes" },
  escapechar: { type: "string", default: "\\", doc: "Escape character, used when doublequote is false or quoting is 3 (none); empty: none" },
  lineterminator: { type: "string", default: "\n", doc: "Row terminator written; readers end rows at \\n or \\r\\n" },
  quotechar: { type: "string", default: '"', doc: "Quote character" },
  quoting: { type: "int", default: 0, doc: "Python csv quoting: 0 minimal, 1 all, 2 non-numeric, 3 none (readers: 3 turns quoting off)" },
  skipinitialspace: { type: "bool", default: false, doc: "Ignore spaces right after a delimiter" },
  strict: { type: "bool", default: false, doc: "Readers: rows whose field count differs from the header, and text right after a closing quote, are bad input" },
} satisfies ConfigSpec;

/** A component's dialect, read from the keys of CSV_DIALECT_CONFIG. */
export interface CSVDialect {
  delimiter: string;
  quotechar: string;
  escapechar: string;
  doublequote: boolean;
  quoting: number;
  lineterminator: string;
  skipinitialspace: boolean;
  strict: boolean;
}

/** Reads and checks the dialect keys; a ConfigError names the section for a dialect no parser can read. */
export function csvDialect(config: ResolvedConfig): CSVDialect {
  let delimiter = config.getString("delimiter");
  if (config.getString("dialect") === "excel-tab" && delimiter === ",") delimiter = "\t";
  const quoting = config.getInt("quoting");
  if (quoting < 0 || quoting > 3) throw new ConfigError(`[${config.section}] key 'quoting': expected 0..3, got ${quoting}`);
  const dialect: CSVDialect = {
    delimiter,
    quotechar: config.getString("quotechar"),
    escapechar: config.getString("escapechar"),
    doublequote: config.getBool("doublequote"),
    quoting,
    lineterminator: config.getString("lineterminator"),
    skipinitialspace: config.getBool("skipinitialspace"),
    strict: config.getBool("strict"),
  };
  try {
    dialectCodes(readerOptions(dialect));
  } catch (e) {
    throw new ConfigError(`[${config.section}] ${toError(e).message}`);
  }
  return dialect;
}

/** The CSVRowParser options for a dialect: quoting 3 turns quotes off; the escape character applies with quoting 3 or without doublequote. */
export function readerOptions(d: CSVDialect, extra: Pick<CSVRowParserOptions, "encoding" | "maxRowLength"> = {}): CSVRowParserOptions {
  return {
    delimiter: d.delimiter,
    quotechar: d.quoting === 3 ? "" : d.quotechar,
    escapechar: d.doublequote && d.quoting !== 3 ? "" : d.escapechar,
    doublequote: d.doublequote,
    skipinitialspace: d.skipinitialspace,
    strict: d.strict,
    ...extra,
  };
}

/** The CSV dialect a `CSVRowParser` reads (Python csv's reader options). */
export interface CSVRowParserOptions {
  /** Field delimiter: one ASCII character. Default ",". */
  delimiter?: string;
  /** Quote character (one ASCII character); "" turns quoting off (Python's QUOTE_NONE). Default '"'. */
  quotechar?: string;
  /** Escape character (one ASCII character) or "" for none. Default "". */
  escapechar?: string;
  /** Inside a quoted field, two quote characters stand for one. Default true. */
  doublequote?: boolean;
  /** Spaces right after a delimiter (and at the start of a row) are ignored. Default false. */
  skipinitialspace?: boolean;
  /** A character other than a delimiter or line end right after a closing quote is an error (else it is kept). Default false. */
  strict?: boolean;
  /** Encoding of the bytes (a name `textCodec` knows). UTF-8, Latin-1 and ASCII are parsed as they are, others are transcoded to UTF-8 first. Default "utf8". */
  encoding?: string;
  /** A quoted field still open after this many bytes is an error (Python's csv.field_size_limit). Default 131072. */
  fieldSizeLimit?: number;
  /** A row still without a line end after this many bytes is an error, dropped up to the next line end. Default 16 MiB. */
  maxRowLength?: number;
}

/**
 * The dialect's delimiter, quote and escape as character codes (-1: none). Throws a TypeError for a
 * dialect the parser cannot read: a character that is not one ASCII character other than a line
 * end, or two roles sharing one character. Components check their config with it at start.
 */
export function dialectCodes(options: CSVRowParserOptions): { delimiter: number; quote: number; escape: number } {
  const ascii = (name: string, value: string, allowEmpty: boolean): number => {
    if (value === "" && allowEmpty) return -1;
    if (value.length !== 1 || value.charCodeAt(0) > 127 || value === "\n" || value === "\r") {
      throw new TypeError(`CSV ${name} must be one ASCII character other than a line end${allowEmpty ? ", or empty" : ""}, got ${JSON.stringify(value)}`);
    }
    return value.charCodeAt(0);
  };
  const delimiter = ascii("delimiter", options.delimiter ?? ",", false);
  const quote = ascii("quotechar", options.quotechar ?? '"', true);
  const escape = ascii("escapechar", options.escapechar ?? "", true);
  if (quote === delimiter || (escape !== -1 && (escape === delimiter || escape === quote))) {
    throw new TypeError("CSV delimiter, quotechar and escapechar must differ");
  }
  return { delimiter, quote, escape };
}


/** A Buffer slice decoder, called with the Buffer as `this` (Node's internal fast slices). */
export type Decode = (this: Buffer, start: number, end: number) => string;
interface FastSlices {
  utf8Slice: Decode;
  latin1Slice: Decode;
  asciiSlice: Decode;
}
const proto = Buffer.prototype as unknown as FastSlices;

/**
 * How the parser reads bytes in `encoding`: UTF-8, Latin-1 and ASCII are parsed as they are; other
 * encodings (UTF-16, windows-1250, …) are transcoded to UTF-8 first by the codec layer's decoder.
 */
export function csvDecoding(encoding: string): { decode: Decode; utf8: boolean; transcoder: TextStream | null } {
  const codec = textCodec(encoding, "CSV encoding");
  switch (codec.node) {
    case "utf8":
      return { decode: proto.utf8Slice, utf8: true, transcoder: null };
    case "latin1":
    case "binary":
      return { decode: proto.latin1Slice, utf8: false, transcoder: null };
    case "ascii":
      return { decode: proto.asciiSlice, utf8: false, transcoder: null };
    default:
      return { decode: proto.utf8Slice, utf8: true, transcoder: codec.stream() };
  }
}

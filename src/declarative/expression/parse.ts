import type { Document, LineCounter, Node as YNode } from "yaml";
import { dependency } from "../../core/index.js";
import { DeclarationError, type Loc, type MapEntry, type Node } from "./ast.js";

const yaml = dependency<typeof import("yaml")>("yaml");

const CORE = "tag:yaml.org,2002:";
/** BSPump's typed scalars: `!!ui8 5`, `!!fp64 1.5` (a VALUE of that type, or a CAST of a mapping). */
export const TYPED = /^(ui|si)(1|8|16|32|64|128|256)$|^fp(16|32|64|128)$/;
// Anchors and aliases could nest without bound (a "billion laughs"); a declaration never needs this.
const MAX_DEPTH = 200;
const MAX_NODES = 200_000;

/**
 * YAML 1.1 text → one AST per document (`---`). Never throws: syntax errors and shape problems
 * are returned, each with a location, and parsing continues where it can.
 */
export function parseDeclaration(text: string, source: string): { docs: Node[]; errors: DeclarationError[] } {
  const Y = yaml();
  const lines: LineCounter = new Y.LineCounter();
  const errors: DeclarationError[] = [];
  const locOf = (offset: number | undefined): Loc => {
    const p = lines.linePos(offset ?? 0);
    return { source, line: p.line, column: p.col };
  };
  let documents: Document.Parsed[];
  try {
    documents = Y.parseAllDocuments(text, { version: "1.1", lineCounter: lines, prettyErrors: false, uniqueKeys: true }) as Document.Parsed[];
  } catch (e) {
    return { docs: [], errors: [new DeclarationError(locOf(0), null, `Syntax error: ${(e as Error).message}`)] };
  }
  if (!Array.isArray(documents)) documents = [documents];
  const docs: Node[] = [];
  for (const doc of documents) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) errors.push(new DeclarationError(locOf(err.pos[0]), null, `Syntax error: ${err.message.split("\n")[0]}`));
      continue;
    }
    if (doc.contents === null) continue;
    let nodes = 0;
    const convert = (n: unknown, depth: number): Node => {
      const start = (n as { range?: [number, number, number] } | null)?.range?.[0];
      let loc = locOf(start);
      if (depth > MAX_DEPTH) throw new DeclarationError(loc, null, `nested deeper than ${MAX_DEPTH} levels`);
      if (++nodes > MAX_NODES) throw new DeclarationError(loc, null, `more than ${MAX_NODES} nodes (aliases expanding?)`);
      if (n === null || n === undefined) return { kind: "value", value: null, loc };
      if (Y.isAlias(n)) return convert(n.resolve(doc), depth + 1);
      const node = n as YNode;
      const rawTag = node.tag;
      let tag: string | null = null;
      if (rawTag?.startsWith(CORE)) {
        const t = rawTag.slice(CORE.length);
        if (TYPED.test(t)) tag = `!${t}`;
        else if (!["str", "int", "float", "bool", "null", "map", "seq", "binary", "timestamp", "omap", "pairs", "set", "merge"].includes(t)) {
          throw new DeclarationError(loc, null, `Unknown YAML type '!!${t}'`);
        }
      } else if (rawTag?.startsWith("!")) tag = rawTag.slice(1);
      else if (rawTag) throw new DeclarationError(loc, null, `Unknown declarative expression '${rawTag}'`);
      // A tagged node's range starts at its value; errors point at the tag, just before it.
      if (tag && start !== undefined) {
        const written = tag.startsWith("!") ? `!${tag}` : `!${tag}`;
        const at = text.lastIndexOf(written, start);
        if (at >= 0 && /^\s*$/.test(text.slice(at + written.length, start))) loc = locOf(at);
      }
      if (Y.isScalar(node)) {
        if (tag) return { kind: "expr", tag, shape: "scalar", scalar: node.value == null ? "" : String(node.value), loc };
        let value = node.value;
        // PyYAML (BSPump's parser) reads YAML 1.1 but keeps y/Y/n/N as strings.
        if (typeof value === "boolean" && /^[yYnN]$/.test(node.source ?? "")) value = node.source;
        // YAML 1.1 resolves dates; a declaration uses them as text (DATETIME.PARSE parses them).
        if (value instanceof Date) value = node.source;
        if (value instanceof Uint8Array) value = Buffer.from(value);
        return { kind: "value", value, loc };
      }
      if (Y.isSeq(node)) {
        const items = node.items.map((i) => convert(i, depth + 1));
        return tag ? { kind: "expr", tag, shape: "seq", items, loc } : { kind: "list", items, loc };
      }
      if (Y.isMap(node)) {
        const entries: MapEntry[] = [];
        for (const pair of node.items) {
          const keyNode = pair.key as YNode | null;
          const kloc = locOf((keyNode as { range?: [number] } | null)?.range?.[0] ?? start);
          if (keyNode !== null && !Y.isScalar(keyNode)) throw new DeclarationError(kloc, tag, "a mapping key must be a plain scalar");
          let key = keyNode === null ? null : keyNode.value instanceof Date ? keyNode.source : keyNode.value;
          if (typeof key === "boolean" && /^[yYnN]$/.test(keyNode!.source ?? "")) key = keyNode!.source;
          entries.push({ key, value: convert(pair.value, depth + 1), loc: kloc });
        }
        if (!tag) return { kind: "map", entries, loc };
        const args = new Map<string, Node>();
        for (const e of entries) {
          if (typeof e.key !== "string") throw new DeclarationError(e.loc, tag, `argument names are strings, got ${JSON.stringify(e.key)}`);
          args.set(e.key, e.value);
        }
        return { kind: "expr", tag, shape: "map", args, loc };
      }
      throw new DeclarationError(loc, tag, "unsupported YAML node");
    };
    try {
      docs.push(convert(doc.contents, 0));
    } catch (e) {
      if (e instanceof DeclarationError) errors.push(e);
      else errors.push(new DeclarationError(locOf(doc.contents.range?.[0]), null, `Syntax error: ${(e as Error).message}`));
    }
  }
  return { docs, errors };
}

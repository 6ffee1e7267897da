import type { Node } from "./ast.js";

const PLAIN = /^[A-Za-z_][\w.\-/ ]*$/;
const RESERVED = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isNaN(v) ? ".nan" : !Number.isFinite(v) ? (v > 0 ? ".inf" : "-.inf") : String(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(" ") ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** The AST as YAML 1.1 declaration text (what `bspump expr` prints as the optimized form). */
export function formatNode(node: Node, indent = ""): string {
  switch (node.kind) {
    case "value":
      return scalar(node.value);
    case "list":
      if (node.items.length === 0) return "[]";
      return node.items.map((i) => `\n${indent}- ${formatNode(i, indent + "  ")}`).join("");
    case "map":
      if (node.entries.length === 0) return "{}";
      return node.entries.map((e) => `\n${indent}${scalar(e.key)}:${child(e.value, indent + "  ")}`).join("");
    case "expr": {
      const tag = node.tag.startsWith("!") ? `!${node.tag}` : `!${node.tag}`;
      if (node.shape === "scalar") return node.scalar ? `${tag} ${node.scalar}` : tag;
      if (node.shape === "seq") {
        const items = node.items ?? [];
        if (items.every((i) => i.kind === "value")) return `${tag} [${items.map((i) => formatNode(i)).join(", ")}]`;
        return tag + items.map((i) => `\n${indent}- ${formatNode(i, indent + "  ")}`).join("");
      }
      const args = [...(node.args ?? new Map<string, Node>())];
      if (args.length === 0) return `${tag} {}`;
      return tag + args.map(([k, v]) => `\n${indent}${k}:${child(v, indent + "  ")}`).join("");
    }
  }
}

function child(node: Node, indent: string): string {
  const text = formatNode(node, indent);
  return text.startsWith("\n") ? text : ` ${text}`;
}

/** Two ASTs that mean the same (locations aside). */
export function sameNode(a: Node, b: Node): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "value":
      return Object.is(a.value, (b as typeof a).value);
    case "list": {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, i) => sameNode(x, bi[i]!));
    }
    case "map": {
      const be = (b as typeof a).entries;
      return a.entries.length === be.length && a.entries.every((x, i) => x.key === be[i]!.key && sameNode(x.value, be[i]!.value));
    }
    case "expr": {
      const bb = b as typeof a;
      if (a.tag !== bb.tag || a.shape !== bb.shape || a.scalar !== bb.scalar) return false;
      if ((a.items?.length ?? 0) !== (bb.items?.length ?? 0) || !(a.items ?? []).every((x, i) => sameNode(x, bb.items![i]!))) return false;
      const aa = [...(a.args ?? [])];
      return aa.length === (bb.args?.size ?? 0) && aa.every(([k, v]) => bb.args!.has(k) && sameNode(v, bb.args!.get(k)!));
    }
  }
}

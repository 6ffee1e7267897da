/**
 * `bskibana document`: Markdown documentation of a Kibana Object Library, rendered with nunjucks
 * (a Jinja2 port, so BSPump's Jinja2 templates mostly work as they are). Spec §3.2.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Printer } from "./client.js";
import { loadLibrary, type LibraryObject } from "./library.js";
import { dependency } from "../core/index.js";

const nunjucks = dependency<typeof import("nunjucks")>("nunjucks");

/** What a template sees as `obj` (and each entry of `library`, `uses`, `used_by`, …). */
export interface DocObject {
  id: string;
  type: string;
  title: string;
  /** The object file ("-" for synthesized field and category objects). */
  fname: string;
  /** The raw object, includes expanded (`obj.obj._source…`). */
  obj: Record<string, unknown>;
  uses: DocObject[];
  used_by: DocObject[];
  /** index-pattern only. */
  fieldcategories: DocObject[];
  /** fieldcategory only. */
  fields: DocObject[];
  /** The directory of the library the object was loaded from. */
  dir?: string;
}

export interface DocumentOptions {
  templateDir: string;
  output: string;
}

export interface DocumentResult {
  objects: Map<string, DocObject>;
  written: string[];
  skipped: string[];
  messages: string[];
}

const quiet: Printer = { level: -1, out: () => undefined, err: () => undefined };

function docObject(x: LibraryObject, dir: string): DocObject {
  return { id: x.id, type: x.type, title: x.title, fname: x.file, obj: x.hit as Record<string, unknown>, uses: [], used_by: [], fieldcategories: [], fields: [], dir };
}

function parsed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const byId = (a: DocObject, b: DocObject): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Builds the documentation objects with their relations resolved (no rendering). */
export function documentModel(dirs: readonly string[], p: Printer = quiet): { objects: Map<string, DocObject>; messages: string[] } {
  const objects = new Map<string, DocObject>();
  const messages: string[] = [];
  const note = (m: string): void => {
    messages.push(m);
    if (p.level >= 0) p.out(m);
  };
  for (const dir of dirs) {
    for (const x of loadLibrary([dir], p).objects.values()) {
      if (x.type === "config" || x.type === "x-lff-lookup") continue;
      objects.set(x.id, docObject(x, dir));
    }
  }
  // Pseudo-objects for the fields of each index pattern: one category and one object per field.
  for (const o of [...objects.values()]) {
    if (o.type !== "index-pattern") continue;
    const source = o.obj._source as Record<string, unknown>;
    const ip = isObject(source["index-pattern"]) ? source["index-pattern"] : {};
    const fields = parsed(ip.fields);
    const catId = `fieldcategory_${o.id}`;
    const cat: DocObject = {
      id: catId,
      type: "fieldcategory",
      title: "Fields",
      fname: "-",
      obj: { _id: catId, index_pattern_id: o.id, _source: { type: "fieldcategory", updated_at: source.updated_at, fieldcategory: { title: "Fields" } } },
      uses: [],
      used_by: [],
      fieldcategories: [],
      fields: [],
    };
    objects.set(catId, cat);
    for (const f of Array.isArray(fields) ? fields : []) {
      if (!isObject(f) || typeof f.name !== "string") continue;
      const fid = `field_${o.id}${f.name.toLowerCase().replace(/\./g, "-")}`;
      const field = { ...f, title: f.name, cat_id: catId, cat_name: "Fields" };
      objects.set(fid, {
        id: fid,
        type: "field",
        title: f.name,
        fname: "-",
        obj: { _id: fid, cat_id: catId, index_pattern_id: o.id, _source: { type: "field", updated_at: source.updated_at, field } },
        uses: [],
        used_by: [],
        fieldcategories: [],
        fields: [],
      });
    }
  }
  for (const o of [...objects.values()].sort(byId)) {
    const source = o.obj._source as Record<string, unknown>;
    if (o.type === "visualization") {
      const vis = isObject(source.visualization) ? source.visualization : {};
      const sid = vis.savedSearchId;
      if (typeof sid === "string" && sid !== "") {
        // BSPump printed an undefined variable (o_id) here; the id it meant is the search's.
        const searchId = `search:${sid}`;
        const s = objects.get(searchId);
        if (s === undefined) note(`Cannot find '${searchId}' object referenced from visualization '${o.id}'`);
        else {
          s.used_by.push(o);
          o.uses.push(s);
        }
      }
    } else if (o.type === "dashboard") {
      const dash = isObject(source.dashboard) ? source.dashboard : {};
      const panels = parsed(dash.panelsJSON);
      for (const panel of Array.isArray(panels) ? panels : []) {
        if (!isObject(panel)) continue;
        const pid = `${String(panel.type)}:${String(panel.id)}`;
        const t = objects.get(pid);
        if (t === undefined) note(`Cannot find '${pid}' object referenced from dashboard '${o.id}'`);
        else {
          t.used_by.push(o);
          o.uses.push(t);
        }
      }
    } else if (o.type === "field") {
      objects.get(String(o.obj.cat_id))?.fields.push(o);
    } else if (o.type === "fieldcategory") {
      objects.get(String(o.obj.index_pattern_id))?.fieldcategories.push(o);
    }
  }
  const key = (o: DocObject): string => `${o.type}-${o.title}`;
  const cmp = (a: DocObject, b: DocObject): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  for (const o of objects.values()) {
    o.uses.sort(cmp);
    o.used_by.sort(cmp);
  }
  return { objects, messages };
}

function md5(s: string | Buffer): string {
  return createHash("md5").update(s).digest("hex");
}

/** Renders one page per object (except fields) and `index.md`; writes only files whose MD5 changed. */
export function document(dirs: readonly string[], o: DocumentOptions, p: Printer = quiet): DocumentResult {
  const { objects, messages } = documentModel(dirs, p);
  // The loader searches the template dir and then each library DIR (BSPump used d[0], the first character of each).
  const searchPaths = [o.templateDir, ...dirs].map((d) => resolve(d));
  const { Environment, FileSystemLoader } = nunjucks();
  const env = new Environment(new FileSystemLoader(searchPaths, { noCache: true }), { autoescape: false });
  const has = (name: string): boolean => searchPaths.some((d) => existsSync(join(d, name)));
  const written: string[] = [];
  const skipped: string[] = [];
  const renderTo = (text: string, file: string): void => {
    const data = Buffer.from(text, "utf8");
    if (existsSync(file) && md5(readFileSync(file)) === md5(data)) return;
    mkdirSync(dirname(file), { recursive: true });
    if (p.level >= 0) p.out(`Generating ${file}`);
    writeFileSync(file, data);
    written.push(file);
  };
  for (const obj of [...objects.values()].sort(byId)) {
    if (obj.type === "field") continue;
    let template: string | undefined;
    if (obj.fname !== "-" && obj.dir !== undefined) {
      const dedicated = relative(resolve(obj.dir), resolve(obj.fname)).replace(/\.json$/, ".md");
      if (existsSync(join(obj.dir, dedicated))) template = dedicated;
    }
    if (template === undefined && has(`${obj.type}.md`)) template = `${obj.type}.md`;
    if (template === undefined && has("object.md")) template = "object.md";
    if (template === undefined) {
      skipped.push(obj.id);
      if (p.level >= 1) p.out(`No template for object ${obj.id}, skipping...`);
      continue;
    }
    const out = env.render(template, { obj, title: "Kibana Object Library" });
    renderTo(out, join(o.output, obj.type, obj.id.replace(/:/g, "_") + ".md"));
  }
  if (has("index.md")) {
    const library = [...objects.values()].sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
    renderTo(env.render("index.md", { library, title: "Kibana Object Library" }), join(o.output, "index.md"));
  }
  return { objects, written, skipped, messages };
}

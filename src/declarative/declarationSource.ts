import { existsSync, readFileSync } from "node:fs";
import { ConfigError, type Application, type ComponentOptions, type ConfigSpec, type ResolvedConfig } from "../core/index.js";
import { ExpressionBuilder, type DeclarationLibrary, type Expression } from "./expression/index.js";

/** Options of the components built on declarations. */
export interface DeclarativeOptions extends ComponentOptions {
  /** YAML text, a file (`.yaml`/`.yml`), or an identifier in the library. Overrides `declaration`. */
  declaration?: string;
  /** A folder, an in-memory `{path: text}`, or a DeclarationLibrary (for `!INCLUDE` and identifiers). */
  library?: DeclarationLibrary | string | Record<string, string>;
  /** A builder to use (its `!CONFIG` values, user tags); a new one otherwise. */
  builder?: ExpressionBuilder;
}

export const DECLARATION_CONFIG = {
  declaration: { type: "string", default: "", doc: "The declaration: YAML text, a .yaml/.yml file, or an identifier in `library`" },
  library: { type: "string", default: "", doc: "Folder of the declaration library (`!INCLUDE` and identifiers)" },
  include_paths: { type: "list", default: ["/include"], doc: "Folders of the library searched for `<id>.yaml`" },
  optimize: { type: "bool", default: true, doc: "Run the ExpressionOptimizer (constant folding, WHEN dispatch tables)" },
} satisfies ConfigSpec;

/** The text of a declaration and the name its errors are reported under. */
export function declarationText(declaration: string, inlineName = "<declaration>"): { text: string; source: string } {
  const t = declaration.trim();
  const inline = t.startsWith("---") || t.startsWith("!") || t.includes("\n");
  if (!inline && /\.ya?ml$/i.test(t)) {
    if (!existsSync(t)) throw new ConfigError(`declaration file '${t}' not found`);
    return { text: readFileSync(t, "utf8"), source: t };
  }
  return { text: declaration, source: inlineName };
}

/** Parses and compiles a component's declaration, from its options or its config. */
export function loadDeclaration(app: Application, config: ResolvedConfig, options: DeclarativeOptions, where: string): Expression[] {
  const declaration = options.declaration ?? config.getString("declaration");
  if (!declaration.trim()) throw new ConfigError(`[${where}] declaration: required (YAML text, a file or a library identifier)`);
  const libraryDir = config.getString("library");
  const builder = options.builder ?? new ExpressionBuilder(app, options.library ?? (libraryDir || null), config.getList("include_paths"));
  // An inline declaration's errors name the definition that holds it (`app.yaml:12: declaration:3:5`).
  const { text, source } = declarationText(declaration, options.configOrigin ? `${options.configOrigin}: declaration` : "<declaration>");
  return builder.parse(text, source, { optimize: config.getBool("optimize") });
}

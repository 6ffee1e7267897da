import { ConfigError, dependency, toError } from "../core/index.js";

// nunjucks (a Jinja2 port) loaded when a template is first compiled, as bskibana's `document` does.
const nunjucks = dependency<typeof import("nunjucks")>("nunjucks");

/** A compiled template: renders variables to text, throwing when one it outputs is missing. */
export type MailTemplate = (variables: object) => string;

let environment: import("nunjucks").Environment | null = null;

/**
 * Compiles `source` now, so that a syntax error is a ConfigError at start naming `where`
 * (`[pipeline:P:SmtpSink] key 'subject'`). Autoescape is off (mail text, not HTML); an undefined
 * value that the template outputs throws (`throwOnUndefined`) instead of becoming an empty string.
 */
export function compileTemplate(source: string, where: string): MailTemplate {
  const { Environment, Template } = nunjucks();
  environment ??= new Environment(null, { autoescape: false, throwOnUndefined: true });
  let template: import("nunjucks").Template;
  try {
    template = new Template(source, environment, undefined, true);
  } catch (e) {
    throw new ConfigError(`${where}: not a valid template: ${firstLine(toError(e).message)}`);
  }
  return (variables) => template.render(variables);
}

/** nunjucks wraps errors in "(unknown path) [Line 1, Column 4]\n  Error: …": keep the useful part on one line. */
export function firstLine(message: string): string {
  return message.replace(/^\(unknown path\)\s*/, "").replace(/\s*\n\s*/g, " ").trim();
}

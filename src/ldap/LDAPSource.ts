import type { Client as LdapClient, Entry } from "ldapts";
import { ConfigError, dependency, locateConnection, toError, TriggerSource, type Application, type ComponentOptions, type ConfigSpec, type Pipeline, type TypedConfig } from "../core/index.js";
import { LDAPConnection } from "./LDAPConnection.js";
import { ldapError } from "./ldapError.js";

const ldapts = dependency<typeof import("ldapts")>("ldapts");

const CONFIG = {
  base: { type: "string", default: "dc=example,dc=org", doc: "DN the search starts at" },
  filter: { type: "string", default: "(&(objectClass=inetOrgPerson)(cn=*))", doc: "LDAP search filter (RFC 4515)" },
  attributes: { type: "string", default: "", doc: "Attributes to return, space-separated; empty: all user attributes" },
  results_per_page: { type: "int", default: 1000, doc: "Entries per page of the paged search (RFC 2696)", min: 1 },
  scope: { type: "string", default: "sub", choices: ["base", "one", "sub"], doc: "Search scope: the base entry, its children, or the whole subtree (BSPump)" },
  values: { type: "string", default: "bytes", choices: ["bytes", "str"], doc: "bytes: attribute values as Buffers (BSPump); str: UTF-8 strings (binary values stay Buffers)" },
} satisfies ConfigSpec;

/** An entry as emitted: `dn` and the attributes, single values unwrapped. */
export type LDAPEntry = { dn: string } & Record<string, string | Buffer | Array<string | Buffer>>;

/**
 * Emits the entries of an LDAP search at each trigger (BSPump's LDAPSource): a paged search
 * (`results_per_page` entries a page) from `base` with `filter`, returning `attributes`. Each entry
 * is one object with `dn`; a one-value attribute is that value, a multi-value one a list, an
 * attribute with no values is left out. Values are Buffers, as BSPump's python-ldap gives bytes
 * (`values = str`: strings). Context: `{ base }`.
 *
 * Pages are fetched as the pipeline takes the entries (BSPump's TODO, throttling, is done: the
 * next page is not asked for while the pipeline is not ready), so memory holds one page. A failed
 * bind is retried (LDAPConnection); a failed search (no such base, server gone) is a warning and
 * ends the cycle, the next one tries again. A filter that does not parse is a ConfigError at start.
 */
export class LDAPSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static override ConnectionClass = LDAPConnection;

  readonly connection: LDAPConnection;
  readonly base: string;
  readonly filter: string;
  readonly attributes: string[];
  private readonly pageSize: number;
  private readonly scope: "base" | "one" | "sub";
  private readonly bytes: boolean;
  private client: LdapClient | null = null;
  readonly stats = { cycles: 0, entries: 0, pages: 0, failures: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | LDAPConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, LDAPConnection);
    const c = this.config;
    this.base = c.getString("base");
    this.filter = c.getString("filter");
    try {
      ldapts().FilterParser.parseString(this.filter);
    } catch (e) {
      throw new ConfigError(`${c.where("filter")}: not an LDAP filter: ${toError(e).message}`);
    }
    this.attributes = c.getString("attributes").split(/\s+/).filter((a) => a !== "");
    this.pageSize = c.getInt("results_per_page");
    this.scope = c.getString("scope") as "base" | "one" | "sub";
    this.bytes = c.getString("values") === "bytes";
    app.metrics.addCollector(() => [{ name: "bspump.ldap.source", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats } }]);
  }

  async cycle(): Promise<void> {
    this.stats.cycles++;
    const client = await this.connection.open(() => this.stopping, this.untilStopped);
    if (client === null) return;
    this.client = client;
    const context = { base: this.base };
    try {
      const pages = client.searchPaginated(this.base, {
        scope: this.scope,
        filter: this.filter,
        ...(this.attributes.length > 0 ? { attributes: this.attributes } : {}),
        paged: { pageSize: this.pageSize },
      });
      for await (const page of pages) {
        this.stats.pages++;
        for (const entry of page.searchEntries) {
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
          this.stats.entries++;
          this.pipeline.process(this.record(entry), context);
        }
        // The next page is asked for only when the pipeline takes more.
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
      }
    } catch (e) {
      if (!this.stopping) {
        this.stats.failures++;
        this.log.warn(`LDAP search of '${this.id}' (${this.connection.url}, base '${this.base}') ended early: ${describe(toError(e))}`);
      }
    } finally {
      this.client = null;
      await client.unbind().catch(() => {});
    }
  }

  /** An entry as BSPump emits it: empty attributes dropped, values as bytes unless `values = str`. */
  private record(entry: Entry): LDAPEntry {
    const out: LDAPEntry = { dn: entry.dn };
    for (const name in entry) {
      if (name === "dn") continue;
      const value = entry[name]!;
      if (Array.isArray(value)) {
        if (value.length === 0) continue;
        out[name] = this.bytes ? value.map(toBuffer) : value;
      } else out[name] = this.bytes ? toBuffer(value) : value;
    }
    return out;
  }

  /** Ends a running search so that main() returns promptly. */
  protected override async onStop(): Promise<void> {
    await super.onStop();
    await this.client?.unbind().catch(() => {});
  }
}

// ldapts decodes a value as UTF-8 only when it is valid UTF-8 (else it is a Buffer already): encoding it back is exact.
function toBuffer(value: string | Buffer): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

function describe(e: Error): string {
  if (e.name === "NoSuchObjectError") return `the base entry does not exist on the server (${ldapError(e)})`;
  return ldapError(e);
}

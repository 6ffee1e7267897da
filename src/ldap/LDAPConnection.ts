import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import type { Client as LdapClient } from "ldapts";
import { ldapError } from "./ldapError.js";
import { ConfigError, Connection, dependency, toError, withReconnect, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig } from "../core/index.js";

// ldapts loaded when the first connection is opened (the family costs nothing unless used).
const ldapts = dependency<typeof import("ldapts")>("ldapts");

const CONFIG = {
  uri: { type: "string", default: "", doc: "Server URI (ldap://host:389, ldaps://host:636); empty: from host and port" },
  host: { type: "string", default: "localhost", doc: "Server host, when uri is empty" },
  port: { type: "int", default: 0, doc: "Server port, when uri is empty; 0: 389, or 636 with tls_enabled", min: 0, max: 65535 },
  username: { type: "string", default: "cn=admin,dc=example,dc=org", doc: "DN to bind as; empty: anonymous" },
  password: { type: "string", default: "admin", doc: "Password of the bind", secret: true },
  tls_enabled: { type: "bool", default: false, doc: "When uri is empty: connect with TLS (ldaps)" },
  tls_cafile: { type: "string", default: "", doc: "PEM file of the CA (or self-signed certificate) to trust besides the system's" },
  tls_certfile: { type: "string", default: "", doc: "PEM client certificate, for servers that ask for one" },
  tls_keyfile: { type: "string", default: "", doc: "PEM key of tls_certfile" },
  tls_require_cert: { type: "string", default: "never", choices: ["never", "allow", "try", "demand", "hard"], doc: "Server certificate check (OpenSSL's TLS_REQCERT): never/allow/try accept any certificate; demand/hard refuse one that no trusted CA signed or that names another host" },
  network_timeout: { type: "float", default: 10, doc: "Seconds for connecting and for each operation", min: 0.001 },
  reconnect_delay: { type: "float", default: 1, doc: "Seconds before retrying a failed connect or bind, doubling up to max_reconnect_delay" },
  max_reconnect_delay: { type: "float", default: 60, doc: "Longest wait between connect attempts, in seconds" },
} satisfies ConfigSpec;

/**
 * An LDAP server (BSPump's LDAPConnection; ldapts as the client). `open()` connects and binds as
 * `username` (anonymously when it is empty) and hands the client to one cycle of a source, which
 * unbinds when done. The server is `uri`, or `host` and `port` (0: 389, 636 with `tls_enabled`).
 * TLS options follow BSPump's python-ldap ones; `tls_require_cert` defaults to BSPump's "never"
 * (no certificate check) — set "demand" with `tls_cafile` to check. A failed connect or bind
 * (unreachable host, wrong password) is a warning naming the server and the reason, retried with
 * backoff until it works or the source stops.
 */
export class LDAPConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly url: string;
  private readonly tlsOptions: ConnectionOptions;
  readonly stats = { binds: 0, failed_binds: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    const c = this.config;
    const tls = c.getBool("tls_enabled");
    const uri = c.getString("uri");
    this.url = uri !== "" ? uri : `${tls ? "ldaps" : "ldap"}://${c.getString("host")}:${c.getInt("port") || (tls ? 636 : 389)}`;
    if (!/^ldaps?:\/\//i.test(this.url)) throw new ConfigError(`${c.where("uri")}: '${this.url}' is not an ldap:// or ldaps:// URI`);
    const file = (key: "tls_cafile" | "tls_certfile" | "tls_keyfile"): Buffer | undefined => {
      const path = c.getString(key);
      if (path === "") return undefined;
      try {
        return readFileSync(path);
      } catch (e) {
        throw new ConfigError(`${c.where(key)}: ${toError(e).message}`);
      }
    };
    const ca = file("tls_cafile");
    const cert = file("tls_certfile");
    const key = file("tls_keyfile");
    const check = ["demand", "hard"].includes(c.getString("tls_require_cert"));
    this.tlsOptions = { rejectUnauthorized: check, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
    app.metrics.addCollector(() => [{ name: "bspump.ldap", type: "counter", tags: { connection: this.id }, fields: { ...this.stats } }]);
  }

  /** A bound client, retrying until it is one; null when `stopping` became true first. The caller unbinds it. */
  async open(stopping: () => boolean, until?: Promise<void>): Promise<LdapClient | null> {
    const c = this.config;
    return withReconnect(() => this.bind(), {
      what: `LDAP ${this.url} (connection '${this.id}')`,
      log: this.log,
      delay: c.getFloat("reconnect_delay"),
      maxDelay: c.getFloat("max_reconnect_delay"),
      stopping,
      ...(until ? { until } : {}),
      onFailure: () => this.stats.failed_binds++,
    });
  }

  private async bind(): Promise<LdapClient> {
    const c = this.config;
    const timeout = c.getFloat("network_timeout") * 1000;
    // ldapts speaks TLS whenever it is given TLS options, on an ldap:// URI too: give them for ldaps only.
    const secure = /^ldaps:/i.test(this.url);
    const client = new (ldapts().Client)({ url: this.url, timeout, connectTimeout: timeout, ...(secure ? { tlsOptions: this.tlsOptions } : {}) });
    const username = c.getString("username");
    try {
      if (username !== "") await client.bind(username, c.getString("password"));
    } catch (e) {
      await client.unbind().catch(() => {});
      const error = toError(e);
      throw new Error(error.name === "InvalidCredentialsError" ? `bind as '${username}' refused: wrong DN or password (${ldapError(error)})` : ldapError(error));
    }
    this.stats.binds++;
    return client;
  }
}

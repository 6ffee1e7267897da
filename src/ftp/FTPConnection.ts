import { readFileSync } from "node:fs";
import type { Client as FtpClient } from "basic-ftp";
import { ConfigError, Connection, dependency, toError, withReconnect, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig } from "../core/index.js";

// basic-ftp loaded when the first connection is opened (the family costs nothing unless used).
const basicFtp = dependency<typeof import("basic-ftp")>("basic-ftp");

const CONFIG = {
  hostname: { type: "string", default: "localhost", doc: "FTP server host" },
  port: { type: "int", default: 21, doc: "FTP server port", min: 1, max: 65535 },
  username: { type: "string", default: "anonymous", doc: "User name of the login" },
  password: { type: "string", default: "", doc: "Password of the login", secret: true },
  secure: { type: "bool", default: false, doc: "Explicit FTPS (AUTH TLS) before the login" },
  tls_cafile: { type: "string", default: "", doc: "With secure: PEM file of a CA (or a self-signed certificate) to trust besides the system's" },
  tls_reject_unauthorized: { type: "bool", default: true, doc: "With secure: refuse a server certificate that no trusted CA signed" },
  timeout: { type: "float", default: 30, doc: "Seconds for connecting and for each reply", min: 0.001 },
  reconnect_delay: { type: "float", default: 1, doc: "Seconds before retrying a failed connect or login, doubling up to max_reconnect_delay" },
  max_reconnect_delay: { type: "float", default: 60, doc: "Longest wait between connect attempts, in seconds" },
} satisfies ConfigSpec;

/**
 * An FTP server (BSPump's FTPConnection; basic-ftp as the client). `open()` logs in and hands out
 * a client of its own to one cycle of a source, which closes it when done (BSPump's aioftp client
 * quits when the cycle's queue is empty, too). A failed connect or login (unreachable host, wrong
 * password) is a warning naming the server and the reason, retried with backoff until it works or
 * the source stops. `secure` speaks explicit FTPS (AUTH TLS) on control and data connections.
 */
export class FTPConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly hostname: string;
  readonly port: number;
  private readonly ca: Buffer | undefined;
  readonly stats = { logins: 0, failed_logins: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    this.hostname = this.config.getString("hostname");
    this.port = this.config.getInt("port");
    const cafile = this.config.getString("tls_cafile");
    try {
      this.ca = cafile === "" ? undefined : readFileSync(cafile);
    } catch (e) {
      throw new ConfigError(`${this.config.where("tls_cafile")}: ${toError(e).message}`);
    }
    app.metrics.addCollector(() => [{ name: "bspump.ftp", type: "counter", tags: { connection: this.id }, fields: { ...this.stats } }]);
  }

  /** A logged-in client, retrying until it is one; null when `stopping` became true first. The caller closes it. */
  async open(stopping: () => boolean, until?: Promise<void>): Promise<FtpClient | null> {
    const c = this.config;
    return withReconnect(() => this.login(), {
      what: `FTP ${this.hostname}:${this.port} (connection '${this.id}')`,
      log: this.log,
      delay: c.getFloat("reconnect_delay"),
      maxDelay: c.getFloat("max_reconnect_delay"),
      stopping,
      ...(until ? { until } : {}),
      onFailure: () => this.stats.failed_logins++,
    });
  }

  private async login(): Promise<FtpClient> {
    const c = this.config;
    const client = new (basicFtp().Client)(c.getFloat("timeout") * 1000);
    try {
      await client.access({
        host: this.hostname,
        port: this.port,
        user: c.getString("username"),
        password: c.getString("password"),
        secure: c.getBool("secure"),
        secureOptions: { rejectUnauthorized: c.getBool("tls_reject_unauthorized"), ...(this.ca ? { ca: this.ca } : {}) },
      });
    } catch (e) {
      client.close();
      throw e;
    }
    this.stats.logins++;
    return client;
  }
}

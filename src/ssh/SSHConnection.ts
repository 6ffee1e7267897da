import { readFileSync } from "node:fs";
import type { Client as SshClient, SFTPWrapper } from "ssh2";
import { ConfigError, Connection, dependency, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { knownHostKeys } from "./knownHosts.js";

// ssh2 loaded when the first session is opened (the family costs nothing unless used).
const ssh2 = dependency<typeof import("ssh2")>("ssh2");

const CONFIG = {
  host: { type: "string", default: "localhost", doc: "SSH server host" },
  port: { type: "int", default: 22, doc: "SSH server port", min: 1, max: 65535 },
  user: { type: "string", default: "", doc: "User name of the login", required: true },
  password: { type: "string", default: "", doc: "Password (password authentication); empty: keys only", secret: true },
  client_keys: { type: "list", default: [] as string[], doc: "Private key file of the user (public-key authentication); the first one is used" },
  passphrase: { type: "string", default: "", doc: "Passphrase of an encrypted client key", secret: true },
  known_hosts: { type: "string", default: "", doc: "OpenSSH known_hosts file the server's host key must be listed in; empty: the host key is not checked (a warning)" },
  client_host_keysign: { type: "string", default: "", doc: "BSPump's host-based authentication through ssh-keysign: not supported (must stay empty)" },
  client_host_keys: { type: "string", default: "", doc: "BSPump's host-based authentication keys: not supported (must stay empty)" },
  timeout: { type: "float", default: 20, doc: "Seconds for connecting and the SSH handshake", min: 0.001 },
  reconnect_delay: { type: "float", default: 1, doc: "Seconds before retrying a failed connect or login, doubling up to max_reconnect_delay" },
  max_reconnect_delay: { type: "float", default: 60, doc: "Longest wait between connect attempts, in seconds" },
  max_retries: { type: "int", default: 10, doc: "A sink's retries of one write while the server cannot be reached or refuses the login (-1: until it works; a stop then waits for it too)" },
} satisfies ConfigSpec;

/** A failure of an SFTP write; `transient` ones (no connection, a lost session) are worth retrying. */
export class SSHError extends Error {
  override name = "SSHError";
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** How one write went: whether it replaced an existing file (mode w). */
export interface SFTPWriteResult {
  overwrote: boolean;
}

/**
 * An SSH server, for SFTP (BSPump's SSHConnection; ssh2 as the client). One SSH session with one
 * SFTP channel is opened on first use and shared by every sink of the connection; when it breaks,
 * the next write opens a new one. Authentication by `password` and/or the private key of
 * `client_keys`. `known_hosts` pins the server's host key (OpenSSH format, hashed names too); a key
 * that is not listed there is refused. BSPump's host-based keys (`client_host_keys`,
 * `client_host_keysign`) are declared but must stay empty: ssh2 cannot sign with ssh-keysign.
 */
export class SSHConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly host: string;
  readonly port: number;
  private readonly privateKey: Buffer | null;
  private readonly hostKeys: { keys: Buffer[]; revoked: Buffer[] } | null;
  private session: Promise<{ client: SshClient; sftp: SFTPWrapper }> | null = null;
  private liveClient: SshClient | null = null;
  readonly stats = { sessions: 0, failed_connects: 0, writes: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    const c = this.config;
    this.host = c.getString("host");
    this.port = c.getInt("port");
    for (const key of ["client_host_keysign", "client_host_keys"] as const) {
      if (c.getString(key) !== "") throw new ConfigError(`${c.where(key)}: host-based authentication is not supported; use password or client_keys`);
    }
    const keyFile = c.getList("client_keys")[0];
    this.privateKey = keyFile === undefined ? null : readConfigFile(keyFile, c.where("client_keys"));
    if (this.privateKey === null && c.getString("password") === "") throw new ConfigError(`[${c.section}]: set password or client_keys (how to log in as '${c.getString("user")}')`);
    const knownHosts = c.getString("known_hosts");
    if (knownHosts === "") {
      this.hostKeys = null;
      this.log.warn(`SSH connection '${this.id}': no known_hosts, the host key of ${this.host}:${this.port} is not checked`);
    } else {
      this.hostKeys = knownHostKeys(readConfigFile(knownHosts, c.where("known_hosts")).toString("utf8"), this.host, this.port);
      if (this.hostKeys.keys.length === 0) throw new ConfigError(`${c.where("known_hosts")}: ${knownHosts} lists no key for ${this.port === 22 ? this.host : `[${this.host}]:${this.port}`}`);
    }
    app.metrics.addCollector(() => [{ name: "bspump.ssh", type: "counter", tags: { connection: this.id }, fields: { ...this.stats } }]);
  }

  /** The retry policy a sink's BatchingSink takes from this connection. */
  get retryPolicy(): { retries: number; retryDelay: number; maxRetryDelay: number } {
    const n = this.config.getInt("max_retries");
    return { retries: n < 0 ? Infinity : n, retryDelay: Math.max(0.01, this.config.getFloat("reconnect_delay")), maxRetryDelay: this.config.getFloat("max_reconnect_delay") };
  }

  /**
   * Writes `data` to the remote `path` (`append`: at its end, else replacing it). Throws an
   * SSHError: transient when the session could not be opened or broke, not when the server refused
   * the file (no such folder, no permission).
   */
  async write(path: string, data: Buffer, append: boolean): Promise<SFTPWriteResult> {
    let sftp: SFTPWrapper;
    try {
      sftp = (await this.open()).sftp;
    } catch (e) {
      this.stats.failed_connects++;
      throw new SSHError(`SSH ${this.host}:${this.port} (connection '${this.id}'): ${toError(e).message}`, true);
    }
    const overwrote = append ? false : await new Promise<boolean>((resolve) => sftp.stat(path, (err) => resolve(!err)));
    try {
      await new Promise<void>((resolve, reject) => sftp.writeFile(path, data, { flag: append ? "a" : "w" }, (err) => (err ? reject(err) : resolve())));
    } catch (e) {
      const error = toError(e) as Error & { code?: unknown };
      // A numeric code is the server's SFTP status (2 no such file, 3 permission denied, 4 failure): the file, not the session.
      if (typeof error.code === "number") throw new SSHError(`SFTP write of '${path}' refused by ${this.host}:${this.port}: ${error.message}`, false);
      this.drop();
      throw new SSHError(`SFTP write of '${path}' on ${this.host}:${this.port} failed: ${error.message}`, true);
    }
    this.stats.writes++;
    return { overwrote };
  }

  private open(): Promise<{ client: SshClient; sftp: SFTPWrapper }> {
    this.session ??= this.handshake().catch((e: unknown) => {
      this.session = null;
      throw e;
    });
    return this.session;
  }

  private handshake(): Promise<{ client: SshClient; sftp: SFTPWrapper }> {
    const c = this.config;
    const client = new (ssh2().Client)();
    this.liveClient = client;
    return new Promise((resolve, reject) => {
      let rejectedKey = false;
      client.once("ready", () => {
        client.sftp((err, sftp) => {
          if (err) {
            client.end();
            reject(err);
            return;
          }
          this.stats.sessions++;
          resolve({ client, sftp });
        });
      });
      client.on("error", (err) => {
        this.drop(client);
        reject(rejectedKey ? new Error(`the server's host key is not in ${c.getString("known_hosts")}`) : describe(err));
      });
      client.on("close", () => this.drop(client));
      const password = c.getString("password");
      const passphrase = c.getString("passphrase");
      client.connect({
        host: this.host,
        port: this.port,
        username: c.getString("user"),
        readyTimeout: c.getFloat("timeout") * 1000,
        keepaliveInterval: 15000,
        ...(password !== "" ? { password } : {}),
        ...(this.privateKey !== null ? { privateKey: this.privateKey } : {}),
        ...(passphrase !== "" ? { passphrase } : {}),
        ...(this.hostKeys !== null
          ? {
              hostVerifier: (key: Buffer): boolean => {
                const hostKeys = this.hostKeys!;
                const ok = !hostKeys.revoked.some((k) => k.equals(key)) && hostKeys.keys.some((k) => k.equals(key));
                rejectedKey = !ok;
                return ok;
              },
            }
          : {}),
      });
    });
  }

  /** Forgets a broken session (the given client's, or the current one) so the next write opens a new one. */
  private drop(client?: SshClient): void {
    // An event of an older session's client, already replaced: nothing to forget.
    if (client !== undefined && client !== this.liveClient) return;
    const live = this.liveClient;
    this.liveClient = null;
    this.session = null;
    live?.end();
  }

  override async finalize(): Promise<void> {
    const session = this.session;
    this.drop();
    if (session !== null) await session.then((s) => s.client.end(), () => {});
  }
}

function readConfigFile(path: string, where: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${where}: ${toError(e).message}`);
  }
}

/** ssh2's errors say little on their own: name the stage (authentication, socket, timeout). */
function describe(err: Error & { level?: string }): Error {
  if (err.level === "client-authentication") return new Error(`authentication failed (${err.message}): wrong user, password or key`);
  if (err.level === "client-timeout") return new Error(`timed out (${err.message})`);
  return err;
}

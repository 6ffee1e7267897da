import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Transporter } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import { ConfigError, Connection, dependency, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig } from "../core/index.js";

const nodemailer = dependency<typeof import("nodemailer")>("nodemailer");

/** One message as the connection sends it; empty recipients and sender fall back to the connection's. */
export interface MailMessage {
  from?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  subject: string;
  text: string;
}

/** What the server said about a message it took: who was accepted, who refused. */
export interface MailResult {
  accepted: string[];
  rejected: string[];
  response: string;
}

/** A failure the server or the network reported; `transient` failures (4xx, lost connection) are worth retrying. */
export class SmtpError extends Error {
  override name = "SmtpError";
  constructor(
    message: string,
    readonly transient: boolean,
    /** The SMTP reply code (451, 535, 550…), 0 for network and TLS errors. */
    readonly responseCode: number,
  ) {
    super(message);
  }
}

// nodemailer's error codes for failures of the connection itself, not of a message.
const NETWORK_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ECONNRESET", "ECONNREFUSED", "EPIPE", "EPROTOCOL"]);

const CONFIG = {
  server: { type: "string", default: "localhost", doc: "SMTP server host" },
  port: { type: "int", default: 587, doc: "SMTP server port (465 with use_tls, 587 with use_start_tls, 25 plain)" },
  use_tls: { type: "bool", default: false, doc: "TLS from the start of the connection (SMTPS, usually port 465)" },
  use_start_tls: { type: "bool", default: false, doc: "Upgrade the plain connection with STARTTLS, and refuse to go on without it" },
  cafile: { type: "string", default: "", doc: "PEM file of a CA (or a self-signed certificate) to trust besides the system's" },
  login: { type: "string", default: "", doc: "User name for AUTH; empty: no authentication" },
  password: { type: "string", default: "", doc: "Password for AUTH", secret: true },
  from: { type: "string", default: "", doc: "Sender address (From header and envelope)" },
  to: { type: "list", default: [] as string[], doc: "Recipients (comma-separated, or one per line)" },
  cc: { type: "list", default: [] as string[], doc: "Copy recipients" },
  bcc: { type: "list", default: [] as string[], doc: "Blind copy recipients" },
  subject: { type: "string", default: "Mail from ASAB", doc: "Subject when the sink gives none" },
  output_queue_max_size: { type: "int", default: 10, doc: "Mails waiting in a sink above which its pipeline is throttled" },
  timeout: { type: "float", default: 30, doc: "Seconds for connecting, the greeting and each reply" },
  retry_delay: { type: "float", default: 1, doc: "Seconds before the first retry of a transient failure (doubling up to max_retry_delay)" },
  max_retry_delay: { type: "float", default: 60, doc: "Longest wait between retries, in seconds" },
  max_retries: { type: "int", default: 10, doc: "Retries of one mail after transient failures (-1: until it is sent)" },
} satisfies ConfigSpec;

/**
 * An SMTP server (BSPump's SmtpConnection; nodemailer as the client). One pooled connection is kept
 * open and reused by every sink using this connection. `use_tls` connects with TLS from the start
 * (port 465); `use_start_tls` requires STARTTLS on a plain connection (587) — without it the
 * connection stays plain, as BSPump's flags say, even when the server offers STARTTLS. `login` and
 * `password` authenticate. `cafile` trusts a private CA (a self-signed server certificate).
 *
 * Delivery, retries and throttling are the sink's (SmtpSink is a BatchingSink); the connection
 * sends one message and classifies its failure: transient (a 4xx reply, a lost connection) or not
 * (5xx: a refused recipient, wrong credentials).
 */
export class SmtpConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly from: string;
  readonly to: string;
  readonly cc: string;
  readonly bcc: string;
  readonly subject: string;
  private readonly options: SMTPPool.Options;
  private transport: Transporter<SMTPPool.SentMessageInfo> | null = null;
  readonly stats = { sent: 0, failed: 0, transient: 0, rejected_recipients: 0 };

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id, options);
    const c = this.config;
    this.from = c.getString("from");
    this.to = c.getList("to").join(", ");
    this.cc = c.getList("cc").join(", ");
    this.bcc = c.getList("bcc").join(", ");
    this.subject = c.getString("subject");
    const useTLS = c.getBool("use_tls");
    const startTLS = c.getBool("use_start_tls");
    if (useTLS && startTLS) throw new ConfigError(`[connection:${this.id}] use_tls and use_start_tls exclude each other (TLS from the start, or STARTTLS on a plain connection)`);
    const cafile = c.getString("cafile");
    let ca: string | undefined;
    if (cafile !== "") {
      try {
        ca = readFileSync(cafile, "utf8");
      } catch (e) {
        throw new ConfigError(`[connection:${this.id}] key 'cafile': ${toError(e).message}`);
      }
    }
    const login = c.getString("login");
    const timeout = Math.max(0.001, c.getFloat("timeout")) * 1000;
    const host = c.getString("server");
    this.options = {
      pool: true,
      maxConnections: 1,
      host,
      port: c.getInt("port"),
      secure: useTLS,
      requireTLS: startTLS,
      ignoreTLS: !useTLS && !startTLS,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      // SNI takes a host name only (RFC 6066); for an IP address the certificate is checked against the IP.
      tls: { ...(ca !== undefined ? { ca } : {}), ...(isIP(host) === 0 ? { servername: host } : {}) },
      ...(login !== "" ? { auth: { user: login, pass: c.getString("password") } } : {}),
    };
    app.metrics.addCollector(() => [{ name: "bspump.smtp", type: "counter", tags: { connection: this.id }, fields: { ...this.stats } }]);
  }

  /** The retry policy a sink's BatchingSink takes from this connection. */
  get retryPolicy(): { retries: number; retryDelay: number; maxRetryDelay: number } {
    const n = this.config.getInt("max_retries");
    return { retries: n < 0 ? Infinity : n, retryDelay: Math.max(0, this.config.getFloat("retry_delay")), maxRetryDelay: Math.max(0, this.config.getFloat("max_retry_delay")) };
  }

  /** Sends one message; throws an SmtpError (transient or not) when the server did not take it. */
  async send(message: MailMessage): Promise<MailResult> {
    const to = message.to || this.to;
    const cc = message.cc || this.cc;
    const bcc = message.bcc || this.bcc;
    if (to === "" && cc === "" && bcc === "") throw new SmtpError(`${this.id}: a mail needs a recipient ('to' of the connection or the sink)`, false, 0);
    this.transport ??= nodemailer().createTransport(this.options);
    try {
      const info = await this.transport.sendMail({
        from: message.from || this.from,
        ...(to !== "" ? { to } : {}),
        ...(cc !== "" ? { cc } : {}),
        ...(bcc !== "" ? { bcc } : {}),
        subject: message.subject,
        text: message.text,
      });
      const rejected = info.rejected.map(address);
      this.stats.sent++;
      this.stats.rejected_recipients += rejected.length;
      if (rejected.length > 0) this.log.warn(`${this.id}: the server refused recipients ${rejected.join(", ")} (${info.rejectedErrors?.map((e) => e.message).join("; ") ?? ""}); sent to the others`);
      return { accepted: info.accepted.map(address), rejected, response: info.response };
    } catch (e) {
      const error = classify(toError(e));
      if (error.transient) this.stats.transient++;
      else this.stats.failed++;
      throw error;
    }
  }

  /** Closes the pooled connection; a later send opens a new one. */
  override async finalize(): Promise<void> {
    this.transport?.close();
    this.transport = null;
  }
}

function address(a: string | { address: string }): string {
  return typeof a === "string" ? a : a.address;
}

/** nodemailer's error as an SmtpError: 4xx replies and network failures are transient; 5xx, TLS and the rest are not. */
function classify(e: Error): SmtpError {
  const { code, responseCode, response } = e as Error & { code?: string; responseCode?: number; response?: string };
  const reply = typeof responseCode === "number" ? responseCode : 0;
  const transient = (reply >= 400 && reply < 500) || (reply === 0 && code !== undefined && NETWORK_CODES.has(code));
  const what = code === "EAUTH" ? "SMTP authentication failed" : code === "EENVELOPE" ? "SMTP server refused the envelope" : code === "ETLS" ? "SMTP TLS failed" : "SMTP send failed";
  const detail = response !== undefined && response !== "" && !e.message.includes(response) ? `${e.message} (${response})` : e.message;
  return new SmtpError(`${what}: ${detail}`, transient, reply);
}

import { TriggerSource, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Pipeline } from "../core/index.js";
import { parseResponseCodes } from "./util.js";

/** A response status outside `response_code`. */
export class InvalidResponseStatusCodeError extends Error {
  override name = "InvalidResponseStatusCodeError";
  constructor(readonly status: number, url: string) {
    super(`HTTP ${status} from ${url}`);
  }
}

/** The request kept failing: `max_failed_retries` reached. */
export class ClientError extends Error {
  override name = "ClientError";
}

export interface HTTPClientSourceOptions extends ComponentOptions {
  /** Request headers (BSPump's `headers=`; its Text, Line and CSV sources dropped them [BUG]). */
  headers?: Record<string, string>;
}

const CONFIG = {
  method: { type: "string", default: "GET", doc: "HTTP method" },
  url: { type: "string", default: "http://example.com/", doc: "The URL to fetch" },
  response_code: { type: "string", default: "200", doc: "Accepted status codes: every integer in the value ('200, 203 204')" },
  max_failed_retries: { type: "int", default: 3, doc: "Failures in a row after which the pipeline goes to its error state" },
  fail_chilldown: { type: "float", default: 30, doc: "Seconds to wait after a failure before retrying" },
  timeout: { type: "float", default: 60, doc: "Seconds for the whole request, body included (0: none)" },
  body: { type: "string", default: "", doc: "Request body (for POST/PUT)" },
} satisfies ConfigSpec;

/**
 * Base of the HTTP client sources (TriggerSource): each trigger cycle makes one request to `url`
 * and hands the response to `read()`. A failure (connection error, timeout, or a status not in
 * `response_code`) is retried within the cycle after `fail_chilldown` seconds, with a warning; the
 * `max_failed_retries`-th failure in a row raises ClientError, a hard pipeline error.
 * (BSPump slept and ended the cycle instead of retrying, and counted failures as `event.in` [QUIRK].)
 */
export abstract class HTTPABCClientSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly headers: Record<string, string>;
  readonly url: string;
  readonly method: string;
  private readonly responseCodes: Set<number>;
  private readonly maxFailed: number;
  private readonly chilldown: number;
  private readonly timeout: number;
  private readonly body: string;
  /** Failures in a row (BSPump's FailedResponses). */
  failedResponses = 0;
  readonly stats = { requests: 0, failures: 0, bytes: 0 };

  constructor(app: Application, pipeline: Pipeline, options: HTTPClientSourceOptions = {}) {
    super(app, pipeline, options);
    this.headers = { ...(options.headers ?? {}) };
    this.url = this.config.getString("url");
    this.method = this.config.getString("method").toUpperCase();
    this.responseCodes = parseResponseCodes(this.config.getString("response_code"), `[${this.config.section}] response_code`);
    this.maxFailed = Math.max(1, this.config.getInt("max_failed_retries"));
    this.chilldown = Math.max(0, this.config.getFloat("fail_chilldown"));
    this.timeout = this.config.getFloat("timeout");
    this.body = this.config.getString("body");
    app.metrics.addCollector(() => [{ name: "bspump.http.client", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.stats } }]);
  }

  /** Reads the response (status already accepted) and hands its events to the pipeline. */
  protected abstract read(response: Response, signal: AbortSignal): Promise<void>;

  async cycle(): Promise<void> {
    for (;;) {
      const abort = new AbortController();
      const onStop = () => abort.abort(new Error("source stopping"));
      void this.untilStopped.then(onStop);
      const signal = this.timeout > 0 ? AbortSignal.any([abort.signal, AbortSignal.timeout(this.timeout * 1000)]) : abort.signal;
      try {
        this.stats.requests++;
        const response = await fetch(this.url, {
          method: this.method,
          headers: this.headers,
          ...(this.body !== "" ? { body: this.body } : {}),
          signal,
        });
        if (!this.responseCodes.has(response.status)) {
          await response.body?.cancel().catch(() => {});
          throw new InvalidResponseStatusCodeError(response.status, this.url);
        }
        await this.read(response, signal);
        this.failedResponses = 0;
        return;
      } catch (e) {
        if (this.stopping) return;
        const error = toError(e);
        this.failedResponses++;
        this.stats.failures++;
        if (this.failedResponses >= this.maxFailed) {
          const failed = this.failedResponses;
          this.failedResponses = 0;
          throw new ClientError(`${this.method} ${this.url} failed ${failed} times in a row: ${error.message}`);
        }
        this.log.warn(`${this.method} ${this.url} failed (${this.failedResponses}/${this.maxFailed}): ${error.message}; retrying in ${this.chilldown} s`);
        if (!(await this.sleep(this.chilldown))) return;
      } finally {
        abort.abort();
      }
    }
  }
}

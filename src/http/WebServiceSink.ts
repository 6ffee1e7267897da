import { Sink, type ConfigSpec, type TypedConfig, type EventContext, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import { CONTEXT_RESPONSE_ID, WebServiceResponses } from "./responses.js";

const CONFIG = {
  content_type: { type: "string", default: "application/octet-stream", doc: "Content-Type of the response" },
} satisfies ConfigSpec;

/**
 * Writes events into the HTTP response of the request they came from (a WebServiceSource request,
 * found by `context["webservicesink.response_id"]`): the client gets the pipeline's output in the
 * body of the same request. Buffers are written as they are, strings as UTF-8, other values as a
 * JSON line. An event without a known response id is dropped with a warning, as in BSPump.
 */
export class WebServiceSink extends Sink {
  static readonly CONTEXT_RESPONSE_ID = CONTEXT_RESPONSE_ID;
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly contentType: string;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.contentType = this.config.getString("content_type");
  }

  missing = 0;

  process(context: EventContext, event: unknown): null {
    const id = context[CONTEXT_RESPONSE_ID] ?? context.ancestor?.[CONTEXT_RESPONSE_ID];
    const response = typeof id === "string" ? WebServiceResponses.get(id) : undefined;
    if (response === undefined) {
      this.missing++;
      this.pipeline.log.warn(`${this.id}: no response for id ${JSON.stringify(id)}; event dropped`);
      return null;
    }
    response.contentType = this.contentType;
    if (Buffer.isBuffer(event)) response.chunks.push(event);
    else if (event instanceof Uint8Array) response.chunks.push(Buffer.from(event));
    else if (typeof event === "string") response.chunks.push(Buffer.from(event));
    else response.chunks.push(Buffer.from(JSON.stringify(event) + "\n"));
    return null;
  }
}

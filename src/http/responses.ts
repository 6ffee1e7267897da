/** Context key naming the response a WebServiceSink writes to (BSPump's constant). */
export const CONTEXT_RESPONSE_ID = "webservicesink.response_id";

export interface CollectedResponse {
  chunks: Buffer[];
  contentType: string;
}

/** Responses being assembled, by id: the WebServiceSource opens one per request, the sink appends. */
export class WebServiceResponses {
  private static readonly responses = new Map<string, CollectedResponse>();

  static open(id: string): CollectedResponse {
    const r: CollectedResponse = { chunks: [], contentType: "application/octet-stream" };
    this.responses.set(id, r);
    return r;
  }

  static get(id: string): CollectedResponse | undefined {
    return this.responses.get(id);
  }

  static close(id: string): CollectedResponse | undefined {
    const r = this.responses.get(id);
    this.responses.delete(id);
    return r;
  }
}

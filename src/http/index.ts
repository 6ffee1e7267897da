export { HTTPABCClientSource, InvalidResponseStatusCodeError, ClientError, type HTTPClientSourceOptions } from "./HTTPABCClientSource.js";
export { HTTPClientSource, HTTPClientTextSource, HTTPClientLineSource, HTTPClientCSVSource } from "./HTTPClientSource.js";
export { WebServiceSource } from "./WebServiceSource.js";
export { WebServiceSink } from "./WebServiceSink.js";
export { CONTEXT_RESPONSE_ID, WebServiceResponses, type CollectedResponse } from "./responses.js";
export { HTTPClientSink, type HTTPClientSinkOptions } from "./HTTPClientSink.js";
export { parseResponseCodes, retryAfterSeconds } from "./util.js";
export { WebSocketSource, type WebSocketContext } from "./WebSocketSource.js";
export { HTTPClientWebSocketSink } from "./HTTPClientWebSocketSink.js";

export { SlackConnection } from "./SlackConnection.js";
export { SlackSink, SlackTextSink, SlackMessageSink } from "./SlackSink.js";

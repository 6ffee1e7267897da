export * from "./ElasticSearchClient.js";
export * from "./ElasticSearchBulk.js";
export * from "./ElasticSearchConnection.js";
export * from "./ElasticSearchSink.js";
export * from "./IndexNamePattern.js";

export * from "./ElasticSearchClient.js";
export * from "./ElasticSearchBulk.js";
export * from "./ElasticSearchConnection.js";
export * from "./ElasticSearchSink.js";
export * from "./IndexNamePattern.js";
export * from "./ElasticSearchSource.js";
export * from "./ElasticSearchAggsSource.js";
export * from "./ElasticSearchLookup.js";

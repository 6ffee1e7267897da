import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ElasticSearchClient } from "../elasticsearch/ElasticSearchClient.js";

/** How the Elasticsearch tools (bselastic, bsintegrity) reach a cluster: one set of options for all. */
export interface EsConnectOptions {
  username?: string;
  password?: string;
  apiKey?: string;
  cafile?: string;
  insecure?: boolean;
}

/** Adds the connection options to a command. */
export function esConnectOptions(cmd: Command): Command {
  return cmd
    .option("--username <user>", "basic auth user")
    .option("--password <password>", "basic auth password")
    .option("--api-key <key>", "API key (Authorization: ApiKey)")
    .option("--cafile <file>", "PEM CA file for https:// URLs")
    .option("--insecure", "do not verify the server certificate");
}

/** A client for `url` with those options (long operations: 120 s per request). */
export function esClient(url: string, o: EsConnectOptions): ElasticSearchClient {
  return new ElasticSearchClient({
    urls: [url],
    username: o.username,
    password: o.password,
    apiKey: o.apiKey,
    ca: o.cafile ? readFileSync(o.cafile) : undefined,
    verify: !o.insecure,
    timeout: 120,
  });
}

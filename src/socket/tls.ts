import { readFileSync } from "node:fs";
import type { ConnectionOptions, TlsOptions } from "node:tls";
import { ConfigError, type ConfigSpec, type ResolvedConfig } from "../core/index.js";

/** TLS keys (ASAB's SSLContextBuilder names), read from the component's own section. */
export const TLS_CONFIG = {
  cert: { type: "string", default: "", doc: "PEM certificate file; with `key`, a server listens with TLS (a client presents it)" },
  key: { type: "string", default: "", doc: "PEM private key file" },
  password: { type: "string", default: "", doc: "Passphrase of the key", secret: true },
  cafile: { type: "string", default: "", doc: "PEM CA bundle to verify the peer with" },
  verify_mode: { type: "string", default: "", choices: ["", "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED"], doc: "Peer verification; empty: servers do not ask for client certificates, clients verify the server" },
  ssl: { type: "bool", default: false, doc: "Client sinks: connect with TLS even without a client certificate" },
  server_hostname: { type: "string", default: "", doc: "Client sinks: the name to verify the server certificate against (default: the host)" },
} satisfies ConfigSpec;

function read(config: ResolvedConfig, key: string): Buffer | undefined {
  const path = config.getString(key);
  if (path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`[${config.section}] key '${key}': cannot read '${path}': ${(e as Error).message}`);
  }
}

/** TLS server options, or null when no certificate is configured (plain TCP). */
export function serverTlsOptions(config: ResolvedConfig): TlsOptions | null {
  const cert = read(config, "cert");
  const key = read(config, "key");
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined || key === undefined) throw new ConfigError(`[${config.section}] TLS needs both 'cert' and 'key'`);
  const mode = config.getString("verify_mode");
  const ca = read(config, "cafile");
  const password = config.getString("password");
  return {
    cert,
    key,
    ...(password !== "" ? { passphrase: password } : {}),
    ...(ca ? { ca } : {}),
    requestCert: mode === "CERT_OPTIONAL" || mode === "CERT_REQUIRED",
    rejectUnauthorized: mode === "CERT_REQUIRED",
  };
}

/** TLS client options, or null for a plain connection. */
export function clientTlsOptions(config: ResolvedConfig, host: string): ConnectionOptions | null {
  const cert = read(config, "cert");
  const key = read(config, "key");
  const ca = read(config, "cafile");
  if (!config.getBool("ssl") && cert === undefined && ca === undefined) return null;
  const mode = config.getString("verify_mode");
  const password = config.getString("password");
  const name = config.getString("server_hostname") || host;
  return {
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(password !== "" ? { passphrase: password } : {}),
    ...(ca ? { ca } : {}),
    rejectUnauthorized: mode !== "CERT_NONE",
    ...(name !== "" && !/^[\d.:]+$/.test(name) ? { servername: name } : {}),
    ...(mode === "CERT_NONE" ? { checkServerIdentity: () => undefined } : {}),
  };
}

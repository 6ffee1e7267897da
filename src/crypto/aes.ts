// What EncryptAESProcessor and DecryptAESProcessor share: BSPump's CommonAESMixin.
import { ConfigError, Processor, type Application, type ComponentOptions, type ConfigSpec, type Pipeline, type TypedConfig } from "../core/index.js";

/** BSPump's keys and defaults: hex strings, 16 zero bytes each (AES-128, a zero IV). */
export const AES_CONFIG = {
  key: { type: "string", default: "00000000000000000000000000000000", doc: "The key in hex: 16, 24 or 32 bytes (AES-128, -192, -256)" },
  iv: { type: "string", default: "00000000000000000000000000000000", doc: "The CBC initialisation vector in hex: 16 bytes" },
} satisfies ConfigSpec;

export type AESConfig = TypedConfig<typeof AES_CONFIG>;

export interface AESParams {
  cipher: "aes-128-cbc" | "aes-192-cbc" | "aes-256-cbc";
  key: Buffer;
  iv: Buffer;
}

function hexBytes(config: AESConfig, name: "key" | "iv"): Buffer {
  const hex = config.getString(name).trim();
  // Buffer.from(hex, "hex") stops silently at the first bad digit: a typo would shorten the key.
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new ConfigError(`[${config.section}] key '${name}': expected hexadecimal digits (an even number of them)`);
  return Buffer.from(hex, "hex");
}

/** Reads and checks `key` and `iv`: a wrong length is a ConfigError at construction. */
export function aesParams(config: AESConfig): AESParams {
  const key = hexBytes(config, "key");
  const iv = hexBytes(config, "iv");
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new ConfigError(`[${config.section}] key 'key': an AES key is 16, 24 or 32 bytes (32, 48 or 64 hex digits), got ${key.length} bytes`);
  }
  if (iv.length !== 16) throw new ConfigError(`[${config.section}] key 'iv': the IV is 16 bytes (32 hex digits), got ${iv.length} bytes`);
  return { cipher: `aes-${key.length * 8}-cbc` as AESParams["cipher"], key, iv };
}

/** The event as bytes, or a TypeError naming the component (the pipeline's error rules take it). */
export function eventBytes(event: unknown, who: string): Uint8Array {
  if (event instanceof Uint8Array) return event;
  const got = event === null ? "null" : Array.isArray(event) ? "a list" : typeof event;
  throw new TypeError(`${who} expects bytes, got ${got} (put StringToBytesParser or DictToJsonBytesParser before it)`);
}

/** Base of EncryptAESProcessor and DecryptAESProcessor: BSPump's AES keys, checked once at start. */
export abstract class AESProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = AES_CONFIG;
  declare readonly config: AESConfig;

  protected readonly params: AESParams;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.params = aesParams(this.config);
  }
}

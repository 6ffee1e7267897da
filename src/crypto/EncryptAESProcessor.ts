import { createCipheriv } from "node:crypto";
import { Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { AES_CONFIG, aesParams, eventBytes, type AESConfig, type AESParams } from "./aes.js";

/**
 * BSPump's EncryptAESProcessor: bytes → AES-CBC ciphertext with PKCS7 padding (a whole extra
 * block when the input is a multiple of 16 bytes), the same `key` and `iv` for every event, as
 * BSPump (and `openssl aes-128-cbc -K … -iv …`) does, so either side decrypts the other's output.
 */
export class EncryptAESProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = AES_CONFIG;
  declare readonly config: AESConfig;

  private readonly params: AESParams;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.params = aesParams(this.config);
  }

  process(_context: EventContext, event: unknown): Buffer {
    const data = eventBytes(event, `EncryptAESProcessor '${this.id}'`);
    const { cipher, key, iv } = this.params;
    const c = createCipheriv(cipher, key, iv);
    return Buffer.concat([c.update(data), c.final()]);
  }
}

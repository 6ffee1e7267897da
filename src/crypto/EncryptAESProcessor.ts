import { createCipheriv } from "node:crypto";
import type { EventContext } from "../core/index.js";
import { AESProcessor, eventBytes } from "./aes.js";

/**
 * BSPump's EncryptAESProcessor: bytes → AES-CBC ciphertext with PKCS7 padding (a whole extra
 * block when the input is a multiple of 16 bytes), the same `key` and `iv` for every event, as
 * BSPump (and `openssl aes-128-cbc -K … -iv …`) does, so either side decrypts the other's output.
 */
export class EncryptAESProcessor extends AESProcessor {
  process(_context: EventContext, event: unknown): Buffer {
    const data = eventBytes(event, `EncryptAESProcessor '${this.id}'`);
    const { cipher, key, iv } = this.params;
    const c = createCipheriv(cipher, key, iv);
    return Buffer.concat([c.update(data), c.final()]);
  }
}

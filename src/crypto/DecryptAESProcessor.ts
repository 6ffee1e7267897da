import { createDecipheriv } from "node:crypto";
import type { EventContext } from "../core/index.js";
import { AESProcessor, eventBytes } from "./aes.js";

/**
 * BSPump's DecryptAESProcessor: AES-CBC ciphertext → bytes, PKCS7 padding removed. A ciphertext
 * that is not a whole number of blocks, or whose padding is wrong (another key, corrupted data),
 * is an error of that event, handled by the pipeline's error rules.
 */
export class DecryptAESProcessor extends AESProcessor {
  process(_context: EventContext, event: unknown): Buffer {
    const data = eventBytes(event, `DecryptAESProcessor '${this.id}'`);
    if (data.length === 0 || data.length % 16 !== 0) {
      throw new Error(`DecryptAESProcessor '${this.id}': the ciphertext is ${data.length} bytes, not a whole number of 16-byte blocks`);
    }
    const { cipher, key, iv } = this.params;
    const d = createDecipheriv(cipher, key, iv);
    try {
      return Buffer.concat([d.update(data), d.final()]);
    } catch {
      // OpenSSL says only "bad decrypt".
      throw new Error(`DecryptAESProcessor '${this.id}': bad PKCS7 padding after decryption (a wrong key or IV, or corrupted data)`);
    }
  }
}

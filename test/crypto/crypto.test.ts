import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { CoHashingProcessor, DecryptAESProcessor, EncryptAESProcessor, HashingProcessor, blake2b, blake2s } from "../../src/crypto/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// NIST SP 800-38A, F.2.1 / F.2.3 / F.2.5 (CBC-AES128/192/256.Encrypt): four blocks, no padding.
const SP800_38A = {
  iv: "000102030405060708090a0b0c0d0e0f",
  plaintext: "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
  cases: [
    { key: "2b7e151628aed2a6abf7158809cf4f3c", ciphertext: "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7" },
    { key: "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", ciphertext: "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a 571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd" },
    { key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", ciphertext: "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b" },
  ],
};

test("EncryptAESProcessor / DecryptAESProcessor: NIST SP 800-38A CBC vectors, AES-128/192/256, PKCS7 padding", async () => {
  const plaintext = hex(SP800_38A.plaintext);
  for (const { key, ciphertext } of SP800_38A.cases) {
    const config = { key, iv: SP800_38A.iv };
    const enc = await runProcessor(EncryptAESProcessor, [[null, plaintext]], { config });
    const out = enc.events[0] as Buffer;
    // 64 bytes are whole blocks: PKCS7 adds a full block of 0x10, whose encryption follows the vector's last block.
    assert.equal(out.length, 80, key);
    assert.equal(out.subarray(0, 64).toString("hex"), hex(ciphertext).toString("hex"), key);
    const last = createCipheriv(`aes-${key.length * 4}-ecb`, hex(key), null).setAutoPadding(false);
    const padBlock = Buffer.alloc(16, 0x10).map((b, i) => b ^ out[48 + i]!);
    assert.deepEqual(Buffer.concat([last.update(padBlock), last.final()]), out.subarray(64));
    const dec = await runProcessor(DecryptAESProcessor, [[null, out]], { config });
    assert.deepEqual(dec.events[0], plaintext);
  }
});

test("AES with BSPump's defaults (zero key and IV, AES-128): ciphertexts made by BSPump's code decrypt here, and back", async () => {
  // Made with Python's `cryptography` exactly as bspump/crypto/aes.py does (Cipher(AES(key), CBC(iv)), PKCS7(128)).
  const fromBSPump = [
    { plain: '{"user": "ann", "action": "login"}', cipher: "0861a3021382cc04dde940dd6eab9b00f997126996213d5dc3800fe0cc7a393b00fc14ac0d55dbb1665845066d230303", config: {} },
    { plain: "", cipher: "0143db63ee66b0cdff9f69917680151e", config: {} },
    {
      plain: "BSPump žluťoučký kůň", cipher: "fffa436324f0a3b5f92e83615bebe62db501457da1d19baa26725b939b20f8ee",
      config: { key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", iv: "0f0e0d0c0b0a09080706050403020100" },
    },
  ];
  for (const { plain, cipher, config } of fromBSPump) {
    const dec = await runProcessor(DecryptAESProcessor, [[null, hex(cipher)]], { config });
    assert.equal((dec.events[0] as Buffer).toString("utf8"), plain);
    const enc = await runProcessor(EncryptAESProcessor, [[null, Buffer.from(plain, "utf8")]], { config });
    assert.equal((enc.events[0] as Buffer).toString("hex"), cipher);
  }
  // A pipeline that encrypts and decrypts gives every event back, byte for byte.
  const input = Array.from({ length: 50 }, (_, i) => Buffer.from("x".repeat(i)));
  const r = await runPipeline(input.map((b) => [null, b] as const), (app, pipeline) => [
    new EncryptAESProcessor(app, pipeline),
    new DecryptAESProcessor(app, pipeline),
    new UnitTestSink(app, pipeline),
  ]);
  assert.deepEqual(r.events, input);
});

test("AES: a wrong key or IV length, or a key that is not hex, is a ConfigError naming section and key", async () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ key: "00112233" }, /\[pipeline:UnitTestPipeline:EncryptAESProcessor\] key 'key': an AES key is 16, 24 or 32 bytes .*got 4 bytes/],
    [{ key: "0".repeat(40) }, /key 'key': an AES key is 16, 24 or 32 bytes .*got 20 bytes/],
    [{ key: "zz".repeat(16) }, /key 'key': expected hexadecimal digits/],
    [{ key: "0".repeat(31) }, /key 'key': expected hexadecimal digits \(an even number of them\)/],
    [{ iv: "00".repeat(8) }, /key 'iv': the IV is 16 bytes \(32 hex digits\), got 8 bytes/],
  ];
  for (const [config, message] of bad) {
    await assert.rejects(runProcessor(EncryptAESProcessor, [], { config }), (e: Error) => e.name === "ConfigError" && message.test(e.message), JSON.stringify(config));
  }
  await assert.rejects(runProcessor(DecryptAESProcessor, [], { config: { key: "00" } }), /DecryptAESProcessor\] key 'key'/);
});

test("AES: bad events (not bytes, not whole blocks, wrong key) are errors of those events; the rest go through", async () => {
  const good = (await runProcessor(EncryptAESProcessor, [[null, Buffer.from("fine")]])).events[0] as Buffer;
  const other = (await runProcessor(EncryptAESProcessor, [[null, Buffer.from("other key")]], { config: { key: "ff".repeat(16) } })).events[0] as Buffer;
  const cases: [unknown, RegExp][] = [
    ["a string", /DecryptAESProcessor 'DecryptAESProcessor' expects bytes, got string/],
    [good.subarray(0, 10), /the ciphertext is 10 bytes, not a whole number of 16-byte blocks/],
    [other, /bad PKCS7 padding after decryption \(a wrong key or IV, or corrupted data\)/],
  ];
  for (const [event, message] of cases) {
    const r = await runProcessor(DecryptAESProcessor, [[null, good], [null, event]]);
    assert.deepEqual(r.events, [Buffer.from("fine")]);
    assert.equal(r.pipeline.errors, 1);
    assert.match(r.pipeline.error!.error.message, message);
  }
  const notBytes = await runProcessor(EncryptAESProcessor, [[null, { a: 1 }]]);
  assert.match(notBytes.pipeline.error!.error.message, /expects bytes, got object \(put StringToBytesParser or DictToJsonBytesParser before it\)/);
});

// FIPS 180-2 (SHA-1, SHA-2) and RFC 1321 (MD5) examples; RFC 7693 appendices A and B (BLAKE2).
const VECTORS: [string, string, string][] = [
  ["sha1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
  ["SHA224", "abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"],
  ["sha256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["Sha256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["sha384", "abc", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"],
  ["SHA512", "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"],
  ["md5", "", "d41d8cd98f00b204e9800998ecf8427e"],
  ["MD5", "abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["md5", "message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["blake2b", "abc", "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"],
  ["BLAKE2S", "abc", "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"],
];

test("HashingProcessor: published digests of each algorithm (any case), raw digest bytes out", async () => {
  for (const [algorithm, input, digest] of VECTORS) {
    const r = await runProcessor(HashingProcessor, [[null, Buffer.from(input, "latin1")]], { config: { algorithm } });
    assert.equal((r.events[0] as Buffer).toString("hex"), digest, `${algorithm}(${JSON.stringify(input)})`);
  }
});

/** RFC 7693 appendix E's input: a Fibonacci-like byte sequence. */
function selftestSeq(length: number, seed: number): Buffer {
  let a = Math.imul(0xdead4bad, seed) >>> 0;
  let b = 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    const t = (a + b) >>> 0;
    a = b;
    b = t;
    out[i] = t >>> 24;
  }
  return out;
}

test("BLAKE2 with digest sizes: RFC 7693 appendix E self-test (unkeyed and keyed, every digest size it lists)", () => {
  const grand = (f: typeof blake2b, sizes: number[], lengths: number[]) => {
    const parts: Buffer[] = [];
    for (const outlen of sizes) {
      for (const inlen of lengths) {
        const data = selftestSeq(inlen, inlen);
        parts.push(f(data, outlen), f(data, outlen, selftestSeq(outlen, outlen)));
      }
    }
    return f(Buffer.concat(parts), 32).toString("hex");
  };
  assert.equal(grand(blake2b, [20, 32, 48, 64], [0, 3, 128, 129, 255, 1024]), "c23a7800d98123bd10f506c61e29da5603d763b8bbad2e737f5e765a7bccd475");
  assert.equal(grand(blake2s, [16, 20, 28, 32], [0, 3, 64, 65, 255, 1024]), "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
  assert.throws(() => blake2b(Buffer.alloc(0), 65), /BLAKE2b digest size must be 1–64 bytes, got 65/);
});

test("HashingProcessor: BLAKE2 digest_size; the full size matches OpenSSL's; a wrong size or algorithm is a ConfigError", async () => {
  const data = selftestSeq(1000, 7);
  const hash = async (config: Record<string, string | number>) => (await runProcessor(HashingProcessor, [[null, data]], { config })).events[0] as Buffer;
  for (const size of [1, 20, 32, 48, 63, 64]) assert.deepEqual(await hash({ algorithm: "blake2b", digest_size: size }), blake2b(data, size), `blake2b/${size}`);
  for (const size of [1, 16, 28, 32]) assert.deepEqual(await hash({ algorithm: "blake2s", digest_size: size }), blake2s(data, size), `blake2s/${size}`);
  assert.equal((await hash({ algorithm: "blake2b", digest_size: 32 })).toString("hex"), blake2b(data, 32).toString("hex"));
  // hashlib.blake2b(b"abc", digest_size=32): a short BLAKE2 digest is not a truncation of the long one.
  assert.equal(((await runProcessor(HashingProcessor, [[null, Buffer.from("abc")]], { config: { algorithm: "BLAKE2B", digest_size: 32 } })).events[0] as Buffer).toString("hex"),
    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  assert.equal((await hash({ algorithm: "blake2s" })).length, 32, "BLAKE2S's default is its full size, 32");
  assert.equal((await hash({ algorithm: "blake2b" })).length, 64);
  assert.equal((await hash({ algorithm: "sha256", digest_size: 5 })).length, 32, "digest_size is for BLAKE2 only");
  await assert.rejects(runProcessor(HashingProcessor, [], { config: { algorithm: "sha3" } }),
    (e: Error) => e.name === "ConfigError" && /\[pipeline:UnitTestPipeline:HashingProcessor\] key 'algorithm': unknown hashing algorithm 'sha3' \(one of SHA224, SHA256/.test(e.message));
  await assert.rejects(runProcessor(HashingProcessor, [], { config: { algorithm: "blake2s", digest_size: 64 } }), /key 'digest_size': BLAKE2S digests are 1–32 bytes, got 64/);
  await assert.rejects(runProcessor(HashingProcessor, [], { config: { algorithm: "blake2b", digest_size: 0 } }), /key 'digest_size': BLAKE2B digests are 1–64 bytes, got 0/);
  const notBytes = await runProcessor(HashingProcessor, [[null, "text"], [null, Buffer.from("abc")]]);
  assert.equal(notBytes.pipeline.errors, 1);
  assert.match(notBytes.pipeline.error!.error.message, /HashingProcessor 'HashingProcessor' expects bytes, got string/);
});

test("CoHashingProcessor: the digest goes to context.hash, the event passes unchanged", async () => {
  const events = [Buffer.from("abc"), Buffer.from("")];
  const r = await runProcessor(CoHashingProcessor, events.map((e) => [null, e] as const), { config: { algorithm: "md5" } });
  assert.deepEqual(r.events, events);
  assert.deepEqual(r.output.map(([c]) => (c.hash as Buffer).toString("hex")), ["900150983cd24fb0d6963f7d28e17f72", "d41d8cd98f00b204e9800998ecf8427e"]);
  const bad = await runProcessor(CoHashingProcessor, [[null, 12]]);
  assert.match(bad.pipeline.error!.error.message, /CoHashingProcessor 'CoHashingProcessor' expects bytes, got number/);
});

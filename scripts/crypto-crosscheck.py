#!/usr/bin/env python3
"""Cross-check of bspump.crypto against Python, the way BSPump computes (optional; the tests do not need it).

Random inputs, keys and IVs; AES-CBC + PKCS7 through `cryptography` exactly as bspump/crypto/aes.py
does, digests through `hashlib` (BLAKE2 at every digest size). The TypeScript processors must give
the same bytes, and decrypt Python's ciphertexts. Usage: python3 scripts/crypto-crosscheck.py [cases]
Needs the `cryptography` package; run from the repository root (uses node with tsx).
"""
import hashlib
import json
import os
import random
import subprocess
import sys

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

cases = int(sys.argv[1]) if len(sys.argv) > 1 else 200
rng = random.Random(18)


def aes_encrypt(key, iv, data):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def digest(algorithm, size, data):
    if algorithm == "blake2b":
        return hashlib.blake2b(data, digest_size=size).digest()
    if algorithm == "blake2s":
        return hashlib.blake2s(data, digest_size=size).digest()
    return hashlib.new(algorithm, data).digest()


items = []
for i in range(cases):
    data = os.urandom(rng.choice([0, 1, 15, 16, 17, 100, 1000, rng.randrange(5000)]))
    key = os.urandom(rng.choice([16, 24, 32]))
    iv = os.urandom(16)
    algorithm = rng.choice(["sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b", "blake2s"])
    size = rng.randint(1, 64 if algorithm == "blake2b" else 32)
    items.append({
        "data": data.hex(), "key": key.hex(), "iv": iv.hex(), "cipher": aes_encrypt(key, iv, data).hex(),
        "algorithm": algorithm, "digest_size": size, "digest": digest(algorithm, size, data).hex(),
    })

CHECK = r"""
import { readFileSync } from "node:fs";
import { runProcessor } from "./src/unittest/index.ts";
import { DecryptAESProcessor, EncryptAESProcessor, HashingProcessor } from "./src/crypto/index.ts";
const items = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const it of items) {
  const data = Buffer.from(it.data, "hex");
  const aes = { key: it.key, iv: it.iv };
  const enc = (await runProcessor(EncryptAESProcessor, [[null, data]], { config: aes })).events[0];
  const dec = (await runProcessor(DecryptAESProcessor, [[null, Buffer.from(it.cipher, "hex")]], { config: aes })).events[0];
  const config = { algorithm: it.algorithm.toUpperCase(), digest_size: it.digest_size };
  const dig = (await runProcessor(HashingProcessor, [[null, data]], { config })).events[0];
  if (enc?.toString("hex") !== it.cipher || dec?.toString("hex") !== it.data || dig?.toString("hex") !== it.digest) {
    bad++;
    console.log("MISMATCH", JSON.stringify({ ...it, data: it.data.slice(0, 40) }));
  }
}
console.log(`${items.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
"""
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
proc = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", CHECK], cwd=root, input=json.dumps(items).encode())
sys.exit(proc.returncode)

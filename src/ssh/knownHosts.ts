import { createHmac } from "node:crypto";

/**
 * The keys an OpenSSH known_hosts file lists for a host (`host` on port 22, `[host]:port`
 * otherwise), plain or hashed (`|1|salt|hash`) host patterns alike; `@revoked` lines are returned
 * apart. Comments, blank lines and `@cert-authority` lines are ignored.
 */
export function knownHostKeys(text: string, host: string, port: number): { keys: Buffer[]; revoked: Buffer[] } {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: Buffer[] = [];
  const revoked: Buffer[] = [];
  for (const raw of text.split("\n")) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) continue;
    let marker = "";
    if (fields[0].startsWith("@")) marker = fields.shift()!;
    if (marker === "@cert-authority" || fields.length < 3) continue;
    if (!fields[0]!.split(",").some((pattern) => hostMatches(pattern, name))) continue;
    const key = Buffer.from(fields[2]!, "base64");
    (marker === "@revoked" ? revoked : keys).push(key);
  }
  return { keys, revoked };
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (salt === undefined || hash === undefined) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  if (pattern.startsWith("!")) return false;
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern.toLowerCase() === name.toLowerCase();
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(name);
}

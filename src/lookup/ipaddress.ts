/** Small IP helpers shared by IPGeoLookup and GeoIPEnricher (no allocation on the IPv4 path). */

/** The IPv4 address as an unsigned integer, or -1 when `text` is not a dotted quad. */
export function ipv4ToInt(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** The IPv6 address (also `::ffff:1.2.3.4`) as a bigint, or -1n when malformed. */
export function ipv6ToBigInt(text: string): bigint {
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return -1n;
  if (s.indexOf(".", lastColon) >= 0) {
    const v4 = ipv4ToInt(s.slice(lastColon + 1));
    if (v4 < 0) return -1n;
    s = `${s.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return -1n;
  const parse = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || rest === null) return -1n;
  const restAll = rest;
  const missing = 8 - head.length - restAll.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return -1n;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...restAll];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** 10/8, 172.16/12, 192.168/16, 127/8, 169.254/16, 100.64/10 (CGNAT), 0/8 and 255.255.255.255. */
export function isPrivateIPv4(ip: number): boolean {
  const a = Math.floor(ip / 16777216);
  const b = Math.floor(ip / 65536) % 256;
  return a === 10 || a === 127 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127) || ip === 0xffffffff;
}

/** ::1, ::, fc00::/7 (unique local), fe80::/10 (link local); IPv4-mapped private addresses. */
export function isPrivateIPv6(ip: bigint): boolean {
  if (ip === 0n || ip === 1n) return true;
  const top = Number(ip >> 112n);
  if ((top & 0xfe00) === 0xfc00 || (top & 0xffc0) === 0xfe80) return true;
  if (ip >> 32n === 0xffffn) return isPrivateIPv4(Number(ip & 0xffffffffn));
  return false;
}

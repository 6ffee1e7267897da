import type { Application, ConfigSpec, TypedConfig, LookupOptions } from "../core/index.js";
import { ipv4ToInt, ipv6ToBigInt } from "./ipaddress.js";
import { MappingLookup } from "./MappingLookup.js";
import { csvRows } from "../codec/csvrecord.js";

export interface GeoLocation {
  lat: number | null;
  lon: number | null;
  country?: string;
  country_name?: string;
  region?: string;
  city?: string;
}

const IPV4_MAPPED_BASE = 281470681743360n;

const CONFIG = {
  path: { type: "string", default: "", doc: "ip2location CSV (e.g. IP2LOCATION-LITE-DB5.IPV4.CSV); same as source_url" },
  ipv4mapped: { type: "bool", default: false, doc: "The CSV is in IPv6 space with IPv4 mapped into ::ffff:0:0/96" },
} satisfies ConfigSpec;

/**
 * IP ranges → location, from an ip2location-style CSV (`ip_from, ip_to, country_code,
 * country_name, region, city, lat, lon`; the range ends as integers or as addresses). Unlike
 * BSPump's nearest-boundary search, an address resolves only inside a range (binary search +
 * range check); addresses outside every range give undefined.
 */
export class IPGeoLookup extends MappingLookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & MappingLookup["config"];

  private v4Start: number[] = [];
  private v4End: number[] = [];
  private v4Loc: GeoLocation[] = [];
  private v6Start: bigint[] = [];
  private v6End: bigint[] = [];
  private v6Loc: GeoLocation[] = [];
  private readonly ipv4mapped: boolean;

  constructor(app: Application, id?: string, options: LookupOptions = {}) {
    super(app, id, options);
    this.ipv4mapped = this.config.getBool("ipv4mapped");
  }

  override sourceURL(): string {
    return this.config.getString("path").trim() || super.sourceURL();
  }

  get size(): number {
    return this.v4Start.length + this.v6Start.length;
  }

  has(key: unknown): boolean {
    return this.get(key) !== undefined;
  }

  /** The location of an address; undefined when unknown. Throws on a malformed address. */
  get(key: unknown): GeoLocation | undefined {
    return this.lookupLocation(String(key));
  }

  lookupLocation(address: string): GeoLocation | undefined {
    if (address.includes(".") && !address.includes(":")) {
      const ip = ipv4ToInt(address);
      if (ip < 0) throw new Error(`Malformed IPv4 address '${address}'`);
      if (this.ipv4mapped) return this.findV6(BigInt(ip) + IPV4_MAPPED_BASE);
      return this.findV4(ip);
    }
    if (address.includes(":")) {
      const ip = ipv6ToBigInt(address);
      if (ip < 0n) throw new Error(`Malformed IPv6 address '${address}'`);
      if (!this.ipv4mapped && ip >> 32n === 0xffffn) return this.findV4(Number(ip & 0xffffffffn));
      return this.findV6(ip);
    }
    throw new Error(`Not an IP address: '${address}'`);
  }

  private findV4(ip: number): GeoLocation | undefined {
    const at = lastAtOrBelow(this.v4Start, ip);
    return at >= 0 && ip <= this.v4End[at]! ? this.v4Loc[at] : undefined;
  }

  private findV6(ip: bigint): GeoLocation | undefined {
    const at = lastAtOrBelow(this.v6Start, ip);
    return at >= 0 && ip <= this.v6End[at]! ? this.v6Loc[at] : undefined;
  }

  serialize(): Buffer {
    const v4 = this.v4Start.map((s, i) => [s, this.v4End[i], this.v4Loc[i]]);
    const v6 = this.v6Start.map((s, i) => [s.toString(), this.v6End[i]!.toString(), this.v6Loc[i]]);
    return Buffer.from(JSON.stringify({ v4, v6 }), "utf8");
  }

  deserialize(data: Buffer): void {
    const parsed = JSON.parse(data.toString("utf8")) as { v4?: [number, number, GeoLocation][]; v6?: [string, string, GeoLocation][] };
    if (!Array.isArray(parsed.v4) || !Array.isArray(parsed.v6)) throw new Error(`Lookup '${this.id}': expected {v4: [...], v6: [...]}`);
    this.setRanges(
      parsed.v4.map(([s, e, l]) => [s, e, l]),
      parsed.v6.map(([s, e, l]) => [BigInt(s), BigInt(e), l]),
    );
  }

  protected override loadSourceData(data: Buffer): void {
    if (this.provider?.isSlave) return this.deserialize(data);
    const rows = csvRows(data, {});
    const v4: [number, number, GeoLocation][] = [];
    const v6: [bigint, bigint, GeoLocation][] = [];
    for (const row of rows) {
      if (row.length < 8) continue;
      const from = parseBound(row[0]!, this.ipv4mapped);
      const to = parseBound(row[1]!, this.ipv4mapped);
      if (from === null || to === null) continue; // a header line or garbage
      const lat = Number(row[6]);
      const lon = Number(row[7]);
      const loc: GeoLocation = { lat: lat === 0 || Number.isNaN(lat) ? null : lat, lon: lon === 0 || Number.isNaN(lon) ? null : lon };
      if (row[2] !== "-" && row[2] !== "") loc.country = row[2];
      if (row[3] !== "-" && row[3] !== "") loc.country_name = row[3];
      if (row[4] !== "-" && row[4] !== "") loc.region = row[4];
      if (row[5] !== "-" && row[5] !== "") loc.city = row[5];
      if (typeof from === "number" && typeof to === "number") v4.push([from, to, loc]);
      else v6.push([BigInt(from), BigInt(to), loc]);
    }
    this.setRanges(v4, v6);
  }

  private setRanges(v4: [number, number, GeoLocation][], v6: [bigint, bigint, GeoLocation][]): void {
    v4.sort((a, b) => a[0] - b[0]);
    v6.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.v4Start = v4.map((r) => r[0]);
    this.v4End = v4.map((r) => r[1]);
    this.v4Loc = v4.map((r) => r[2]);
    this.v6Start = v6.map((r) => r[0]);
    this.v6End = v6.map((r) => r[1]);
    this.v6Loc = v6.map((r) => r[2]);
  }
}

/** A range end: a decimal integer or an address; IPv4 space as number, IPv6 space as bigint. */
function parseBound(text: string, ipv4mapped: boolean): number | bigint | null {
  const t = text.trim();
  if (/^[0-9]+$/.test(t)) {
    const n = BigInt(t);
    return ipv4mapped || n > 0xffffffffn ? n : Number(n);
  }
  const v4 = ipv4ToInt(t);
  if (v4 >= 0) return ipv4mapped ? BigInt(v4) + IPV4_MAPPED_BASE : v4;
  const v6 = ipv6ToBigInt(t);
  return v6 >= 0n ? v6 : null;
}

/** Index of the last of the sorted `starts` that is ≤ `x`, or -1 (binary search). */
function lastAtOrBelow<T extends number | bigint>(starts: ArrayLike<T>, x: T): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

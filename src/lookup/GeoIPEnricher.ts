import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import type { AsnResponse, CityResponse, Reader } from "maxmind";
import { Processor, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type MetricSample, type Pipeline, dependency } from "../core/index.js";
import { compilePath, getField, setField, type FieldPath } from "./fieldpath.js";
import { ipv4ToInt, ipv6ToBigInt, isPrivateIPv4, isPrivateIPv6 } from "./ipaddress.js";

const maxmind = dependency<typeof import("maxmind")>("maxmind");

const CONFIG = {
  db_path: { type: "string", default: "", doc: "GeoIP2/GeoLite2 City or Country .mmdb" },
  asn_db_path: { type: "string", default: "", doc: "GeoLite2 ASN .mmdb (optional)" },
  ip_field: { type: "string", default: "ip", doc: "Field with the address (dots for nested fields)" },
  target_field: { type: "string", default: "geo", doc: "Object the results go into; empty: into the event itself" },
  country_field: { type: "string", default: "country_code", doc: "ISO country code; empty: skip" },
  country_name_field: { type: "string", default: "", doc: "Country name; empty: skip" },
  city_field: { type: "string", default: "city_name", doc: "City name; empty: skip" },
  location_field: { type: "string", default: "location", doc: "{lat, lon}; empty: skip" },
  asn_field: { type: "string", default: "asn", doc: "Autonomous system number; empty: skip" },
  as_org_field: { type: "string", default: "as_org", doc: "Autonomous system organisation; empty: skip" },
  language: { type: "string", default: "en", doc: "Language of the names" },
} satisfies ConfigSpec;

/**
 * Adds country, city, location and ASN of an IP address field from MaxMind `.mmdb` databases
 * (GeoIP2/GeoLite2 City or Country, and ASN). IPv4 and IPv6. Private IPv4 addresses are not
 * looked up; addresses the database does not know (private IPv6 included) are counted as
 * `unknown` or `private` and the event passes unchanged. A malformed address is a counted
 * pipeline warning, never an error.
 */
export class GeoIPEnricher extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly cityReader: Reader<CityResponse> | null;
  readonly asnReader: Reader<AsnResponse> | null;
  /** Counts, exported as the `bspump.geoip` metric. */
  readonly counts = { enriched: 0, unknown: 0, private: 0, malformed: 0, missing: 0 };

  private readonly ipPath: FieldPath;
  private readonly target: FieldPath | null;
  private readonly country: string;
  private readonly countryName: string;
  private readonly city: string;
  private readonly location: string;
  private readonly asn: string;
  private readonly asOrg: string;
  private readonly language: string;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const open = <T extends CityResponse | AsnResponse>(key: "db_path" | "asn_db_path"): Reader<T> | null => {
      const path = this.config.getString(key);
      return path === "" ? null : new (maxmind().Reader)<T>(readFileSync(path));
    };
    this.cityReader = open<CityResponse>("db_path");
    this.asnReader = open<AsnResponse>("asn_db_path");
    if (!this.cityReader && !this.asnReader) throw new Error(`[pipeline:${pipeline.id}:${this.id}] set db_path and/or asn_db_path`);
    this.ipPath = compilePath(this.config.getString("ip_field"));
    const target = this.config.getString("target_field");
    this.target = target === "" ? null : compilePath(target);
    this.country = this.config.getString("country_field");
    this.countryName = this.config.getString("country_name_field");
    this.city = this.config.getString("city_field");
    this.location = this.config.getString("location_field");
    this.asn = this.config.getString("asn_field");
    this.asOrg = this.config.getString("as_org_field");
    this.language = this.config.getString("language");
    app.metrics.addCollector((): MetricSample[] => [
      { name: "bspump.geoip", type: "counter", tags: { pipeline: pipeline.id, processor: this.id }, fields: this.counts },
    ]);
  }

  process(_context: EventContext, event: unknown): unknown {
    const address = getField(event, this.ipPath);
    if (address === undefined || address === null || address === "") {
      this.counts.missing++;
      return event;
    }
    if (typeof address !== "string") return this.malformed(event, address);
    let v4 = -1;
    if (address.indexOf(":") < 0) {
      v4 = ipv4ToInt(address);
      if (v4 < 0) return this.malformed(event, address);
      if (isPrivateIPv4(v4)) {
        this.counts.private++;
        return event;
      }
    } else if (!isIPv6(address)) {
      return this.malformed(event, address);
    }
    const city = this.cityReader === null ? null : this.cityReader.get(address);
    const asn = this.asnReader === null ? null : this.asnReader.get(address);
    if (city === null && asn === null) {
      if (v4 < 0 && isPrivateIPv6(ipv6ToBigInt(address))) this.counts.private++;
      else this.counts.unknown++;
      return event;
    }
    const out: Record<string, unknown> = this.target === null ? (event as Record<string, unknown>) : {};
    if (city !== null) {
      const country = city.country ?? city.registered_country;
      if (this.country !== "" && country?.iso_code !== undefined) out[this.country] = country.iso_code;
      if (this.countryName !== "" && country?.names !== undefined) out[this.countryName] = (country.names as unknown as Record<string, string>)[this.language];
      if (this.city !== "" && city.city?.names !== undefined) out[this.city] = (city.city.names as unknown as Record<string, string>)[this.language];
      const loc = city.location;
      if (this.location !== "" && loc !== undefined && loc.latitude !== undefined) out[this.location] = { lat: loc.latitude, lon: loc.longitude };
    }
    if (asn !== null) {
      if (this.asn !== "" && asn.autonomous_system_number !== undefined) out[this.asn] = asn.autonomous_system_number;
      if (this.asOrg !== "" && asn.autonomous_system_organization !== undefined) out[this.asOrg] = asn.autonomous_system_organization;
    }
    if (this.target !== null) setField(event, this.target, out);
    this.counts.enriched++;
    return event;
  }

  private malformed(event: unknown, address: unknown): unknown {
    this.counts.malformed++;
    // The first few are logged (a logged warning counts as a pipeline warning); the rest only counted.
    if (this.counts.malformed <= 10) this.pipeline.log.warn("Malformed IP address, event not enriched", { component: this.id, address: String(address).slice(0, 100) });
    else this.pipeline.countWarning();
    return event;
  }
}

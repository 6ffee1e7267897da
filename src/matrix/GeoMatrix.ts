import { ConfigError, type Application, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { Matrix, type MatrixOptions } from "./Matrix.js";

export interface BBox {
  max_lat: number;
  min_lat: number;
  min_lon: number;
  max_lon: number;
}

export interface GeoMatrixOptions extends MatrixOptions {
  bbox?: BBox;
}

const R_EARTH_KM = 6371;

export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dlat = (lat2 - lat1) * rad;
  const dlon = (lon2 - lon1) * rad;
  const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * R_EARTH_KM * Math.asin(Math.sqrt(a));
}

const CONFIG = {
  max_lat: { type: "float", default: 71.26, doc: "Northern edge of the bounding box (Europe by default)" },
  min_lat: { type: "float", default: 23.33, doc: "Southern edge" },
  min_lon: { type: "float", default: -10.1, doc: "Western edge" },
  max_lon: { type: "float", default: 40.6, doc: "Eastern edge" },
  resolution: { type: "float", default: 5, doc: "Cell size in km" },
} satisfies ConfigSpec;

/**
 * A map grid over a bounding box (BSPump's GeoMatrix): `MapHeight` rows × `MapWidth` cells of
 * `resolution` km, with an equirectangular projection. Row 0 is the northern edge.
 */
export class GeoMatrix extends Matrix {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Matrix["config"];

  readonly bbox: BBox;
  readonly resolution: number;
  readonly mapWidth: number;
  readonly mapHeight: number;
  readonly sizeWidth: number;
  readonly sizeHeight: number;

  constructor(app: Application, options: GeoMatrixOptions = {}) {
    const probe = GeoMatrix.geometry(app, options);
    super(app, options, probe.mapWidth);
    this.bbox = probe.bbox;
    this.resolution = probe.resolution;
    this.mapWidth = probe.mapWidth;
    this.mapHeight = probe.mapHeight;
    this.sizeWidth = this.mapWidth * this.resolution;
    this.sizeHeight = this.mapHeight * this.resolution;
    this.grow(this.mapHeight);
    for (let r = 0; r < this.mapHeight; r++) this.addRow();
    if (new.target === GeoMatrix) this.restore();
  }

  private static geometry(app: Application, options: GeoMatrixOptions): { bbox: BBox; resolution: number; mapWidth: number; mapHeight: number } {
    const section = `matrix:${options.id ?? "GeoMatrix"}`;
    const num = (key: keyof BBox | "resolution", fallback: number): number => {
      const v = options.config?.[key] ?? app.config.get(section, key) ?? fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ConfigError(`[${section}] ${key} must be a number, got ${String(v)}`);
      return n;
    };
    // Unlike BSPump (which read the class defaults), the configured bbox is used.
    const bbox = options.bbox ?? { max_lat: num("max_lat", 71.26), min_lat: num("min_lat", 23.33), min_lon: num("min_lon", -10.1), max_lon: num("max_lon", 40.6) };
    const resolution = num("resolution", 5);
    if (!(resolution > 0)) throw new ConfigError(`[${section}] resolution must be > 0`);
    if (!(bbox.max_lat > bbox.min_lat && bbox.max_lon > bbox.min_lon)) throw new ConfigError(`[${section}] bbox is empty`);
    const sizeWidth = haversine(bbox.min_lat, bbox.min_lon, bbox.min_lat, bbox.max_lon);
    const sizeHeight = haversine(bbox.min_lat, bbox.min_lon, bbox.max_lat, bbox.min_lon);
    return { bbox, resolution, mapWidth: Math.ceil(sizeWidth / resolution), mapHeight: Math.ceil(sizeHeight / resolution) };
  }

  /** Zeroes the map and keeps its grid (BSPump's GeoMatrix.build_shape ignores `rows`): every row stays in use. */
  override zeros(): void {
    super.zeros(this.mapHeight);
    for (let r = 0; r < this.mapHeight; r++) this.addRow();
  }

  /** Strictly inside the bounding box. */
  isInBoundaries(lat: number, lon: number): boolean {
    const b = this.bbox;
    return lat > b.min_lat && lat < b.max_lat && lon > b.min_lon && lon < b.max_lon;
  }

  /** Row of a latitude (equirectangular; assumes it is inside the box). */
  projectRow(lat: number): number {
    const b = this.bbox;
    return Math.trunc(((b.max_lat - lat) * (this.mapHeight - 1)) / (b.max_lat - b.min_lat));
  }

  projectCol(lon: number): number {
    const b = this.bbox;
    return Math.trunc(((lon - b.min_lon) * (this.mapWidth - 1)) / (b.max_lon - b.min_lon));
  }

  projectEquirectangular(lat: number, lon: number): [number, number] {
    return [this.projectRow(lat), this.projectCol(lon)];
  }

  /** The centre of a cell back to `[lat, lon]`. */
  inverseEquirectangular(row: number, col: number): [number, number] {
    const b = this.bbox;
    const lat = b.max_lat - ((row + 0.5) * (b.max_lat - b.min_lat)) / (this.mapHeight - 1);
    const lon = b.min_lon + ((col + 0.5) * (b.max_lon - b.min_lon)) / (this.mapWidth - 1);
    return [lat, lon];
  }
}

import type { Application, ConfigSpec, TypedConfig, EventContext, Pipeline } from "../core/index.js";
import { GeoMatrix } from "../matrix/GeoMatrix.js";
import { Analyzer, toNumber, type AnalyzerOptions } from "./Analyzer.js";

const CONFIG = {
  lat_attr: { type: "string", default: "lat", doc: "Event field with the latitude" },
  lon_attr: { type: "string", default: "lon", doc: "Event field with the longitude" },
  max_lat: { type: "float", default: 71.26, doc: "Bounding box: north" },
  min_lat: { type: "float", default: 23.33, doc: "Bounding box: south" },
  min_lon: { type: "float", default: -10.1, doc: "Bounding box: west" },
  max_lon: { type: "float", default: 40.6, doc: "Bounding box: east" },
  resolution: { type: "float", default: 5, doc: "Cell size in km" },
  top: { type: "int", default: 10, doc: "Cells reported by analyze()" },
  clear_on_analyze: { type: "bool", default: false, doc: "Zero the map after each analyze()" },
} satisfies ConfigSpec;

/**
 * BSPump's GeoAnalyzer: counts events per cell of a GeoMatrix (`resolution` km over a bounding box,
 * Europe by default). Events outside the box are counted (`outside`). `analyze()` emits the `top`
 * busiest cells with their centres, and clears the map when `clear_on_analyze` is set.
 */
export class GeoAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  readonly matrix: GeoMatrix;
  get GeoMatrix(): GeoMatrix {
    return this.matrix;
  }
  outside = 0;
  private readonly latAttr: string;
  private readonly lonAttr: string;
  private readonly cols: Float64Array[];

  constructor(app: Application, pipeline: Pipeline, options: AnalyzerOptions = {}) {
    super(app, pipeline, options);
    this.latAttr = this.config.getString("lat_attr");
    this.lonAttr = this.config.getString("lon_attr");
    // The configured bbox is used (BSPump read the class defaults).
    this.matrix = new GeoMatrix(app, {
      id: `${this.id}Matrix`,
      bbox: { max_lat: this.config.getFloat("max_lat"), min_lat: this.config.getFloat("min_lat"), min_lon: this.config.getFloat("min_lon"), max_lon: this.config.getFloat("max_lon") },
      config: { resolution: this.config.getFloat("resolution") },
    });
    app.pumpServiceOrNull()?.addMatrix(this.matrix);
    this.cols = this.matrix.numeric();
  }

  override evaluate(_context: EventContext, event: unknown): void {
    if (typeof event !== "object" || event === null) return;
    const e = event as Record<string, unknown>;
    const lat = toNumber(e[this.latAttr]);
    const lon = toNumber(e[this.lonAttr]);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return this.badInput("bad_value", `'${this.latAttr}'/'${this.lonAttr}' are not coordinates`);
    const m = this.matrix;
    if (!m.isInBoundaries(lat, lon)) {
      this.outside++;
      return;
    }
    this.cols[m.projectCol(lon)]![m.projectRow(lat)]! += 1;
  }

  /** The `n` cells with the most events. */
  hotspots(n = this.config.getInt("top")): { row: number; col: number; lat: number; lon: number; count: number }[] {
    const m = this.matrix;
    const out: { row: number; col: number; lat: number; lon: number; count: number }[] = [];
    for (let c = 0; c < m.mapWidth; c++) {
      const col = this.cols[c]!;
      for (let r = 0; r < m.mapHeight; r++) {
        if (col[r]! > 0) {
          const [lat, lon] = m.inverseEquirectangular(r, c);
          out.push({ row: r, col: c, lat, lon, count: col[r]! });
        }
      }
    }
    out.sort((a, b) => b.count - a.count || a.row - b.row || a.col - b.col);
    return out.slice(0, n);
  }

  override analyze(): void {
    this.emit({ "@timestamp": this.app.time(), type: "geo", analyzer: this.id, outside: this.outside, hotspots: this.hotspots() });
    if (this.config.getBool("clear_on_analyze")) for (const col of this.cols) col.fill(0);
  }
}

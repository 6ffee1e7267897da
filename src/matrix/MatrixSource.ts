import { ConfigError, TriggerSource, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type Pipeline } from "../core/index.js";
import { Matrix } from "./Matrix.js";
import { openRows, rowRecord } from "./matrixRows.js";

export interface MatrixSourceOptions extends ComponentOptions {
  /** BSPump's `matrix_id` as a YAML arg: the id of a registered matrix (or the matrix). */
  matrixId?: string | Matrix;
}

const CONFIG = {
  emit: { type: "string", default: "matrix", choices: ["matrix", "rows"], doc: "matrix: the matrix object once per trigger (BSPump); rows: one event per open row" },
  id_key: { type: "string", default: "id", doc: "emit rows: key of the row name (the row index for an unnamed Matrix)" },
} satisfies ConfigSpec;

/**
 * On each trigger, hands a matrix to the pipeline (BSPump's MatrixSource). `emit = matrix`
 * (BSPump): the matrix object itself, one event per cycle, for an exporter such as
 * SessionMatrixExportCSVGenerator. `emit = rows`: one event per open row, lowest index first —
 * `{id: row name, field: value, …}` (a TimeWindowMatrix's fields as arrays, oldest column first),
 * a snapshot taken when the row is handed over; the source waits when the pipeline is not ready.
 * The context carries `matrix` (the id) and, per row, `row` (its index).
 */
export class MatrixSource extends TriggerSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly matrixRef: string | Matrix;
  readonly emit: "matrix" | "rows";
  private readonly idKey: string;

  /** `(app, pipeline, matrix, options)`, or `(app, pipeline, {matrixId, …})` as the YAML builder calls it. */
  constructor(app: Application, pipeline: Pipeline, matrix: string | Matrix | MatrixSourceOptions, options: MatrixSourceOptions = {}) {
    const given = typeof matrix === "object" && !(matrix instanceof Matrix);
    if (given) options = matrix;
    super(app, pipeline, options);
    const ref = given ? options.matrixId : (matrix as string | Matrix);
    if (ref === undefined || ref === "") throw new ConfigError(`${options.configOrigin ?? `[${this.config.section}]`}: MatrixSource needs a matrix (its id; in YAML args.matrix_id)`);
    this.matrixRef = ref;
    this.emit = this.config.getString("emit") as "matrix" | "rows";
    this.idKey = this.config.getString("id_key");
  }

  /** The matrix, located in the PumpService when given by id. */
  get matrix(): Matrix {
    if (typeof this.matrixRef !== "string") return this.matrixRef;
    const service = this.app.pumpServiceOrNull();
    if (!service) throw new Error(`MatrixSource '${this.id}': no PumpService to locate matrix '${this.matrixRef}'`);
    return service.locateMatrix<Matrix>(this.matrixRef);
  }

  async cycle(): Promise<void> {
    const matrix = this.matrix;
    if (this.emit === "matrix") {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(matrix, { matrix: matrix.id });
      return;
    }
    for (const row of openRows(matrix)) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      // Closed while this cycle waited for readiness: skip, its values are gone.
      if (!matrix.isOpen(row)) continue;
      this.pipeline.process(rowRecord(matrix, row, this.idKey), { matrix: matrix.id, row });
    }
  }
}

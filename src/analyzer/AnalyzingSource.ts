import { TriggerSource, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import type { Matrix } from "../matrix/Matrix.js";

/**
 * BSPump's AnalyzingSource: on every trigger, runs `matrix.analyze()` and hands the returned
 * "complex event" (when not null) to the pipeline.
 */
export class AnalyzingSource extends TriggerSource {
  private readonly matrixRef: string | Matrix;

  constructor(app: Application, pipeline: Pipeline, matrix: string | Matrix, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.matrixRef = matrix;
  }

  get matrix(): Matrix {
    if (typeof this.matrixRef !== "string") return this.matrixRef;
    const service = this.app.pumpServiceOrNull();
    if (!service) throw new Error(`AnalyzingSource '${this.id}': no PumpService to locate matrix '${this.matrixRef}'`);
    return service.locateMatrix<Matrix>(this.matrixRef);
  }

  async cycle(): Promise<void> {
    const event = await this.matrix.analyze();
    if (event === null || event === undefined) return;
    const go = this.whenReady();
    if (go !== true && !(await go)) return;
    this.pipeline.process(event);
  }
}

import { ProcessingError } from "./errors.js";
import type { Stage } from "./pipelinestats.js";
import { Generator, type ProcessorBase, Sink } from "./processor.js";

/**
 * A pipeline's processors, per depth (a Generator closes a depth and opens the next), with the
 * Stage per processor that the hot path reads, kept in step. The arrays are changed in place: the
 * pipeline holds them directly, so the hot path reads them without going through this object.
 */
export class ProcessorChain {
  readonly processors: ProcessorBase[][] = [[]];
  readonly stages: Stage[][] = [[]];

  constructor(
    private readonly pipelineId: string,
    private readonly stageOf: (processor: ProcessorBase) => Stage,
  ) {}

  append(processor: ProcessorBase): void {
    const depth = this.processors.length - 1;
    const last = this.processors[depth]!.at(-1);
    if (last instanceof Sink) {
      throw new ProcessingError(`Cannot add ${processor.id} after ${last.id} in pipeline '${this.pipelineId}': a sink is the last component`);
    }
    this.processors[depth]!.push(processor);
    this.stages[depth]!.push(this.stageOf(processor));
    if (processor instanceof Generator) {
      processor.depth = depth + 1;
      this.processors.push([]);
      this.stages.push([]);
    }
  }

  /** Inserts before (offset 0) or after (1) the processor with that id; false when there is none. */
  insertAt(id: string, processor: ProcessorBase, offset: number): boolean {
    if (processor instanceof Generator) throw new ProcessingError("Insert a generator with build()/appendProcessor(): it opens a new depth");
    for (let d = 0; d < this.processors.length; d++) {
      const at = this.processors[d]!.findIndex((p) => p.id === id);
      if (at >= 0) {
        this.processors[d]!.splice(at + offset, 0, processor);
        this.stages[d]!.splice(at + offset, 0, this.stageOf(processor));
        return true;
      }
    }
    return false;
  }

  remove(id: string): void {
    for (let d = 0; d < this.processors.length; d++) {
      const at = this.processors[d]!.findIndex((p) => p.id === id);
      if (at >= 0) {
        if (this.processors[d]![at] instanceof Generator) throw new ProcessingError("A generator cannot be removed: it separates depths");
        this.processors[d]!.splice(at, 1);
        this.stages[d]!.splice(at, 1);
        return;
      }
    }
    throw new ProcessingError(`Processor '${id}' not found in pipeline '${this.pipelineId}'`);
  }

  /** The sink at the end of the last depth, if any. */
  get sink(): Sink | undefined {
    const last = this.processors.at(-1)!.at(-1);
    return last instanceof Sink ? last : undefined;
  }
}

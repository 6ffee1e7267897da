import { InternalSource } from "./InternalSource.js";
import { TeeProcessor } from "./TeeProcessor.js";

/** An InternalSource that binds itself, when it starts, to the TeeProcessors at the given addresses. */
export class TeeSource extends InternalSource {
  private readonly bindTo = new Set<string>();

  bind(teeProcessorAddress: string): this {
    this.bindTo.add(teeProcessorAddress);
    return this;
  }

  override async main(): Promise<void> {
    const service = this.app.pumpServiceOrNull();
    const bound: TeeProcessor[] = [];
    for (const address of this.bindTo) {
      const tee = service?.locate(address);
      if (!(tee instanceof TeeProcessor)) {
        this.log.warn(`TeeSource '${this.id}': '${address}' is not a TeeProcessor; not bound`);
        continue;
      }
      tee.bind(this.locateAddress());
      bound.push(tee);
    }
    try {
      await super.main();
    } finally {
      for (const tee of bound) tee.unbind(this.locateAddress());
    }
  }
}

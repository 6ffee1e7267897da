import type { Application } from "./application.js";
import { ConfigObject, type ComponentDefinition, type ComponentOptions } from "./component.js";
import type { Logger } from "./logging.js";

/**
 * A long-lived client to an outside system, shared by the sources and sinks that locate it by id.
 * Configured from `[connection:<id>]`. Register it with the PumpService before building pipelines
 * that use it.
 */
export abstract class Connection extends ConfigObject {
  readonly log: Logger;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, (cid) => `connection:${cid}`, { ...options, id: id ?? new.target.name });
    this.log = app.logs.logger(`bspump.connection.${this.id}`, { connection: this.id });
  }

  /** Called by the PumpService before pipelines start. */
  async initialize(): Promise<void> {}

  /** Called by the PumpService after every pipeline stopped: flush and close. */
  async finalize(): Promise<void> {}

  describe(): Record<string, unknown> {
    return { Id: this.id, Class: this.constructor.name, Config: this.config.toJSON() };
  }

  static construct(app: Application, definition: ComponentDefinition): Connection {
    const Ctor = this as unknown as new (app: Application, id: string | undefined, options: ComponentOptions & Record<string, unknown>) => Connection;
    return new Ctor(app, definition.id, { ...definition.args, config: definition.config, configOrigin: definition.origin });
  }
}

import type { Application } from "./application.js";
import { ConfigObject, definitionOptions, type ComponentDefinition, type ComponentOptions } from "./component.js";
import { ConfigError, toError } from "./errors.js";
import type { Logger } from "./logging.js";

/** A Connection subclass, for locating connections of one kind. */
export type ConnectionClass<C extends Connection> = abstract new (...args: never[]) => C;

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
    return new Ctor(app, definition.id, definitionOptions(definition, false));
  }
}

/**
 * The connection a component uses: the object itself, or the one registered under that id, which
 * must be of class `expected`.
 */
export function locateConnection<C extends Connection>(app: Application, connection: string | C, expected: ConnectionClass<C>): C {
  if (typeof connection !== "string") return connection;
  const service = app.pumpServiceOrNull();
  if (!service) throw new ConfigError(`${expected.name} '${connection}' can only be located in a BSPumpApplication (it has the PumpService)`);
  return service.locateConnection(connection, expected);
}

/**
 * The `args.connection` of a definition (YAML builder): a connection id or a `expected` object;
 * anything else is a ConfigError naming where the definition came from.
 */
export function connectionArgument<C extends Connection>(definition: ComponentDefinition, who: string, expected: ConnectionClass<C>): string | C {
  const connection = definition.args?.connection;
  if (typeof connection === "string" || connection instanceof expected) return connection as string | C;
  throw new ConfigError(`${definition.origin ?? who}: args.connection (the id of a ${expected.name}) is required`);
}

/**
 * What `construct` passes before the options to a class built from a definition: for a class that
 * declares a `ConnectionClass`, the connection of `args.connection` (an id or a connection
 * object), located now and checked to be of that class, so that a wrong one is a ConfigError
 * naming the definition; nothing for other classes. Without a PumpService the id is passed on and
 * the constructor reports it.
 */
export function definitionConnection(app: Application, who: string, expected: ConnectionClass<Connection> | null, definition: ComponentDefinition): [] | [string | Connection] {
  if (expected === null) return [];
  const where = definition.origin ?? who;
  const given = definition.args?.connection;
  if (given instanceof Connection && !(given instanceof expected)) throw new ConfigError(`${where}: args.connection is a ${className(given)}; ${who} needs a ${expected.name}`);
  const connection = connectionArgument(definition, who, expected);
  const service = app.pumpServiceOrNull();
  if (typeof connection !== "string" || !service) return [connection];
  let found: Connection;
  try {
    found = service.locateConnection(connection);
  } catch (e) {
    throw new ConfigError(`${where}: args.connection: ${toError(e).message}`);
  }
  if (!(found instanceof expected)) throw new ConfigError(`${where}: args.connection '${connection}' is a ${className(found)}; ${who} needs a ${expected.name}`);
  return [found];
}

// A function, not `x.constructor.name` inline: TypeScript narrows `x` to never after the instanceof checks.
function className(x: object): string {
  return x.constructor.name;
}

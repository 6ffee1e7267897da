/** Raised for a configuration problem. The message names the file, section and key where known. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string) {
    super(message);
    // A config error is the user's to fix, not ours to debug: the stack would only bury the message.
    this.stack = `${this.name}: ${message}`;
  }
}

/** Several configuration problems found in one pass, reported together: one `file:line: …` each. */
export class ConfigErrors extends ConfigError {
  override name = "ConfigError";
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join("\n"));
  }
}

/** The pipeline could not process an event (BSPump's ProcessingError). */
export class ProcessingError extends Error {
  override name = "ProcessingError";
}

/** Turns anything thrown into an Error, so error paths can rely on `.message`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === "string" ? thrown : JSON.stringify(thrown));
}

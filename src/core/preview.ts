/**
 * Event previews for people (the web API and dashboard show the event that put a pipeline in
 * error): bounded in size, with secrets masked — values of fields whose names say they are
 * secret, and every value of a config key declared `secret` (a password that ended up in an event
 * is still masked).
 */

const SECRET_FIELD = /pass(word)?|secret|token|authorization|api[_-]?key|credential/i;
/** Values of `secret` config keys seen by resolveConfig; shorter ones would mask ordinary text. */
const secretValues = new Set<string>();
const MIN_SECRET_LENGTH = 4;

/** Called by resolveConfig for every non-empty value of a `secret` key. */
export function rememberSecret(value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) secretValues.add(value);
}

function maskKnownSecrets(text: string): string {
  let out = text;
  for (const secret of secretValues) if (out.includes(secret)) out = out.split(secret).join("***");
  return out;
}

/** At most `limit` characters of the event as text: JSON for values, text for strings and bytes. */
export function eventPreview(event: unknown, limit = 512): string {
  let text: string;
  if (typeof event === "string") text = event;
  else if (event instanceof Uint8Array) text = Buffer.from(event.buffer, event.byteOffset, Math.min(event.byteLength, limit * 4)).toString("utf8");
  else {
    try {
      text = JSON.stringify(event, (key, value: unknown) => (key !== "" && SECRET_FIELD.test(key) && value !== null && typeof value !== "object" ? "***" : value)) ?? String(event);
    } catch {
      text = String(event);
    }
  }
  const masked = maskKnownSecrets(text.length > limit * 4 ? text.slice(0, limit * 4) : text);
  return masked.length > limit ? masked.slice(0, limit) + "…" : masked;
}

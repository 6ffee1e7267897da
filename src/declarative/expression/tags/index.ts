import type { TagSpec } from "../compiler.js";
import { accessTags } from "./access.js";
import { controlTags } from "./control.js";
import { datetimeTags } from "./datetime.js";
import { dictTags } from "./dict.js";
import { logicTags } from "./logic.js";
import { miscTags } from "./misc.js";
import { regexTags } from "./regex.js";
import { stringTags } from "./string.js";
import { valueTags } from "./values.js";

/** Every built-in tag, by name without the `!` (typed scalars as `!ui8`). */
export function builtinTags(): Map<string, TagSpec> {
  return new Map(Object.entries({ ...valueTags, ...logicTags, ...controlTags, ...dictTags, ...stringTags, ...regexTags, ...datetimeTags, ...miscTags, ...accessTags }));
}

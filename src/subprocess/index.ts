export { SubProcessSource } from "./SubProcessSource.js";

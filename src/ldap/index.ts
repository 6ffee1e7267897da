export { LDAPConnection } from "./LDAPConnection.js";
export { LDAPSource, type LDAPEntry } from "./LDAPSource.js";

/**
 * An ldapts error in words: a server's result ("InvalidCredentials (LDAP result 49)": ldapts's own
 * message is just " Code: 0x31"), or the network's message.
 */
export function ldapError(e: Error): string {
  const code = (e as Error & { code?: unknown }).code;
  if (typeof code === "number" && e.name.endsWith("Error")) return `${e.name.slice(0, -5)} (LDAP result ${code})`;
  return e.message.trim() || e.name;
}

/**
 * The chain check of a stored set of events (what `bsintegrity` does with an index, read in any
 * order): every event must hash to its own id (checked by the caller, integrityHash.ts), and the
 * links `prev → id` must form chains whose every predecessor is present. BSPump's checker removed
 * the chain link by link and reported the leftovers; here each finding names the documents.
 */

/** What was found wrong, one entry per finding. */
export type ChainFinding =
  | { kind: "broken_hash"; id: string; computed: string }
  | { kind: "missing"; id: string; prev: string }
  | { kind: "fork"; prev: string; ids: string[] }
  | { kind: "duplicate"; id: string }
  | { kind: "unreachable"; ids: string[] };

export interface ChainReport {
  documents: number;
  /** Chains found: documents without a predecessor (one per start of the enricher) and documents after a gap. */
  chains: number;
  findings: ChainFinding[];
}

export class IntegrityChainCheck {
  private readonly ids = new Set<string>();
  /** prev hash → the ids that follow it. */
  private readonly next = new Map<string, string[]>();
  private readonly starts: string[] = [];
  private readonly findings: ChainFinding[] = [];
  private documents = 0;

  /** One stored event: its id (hash), its predecessor's hash (null: a chain starts here), and its recomputed hash. */
  add(id: string, prev: string | null, computed: string): void {
    this.documents++;
    if (computed !== id) this.findings.push({ kind: "broken_hash", id, computed });
    if (this.ids.has(id)) {
      this.findings.push({ kind: "duplicate", id });
      return;
    }
    this.ids.add(id);
    if (prev === null) {
      this.starts.push(id);
      return;
    }
    const followers = this.next.get(prev);
    if (followers === undefined) this.next.set(prev, [id]);
    else followers.push(id);
  }

  /** The findings once every document was added. */
  finish(): ChainReport {
    const findings = [...this.findings];
    const starts = [...this.starts];
    for (const [prev, ids] of this.next) {
      if (ids.length > 1) findings.push({ kind: "fork", prev, ids });
      if (!this.ids.has(prev)) {
        for (const id of ids) findings.push({ kind: "missing", id, prev });
        starts.push(...ids);
      }
    }
    // Walk the chains from their starts; what is not reached is in a loop of links.
    const seen = new Set<string>();
    const stack = [...starts];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const n of this.next.get(id) ?? []) stack.push(n);
    }
    if (seen.size < this.ids.size) findings.push({ kind: "unreachable", ids: [...this.ids].filter((id) => !seen.has(id)) });
    return { documents: this.documents, chains: starts.length, findings };
  }
}

/** One line per finding, for people. */
export function describeFinding(f: ChainFinding, prevKey: string): string {
  switch (f.kind) {
    case "broken_hash":
      return `broken hash: document ${f.id} hashes to ${f.computed} (changed after it was hashed)`;
    case "missing":
      return `chain break: document ${f.id} follows ${f.prev} (${prevKey}), which is not in the index (deleted)`;
    case "fork":
      return `chain fork: ${f.ids.join(", ")} all follow ${f.prev}`;
    case "duplicate":
      return `duplicate: more than one document has the hash ${f.id}`;
    case "unreachable":
      return `chain loop: ${f.ids.length} document(s) not reachable from any chain start: ${f.ids.slice(0, 10).join(", ")}${f.ids.length > 10 ? ", …" : ""}`;
  }
}

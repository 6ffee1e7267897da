import type { Application } from "../core/index.js";
import { Matrix, type MatrixOptions } from "./Matrix.js";

/**
 * A Matrix whose rows have names (BSPump's NamedMatrix): `addRow(name)`, `getRowIndex(name)`,
 * `closeRow(name)`. Publishes "Matrix changed!" on its PubSub when the index changes.
 */
export class NamedMatrix extends Matrix {
  protected readonly n2i = new Map<string, number>();
  protected i2n: (string | undefined)[] = [];

  constructor(app: Application, options: MatrixOptions = {}, cells = 1) {
    super(app, options, cells);
    if (new.target === NamedMatrix) this.restore();
  }

  override addRow(name?: string): number {
    if (name === undefined || name === null) throw new Error(`NamedMatrix '${this.id}': addRow needs a name`);
    const known = this.n2i.get(name);
    if (known !== undefined) return known;
    const row = super.addRow();
    this.n2i.set(name, row);
    this.i2n[row] = name;
    if (this.pubsub.hasSubscribers("Matrix changed!")) this.pubsub.publish("Matrix changed!");
    return row;
  }

  getRowIndex(name: string): number | undefined {
    return this.n2i.get(name);
  }

  getRowName(row: number): string | undefined {
    return this.i2n[row];
  }

  /** The name → row index map (read-only use; hot paths call `.get` on it). */
  get index(): ReadonlyMap<string, number> {
    return this.n2i;
  }

  closeRow(name: string, clear = true): boolean {
    const row = this.n2i.get(name);
    if (row === undefined || !this.isOpen(row)) return false;
    this.n2i.delete(name);
    this.i2n[row] = undefined;
    if (this.pubsub.hasSubscribers("Matrix changed!")) this.pubsub.publish("Matrix changed!");
    this.closeRowIndex(row, clear);
    this.maybeFlush();
    return true;
  }

  closeRows(names: Iterable<string>, clear = true): void {
    for (const name of names) this.closeRow(name, clear);
  }

  protected override onFlush(saved: Map<number, number>, capacity: number): void {
    const next: (string | undefined)[] = new Array<string | undefined>(capacity);
    this.n2i.clear();
    for (const [from, to] of saved) {
      const name = this.i2n[from];
      next[to] = name;
      if (name !== undefined) this.n2i.set(name, to);
    }
    this.i2n = next;
    this.pubsub.publish("Matrix changed!");
  }

  protected override persistExtra(): Record<string, unknown> {
    return { ...super.persistExtra(), names: this.i2n.slice(0, this.capacity).map((n) => n ?? null) };
  }

  protected override restoreExtra(extra: Record<string, unknown>): void {
    super.restoreExtra(extra);
    const names = (extra.names as (string | null)[] | undefined) ?? [];
    this.n2i.clear();
    this.i2n = new Array<string | undefined>(this.capacity);
    names.forEach((n, i) => {
      if (n !== null && this.isOpen(i)) {
        this.n2i.set(n, i);
        this.i2n[i] = n;
      }
    });
  }

  override serialize(): Record<string, unknown> {
    const n2i: Record<string, number> = {};
    const i2n: Record<number, string> = {};
    for (const [n, i] of this.n2i) {
      n2i[n] = i;
      i2n[i] = n;
    }
    return { ...super.serialize(), Index: { N2IMap: n2i, I2NMap: i2n } };
  }
}

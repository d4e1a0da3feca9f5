/**
 * A view's last good answer, kept while its source fails (the Endpoints view while modelops.yaml
 * is half typed): the items stay, marked stale with the reason, and the failure is logged once
 * per run of failures, not on every keystroke. No `vscode`, so it is unit-testable.
 */
export interface LastGoodAnswer<T> {
  items: T[] | undefined;
  /** Why the items are not fresh (the source's error); undefined when they are. */
  stale: string | undefined;
  /** A line worth logging now (the first failure after a success, or the recovery). */
  log: string | undefined;
}

export class LastGood<T> {
  private items: T[] | undefined;
  private failing = false;

  ok(items: T[]): LastGoodAnswer<T> {
    this.items = items;
    const log = this.failing ? 'the source loads again' : undefined;
    this.failing = false;
    return { items, stale: undefined, log };
  }

  failed(error: string): LastGoodAnswer<T> {
    const log = this.failing ? undefined : error;
    this.failing = true;
    return { items: this.items, stale: error, log };
  }
}

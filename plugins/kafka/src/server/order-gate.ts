/**
 * Keeps a connection's ordered side effects (appends) in request order when hooks make
 * a request wait before reaching them: an authenticate or authorize hook that answers
 * asynchronously, or a produce interceptor that does. Without such a wait a handler
 * appends before its first await (see connection.ts) and no gate is needed.
 *
 * Each request opens a slot. Its work starts once every earlier slot is closed; the slot
 * closes when the handler has returned and every promise it `hold`s (an append issued
 * after an asynchronous interceptor) has settled.
 */

/** What a handler may hold its successors on. */
export interface OrderHold {
  /** Later requests on this connection do not start before `until` settles. */
  hold(until: Promise<unknown>): void;
}

/** For requests handled on the fast path, where nothing can defer an append. */
export const UNGATED: OrderHold = {
  hold() {
    throw new Error('assertion failed: a request on the ungated path deferred an ordered side effect');
  },
};

const ignore = (): void => undefined;

export class OrderSlot implements OrderHold {
  private readonly holds: Array<Promise<unknown>> = [];
  private release!: (done: Promise<unknown>) => void;
  /** Settles when this slot is closed and its holds have settled; never rejects. */
  readonly closed = new Promise<unknown>((resolve) => {
    this.release = resolve;
  });

  /** Undefined: nothing earlier is pending, start at once. */
  constructor(readonly ready: Promise<unknown> | undefined) {}

  hold(until: Promise<unknown>): void {
    this.holds.push(until.then(ignore, ignore));
  }

  close(): void {
    this.release(Promise.all(this.holds));
  }
}

export class OrderGate {
  private tail: Promise<unknown> | undefined;

  /** True while an earlier request's ordered work is pending. */
  get busy(): boolean {
    return this.tail !== undefined;
  }

  open(): OrderSlot {
    const slot = new OrderSlot(this.tail);
    const tail = slot.closed;
    this.tail = tail;
    void tail.then(() => {
      if (this.tail === tail) this.tail = undefined;
    });
    return slot;
  }
}

/**
 * The hold of a request that may defer an append but met no hook before its handler (a
 * Produce with interceptors on a connection whose gate is idle). Its handler runs
 * synchronously up to its first hold, so a slot opened then stands where one opened at
 * the start would; a request whose interceptors all answer synchronously opens none, and
 * costs the gate nothing.
 */
export class DeferredSlot implements OrderHold {
  private slot: OrderSlot | undefined;

  constructor(private readonly open: () => OrderSlot) {}

  hold(until: Promise<unknown>): void {
    if (this.slot === undefined) {
      this.slot = this.open();
      if (this.slot.ready !== undefined) throw new Error('assertion failed: a deferred slot opened behind pending work');
    }
    this.slot.hold(until);
  }

  /** Once the handler has returned (or thrown). */
  close(): void {
    this.slot?.close();
  }
}

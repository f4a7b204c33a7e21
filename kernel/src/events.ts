/**
 * The kernel's typed event bus (the `KernelEvents` of @sluice/sdk). Emitters ask `has`
 * before building an event, so an event nobody listens to costs one map lookup.
 * A throwing handler is logged and skipped: observers never break the data path.
 */
import type { KernelEventHandler, KernelEventName, KernelEvents, Logger } from '@sluice/sdk';

export class KernelEventBus {
  private readonly handlers = new Map<KernelEventName, Array<(event: never) => void>>();

  constructor(private readonly log: Logger) {}

  has(name: KernelEventName): boolean {
    return this.handlers.has(name);
  }

  on<N extends KernelEventName>(name: N, handler: KernelEventHandler<N>): () => void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as (event: never) => void);
    this.handlers.set(name, list);
    return () => {
      const current = this.handlers.get(name);
      if (current === undefined) return;
      const rest = current.filter((h) => h !== handler);
      if (rest.length === 0) this.handlers.delete(name);
      else this.handlers.set(name, rest);
    };
  }

  emit<N extends KernelEventName>(name: N, event: KernelEvents[N]): void {
    const list = this.handlers.get(name);
    if (list === undefined) return;
    for (const handler of list) {
      try {
        (handler as KernelEventHandler<N>)(event);
      } catch (err) {
        this.log.error('event handler threw', { event: name, error: (err as Error).message });
      }
    }
  }
}

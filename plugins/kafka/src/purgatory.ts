/**
 * How many requests wait in each of Kafka's purgatories: acks=all produce requests until
 * their appends are durable, fetches until data arrives or their wait ends. Only counted,
 * for `metrics.collect` (Kafka's DelayedOperationPurgatory PurgatorySize): the waits
 * themselves are the handlers' promises.
 */
export class Purgatory {
  produce = 0;
  fetch = 0;
}

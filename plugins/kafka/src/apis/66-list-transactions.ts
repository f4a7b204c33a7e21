/**
 * ListTransactions (key 66), v0-1: the transactional ids this coordinator knows, filtered
 * by state names and producer ids, and (v1, KIP-994) by having run longer than
 * duration_filter ms. Unknown state names are echoed back, as Kafka does.
 */
import { ApiKey } from '../protocol/index.js';
import { TXN_STATE_NAMES, TxnError, TxnState } from '../transactions/coordinator.js';
import { defineApi } from './api.js';

export const listTransactionsApi = defineApi({
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const status = ctx.transactions.listingStatus();
    if (status !== TxnError.NONE) {
      return { throttleTimeMs: 0, errorCode: status, unknownStateFilters: [], transactionStates: [] };
    }
    const known = new Set(Object.keys(TxnState));
    const states = new Set(req.stateFilters);
    const producers = new Set(req.producerIdFilters);
    const minDuration = req.durationFilter ?? -1;
    const now = Date.now();
    const transactionStates = [...ctx.transactions.all()]
      .filter((t) => states.size === 0 || states.has(TXN_STATE_NAMES[t.state] ?? ''))
      .filter((t) => producers.size === 0 || producers.has(t.producerId))
      .filter((t) => minDuration < 0 || (t.state === TxnState.Ongoing && now - t.startMs >= minDuration))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: TXN_STATE_NAMES[t.state] ?? 'Unknown' }));
    return { throttleTimeMs: 0, errorCode: 0, unknownStateFilters: req.stateFilters.filter((s) => !known.has(s)), transactionStates };
  },
});

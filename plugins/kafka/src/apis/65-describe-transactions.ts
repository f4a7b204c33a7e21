/**
 * DescribeTransactions (key 65), v0: state, timeout, start time, producer id and epoch and
 * partitions of each named transactional id; TRANSACTIONAL_ID_NOT_FOUND for unknown ones,
 * NOT_COORDINATOR for ids another node coordinates.
 */
import { ApiKey } from '../protocol/index.js';
import { TXN_STATE_NAMES, TxnError } from '../transactions/coordinator.js';
import { defineApi } from './api.js';

export const describeTransactionsApi = defineApi({
  apiKey: ApiKey.DescribeTransactions,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        const status = ctx.transactions.status(id);
        const txn = status === TxnError.NONE ? ctx.transactions.get(id) : undefined;
        if (txn === undefined) {
          return {
            errorCode: status !== TxnError.NONE ? status : TxnError.TRANSACTIONAL_ID_NOT_FOUND,
            transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [],
          };
        }
        return {
          errorCode: 0, transactionalId: id, transactionState: TXN_STATE_NAMES[txn.state] ?? 'Unknown', transactionTimeoutMs: txn.timeoutMs,
          transactionStartTimeMs: txn.startMs, producerId: txn.producerId, producerEpoch: txn.producerEpoch,
          topics: [...txn.partitions].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) })),
        };
      }),
    };
  },
});

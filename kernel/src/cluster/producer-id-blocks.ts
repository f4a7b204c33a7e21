/**
 * Producer ids on a broker (Kafka's RPCProducerIdManager): handed out one by one from a
 * block the active controller reserved for this broker in the metadata log
 * (AllocateProducerIds), so no id is given twice in the cluster, even across restarts.
 * A new block is asked for only when the current one is used up, by one request at a time.
 */
import type { ClusterRpcRequest, ClusterRpcResponse } from '@sluice/sdk';
import type { ControllerRpcName } from './controller.js';
import { errorFromCode } from './controller-errors.js';

export interface ProducerIdBlocksOptions {
  readonly brokerId: number;
  /** The broker's current epoch (BrokerLifecycle.brokerEpoch). */
  readonly brokerEpoch: () => number;
  /** Usually a ControllerChannel. */
  readonly channel: {
    call<K extends ControllerRpcName>(rpc: K, request: ClusterRpcRequest<K>): Promise<ClusterRpcResponse<K>>;
  };
}

export class ProducerIdBlocks {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | undefined;

  constructor(private readonly opts: ProducerIdBlocksOptions) {}

  async allocate(): Promise<number> {
    while (this.next >= this.end) {
      this.refill ??= this.fetchBlock().finally(() => {
        this.refill = undefined;
      });
      await this.refill;
    }
    return this.next++;
  }

  private async fetchBlock(): Promise<void> {
    const res = await this.opts.channel.call('controller.allocate-producer-ids', {
      brokerId: this.opts.brokerId, brokerEpoch: this.opts.brokerEpoch(),
    });
    if (res.errorCode !== 0) throw errorFromCode(res.errorCode, `the controller refused a producer id block (error ${res.errorCode})`);
    this.next = res.producerIdStart;
    this.end = res.producerIdStart + res.producerIdLen;
  }
}

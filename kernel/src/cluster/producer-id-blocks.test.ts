import { KafkaError } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { ProducerIdBlocks } from './producer-id-blocks.js';

describe('ProducerIdBlocks', () => {
  it('hands out ids from controller blocks, asking once per exhausted block even under concurrency', async () => {
    let start = 0;
    let calls = 0;
    const blocks = new ProducerIdBlocks({
      brokerId: 1, brokerEpoch: () => 4,
      channel: { call: async () => { calls++; const s = start; start += 3; return { errorCode: 0, producerIdStart: s, producerIdLen: 3 } as never; } },
    });
    const ids = await Promise.all(Array.from({ length: 7 }, () => blocks.allocate()));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(calls).toBe(3);
  });

  it('a refused block rejects with the controller\'s error code, and the next call asks again', async () => {
    let refuse = true;
    const blocks = new ProducerIdBlocks({
      brokerId: 1, brokerEpoch: () => 4,
      channel: { call: async () => (refuse ? { errorCode: 77, producerIdStart: -1, producerIdLen: 0 } : { errorCode: 0, producerIdStart: 1000, producerIdLen: 1000 }) as never },
    });
    await expect(blocks.allocate()).rejects.toSatisfy((e: unknown) => KafkaError.is(e) && e.code === 77 && e.codeName === 'STALE_BROKER_EPOCH');
    refuse = false;
    expect(await blocks.allocate()).toBe(1000);
  });
});

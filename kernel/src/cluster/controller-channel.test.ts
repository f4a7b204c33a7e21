import { KafkaError, type ClusterTransport, type PeerAddress } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { ControllerChannel } from './controller-channel.js';
import { VirtualScheduler } from './scheduler.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const voters: PeerAddress[] = [1, 2, 3].map((nodeId) => ({ nodeId, host: `c${nodeId}`, port: 9093 }));
const ok = { errorCode: 0, producerIdStart: 0, producerIdLen: 1000 };
const request = { brokerId: 7, brokerEpoch: 3 };

function channel(opts: { active: () => number | null; transport: () => ClusterTransport | undefined; local?: boolean }) {
  const scheduler = new VirtualScheduler();
  const localCalls: string[] = [];
  const ch = new ControllerChannel({
    nodeId: 1, voters, activeControllerId: opts.active, transport: opts.transport, clock: scheduler.clock, scheduler, log: quiet,
    ...(opts.local ? { localController: { handle: async (rpc: string) => { localCalls.push(rpc); return ok as never; } } } : {}),
  });
  return { ch, scheduler, localCalls };
}

/** A transport answering per peer with `answer(nodeId, attempt)`. */
function fakeTransport(answer: (nodeId: number) => unknown) {
  const calls: number[] = [];
  const transport: ClusterTransport = {
    call: async (peer) => {
      calls.push(peer.nodeId);
      const a = answer(peer.nodeId);
      if (a instanceof Error) throw a;
      return a as never;
    },
  };
  return { transport, calls };
}

async function settle<T>(scheduler: VirtualScheduler, p: Promise<T>, ms: number): Promise<T> {
  const result = p.then((v) => ({ v }), (e: unknown) => ({ e }));
  await scheduler.advance(ms);
  const r = await result;
  if ('e' in r) throw r.e;
  return r.v;
}

describe('ControllerChannel', () => {
  it('calls the local controller when this node is active, the transport otherwise', async () => {
    const t = fakeTransport(() => ok);
    let active = 1;
    const { ch, localCalls } = channel({ active: () => active, transport: () => t.transport, local: true });
    expect(await ch.call('controller.allocate-producer-ids', request)).toEqual(ok);
    expect(localCalls).toEqual(['controller.allocate-producer-ids']);
    active = 3;
    expect(await ch.call('controller.allocate-producer-ids', request)).toEqual(ok);
    expect(t.calls).toEqual([3]);
  });

  it('on NOT_CONTROLLER from a stale leader, tries the other voters with backoff', async () => {
    const t = fakeTransport((id) => (id === 3 ? ok : { ...ok, errorCode: 41 }));
    const { ch, scheduler } = channel({ active: () => 2, transport: () => t.transport });
    expect(await settle(scheduler, ch.call('controller.allocate-producer-ids', request), 5000)).toEqual(ok);
    expect(t.calls[0]).toBe(2);
    expect(t.calls.at(-1)).toBe(3);
  });

  it('waits for the transport to exist and for a leader to be known', async () => {
    const t = fakeTransport(() => ok);
    let transport: ClusterTransport | undefined;
    let active: number | null = null;
    const { ch, scheduler } = channel({ active: () => active, transport: () => transport });
    const call = ch.call('controller.allocate-producer-ids', request);
    await scheduler.advance(500);
    transport = t.transport;
    active = 2;
    expect(await settle(scheduler, call, 5000)).toEqual(ok);
    expect(t.calls.at(-1)).toBe(2);
  });

  it('topic results that all say NOT_CONTROLLER are retried too', async () => {
    let n = 0;
    const t = fakeTransport(() => ({ results: [{ name: 't', errorCode: n++ === 0 ? 41 : 0, errorMessage: null }] }));
    const { ch, scheduler } = channel({ active: () => 2, transport: () => t.transport });
    const res = await settle(scheduler, ch.call('controller.delete-topics', { names: ['t'] }), 5000);
    expect(res.results[0]!.errorCode).toBe(0);
    expect(t.calls).toHaveLength(2);
  });

  it('gives up at the deadline: NOT_CONTROLLER when told so, REQUEST_TIMED_OUT when nobody answered', async () => {
    const refusing = fakeTransport(() => ({ ...ok, errorCode: 41 }));
    const a = channel({ active: () => 2, transport: () => refusing.transport });
    await expect(settle(a.scheduler, a.ch.call('controller.allocate-producer-ids', request, 3000), 5000))
      .rejects.toSatisfy((e: unknown) => KafkaError.is(e) && e.code === 41);
    const down = fakeTransport(() => new Error('ECONNREFUSED'));
    const b = channel({ active: () => 2, transport: () => down.transport });
    await expect(settle(b.scheduler, b.ch.call('controller.allocate-producer-ids', request, 3000), 5000))
      .rejects.toSatisfy((e: unknown) => KafkaError.is(e) && e.code === 7);
    expect(b.scheduler.clock.nowMs() - 1_700_000_000_000).toBe(5000);
    expect(down.calls.length).toBeGreaterThan(2);
    expect(new Set(down.calls).size).toBeGreaterThan(1);
  });
});

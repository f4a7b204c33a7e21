import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HookRunner, Logger, RequestCompleted } from '@sluice/sdk';
import type { RequestHandler } from './connection.js';
import { RequestTiming } from './request-timing.js';
import { KafkaServer } from './server.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const servers: KafkaServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(handler: RequestHandler, limits: Partial<ConstructorParameters<typeof KafkaServer>[1]> = {},
  hooks?: HookRunner): Promise<number> {
  const server = new KafkaServer(handler, {
    requestSizeBytesMax: 1024, idleMsMax: 60_000, inFlightRequestsMax: 4, writeBufferBytesMax: 1 << 20, ...limits,
  }, quiet, hooks);
  servers.push(server);
  const [bound] = await server.listen([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0, securityProtocol: 'PLAINTEXT' }]);
  return bound!.port;
}

function frame(body: string): Buffer {
  const b = Buffer.from(body);
  const size = Buffer.alloc(4);
  size.writeInt32BE(b.length);
  return Buffer.concat([size, b]);
}

/** Collects response frames from a socket; resolves once `count` arrived or the socket closed. */
function responses(socket: Socket, count: number): Promise<{ frames: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const frames: string[] = [];
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        frames.push(buf.subarray(4, 4 + buf.readInt32BE(0)).toString());
        buf = buf.subarray(4 + buf.readInt32BE(0));
      }
      if (frames.length >= count) resolve({ frames, closed: false });
    });
    socket.on('close', () => resolve({ frames, closed: true }));
  });
}

describe('KafkaServer', () => {
  it('answers pipelined requests in request order even when they complete out of order', async () => {
    const releases: Array<() => void> = [];
    const port = await start((f) => {
      const body = f.toString();
      if (body === 'slow') return new Promise((resolve) => releases.push(() => resolve(frame('slow-done'))));
      if (body === 'silent') return null;
      // Chunked: size prefix and body parts as separate buffers, as Fetch responses are written.
      const whole = frame(`${body}-done`);
      return [whole.subarray(0, 4), whole.subarray(4, 6), whole.subarray(6)];
    }, { inFlightRequestsMax: 100 });
    const socket = connect(port, '127.0.0.1');
    const got = responses(socket, 3);
    socket.write(Buffer.concat([frame('slow'), frame('silent'), frame('fast'), frame('last')]));
    // The fast requests are done but must wait for the slow one.
    await new Promise<void>((resolve) => {
      const check = (): void => (releases.length > 0 ? resolve() : void setImmediate(check));
      check();
    });
    releases[0]!();
    expect((await got).frames).toEqual(['slow-done', 'fast-done', 'last-done']);
    socket.destroy();
  });

  it('closes only the connection that sent an oversized frame', async () => {
    const port = await start((f) => frame(f.toString().toUpperCase()));
    const bad = connect(port, '127.0.0.1');
    const good = connect(port, '127.0.0.1');
    const badResult = responses(bad, 1);
    const size = Buffer.alloc(4);
    size.writeInt32BE(1_000_000);
    bad.write(size);
    expect(await badResult).toEqual({ frames: [], closed: true });
    const goodResult = responses(good, 1);
    good.write(frame('still here'));
    expect((await goodResult).frames).toEqual(['STILL HERE']);
    good.destroy();
  });

  it('closes a connection whose handler throws, and keeps serving others', async () => {
    const port = await start((f) => {
      if (f.toString() === 'boom') throw new Error('handler bug');
      return frame('ok');
    });
    const a = connect(port, '127.0.0.1');
    const aResult = responses(a, 1);
    a.write(frame('boom'));
    expect((await aResult).closed).toBe(true);
    const b = connect(port, '127.0.0.1');
    const bResult = responses(b, 1);
    b.write(frame('fine'));
    expect((await bResult).frames).toEqual(['ok']);
    b.destroy();
  });

  it('closes idle connections', async () => {
    const port = await start(() => frame('x'), { idleMsMax: 50 });
    const socket = connect(port, '127.0.0.1');
    expect((await responses(socket, 1)).closed).toBe(true);
  });

  it('stops reading while too many requests are in flight, and resumes as they complete', async () => {
    const pending: Array<() => void> = [];
    let seen = 0;
    const port = await start(() => {
      seen++;
      return new Promise((resolve) => pending.push(() => resolve(frame('r'))));
    }, { inFlightRequestsMax: 2 });
    const socket = connect(port, '127.0.0.1');
    const got = responses(socket, 6);
    socket.write(Buffer.concat(Array.from({ length: 6 }, () => frame('q'))));
    let released = 0;
    while (released < 6) {
      await new Promise((r) => setImmediate(r));
      // Never more than the bound in the handler at once (one chunk may carry a few more frames).
      if (pending.length > released) {
        pending[released]!();
        released++;
      }
    }
    expect((await got).frames).toHaveLength(6);
    expect(seen).toBe(6);
    socket.destroy();
  });

  it('reports a timed request once its response is written, split into queue, local and send time', async () => {
    const reports: RequestCompleted[] = [];
    let reported: () => void = () => undefined;
    const hooks = {
      hasHandlers: () => false,
      runParallel: (name: string, input: RequestCompleted) => {
        if (name === 'request.completed') reports.push(input);
        if (reports.length === 3) reported();
      },
    } as unknown as HookRunner;
    const releases: Array<() => void> = [];
    const port = await start((f, info, exchange) => {
      const body = f.toString();
      exchange.timing = new RequestTiming(info, 7, body, 1, exchange.receivedMs);
      exchange.timing.started(performance.now());
      if (body === 'boom') throw new Error('handler bug');
      if (body === 'silent') return null;
      return new Promise((resolve) => releases.push(() => resolve(frame(`${body}-done`))));
    }, { inFlightRequestsMax: 100 }, hooks);
    const socket = connect(port, '127.0.0.1');
    const got = responses(socket, 1);
    const all = new Promise<void>((resolve) => { reported = resolve; });
    socket.write(Buffer.concat([frame('slow'), frame('silent')]));
    await new Promise<void>((resolve) => {
      const check = (): void => (releases.length > 0 ? resolve() : void setImmediate(check));
      check();
    });
    expect(reports).toEqual([]);
    releases[0]!();
    expect((await got).frames).toEqual(['slow-done']);
    socket.write(frame('boom'));
    await all;
    // A response with nothing to write is reported when its turn comes, before the write callback of the one ahead of it.
    expect(reports.map((r) => [r.apiName, r.failed]).sort()).toEqual([['boom', true], ['silent', false], ['slow', false]]);
    for (const r of reports) {
      expect(r.requestQueueMs).toBeGreaterThanOrEqual(0);
      expect(r.localMs).toBeGreaterThanOrEqual(0);
      expect(r.responseSendMs).toBeGreaterThanOrEqual(0);
      expect(r.requestQueueMs + r.localMs + r.responseSendMs).toBeCloseTo(r.durationMs, 6);
    }
    expect(reports.find((r) => r.failed)!.responseSendMs).toBe(0);
  });
});

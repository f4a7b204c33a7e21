/**
 * TCP listeners for the Kafka protocol: one server per configured listener, one
 * Connection per socket. Stopping closes the listeners first, then every connection.
 * `connection.accepted` and `connection.closed` observers hear of each connection; with
 * none registered nothing is built for them. Requests the handler timed are reported on
 * `request.completed` once their response was written.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { HookRunner, ListenerAddress, Logger } from '@sluice/sdk';
import { Connection, type ConnectionLimits, type RequestHandler } from './connection.js';
import type { RequestTiming } from './request-timing.js';

export class KafkaServer {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;

  constructor(
    private readonly handler: RequestHandler,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly hooks?: HookRunner,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Binds every listener; resolves with the bound addresses (port 0 picks a free port). */
  async listen(listeners: readonly ListenerAddress[]): Promise<ListenerAddress[]> {
    const bound: ListenerAddress[] = [];
    for (const listener of listeners) {
      const server = createServer((socket) => this.accept(listener.name, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: listener.host === '' ? undefined : listener.host, port: listener.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error('listener error', { listener: listener.name, error: err.message }));
      this.servers.push(server);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : listener.port;
      bound.push({ ...listener, port });
    }
    return bound;
  }

  private accept(listener: string, socket: Socket): void {
    const closing = new AbortController();
    const conn = new Connection(socket, {
      protocol: 'kafka', id: this.nextConnectionId++, listener, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '', closed: closing.signal,
    }, this.handler, this.limits, this.log, (c, reason) => {
      this.connections.delete(c);
      closing.abort();
      if (this.hooks?.hasHandlers('connection.closed') === true) this.hooks.runParallel('connection.closed', { connection: c.info, reason });
    }, this.timed);
    this.connections.add(conn);
    if (this.hooks?.hasHandlers('connection.accepted') === true) this.hooks.runParallel('connection.accepted', conn.info);
  }

  private readonly timed = (timing: RequestTiming): void => {
    this.hooks?.runParallel('request.completed', timing);
  };

  async close(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const conn of [...this.connections]) conn.close('broker stopping', 'debug');
    await Promise.all(closing);
    this.servers.length = 0;
  }
}

/**
 * The Kafka wire frontend as a Sluice plugin: serves the Kafka protocol on the broker's
 * `listeners` (PLAINTEXT for now) on top of the kernel, through @sluice/sdk only. It is
 * also the `cluster.transport` provider: the kernel's RPCs to other nodes travel as Kafka
 * APIs (cluster/), and the ones other nodes send arrive here like any request.
 */
import { definePlugin, type ListenerAddress, type Logger } from '@sluice/sdk';
import { allApis } from './apis/index.js';
import { frontendConfig } from './config.js';
import { forwardedApis } from './cluster/forwarded-apis.js';
import { KafkaClusterTransport } from './cluster/transport.js';
import { Dispatcher } from './dispatcher.js';
import { FetchSessions } from './fetch-sessions.js';
import { groupConfig } from './groups/config.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { OFFSETS_TOPIC, OffsetsTopic } from './groups/offsets-store.js';
import { systemTimer } from './groups/timer.js';
import { Purgatory } from './purgatory.js';
import { KafkaServer } from './server/server.js';
import { transactionConfig } from './transactions/config.js';
import { TransactionCoordinator } from './transactions/coordinator.js';
import { TransactionStateLog } from './transactions/state-log.js';

/** Requests one connection may have in progress before the broker stops reading from it. */
const CONNECTION_IN_FLIGHT_REQUESTS_MAX = 64;
/** Response bytes queued on a socket before the broker stops reading from it. */
const CONNECTION_WRITE_BUFFER_BYTES_MAX = 64 * 1024 * 1024;

let server: KafkaServer | undefined;
let groups: GroupCoordinator | undefined;
let transactions: TransactionCoordinator | undefined;
let transport: KafkaClusterTransport | undefined;
let clientListeners: readonly ListenerAddress[] = [];
let log: Logger | undefined;

async function listen(logger: Logger, listeners: readonly ListenerAddress[]): Promise<void> {
  const bound = await server!.listen(listeners);
  for (const l of bound) logger.info('Kafka listener ready', { listener: l.name, address: `${l.host === '' ? '0.0.0.0' : l.host}:${l.port}` });
}

export default definePlugin({
  manifest: { id: 'kafka', version: '0.1.0', required: true },
  async start(ctx) {
    transport = new KafkaClusterTransport(ctx.log);
    ctx.provide('cluster.transport', transport);
    const config = frontendConfig(ctx.broker);
    const groupsConfig = groupConfig(ctx.broker);
    // Group state comes only from __consumer_offsets, loaded before clients can reach it.
    groups = new GroupCoordinator(await OffsetsTopic.open(ctx.kernel, groupsConfig, ctx.log), groupsConfig, systemTimer, ctx.log, ctx.kernel);
    groups.loadAll();
    const txnConfig = transactionConfig(ctx.broker);
    const groupCoordinator = groups;
    transactions = new TransactionCoordinator(ctx.kernel, await TransactionStateLog.open(ctx.kernel, txnConfig, ctx.log), txnConfig,
      systemTimer, ctx.log, (topic, partition, producerId, commit) => {
        if (topic === OFFSETS_TOPIC) groupCoordinator.completeTransaction(partition, producerId, commit);
      });
    transactions.load();
    const purgatory = new Purgatory();
    const dispatcher = new Dispatcher(allApis, {
      kernel: ctx.kernel, broker: ctx.broker, config, log: ctx.log, signal: ctx.signal, hooks: ctx.hooks,
      fetchSessions: new FetchSessions(config.fetchSessionCacheSlots), groups, transactions, purgatory,
    }, forwardedApis);
    ctx.on('metrics.collect', (m) => {
      m.purgatorySize('Produce', purgatory.produce);
      m.purgatorySize('Fetch', purgatory.fetch);
      groupCoordinator.forEachCommittedOffset((group, topic, partition, offset) => m.committedOffset(group, topic, partition, offset));
    });
    server = new KafkaServer(dispatcher.handle, {
      requestSizeBytesMax: config.requestSizeBytesMax, idleMsMax: config.connectionIdleMsMax,
      inFlightRequestsMax: CONNECTION_IN_FLIGHT_REQUESTS_MAX, writeBufferBytesMax: CONNECTION_WRITE_BUFFER_BYTES_MAX,
    }, ctx.log, ctx.hooks);
    const kafkaListeners = ctx.broker.listeners.filter((l) => l.securityProtocol === 'PLAINTEXT');
    for (const l of ctx.broker.listeners) {
      if (l.securityProtocol !== 'PLAINTEXT') ctx.log.warn('listener not served: only PLAINTEXT is supported so far', { listener: l.name });
    }
    // The quorum reaches this node on its controller listeners while the node catches up;
    // clients wait for serve(), as Kafka's broker listeners open only once the broker is ready.
    const controllerNames = new Set((ctx.broker.props['controller.listener.names'] ?? '').split(',').map((n) => n.trim().toUpperCase()));
    clientListeners = kafkaListeners.filter((l) => !controllerNames.has(l.name));
    await listen(ctx.log, kafkaListeners.filter((l) => controllerNames.has(l.name)));
    log = ctx.log;
  },
  async serve() {
    if (server !== undefined && log !== undefined) await listen(log, clientListeners);
  },
  async stop() {
    groups?.stop();
    transactions?.stop();
    await server?.close();
    transport?.close();
    server = undefined;
    transport = undefined;
    groups = undefined;
    transactions = undefined;
    clientListeners = [];
    log = undefined;
  },
});

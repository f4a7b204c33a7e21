/**
 * What `sluice metadata quorum add-controller` needs to know about the node it adds, read
 * from that node's server.properties as kafka-metadata-quorum.sh reads it: the node id, the
 * endpoints the other voters will reach it on (its controller listeners, advertised ones
 * first), and the directory id of its metadata log dir (meta.properties, written by
 * `sluice format`).
 */
import path from 'node:path';
import { parseProperties, type VoterEndpoint } from '@sluice/sdk';
import { uuidFromString } from '../protocol/index.js';

export const META_PROPERTIES = 'meta.properties';
/** The kernel's default `log.dir`, relative to the working directory. */
const DEFAULT_LOG_DIR = './data';
const DEFAULT_CONTROLLER_LISTENER_NAMES = 'CONTROLLER';
const LISTENER_RE = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/[\]]*):([0-9]+)$/;
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::']);

export interface NewController {
  readonly nodeId: number;
  readonly directoryId: Uint8Array;
  readonly listeners: readonly VoterEndpoint[];
}

/** A server.properties or meta.properties that does not describe a controller to add. */
export class ControllerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerConfigError';
  }
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function parseListeners(key: string, items: readonly string[]): VoterEndpoint[] {
  return items.map((item) => {
    const m = LISTENER_RE.exec(item);
    const port = Number(m?.[3]);
    if (m === null || port < 1 || port > 65535) throw new ControllerConfigError(`${key}: "${item}" is not NAME://host:port`);
    return { name: m[1]!.toUpperCase(), host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

/**
 * The node `serverProperties` describes, as a voter to add. Relative log dirs resolve
 * against `cwd`, as the kernel resolves them against its working directory: run the
 * command where the node is started from, or give absolute paths. `readFile` reads a
 * file's text and returns undefined when it does not exist.
 */
export function newControllerOf(serverProperties: string, readFile: (file: string) => string | undefined, cwd: string): NewController {
  const props = parseProperties(serverProperties);
  const nodeIdText = props.get('node.id');
  if (nodeIdText === undefined || !/^\d+$/.test(nodeIdText)) throw new ControllerConfigError(`node.id: expected a node id, got ${nodeIdText ?? 'nothing'}`);
  const nodeId = Number(nodeIdText);
  const roles = list(props.get('process.roles'));
  if (!roles.includes('controller')) {
    throw new ControllerConfigError(`process.roles is ${roles.join(',') || 'not set'}: only a node with the controller role can be a voter`);
  }

  const names = list(props.get('controller.listener.names') ?? DEFAULT_CONTROLLER_LISTENER_NAMES).map((n) => n.toUpperCase());
  const bound = parseListeners('listeners', list(props.get('listeners')));
  const advertised = props.has('advertised.listeners') ? parseListeners('advertised.listeners', list(props.get('advertised.listeners'))) : [];
  const listeners = names.flatMap((name) => {
    const l = advertised.find((a) => a.name === name) ?? bound.find((b) => b.name === name);
    return l === undefined ? [] : [l];
  });
  if (listeners.length === 0) {
    throw new ControllerConfigError(`no listener named in controller.listener.names (${names.join(',')}) in listeners or advertised.listeners`);
  }
  const unreachable = listeners.find((l) => WILDCARD_HOSTS.has(l.host));
  if (unreachable !== undefined) {
    throw new ControllerConfigError(
      `controller listener ${unreachable.name} binds "${unreachable.host}", which other voters cannot connect to: ` +
        'advertise a host for it in advertised.listeners');
  }

  const logDirs = props.has('log.dirs') ? list(props.get('log.dirs')) : [props.get('log.dir') ?? DEFAULT_LOG_DIR];
  const metadataDir = path.resolve(cwd, props.get('metadata.log.dir') ?? logDirs[0] ?? DEFAULT_LOG_DIR);
  const metaFile = path.join(metadataDir, META_PROPERTIES);
  const metaText = readFile(metaFile);
  if (metaText === undefined) throw new ControllerConfigError(`${metaFile} does not exist: format the node (sluice format) and start it first`);
  const meta = parseProperties(metaText);
  if (meta.get('node.id') !== nodeIdText) {
    throw new ControllerConfigError(`${metaFile} belongs to node ${meta.get('node.id') ?? '(none)'}, the config to node ${nodeId}`);
  }
  const directoryIdText = meta.get('directory.id');
  let directoryId: Uint8Array;
  try {
    directoryId = uuidFromString(directoryIdText ?? '');
  } catch {
    throw new ControllerConfigError(`${metaFile}: directory.id ${directoryIdText ?? '(missing)'} is not a Kafka uuid`);
  }
  return { nodeId, directoryId, listeners };
}

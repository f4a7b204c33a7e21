/**
 * meta.properties, which Kafka keeps in every log dir to tie it to one cluster and one
 * node: a dir moved to the wrong broker, or a broker pointed at another cluster's data,
 * is refused at start instead of silently serving or overwriting foreign partitions.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { formatProperties, parseProperties } from '@sluice/sdk';

export const META_PROPERTIES = 'meta.properties';

export interface MetaProperties {
  readonly version: 1;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly directoryId: string;
}

/** A log dir that belongs elsewhere, or ids that do not fit together: the operator must act. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/**
 * A random id as Kafka's Uuid.randomUuid() writes it: 16 bytes of a version-4 UUID in
 * unpadded base64url. Kafka avoids a leading '-' so that the id cannot be taken for a
 * command-line option.
 */
export function generateClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Kafka's Uuid.fromString rule: base64url of exactly 16 bytes. */
function isUuid(id: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(id) && Buffer.from(id, 'base64url').toString('base64url') === id;
}

export function readMetaProperties(dir: string): MetaProperties | undefined {
  const file = path.join(dir, META_PROPERTIES);
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const props = parseProperties(text);
  const bad = (what: string): FormatError => new FormatError(`${file}: ${what}`);
  const version = props.get('version');
  if (version !== '1') throw bad(`unsupported version ${version ?? '(missing)'}; only version 1 (KRaft) is read`);
  const clusterId = props.get('cluster.id');
  if (clusterId === undefined || !isUuid(clusterId)) throw bad(`invalid cluster.id ${clusterId ?? '(missing)'}`);
  const nodeIdText = props.get('node.id');
  if (nodeIdText === undefined || !/^\d+$/.test(nodeIdText)) throw bad(`invalid node.id ${nodeIdText ?? '(missing)'}`);
  const directoryId = props.get('directory.id');
  if (directoryId === undefined || !isUuid(directoryId)) throw bad(`invalid directory.id ${directoryId ?? '(missing)'}`);
  return { version: 1, clusterId, nodeId: Number(nodeIdText), directoryId };
}

function mismatch(dir: string, meta: MetaProperties, ids: { clusterId: string; nodeId: number }): FormatError | undefined {
  if (meta.clusterId === ids.clusterId && meta.nodeId === ids.nodeId) return undefined;
  return new FormatError(
    `log dir ${dir} belongs to cluster ${meta.clusterId} node ${meta.nodeId}, ` +
      `but this broker is cluster ${ids.clusterId} node ${ids.nodeId}`,
  );
}

/**
 * Creates `dir` if needed and writes its meta.properties. A dir already formatted with
 * the same ids is left as it is; with other ids it is refused.
 */
export function formatLogDir(dir: string, ids: { clusterId: string; nodeId: number }): MetaProperties {
  if (!isUuid(ids.clusterId)) {
    throw new FormatError(`cluster id ${ids.clusterId} is not a 22-character base64url id of 16 bytes`);
  }
  if (!Number.isSafeInteger(ids.nodeId) || ids.nodeId < 0) throw new FormatError(`invalid node id ${ids.nodeId}`);
  const existing = readMetaProperties(dir);
  if (existing !== undefined) {
    const refusal = mismatch(dir, existing, ids);
    if (refusal !== undefined) throw refusal;
    return existing;
  }
  const meta: MetaProperties = { version: 1, clusterId: ids.clusterId, nodeId: ids.nodeId, directoryId: generateClusterId() };
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, META_PROPERTIES);
  const tmp = `${file}.tmp`;
  const text = formatProperties([
    ['version', '1'],
    ['cluster.id', meta.clusterId],
    ['node.id', String(meta.nodeId)],
    ['directory.id', meta.directoryId],
  ]);
  // Written aside, synced, then renamed and the rename synced: a crash leaves either
  // no meta.properties or a whole one, never a torn file that would refuse every start.
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return meta;
}

/**
 * Checks that every formatted dir belongs to one cluster and to this node, formats the
 * others with that cluster id (a dir added to a node), and returns the cluster id. With
 * no dir formatted, formats all with `opts.clusterId` or a new id when `allowFormat`.
 */
export function ensureFormatted(
  logDirs: readonly string[],
  nodeId: number,
  opts: { clusterId?: string; allowFormat: boolean },
): string {
  const formatted: Array<{ dir: string; meta: MetaProperties }> = [];
  for (const dir of logDirs) {
    const meta = readMetaProperties(dir);
    if (meta !== undefined) formatted.push({ dir, meta });
  }
  const first = formatted[0];
  if (first === undefined && !opts.allowFormat) {
    throw new FormatError(`no log dir is formatted (${logDirs.join(', ')}); run sluice format first`);
  }
  const clusterId = opts.clusterId ?? first?.meta.clusterId ?? generateClusterId();
  const seenDirectoryIds = new Map<string, string>();
  for (const { dir, meta } of formatted) {
    if (meta.clusterId !== clusterId) {
      const other = opts.clusterId !== undefined ? 'the cluster id given is' : `log dir ${first!.dir} belongs to cluster`;
      throw new FormatError(`log dir ${dir} belongs to cluster ${meta.clusterId}, but ${other} ${clusterId}`);
    }
    if (meta.nodeId !== nodeId) {
      throw new FormatError(
        `log dir ${dir} belongs to cluster ${meta.clusterId} node ${meta.nodeId}, but this broker is node ${nodeId}`,
      );
    }
    const twin = seenDirectoryIds.get(meta.directoryId);
    if (twin !== undefined) {
      throw new FormatError(`log dirs ${twin} and ${dir} have the same directory.id ${meta.directoryId}; one is a copy`);
    }
    seenDirectoryIds.set(meta.directoryId, dir);
  }
  for (const dir of logDirs) {
    if (!formatted.some((f) => f.dir === dir)) formatLogDir(dir, { clusterId, nodeId });
  }
  return clusterId;
}

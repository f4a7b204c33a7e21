/** Plain-text tables and timestamps for the cluster commands' output, as Kafka's tools print them. */

/** Columns padded to their widest cell, two spaces apart, the last one unpadded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** A leader wall-clock timestamp: as is, or `N ms ago` against `nowMs`; `-` when unknown (-1). */
export function timestamp(ms: number, humanReadable: boolean, nowMs: number): string {
  if (ms < 0) return '-';
  return humanReadable ? `${Math.max(0, nowMs - ms)} ms ago` : String(ms);
}

/** `[1,2,3]`, as kafka-topics.sh prints replica lists. */
export function nodeList(ids: readonly number[]): string {
  return `[${ids.join(',')}]`;
}

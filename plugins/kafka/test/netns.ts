/**
 * Linux network namespaces for partition tests: one namespace per node, each with a veth
 * pair whose outer end is enslaved to a bridge in the root namespace, so the test process
 * reaches every node at its own address (10.77.<run>.<i>) through the bridge.
 *
 * A partition is made with blackhole routes inside the namespaces rather than by taking a
 * link down: the isolated node stops hearing its peers and they stop hearing it, but the
 * test process still reaches both sides, so it can ask each side what it believes.
 *
 * Every name carries a prefix and the test process's pid, and each run takes a /24 of
 * 10.77.0.0/16 no other run holds, so that two runs at once (a suite and a single test)
 * do not meet; what a run that died left behind (its pid no longer alive) is found by the
 * prefix and removed by the next run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const IP = '/usr/sbin/ip';
/** Runs take /24s of 10.77.0.0/16: 10.77.<subnet>.0/24. */
const NETWORK_PREFIX = '10.77';
const SUBNETS_MAX = 255;
const SUBNET_BITS = 24;
/** The root namespace's address on the bridge: what the nodes see the test process as. */
const BRIDGE_HOST = 254;
/** Interface names are at most 15 bytes (IFNAMSIZ - 1): the prefix, a pid of up to 7 digits and a short suffix fit. */
const PREFIX = 'slnt';
const IP_TIMEOUT_MS = 10_000;

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  try {
    accessSync(IP, constants.X_OK);
  } catch {
    return `${IP} (iproute2) is missing`;
  }
  const probe = `${PREFIX}${process.pid}-probe`;
  const add = spawnSync(IP, ['netns', 'add', probe], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  spawnSync(IP, ['netns', 'del', probe], { timeout: IP_TIMEOUT_MS });
  return null;
}

function ip(...args: string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: IP_TIMEOUT_MS });
}

/** Runs `ip` and ignores failure: for removing what may not exist. */
function ipQuiet(...args: string[]): void {
  spawnSync(IP, args, { stdio: 'ignore', timeout: IP_TIMEOUT_MS });
}

/** The pid in a name this module made, or undefined for a name it did not make. */
function ownerPid(name: string): number | undefined {
  const m = new RegExp(`^${PREFIX}(\\d+)[a-z-]`).exec(name);
  return m === null ? undefined : Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the namespaces and links of runs whose process is gone. */
export function removeLeftovers(): void {
  const dead = (name: string): boolean => {
    const pid = ownerPid(name);
    return pid !== undefined && pid !== process.pid && !alive(pid);
  };
  const namespaces = spawnSync(IP, ['netns', 'list'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS }).stdout ?? '';
  for (const line of namespaces.split('\n')) {
    const name = line.split(' ')[0]!;
    if (dead(name)) ipQuiet('netns', 'del', name);
  }
  for (const name of linkNames()) if (dead(name)) ipQuiet('link', 'del', name);
}

function linkNames(): string[] {
  const links = spawnSync(IP, ['-o', 'link', 'show'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS }).stdout ?? '';
  return links.split('\n').map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1]).filter((name) => name !== undefined);
}

/** A /24 of 10.77.0.0/16 that no interface of the root namespace has an address in. */
function freeSubnet(): number {
  const addresses = spawnSync(IP, ['-o', '-4', 'addr', 'show'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS }).stdout ?? '';
  const taken = new Set([...addresses.matchAll(new RegExp(`inet ${NETWORK_PREFIX.replace('.', '\\.')}\\.(\\d+)\\.`, 'g'))].map((m) => Number(m[1])));
  for (let subnet = 0; subnet < SUBNETS_MAX; subnet++) if (!taken.has(subnet)) return subnet;
  throw new Error(`every /24 of ${NETWORK_PREFIX}.0.0/16 is taken`);
}

/** Nodes 1..count, each in its own namespace on one bridge. */
export class NetnsLab {
  private readonly blackholes: Array<{ ns: string; address: string }> = [];

  private readonly tag = `${PREFIX}${process.pid}`;
  private readonly bridge = `${this.tag}br`;

  private constructor(readonly count: number, private readonly subnet: string) {}

  /** Removes leftovers, then builds the bridge and one namespace per node; on failure removes what it built. */
  static create(count: number): NetnsLab {
    if (count < 1 || count >= BRIDGE_HOST) throw new Error(`node count ${count} does not fit a /${SUBNET_BITS}`);
    removeLeftovers();
    const lab = new NetnsLab(count, `${NETWORK_PREFIX}.${freeSubnet()}`);
    try {
      ip('link', 'add', lab.bridge, 'type', 'bridge');
      ip('addr', 'add', `${lab.subnet}.${BRIDGE_HOST}/${SUBNET_BITS}`, 'dev', lab.bridge);
      ip('link', 'set', lab.bridge, 'up');
      for (let i = 1; i <= count; i++) {
        const ns = lab.namespace(i);
        const outer = `${lab.tag}v${i}`;
        ip('netns', 'add', ns);
        ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('link', 'set', outer, 'master', lab.bridge);
        ip('link', 'set', outer, 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', ns, 'addr', 'add', `${lab.address(i)}/${SUBNET_BITS}`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
      }
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  namespace(node: number): string {
    return `${this.tag}-n${node}`;
  }

  address(node: number): string {
    return `${this.subnet}.${node}`;
  }

  /** `ip netns exec <ns> <file> <args...>`: argv for spawning a program inside node's namespace. */
  execArgs(node: number, file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: IP, args: ['netns', 'exec', this.namespace(node), file, ...args] };
  }

  /**
   * Cuts `node` off from every other node, both ways (each side drops what it would send
   * to the other), while the root namespace still reaches all of them.
   */
  isolate(node: number): void {
    for (let other = 1; other <= this.count; other++) {
      if (other === node) continue;
      this.blackhole(node, this.address(other));
      this.blackhole(other, this.address(node));
    }
  }

  /** Removes every partition made by isolate. */
  heal(): void {
    for (const { ns, address } of this.blackholes.splice(0)) ip('-n', ns, 'route', 'del', 'blackhole', `${address}/32`);
  }

  /** Removes the namespaces (which takes their veth ends and routes with them) and the bridge; safe to call twice. */
  destroy(): void {
    this.blackholes.length = 0;
    for (let i = 1; i <= this.count; i++) ipQuiet('netns', 'del', this.namespace(i));
    ipQuiet('link', 'del', this.bridge);
  }

  private blackhole(node: number, address: string): void {
    const ns = this.namespace(node);
    ip('-n', ns, 'route', 'add', 'blackhole', `${address}/32`);
    this.blackholes.push({ ns, address });
  }
}

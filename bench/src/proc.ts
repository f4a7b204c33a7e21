/** CPU time of other processes (the broker, the clients) from /proc, as ../shared/bench does. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | undefined;

function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of `pid` in seconds; NaN once the process is gone. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** utime and stime of `pid` in seconds, separately (clock-tick resolution); NaN once the process is gone. */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / ticksPerSecond(), system: Number(fields[12]) / ticksPerSecond() };
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** A point to measure CPU from: `pct()` is the CPU used since, in % of one core. */
export interface CpuMark {
  pct(): number;
}

export function cpuMark(pid: number): CpuMark {
  const c0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  return {
    pct() {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      return secs > 0 ? ((cpuSeconds(pid) - c0) / secs) * 100 : NaN;
    },
  };
}

/**
 * CPU time of `pid` in seconds from the scheduler's nanosecond counters, summed over its
 * threads (`/proc/<pid>/task/<tid>/schedstat`, first field). utime + stime in
 * `/proc/<pid>/stat` count in clock ticks (10 ms here), which is a 1 % step on a run of
 * one CPU second; this has none. Time of threads that exited between two readings is
 * lost, so a caller compares it with `cpuSeconds`. NaN once the process is gone.
 */
export function cpuSecondsPrecise(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return ns / 1e9;
  } catch {
    return NaN;
  }
}

/** The whole machine's CPU from the first line of /proc/stat, in core-seconds. */
export interface MachineCpu {
  /** user + nice + system + irq + softirq. */
  readonly busy: number;
  /** Time the hypervisor gave this VM's vCPUs to someone else. */
  readonly steal: number;
}

export function machineCpu(): MachineCpu {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const tck = ticksPerSecond();
  return { busy: (user + nice + system + irq + softirq) / tck, steal: steal / tck };
}

/** CPU time of other processes (the broker, the clients) from /proc, as ../shared/bench does. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
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

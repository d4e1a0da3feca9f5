/**
 * Which process a run belongs to, and whether that process still lives. A pid alone is not
 * enough: pids are reused, so Linux's process start time (/proc/<pid>/stat field 22, in clock
 * ticks since boot) together with the boot id names one process for good. Elsewhere only the
 * pid is checked.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** "<boot id>:<start ticks>" on Linux, null where /proc is not available. */
  start: string | null;
  host: string;
}

let bootId: string | null | undefined;

function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** The start-time id of a process, or null when it cannot be read (no /proc, or no such process). */
export function processStart(pid: number): string | null {
  const boot = readBootId();
  if (!boot) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = rest[22 - 3];
  return ticks && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : null;
}

let self: ProcessIdentity | undefined;

export function currentProcess(): ProcessIdentity {
  self ??= { pid: process.pid, start: processStart(process.pid), host: hostname() };
  return self;
}

/**
 * False when the process that wrote `pid`/`start` on this host is certainly gone: no such pid,
 * or the pid now belongs to a process started at another time. True when alive or unknowable.
 */
export function processAlive(pid: number, start: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : undefined;
    // EPERM: it exists but belongs to someone else.
    if (code === 'ESRCH') return false;
  }
  if (!start) return true;
  const now = processStart(pid);
  // Unreadable: with /proc the process has just exited; without /proc there is no telling.
  if (now === null) return readBootId() === null;
  return now === start;
}

/** What this machine offers containers, in one line: the facts a skip reason reports. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * Namespaces (can `unshare` make mount, pid, net, uts and ipc ones), cgroups (v1 controllers or
 * v2), storage (overlay in the kernel; vfs always works) and whether the process is root.
 */
export function machineReport(): string {
  const unshare = spawnSync('unshare', ['--mount', '--pid', '--net', '--uts', '--ipc', '--fork', 'true'], {
    encoding: 'utf8',
  });
  const namespaces =
    unshare.status === 0 ? 'namespaces ok' : `namespaces FAIL (${(unshare.stderr || String(unshare.error)).trim()})`;
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? `cgroup v2 (${read('/sys/fs/cgroup/cgroup.controllers').trim()})`
    : existsSync('/sys/fs/cgroup')
      ? `cgroup v1 (${readdirSync('/sys/fs/cgroup').join(',') || 'nothing mounted'})`
      : 'no cgroup fs';
  const overlay = /\boverlay\b/.test(read('/proc/filesystems')) ? 'overlay available' : 'no overlay (vfs used)';
  return `${namespaces}; ${cgroups}; ${overlay}; uid ${process.getuid?.() ?? '?'}`;
}

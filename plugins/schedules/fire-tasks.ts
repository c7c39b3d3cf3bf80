import { createHash, createHmac } from 'node:crypto';
import { isRecord, safeMerge } from 'apflow';

type Task = Record<string, unknown>;

/** A UUID-shaped id made from `parts`: the same parts give the same id on every server. */
export function pinnedId(...parts: string[]): string {
  const hex = createHash('sha256')
    .update(`apflow-schedule\0${parts.join('\0')}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16] ?? '0', 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The id the root of a fire's tree gets, `schedule:<schedule id>:<fire key>:<8 hex>` (the fire
 * key is the fire time of timed fires): the tree's tag, readable wherever the tree shows, and
 * known before the tree exists, so a fire taken over finds the tree its first server created.
 * The suffix is keyed by the schedule's own salt: whoever reads past runs' ids cannot take a
 * future fire's id first.
 */
export const fireRootId = (schedule: { id: string; fire_salt: string }, fireKey: string) =>
  `schedule:${schedule.id}:${fireKey}:${createHmac('sha256', schedule.fire_salt).update(fireKey).digest('hex').slice(0, 8)}`;

const isRoot = (task: Task) => task.parent_id === undefined || task.parent_id === null;

/**
 * The tasks array one fire creates: the template's tasks with ids of their own for this fire (the
 * root's {@link fireRootId}, the others by position), references rewritten to them, no owner of
 * their own (the fire creates them for the schedule's owner), and `inputs` merged into the
 * root's, each layer over the last.
 */
export function fireTasks(
  template: readonly Task[],
  schedule: { id: string; fire_salt: string },
  fireKey: string,
  inputs: readonly (Record<string, unknown> | null)[],
): Task[] {
  // The template's references are ids when its tasks have ids, else names (the tree rules).
  const keyOf = (task: Task) => String(task.id ?? task.name);
  const ids = new Map(
    template.map((task, index) => [
      keyOf(task),
      isRoot(task) ? fireRootId(schedule, fireKey) : pinnedId(schedule.fire_salt, schedule.id, fireKey, String(index)),
    ]),
  );
  const mapped = (ref: unknown) => ids.get(String(ref)) ?? String(ref);
  return template.map((task) => {
    const { user_id: _owner, ...rest } = task;
    const out: Task = { ...rest, id: ids.get(keyOf(task)) };
    if (!isRoot(task)) out.parent_id = mapped(task.parent_id);
    if (Array.isArray(task.dependencies))
      out.dependencies = task.dependencies.map((dep: unknown) => {
        if (!isRecord(dep)) return mapped(dep);
        const { name: _depName, ...kept } = dep;
        return { ...kept, id: mapped(dep.id ?? dep.name) };
      });
    if (isRoot(task)) {
      let merged = isRecord(task.inputs) ? safeMerge({}, task.inputs) : {};
      for (const layer of inputs) if (layer) merged = safeMerge(merged, layer);
      out.inputs = merged;
    }
    return out;
  });
}

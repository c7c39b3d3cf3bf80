// A tree's run, read from its event log: each task's segments in the tree's latest run (an attempt
// from its task_start to what ended it, the waits between), its attempts, and whether the run
// goes on. The log replays from its first event when a tree is opened, then grows live; a task
// the log has nothing of (pruned after engine.event_retention_s) falls back to its started_at
// and completed_at.

const ENDS = new Set(['task_completed', 'task_failed', 'task_cancelled']);

/** The run log of the tree shown: `add` each event in order, `lay(root)` for the rows. */
export function createRunLog() {
  let run = 0;
  let latest = -1;
  let ended = true;
  // How far the server's clock is ahead of the browser's: an open bar ends at the server's now.
  let skew = 0;
  let seen = new Set();
  let tasks = new Map();

  const entry = (id) => {
    let item = tasks.get(id);
    if (item?.run !== run) tasks.set(id, (item = { run, segments: [], attempts: 0, endedAt: null }));
    return item;
  };

  /** What the latest run says of task `id`, if anything. */
  const inLatest = (id) => (tasks.get(id)?.run === latest ? tasks.get(id) : undefined);
  /** The segments of `task` in the latest run, closed ones as they were, open ones ending `now`. */
  const own = (task, now) => {
    const item = inLatest(task.id);
    if (item) {
      return item.segments.map((seg) => ({ ...seg, end: seg.end ?? now, open: seg.end === null }));
    }
    if (seen.has(task.id) || !task.started_at) return [];
    const open = !task.completed_at && task.status === 'in_progress';
    const end = task.completed_at ?? (open ? now : task.updated_at);
    return [{ kind: 'run', start: Date.parse(task.started_at), end: open ? now : Date.parse(end), open }];
  };

  return {
    /** Forgets the log (another tree is shown). */
    reset() {
      [run, latest, ended, skew, seen, tasks] = [0, -1, true, 0, new Set(), new Map()];
    },
    /** Takes the next event of the tree's log (in seq order). */
    add(event) {
      const at = Date.parse(event.timestamp);
      if (Number.isNaN(at)) return;
      skew = Math.max(skew, at - Date.now());
      [latest, ended] = [run, event.type === 'final'];
      seen.add(event.task_id);
      const item = entry(event.task_id);
      const last = item.segments.at(-1);
      const current = last?.end === null ? last : undefined;
      if (event.type === 'task_start') {
        if (current) current.end = at;
        // Waking from a wait (an answer, a timer, spawned tasks) is not a new attempt; a retry is.
        if (current?.kind === 'run') current.failed = true;
        if (current?.kind !== 'wait' || current.wait === 'retry') item.attempts++;
        item.segments.push({ kind: 'run', start: at, end: null });
      } else if (event.type === 'progress' && event.status === 'pending' && current?.kind === 'run') {
        // A running attempt back to pending failed and waits for its retry.
        Object.assign(current, { end: at, failed: true });
        item.segments.push({ kind: 'wait', wait: 'retry', start: at, end: null });
      } else if (event.type === 'task_waiting') {
        if (current) current.end = at;
        item.segments.push({ kind: 'wait', wait: event.waiting?.kind ?? 'wait', start: at, end: null });
      } else if (ENDS.has(event.type)) {
        if (current) current.end = at;
        item.endedAt = at;
      } else if (event.type === 'final') {
        for (const other of tasks.values())
          for (const seg of other.segments) if (other.run === run && seg.end === null) seg.end = at;
        run++;
      }
    },
    /** Attempts of task `id` in the latest run (task_start events, wakes not counted). */
    attempts: (id) => inLatest(id)?.attempts ?? 0,
    /**
     * The rows of `root`'s tree (depth-first, as the tree view draws them), each with its segments
     * (times in ms): a parent waits for its children from the first of them starting to its own
     * start. `start` and `end` span them all; `live` while any segment is open.
     */
    lay(root) {
      const now = Date.now() + skew;
      const rows = [];
      const walk = (task, depth) => {
        const row = { task, depth, segments: own(task, now) };
        rows.push(row);
        const kids = (task.children ?? []).map((child) => walk(child, depth + 1)).filter((kid) => kid.segments.length);
        const first = Math.min(...kids.map((kid) => kid.start));
        const endedAt = inLatest(task.id)?.endedAt;
        const waits = !row.segments.length && !endedAt && !ended;
        const until = waits ? now : (row.segments[0]?.start ?? endedAt ?? Math.max(...kids.map((kid) => kid.end)));
        if (first < until)
          row.segments.unshift({ kind: 'wait', wait: 'children', start: first, end: until, open: waits });
        row.start = Math.min(...row.segments.map((seg) => seg.start));
        row.end = Math.max(...row.segments.map((seg) => seg.end));
        row.open = row.segments.some((seg) => seg.open);
        return row;
      };
      walk(root, 0);
      const drawn = rows.filter((row) => row.segments.length);
      return {
        rows,
        start: Math.min(...drawn.map((row) => row.start)),
        end: Math.max(...drawn.map((row) => row.end)),
        live: drawn.some((row) => row.open),
      };
    },
  };
}

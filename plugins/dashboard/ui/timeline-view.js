// The timeline (Gantt) of a tree, beside the tree view: a row per task in the tree view's order,
// names indented, and on a time axis each task's attempts as bars coloured by status (an attempt
// that failed and was retried in the failed colour) and its waits hatched (for a retry, an
// answer, a timer, the tasks it spawned, its children). While the tree runs, the axis ends at
// the server's now and open bars grow; rows are built once per tree shape and updated in place.
import { formatDuration } from './ui?asset=run-figures.js';

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 24;
const LABEL = 230;
const AXIS = 22;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const WAITS = {
  retry: 'waiting to retry',
  input: 'waiting for an answer',
  sleep: 'sleeping',
  children: 'waiting for its children',
};

const el = (name, attrs = {}) => {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
};
const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour12: false, fractionalSecondDigits: 3 });
/** A tick every 1, 2 or 5 × 10^k ms, about `count` of them over `span`. */
const tickStep = (span, count) => {
  const raw = span / count;
  const base = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * base).find((step) => step >= raw);
};
const tickLabel = (ms) =>
  ms === 0 ? '0' : ms >= 1000 && ms < 60_000 ? `${+(ms / 1000).toFixed(2)} s` : formatDuration(ms);

/**
 * A timeline in `container`: `lay(root)` gives its rows (run-log.js), `onSelect(id)` hears
 * clicks on a row. Drawn only while shown.
 */
export function createTimelineView(container, { lay, onSelect }) {
  let root = null;
  let rows = new Map();
  let svg = null;
  let axis = null;
  let shown = false;
  let selected = null;
  let frame = 0;
  let timer = 0;

  const build = () => {
    container.textContent = '';
    rows = new Map();
    const { rows: laid } = lay(root);
    svg = el('svg', { 'aria-label': 'timeline' });
    const hatch = el('pattern', {
      id: 'tl-hatch',
      width: 6,
      height: 6,
      patternUnits: 'userSpaceOnUse',
      patternTransform: 'rotate(45)',
    });
    hatch.append(
      el('rect', { width: 6, height: 6, class: 'hatch-bg' }),
      el('rect', { width: 2, height: 6, class: 'hatch' }),
    );
    const defs = el('defs');
    defs.append(hatch);
    axis = el('g', { class: 'axis' });
    svg.append(defs, axis);
    laid.forEach(({ task, depth }, i) => {
      const group = el('g', { class: 'row', 'data-id': task.id, transform: `translate(0 ${AXIS + i * ROW})` });
      const lane = el('rect', { class: 'lane', width: '100%', height: ROW });
      // Deep rows stop indenting: the names column has a width.
      const indent = Math.min(depth, 10);
      const name = el('text', { x: 6 + indent * 14, y: 16 });
      const room = 28 - indent * 2;
      name.textContent = task.name.length > room ? `${task.name.slice(0, room - 1)}…` : task.name;
      const title = el('title');
      const bars = el('g');
      group.append(lane, name, bars, title);
      group.addEventListener('click', () => onSelect(task.id));
      svg.append(group);
      rows.set(task.id, { group, bars, title });
    });
    svg.setAttribute('height', String(AXIS + laid.length * ROW + 6));
    container.append(svg);
    select(selected);
  };

  const draw = () => {
    frame = 0;
    clearTimeout(timer);
    if (!shown || !root) return;
    if (!svg) build();
    const began = performance.now();
    const { rows: laid, start, end, live } = lay(root);
    const width = Math.max(480, container.clientWidth - 4);
    svg.setAttribute('width', String(width));
    const plot = width - LABEL - 12;
    const span = Math.max(1, end - start);
    const x = (t) => LABEL + ((t - start) / span) * plot;
    axis.textContent = '';
    if (Number.isFinite(start)) {
      const step = tickStep(span, Math.max(2, Math.floor(plot / 90)));
      for (let at = 0; at <= span; at += step) {
        axis.append(el('line', { x1: x(start + at), x2: x(start + at), y1: AXIS - 4, y2: '100%' }));
        const label = el('text', { x: x(start + at) + 3, y: 13 });
        label.textContent = tickLabel(at);
        axis.append(label);
      }
    }
    for (const row of laid) {
      const node = rows.get(row.task.id);
      if (!node) continue;
      const status = row.task.status;
      const have = node.bars.children;
      row.segments.forEach((seg, i) => {
        const bar = have[i] ?? node.bars.appendChild(el('rect', { y: 4, height: ROW - 8, rx: 2 }));
        const shade = seg.failed ? 'failed' : TERMINAL.has(status) ? status : 'in_progress';
        const kind = seg.kind === 'run' ? `run s-${shade}` : `wait w-${seg.wait}`;
        bar.setAttribute('class', `seg ${kind}${seg.open ? ' open' : ''}`);
        bar.setAttribute('x', String(x(seg.start)));
        bar.setAttribute('width', String(Math.max(2, x(seg.end) - x(seg.start))));
        const what = seg.kind === 'run' ? (seg.failed ? 'attempt (failed, retried)' : 'attempt') : WAITS[seg.wait];
        const ends = seg.open ? 'now' : clock(seg.end);
        bar.dataset.tip = `${what ?? 'waiting'}: ${clock(seg.start)} → ${ends} (${formatDuration(seg.end - seg.start)})`;
      });
      while (have.length > row.segments.length) have[have.length - 1].remove();
      node.group.dataset.status = status;
      const took = row.segments.length ? `${clock(row.start)} → ${row.open ? 'now' : clock(row.end)}` : 'not run';
      const tips = [...have].map((bar) => bar.dataset.tip);
      node.title.textContent = [`${row.task.name} (${status}): ${took}`, ...tips].join('\n');
    }
    container.dataset.live = String(live);
    // Live: again on the clock, less often when a big tree's drawing takes longer.
    if (live) timer = setTimeout(changed, Math.max(250, 4 * (performance.now() - began)));
  };

  const changed = () => {
    if (shown) frame ||= requestAnimationFrame(draw);
  };
  const select = (id) => {
    rows.get(selected)?.group.classList.remove('selected');
    selected = id;
    rows.get(id)?.group.classList.add('selected');
  };
  addEventListener('resize', changed);

  return {
    /** Shows `tree` (a nested tree as `tasks.tree` gives it); its rows are built again when `reshaped`. */
    render(tree, reshaped = true) {
      root = tree;
      if (reshaped) svg = null;
      changed();
    },
    /** Something happened in the tree: drawn again on the next frame (when shown). */
    changed,
    /** Shows or hides the timeline. */
    show(on) {
      shown = on;
      container.hidden = !on;
      if (on) changed();
      else clearTimeout(timer);
    },
    select,
  };
}

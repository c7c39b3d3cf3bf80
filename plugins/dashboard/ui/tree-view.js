// The tree view: one SVG, a row per task (depth-first, parents above children), elbow lines from
// parents to children, dashed curves for dependencies, each node coloured by status with a
// progress bar. Live updates change a node's attributes in place (no redraw), batched per frame,
// so a tree of thousands stays smooth.

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 34;
const INDENT = 28;
const WIDTH = 220;
const HEIGHT = 26;

const el = (name, attrs = {}) => {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
};
// A waiting task's mark: a question, a timer, its spawned children.
const WAIT_MARKS = { input: '?', sleep: '◷', children: '⋯' };
const label = (task) => (task.name.length > 30 ? `${task.name.slice(0, 29)}…` : task.name);

/** A tree view in `container`; `onSelect(id)` hears clicks on nodes. */
export function createTreeView(container, onSelect) {
  let nodes = new Map();
  let pending = new Map();
  let frame = 0;
  let selected = null;

  const paint = () => {
    frame = 0;
    for (const [id, fields] of pending) {
      const node = nodes.get(id);
      if (!node) continue;
      if (fields.status) {
        node.box.setAttribute('class', `box s-${fields.status}`);
        node.group.dataset.status = fields.status;
      }
      if (typeof fields.warn === 'boolean') node.group.classList.toggle('warn', fields.warn);
      if (typeof fields.waiting === 'string') {
        if (fields.waiting) node.group.dataset.waiting = fields.waiting;
        else delete node.group.dataset.waiting;
        node.wait.textContent = WAIT_MARKS[fields.waiting] ?? '';
      }
      if (typeof fields.progress === 'number')
        node.bar.setAttribute('width', String(Math.round(WIDTH * Math.min(1, Math.max(0, fields.progress)))));
    }
    pending = new Map();
  };

  return {
    /** Draws `root` (a nested tree as `tasks.tree` gives it). */
    render(root) {
      container.textContent = '';
      nodes = new Map();
      const rows = [];
      const walk = (task, depth) => {
        rows.push({ task, depth });
        for (const child of task.children ?? []) walk(child, depth + 1);
      };
      walk(root, 0);
      const maxDepth = rows.reduce((max, row) => Math.max(max, row.depth), 0);
      const width = maxDepth * INDENT + WIDTH + 120;
      const svg = el('svg', { width, height: rows.length * ROW + 12, role: 'tree' });
      const edges = el('g');
      const deps = el('g');
      svg.append(edges, deps);
      const at = new Map();
      rows.forEach(({ task, depth }, i) => at.set(task.id, { x: 10 + depth * INDENT, y: 6 + i * ROW }));
      for (const { task } of rows) {
        const from = at.get(task.id);
        for (const child of task.children ?? []) {
          const to = at.get(child.id);
          edges.append(
            el('path', { class: 'edge', d: `M${from.x + 8} ${from.y + HEIGHT} V${to.y + HEIGHT / 2} H${to.x}` }),
          );
        }
        for (const dep of task.dependencies ?? []) {
          const source = at.get(typeof dep === 'string' ? dep : dep.id);
          if (!source) continue;
          const bend = 30 + Math.abs(from.y - source.y) / 8;
          const [x1, y1, x2, y2] = [source.x + WIDTH, source.y + HEIGHT / 2, from.x + WIDTH, from.y + HEIGHT / 2];
          deps.append(
            el('path', { class: 'dep', d: `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 + bend} ${y2} ${x2} ${y2}` }),
          );
        }
      }
      const boxes = el('g');
      for (const { task } of rows) {
        const { x, y } = at.get(task.id);
        const group = el('g', {
          class: 'node',
          transform: `translate(${x} ${y})`,
          'data-id': task.id,
          'data-status': task.status,
        });
        const box = el('rect', { class: `box s-${task.status}`, width: WIDTH, height: HEIGHT, rx: 4 });
        const bar = el('rect', {
          class: 'bar',
          y: HEIGHT - 4,
          height: 4,
          width: Math.round(WIDTH * (task.progress ?? 0)),
        });
        const text = el('text', { x: 8, y: 17 });
        text.textContent = label(task);
        const title = el('title');
        title.textContent = `${task.name} (${task.id})`;
        const wait = el('text', { class: 'wait', x: WIDTH - 18, y: 18 });
        if (task.waiting) {
          group.dataset.waiting = task.waiting.kind;
          wait.textContent = WAIT_MARKS[task.waiting.kind] ?? '';
        }
        group.append(box, bar, text, wait, title);
        // The root's mark, shown (class `warn`) when it completed with failed tasks under it.
        if (task.id === root.id)
          group.append(Object.assign(el('text', { class: 'mark', x: WIDTH - 18, y: 18 }), { textContent: '⚠' }));
        group.addEventListener('click', () => onSelect(task.id));
        boxes.append(group);
        nodes.set(task.id, { group, box, bar, wait });
      }
      svg.append(boxes);
      container.append(svg);
      if (selected) this.select(selected);
    },
    /** Sets a node's status, progress, warning mark and `waiting` kind ('' when not; painted on the next frame). */
    update(id, fields) {
      pending.set(id, { ...pending.get(id), ...fields });
      frame ||= requestAnimationFrame(paint);
    },
    /** Marks `id` as the selected node. */
    select(id) {
      nodes.get(selected)?.group.classList.remove('selected');
      selected = id;
      nodes.get(id)?.group.classList.add('selected');
    },
    has: (id) => nodes.has(id),
  };
}

import type { TaskPlace } from '../storage/queries/run-queries.ts';

/** Where the tasks of one run sit: parents, dependencies, dependents, and who is in the run. */
export interface TreeShape {
  parent: Map<string, string | null>;
  children: Map<string, string[]>;
  dependents: Map<string, { id: string; required: boolean }[]>;
  /** Required dependencies of each task (on tasks of the tree). */
  requires: Map<string, string[]>;
  /** Tasks of the run (its scope). */
  inRun: Set<string>;
}

/** Builds the shape of run `runId` from its tree's places. */
export function buildShape(places: readonly TaskPlace[], runId: string | null): TreeShape {
  const shape: TreeShape = {
    parent: new Map(),
    children: new Map(),
    dependents: new Map(),
    requires: new Map(),
    inRun: new Set(),
  };
  for (const place of places) {
    shape.parent.set(place.id, place.parent_id);
    if (runId !== null && place.run_id === runId) shape.inRun.add(place.id);
  }
  for (const place of places) {
    if (place.parent_id && shape.parent.has(place.parent_id)) {
      const list = shape.children.get(place.parent_id) ?? [];
      list.push(place.id);
      shape.children.set(place.parent_id, list);
    }
    for (const dep of place.dependencies ?? []) {
      if (!shape.parent.has(dep.id)) continue;
      const list = shape.dependents.get(dep.id) ?? [];
      list.push({ id: place.id, required: dep.required });
      shape.dependents.set(dep.id, list);
      if (dep.required) shape.requires.set(place.id, [...(shape.requires.get(place.id) ?? []), dep.id]);
    }
  }
  return shape;
}

/** `id` and its descendants, parents first. */
export function subtreeOf(shape: TreeShape, id: string): string[] {
  const out: string[] = [];
  for (const stack = [id]; stack.length > 0;) {
    const next = stack.pop() as string;
    out.push(next);
    stack.push(...(shape.children.get(next) ?? []));
  }
  return out;
}

/**
 * Shapes of recent runs, by root, run id and the root's `shape_rev`. The API refuses to edit a
 * running tree; only a spawn adds tasks to a run, and it bumps the root's `shape_rev`, so a
 * shape is read once per engine, run and spawn.
 */
export function createShapeCache(max = 256) {
  const shapes = new Map<string, TreeShape>();
  /** The shape of each run cached last (its revision may be behind the root's). */
  const latest = new Map<string, TreeShape>();
  const keep = (rootId: string, runId: string, rev: number, shape: TreeShape) => {
    shapes.set(`${rootId}\n${runId}\n${rev}`, shape);
    if (shapes.size > max) shapes.delete(shapes.keys().next().value as string);
    latest.delete(`${rootId}\n${runId}`);
    latest.set(`${rootId}\n${runId}`, shape);
    if (latest.size > max) latest.delete(latest.keys().next().value as string);
  };
  return {
    async get(
      rootId: string,
      runId: string,
      rev: number,
      load: () => Promise<readonly TaskPlace[]>,
    ): Promise<TreeShape> {
      let shape = shapes.get(`${rootId}\n${runId}\n${rev}`);
      if (!shape) keep(rootId, runId, rev, (shape = buildShape(await load(), runId)));
      return shape;
    },
    put: keep,
    /**
     * The run's shape cached last, whatever its revision: a guess made before the root's lock
     * says the revision (what a turn sends ahead is checked against the real shape).
     */
    latest: (rootId: string, runId: string): TreeShape | undefined => latest.get(`${rootId}\n${runId}`),
  };
}

/** A cache of run shapes. */
export type ShapeCache = ReturnType<typeof createShapeCache>;

import type { TreeOutcome } from './run-outcome.ts';

/** A run `execute` began. */
export interface ExecuteStarted {
  started: true;
  root_task_id: string;
  task_id: string;
  /**
   * The seq of this run's first event: follow the tree after `first_seq - 1` to see this run's
   * events and no earlier run's (`engine.follow(root_task_id, first_seq - 1, …)`).
   */
  first_seq: number;
  /** Settles with the outcome, wherever the last task ran. */
  done: Promise<TreeOutcome>;
}

/** `execute`'s answer when the tree is running already: nothing was begun. */
export interface AlreadyRunning {
  started: false;
  root_task_id: string;
  task_id: string;
}

/** What `execute` answers: the run it began, or that the tree is running already. */
export type ExecuteAnswer = ExecuteStarted | AlreadyRunning;

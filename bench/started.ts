import type { ExecuteAnswer, ExecuteStarted } from 'apflow';

/** The run `engine.execute` began; throws when the tree was running already (a bench bug). */
export function started(answer: ExecuteAnswer): ExecuteStarted {
  if (!answer.started) throw new Error(`Task ${answer.root_task_id} is already running`);
  return answer;
}

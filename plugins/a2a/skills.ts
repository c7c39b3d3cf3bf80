/** One apflow operation offered as an A2A skill (its id is the JSON-RPC method of /tasks). */
interface SkillInfo {
  id: string;
  name: string;
  description: string;
  tags: string[];
}

/**
 * The operations A2A messages can ask for (`metadata.method` or `metadata.skill_id`), as the
 * original listed them; the card shows those the tasks API serves. `tasks.execute` is the
 * default: a message whose data part holds `{"tasks": [...]}` creates and runs that tree.
 */
export const SKILLS: readonly SkillInfo[] = [
  {
    id: 'tasks.execute',
    name: 'Execute Task Tree',
    description:
      'Creates and runs a task tree sent as a data part {"tasks": [...]}; the result comes back as an artifact',
    tags: ['task', 'orchestration', 'workflow', 'execution'],
  },
  {
    id: 'tasks.create',
    name: 'Create Task Tree',
    description: 'Creates a task tree without running it',
    tags: ['task', 'create'],
  },
  { id: 'tasks.get', name: 'Get Task', description: 'Reads one task by task_id', tags: ['task', 'read'] },
  { id: 'tasks.update', name: 'Update Task', description: 'Changes fields of a task', tags: ['task', 'update'] },
  { id: 'tasks.delete', name: 'Delete Task', description: 'Deletes a task that has not run', tags: ['task', 'delete'] },
  {
    id: 'tasks.detail',
    name: 'Task Detail',
    description: 'Reads one task with all its fields',
    tags: ['task', 'read'],
  },
  {
    id: 'tasks.tree',
    name: 'Task Tree',
    description: 'Reads the whole tree of a task',
    tags: ['task', 'tree', 'read'],
  },
  { id: 'tasks.list', name: 'List Tasks', description: 'Lists root tasks, with filters', tags: ['task', 'list'] },
  { id: 'tasks.children', name: 'Task Children', description: 'Lists the children of a task', tags: ['task', 'read'] },
  {
    id: 'tasks.running.list',
    name: 'Running Tasks',
    description: 'Lists the trees running now',
    tags: ['task', 'running'],
  },
  {
    id: 'tasks.running.status',
    name: 'Running Status',
    description: 'Status of given tasks',
    tags: ['task', 'running'],
  },
  {
    id: 'tasks.running.count',
    name: 'Running Count',
    description: 'How many tasks run now',
    tags: ['task', 'running'],
  },
  {
    id: 'tasks.cancel',
    name: 'Cancel Tasks',
    description: 'Cancels tasks and their unfinished descendants',
    tags: ['task', 'cancel'],
  },
  {
    id: 'tasks.copy',
    name: 'Copy Task Tree',
    description: 'Copies a task tree so it can run again',
    tags: ['task', 'copy'],
  },
  {
    id: 'tasks.generate',
    name: 'Generate Task Tree',
    description: 'Turns a requirement into a task tree with an LLM (needs an LLM extension)',
    tags: ['task', 'generate', 'llm'],
  },
];

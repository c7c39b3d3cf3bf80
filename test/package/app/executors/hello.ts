import { defineExecutor, Type } from 'apflow';

export default defineExecutor({
  id: 'hello',
  description: 'greets inputs.name',
  inputSchema: Type.Object({ name: Type.String() }),
  execute: (inputs) => ({ greeting: `hello ${inputs.name}` }),
});

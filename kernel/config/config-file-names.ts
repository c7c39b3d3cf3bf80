/** File names looked for in the working directory, in this order, when none is given. */
export const configFileNames = [
  'apflow.config.ts',
  'apflow.config.mts',
  'apflow.config.js',
  'apflow.config.mjs',
  'apflow.config.json',
  'apflow.config.yaml',
  'apflow.config.yml',
] as const;

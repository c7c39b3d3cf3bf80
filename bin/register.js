// Lets Node load apflow's TypeScript sources and the user's TypeScript config, plugins and
// executors without a build step (tsx, for ES modules and CommonJS alike), and installs the
// loader hook that gives reloaded files a fresh copy of their local imports.
import 'tsx';
import { register } from 'node:module';

register('../kernel/internal/fresh-import-hooks.js', import.meta.url);

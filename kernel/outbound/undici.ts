import type * as Undici from 'undici';
import { lazyRequire } from '../internal/lazy-require.ts';

/** undici, read on the first outbound call (it is a megabyte of JavaScript that most starts never need). */
export const undici = lazyRequire<typeof Undici>('undici');

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';

/**
 * Writes a command's outcome to `file` (`-o FILE`). The work is done by then, so when the file
 * cannot be written the outcome goes to standard output instead, and the error names the file.
 */
export function writeOutputFile(file: string, text: string): void {
  try {
    writeFileSync(resolve(file), text);
  } catch (error) {
    process.stdout.write(text);
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `cannot write ${file}: ${errorMessage(error)} (the outcome is on standard output instead)`,
    });
  }
}

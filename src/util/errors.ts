/**
 * The project's typed errors: each says what was wrong and what would be right. Every layer throws them
 * (radio's device and SigMF errors extend DekagError too), so they live at the bottom, in util; the CLI
 * turns them into one line on stderr and an exit code (src/cli/main.ts).
 */

export class DekagError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A prompt that cannot be tokenized (unknown word, empty, too long). */
export class PromptError extends DekagError {
  constructor(message: string) {
    super(message, 'E_PROMPT');
  }
}

/** A model file that is missing, corrupt, or not the one the manifest describes. */
export class ModelFileError extends DekagError {
  constructor(message: string) {
    super(message, 'E_MODEL_FILE');
  }
}

/** Bad arguments or input files given to a command. */
export class UsageError extends DekagError {
  constructor(message: string) {
    super(message, 'E_USAGE');
  }
}

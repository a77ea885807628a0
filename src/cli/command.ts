import type { ParseArgsConfig } from 'node:util';

export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** One `flashtix` command: its help, its options, and what it does; resolves to the exit code. */
export type Command = {
  name: string;
  summary: string;
  help: string;
  options: CommandOptions;
  run(input: {
    values: Record<string, string | boolean | undefined>;
    positionals: string[];
  }): Promise<number>;
};

/** The error a command throws for a usage mistake: printed with the command's help, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

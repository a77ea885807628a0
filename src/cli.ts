#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { auditCommand } from './cli/auditCommand.js';
import { type Command, UsageError } from './cli/command.js';
import { demoCommand } from './cli/demo/demoCommand.js';
import { migrateCommand } from './cli/migrateCommand.js';
import { projectionsCommand } from './cli/projectionsCommand.js';
import { startCommand } from './cli/startCommand.js';
import { ConfigError } from './platform/config.js';

const commands: Command[] = [startCommand, migrateCommand, projectionsCommand, auditCommand, demoCommand];

const USAGE = `Usage: flashtix <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`).join('\n')}

Options:
  -h, --help   show help for a command

Configuration comes from environment variables; see README.md.`;

const main = async (argv: string[]): Promise<number> => {
  const name = argv[0];
  if (!name || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`flashtix: unknown command '${name}'\n\n${USAGE}`);
    return 1;
  }
  try {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(command.help);
      return 0;
    }
    return await command.run({ values, positionals });
  } catch (error) {
    // A mistake in the command line: say what, then how it is used.
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`flashtix ${name}: ${(error as Error).message}\n\n${command.help}`);
      return 1;
    }
    throw error;
  }
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`flashtix: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

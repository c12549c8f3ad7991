import { Command } from 'commander';
import { registerEvalCommand, registerRecommendBatchCommand } from './commands/index.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRoleCommands } from './commands/roles.js';
import { registerStartCommand } from './commands/start.js';

/**
 * The `kairos` command line. Each command lives in `commands/<name>.ts` and registers itself here;
 * commands (and src/main.ts) are the only code that reads process.env.
 */
export function createProgram(): Command {
  const program = new Command();
  program
    .name('kairos')
    .description('Real-time personalization engine: collect, stream, segment, recommend, serve.')
    .showHelpAfterError();
  registerStartCommand(program);
  registerReplayCommand(program);
  registerEvalCommand(program);
  registerRecommendBatchCommand(program);
  registerRoleCommands(program);
  return program;
}

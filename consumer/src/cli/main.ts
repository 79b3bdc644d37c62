// The `witness` command (see cli.ts for commands and exit codes). Kept apart
// from cli.ts so that importing runCli, as the tests do, runs nothing.
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// Exit once stdout has taken everything: a piped --json answer must arrive whole,
// and idle keep-alive sockets to Qdrant must not hold the process open.
process.stdout.write('', () => process.exit(code));

/**
 * Runs once before the suite. Integration tests start `node dist/cli.js`, so
 * the build must exist (`npm test` builds first).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
  if (!existsSync(cli)) {
    throw new Error(`${cli} is missing: run \`npm run build\` (or \`npm test\`, which builds first)`);
  }
}

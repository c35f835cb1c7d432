/**
 * Makes a reviewer's passwordHash for REVIEWERS_FILE (src/pas/reviewers.ts): reads the password
 * from standard input (one line) and prints the scrypt hash. `npm run reviewer:hash`, or `printf '%s' "$PASSWORD" | npm run -s reviewer:hash`.
 */
import { createInterface } from 'node:readline';
import { hashPassword } from '../src/pas/reviewers';

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Reviewer password (at least 12 characters): ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

readPassword()
  .then(async (password) => {
    process.stdout.write(`${await hashPassword(password)}\n`);
  })
  .catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });

/**
 * Fail closed: AUTH and SANDBOX accept exactly `on` or `off`; anything else refuses to start. The
 * sandbox (and its test fixtures) never starts with NODE_ENV=production.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { systemClock } from '../../src/core/clock';
import { ROOT } from '../../src/paths';
import { createSandbox } from '../../src/sandbox';
import { ClientRegistry } from '../../src/security/registry';

const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;

describe('AUTH and SANDBOX', () => {
  test.each([
    ['unset', {}, { auth: true, sandbox: true }],
    ['empty', { AUTH: '', SANDBOX: '' }, { auth: true, sandbox: true }],
    ['on', { AUTH: 'on', SANDBOX: 'on' }, { auth: true, sandbox: true }],
    ['off', { AUTH: 'off', SANDBOX: 'off' }, { auth: false, sandbox: false }],
  ])('%s', (_n, vars, expected) => {
    const config = loadConfig(env(vars));
    expect({ auth: config.auth, sandbox: config.sandbox }).toEqual(expected);
  });

  test.each(['false', '0', 'no', 'OFF', 'Off', 'true', '1', 'yes', ' off', 'disabled'])('"%s" is refused for both, naming the flag and the accepted values', (value) => {
    expect(() => loadConfig(env({ SANDBOX: value }))).toThrow(`SANDBOX must be "on" or "off" (got "${value}")`);
    expect(() => loadConfig(env({ AUTH: value }))).toThrow(`AUTH must be "on" or "off" (got "${value}")`);
  });

  test('NODE_ENV=production: the sandbox is off by default, and SANDBOX=on refuses to start', () => {
    const config = loadConfig(env({ NODE_ENV: 'production' }));
    expect({ production: config.production, sandbox: config.sandbox, auth: config.auth }).toEqual({ production: true, sandbox: false, auth: true });
    expect(() => loadConfig(env({ NODE_ENV: 'production', SANDBOX: 'on' }))).toThrow(/SANDBOX=on is refused with NODE_ENV=production/);
  });

  test('NODE_ENV=production: AUTH=off refuses to start (a development convenience)', () => {
    expect(() => loadConfig(env({ NODE_ENV: 'production', AUTH: 'off' }))).toThrow(/AUTH=off is refused with NODE_ENV=production/);
  });

  test('the sandbox refuses to start in production even if asked directly', async () => {
    const config = { ...loadConfig(env({ NODE_ENV: 'production', DATABASE_URL: ':memory:' })), sandbox: true };
    await expect(createSandbox(config, new ClientRegistry(config), [], systemClock)).rejects.toThrow(/NODE_ENV=production/);
  });

  test('the server refuses to start on an undocumented value, with a message', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'server.js')], {
      env: { ...process.env, SANDBOX: 'false', PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: ':memory:' }, encoding: 'utf8', timeout: 20_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SANDBOX must be \\"on\\" or \\"off\\" (got \\"false\\")');
  });
});

test('production never reads the test fixtures: only the sandbox (refused in production) names them', () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(path.join(dir, n)).isDirectory() ? files(path.join(dir, n)) : [path.join(dir, n)]));
  const readers = files(path.join(ROOT, 'src'))
    .filter((f) => /SCENARIO_DIR|test\/fixtures/.test(readFileSync(f, 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')))
    .map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
  expect(readers.sort()).toEqual(['src/paths.ts', 'src/sandbox/index.ts']);
});

/**
 * The service as `npm start` runs it (dist/src/server.js, built by `npm test`): SIGTERM and SIGINT are logged,
 * an open request is answered before the server closes, the audit store is closed, and the exit is clean.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
jest.setTimeout(60_000);

interface LogLine { msg: string; level: number; [k: string]: unknown }

async function runAndStop(signal: NodeJS.Signals, whileOpen?: (port: number) => Promise<number>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shutdown-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'server.js')], {
    env: { ...process.env, PORT: '0', SANDBOX: 'off', LOG_LEVEL: 'info', DATABASE_URL: path.join(dir, 'audit.sqlite'), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let buffer = '';
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, i)) as LogLine;
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (line.msg === 'listening') resolve(Number(line.port));
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const port = await listening;
    const pending = whileOpen?.(port);
    if (pending) await new Promise((r) => setTimeout(r, 100)); // the request is in flight
    child.kill(signal);
    const status = pending ? await pending : undefined;
    return { code: await exited, lines, status };
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

it.each(['SIGTERM', 'SIGINT'] as NodeJS.Signals[])('%s: logs that it stops, closes server and store, logs when done, exits 0', async (signal) => {
  const { code, lines } = await runAndStop(signal);
  expect(code).toBe(0);
  const msgs = lines.map((l) => l.msg);
  const stopping = msgs.findIndex((m) => m.startsWith('stopping'));
  expect(stopping).toBeGreaterThan(msgs.indexOf('listening'));
  expect(lines[stopping]).toMatchObject({ signal });
  expect(msgs.indexOf('stopped')).toBeGreaterThan(stopping);
  expect(lines.find((l) => l.msg === 'stopped')).toMatchObject({ signal, shutdownMs: expect.any(Number) });
});

it('answers a request that is open when SIGTERM arrives', async () => {
  // A slow request body keeps the request open across the signal.
  const { code, status } = await runAndStop('SIGTERM', (port) => new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/cds-services/crd-order-sign', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write('{"hook": ');
    setTimeout(() => req.end('"order-sign"}'), 500);
  }));
  expect(status).toBeGreaterThanOrEqual(400); // an invalid hook call, answered (not dropped) while stopping
  expect(status).toBeLessThan(500);
  expect(code).toBe(0);
});

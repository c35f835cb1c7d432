/**
 * The audit store engines a store test runs on: SQLite always, and PostgreSQL when TEST_DATABASE_URL names a
 * database (.ci/run starts PostgreSQL and sets it). Each PostgreSQL store gets a schema of its own, so runs and
 * tests never see each other's rows. Without PostgreSQL the skip is said in the test output, not only counted:
 * a green run without it has not tested it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openAuditStore } from '../../src/audit/open';
import type { AuditStore } from '../../src/audit/store';

export type StoreEngine = [name: string, open: () => Promise<AuditStore>];

/** The engines to run `what` (e.g. "audit store") on; registers a visible skip when PostgreSQL is not configured. */
export function storeEngines(what: string): StoreEngine[] {
  const engines: StoreEngine[] = [['sqlite', async () => openAuditStore(path.join(mkdtempSync(path.join(tmpdir(), 'store-')), 'audit.sqlite'))]];
  const pgUrl = process.env.TEST_DATABASE_URL;
  if (pgUrl) {
    engines.push(['postgres', async () => openAuditStore(pgUrl, { schema: await freshSchema(pgUrl) })]);
  } else {
    console.warn(
      `PostgreSQL ${what} tests SKIPPED: TEST_DATABASE_URL is not set. To run them against a local server:\n` +
        '  TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DATABASE npm test\n' +
        '(the user needs CREATE on that database: each run makes its own schema). .ci/run starts PostgreSQL and sets it.',
    );
    it.skip(`PostgreSQL ${what} (set TEST_DATABASE_URL to run it)`, () => undefined);
  }
  return engines;
}

/** A new, empty schema in the database at `url`. */
export async function freshSchema(url: string): Promise<string> {
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await c.end();
  }
  return schema;
}

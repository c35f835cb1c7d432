import { PostgresAuditStore } from './postgres';
import { SqliteAuditStore } from './sqlite';
import type { AuditStore } from './store';
import type { Clock } from '../core/clock';

/** Opens the audit store named by DATABASE_URL (postgres://... or a SQLite path) and runs its migrations. */
export async function openAuditStore(databaseUrl: string, options: { schema?: string; clock?: Clock } = {}): Promise<AuditStore> {
  const store = /^postgres(ql)?:\/\//.test(databaseUrl) ? new PostgresAuditStore(databaseUrl, options.schema, options.clock) : new SqliteAuditStore(databaseUrl.replace(/^sqlite:/, ''), options.clock);
  await store.migrate();
  return store;
}

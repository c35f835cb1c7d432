import { PostgresAuditStore } from './postgres';
import { SqliteAuditStore } from './sqlite';
import type { AuditStore } from './store';

/** Opens the audit store named by DATABASE_URL (postgres://... or a SQLite path) and runs its migrations. */
export async function openAuditStore(databaseUrl: string, options: { schema?: string } = {}): Promise<AuditStore> {
  const store = /^postgres(ql)?:\/\//.test(databaseUrl) ? new PostgresAuditStore(databaseUrl, options.schema) : new SqliteAuditStore(databaseUrl.replace(/^sqlite:/, ''));
  await store.migrate();
  return store;
}

/**
 * A small SQL runner over the audit store's connection, for stores of their own tables (the prior
 * authorization records of src/pas): the SQLite and PostgreSQL differences live here and nowhere
 * else. SQL is written once with `?` placeholders (turned into `$n` for PostgreSQL), booleans as
 * 0/1 integers, JSON as text.
 *
 * Writes go through `atomic`: a list of statements run in one transaction, each with an optional
 * number of rows it must change (an optimistic-concurrency guard: `UPDATE ... WHERE version = ?`
 * expecting 1). No application code runs between the statements, so on SQLite (one connection,
 * synchronous driver) nothing of another request can slip into the transaction.
 */
import type Database from 'libsql';
import type { Pool } from 'pg';

export interface SqlStep {
  sql: string;
  params?: unknown[];
  /** The number of rows the statement must change; otherwise the transaction is rolled back with SqlExpectationFailed. */
  expectChanges?: number;
}

/** A unique constraint refused a row (a concurrent or repeated insert). */
export class SqlUniqueViolation extends Error {
  override readonly name = 'SqlUniqueViolation';
}

/** A statement of an atomic write changed another number of rows than it expected (someone else changed them first). */
export class SqlExpectationFailed extends Error {
  override readonly name = 'SqlExpectationFailed';
  constructor(readonly step: number, readonly expected: number, readonly changed: number) {
    super(`statement ${step} changed ${changed} row(s), not ${expected}`);
  }
}

export interface SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs the steps in one transaction and returns the rows each changed; all or nothing. */
  atomic(steps: SqlStep[]): Promise<number[]>;
}

export class SqliteRunner implements SqlRunner {
  readonly dialect = 'sqlite' as const;
  constructor(private readonly db: Database.Database) {}

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.prepare(sql).all(...params) as T[];
  }

  async atomic(steps: SqlStep[]): Promise<number[]> {
    const run = this.db.transaction(() => steps.map((step, i) => {
      const changes = Number(this.db.prepare(step.sql).run(...(step.params ?? [])).changes);
      if (step.expectChanges !== undefined && changes !== step.expectChanges) throw new SqlExpectationFailed(i, step.expectChanges, changes);
      return changes;
    }));
    try {
      return run();
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new SqlUniqueViolation((e as Error).message);
      throw e;
    }
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (the SQL of these stores has no `?` inside literals). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export class PostgresRunner implements SqlRunner {
  readonly dialect = 'postgres' as const;
  constructor(private readonly pool: Pool) {}

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(numbered(sql), params)).rows as T[];
  }

  async atomic(steps: SqlStep[]): Promise<number[]> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const counts: number[] = [];
      for (const [i, step] of steps.entries()) {
        const changes = (await c.query(numbered(step.sql), step.params ?? [])).rowCount ?? 0;
        if (step.expectChanges !== undefined && changes !== step.expectChanges) throw new SqlExpectationFailed(i, step.expectChanges, changes);
        counts.push(changes);
      }
      await c.query('COMMIT');
      return counts;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      if ((e as { code?: string }).code === '23505') throw new SqlUniqueViolation((e as Error).message);
      throw e;
    } finally {
      c.release();
    }
  }
}

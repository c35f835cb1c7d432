/** The audit store on PostgreSQL, shared by several service instances. Migrations run under an advisory lock. */
import { randomUUID } from 'node:crypto';
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';
import { Pool } from 'pg';
import {
  MIGRATIONS, rowToAssertion, rowToDtrEvent, rowToHookCall,
  type AuditStore, type CoverageAssertionRecord, type DtrEventRecord, type FeedbackRecord, type HookCallRecord,
} from './store';
import { PostgresRunner, type SqlRunner } from './sql';
import { epochSeconds, systemClock, type Clock } from '../core/clock';
import { GroupCommit, type GroupCommitStats, type Outcome } from './group-commit';
import { ownerCondition, type Reader } from '../security/principal';

const MIGRATION_LOCK = 4_242_017;

type HookWrite = [HookCallRecord, CoverageAssertionRecord[]];
type JtiClaim = { iss: string; jti: string; exp: number; aud?: string };


/**
 * The calls of a batch and their assertions in one statement (one round trip, one commit): a call whose
 * client already has an answer for the same hookInstance and request digest is not inserted (a retry:
 * 'duplicate'), nor are its assertions. Returns the request ids inserted.
 */
function hookBatchSql(items: HookWrite[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const row = (cells: unknown[], casts: string[]) => `(${cells.map((c, i) => `$${values.push(c)}${casts[i] ?? ''}`).join(', ')})`;
  const hookCasts = ['', '', '', '', '', '', '', '::real', '::integer', '', ''];
  const hooks = items.map(([c]) => row([c.requestId, c.hookInstance, c.serviceId, c.clientIss ?? '', c.patientId, JSON.stringify(c.orderIds),
    c.receivedAt, c.durationMs, c.status, JSON.stringify(c.response), c.requestHash], hookCasts));
  const assertions = items.flatMap(([c, list]) => list.map((x) => row([x.assertionId, x.orderRef, c.requestId, x.coverageRef, JSON.stringify(x.extension), x.issuedAt], [])));
  const text = `WITH calls (request_id, hook_instance, service_id, client_iss, patient_id, order_ids, received_at, duration_ms, status, response, request_hash) AS (VALUES ${hooks.join(', ')}),
    inserted AS (
      INSERT INTO hook_calls (request_id, hook_instance, service_id, client_iss, patient_id, order_ids, received_at, duration_ms, status, response, request_hash)
      SELECT * FROM calls
      ON CONFLICT (client_iss, hook_instance, request_hash) WHERE status = 200 DO NOTHING
      RETURNING request_id)${assertions.length ? `,
    assertions AS (
      INSERT INTO coverage_assertions (assertion_id, order_ref, request_id, coverage_ref, extension, issued_at)
      SELECT a.* FROM (VALUES ${assertions.join(', ')}) AS a (assertion_id, order_ref, request_id, coverage_ref, extension, issued_at)
      WHERE a.request_id IN (SELECT request_id FROM inserted))` : ''}
    SELECT request_id FROM inserted`;
  return { text, values };
}

export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  /** Hook calls are group-committed: the calls answered together go in one statement, one commit. */
  private readonly hooks = new GroupCommit<HookWrite, 'recorded' | 'duplicate'>((items) => this.writeHooks(items));
  private readonly claims = new GroupCommit<JtiClaim, boolean>((items) => this.writeClaims(items));
  private runner: SqlRunner | undefined;

  /** `clock` stamps every record (the services' Clock). */
  constructor(url: string, schema?: string, private readonly clock: Clock = systemClock) {
    this.pool = new Pool({ connectionString: url, max: 10, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  }

  async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      const applied = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (applied.has(i + 1)) continue;
        await c.query('BEGIN');
        try {
          await c.query(sql);
          await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, this.clock.now().toISOString()]);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      c.release();
    }
  }

  recordHook(call: HookCallRecord, assertions: CoverageAssertionRecord[]): Promise<'recorded' | 'duplicate'> {
    return this.hooks.submit([call, assertions]);
  }

  /** How many hook records were written and in how many commits (group commit at work). */
  writeStats(): GroupCommitStats {
    return this.hooks.stats();
  }

  /** A batch in one statement; it fails as a whole (then GroupCommit writes each call on its own). */
  private async writeHooks(items: HookWrite[]): Promise<Outcome<'recorded' | 'duplicate'>[]> {
    const inserted = new Set((await this.pool.query(hookBatchSql(items))).rows.map((r: { request_id: string }) => r.request_id));
    return items.map(([call]) => ({ ok: true, value: inserted.has(call.requestId) ? 'recorded' : 'duplicate' }));
  }

  async recordDtrEvent(e: DtrEventRecord): Promise<void> {
    await this.pool.query('INSERT INTO dtr_events (id, kind, client_id, patient_id, detail, at) VALUES ($1, $2, $3, $4, $5, $6)',
      [randomUUID(), e.kind, e.clientId, e.patientId, JSON.stringify(e.detail), this.clock.now().toISOString()]);
  }

  async recordFeedback(f: FeedbackRecord): Promise<void> {
    await this.pool.query('INSERT INTO feedback (id, service_id, client_iss, card_uuid, outcome, body, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [randomUUID(), f.serviceId, f.clientIss, f.cardUuid, f.outcome, JSON.stringify(f.body), this.clock.now().toISOString()]);
  }

  /** Claims of JWT ids are group-committed too: the expiry sweep and the claims made together in one statement. */
  claimJti(iss: string, jti: string, exp: number, aud?: string): Promise<boolean> {
    return this.claims.submit({ iss, jti, exp, aud });
  }

  private async writeClaims(items: JtiClaim[]): Promise<Outcome<boolean>[]> {
    const values: unknown[] = [epochSeconds(this.clock) - 3600];
    const rows = items.map((c) => `($${values.push(c.iss)}, $${values.push(c.jti)}, $${values.push(c.exp)}::bigint, $${values.push(c.aud ?? null)})`);
    const r = await this.pool.query(
      `WITH swept AS (DELETE FROM jti_seen WHERE exp < $1)
       INSERT INTO jti_seen (iss, jti, exp, aud) VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING RETURNING iss, jti`,
      values,
    );
    // A pair claimed twice in one batch: the first claim holds it, the second finds it taken.
    const claimed = new Set(r.rows.map((x: { iss: string; jti: string }) => JSON.stringify([x.iss, x.jti])));
    return items.map((c) => {
      const key = JSON.stringify([c.iss, c.jti]);
      const first = claimed.delete(key);
      return { ok: true, value: first };
    });
  }

  async findJti(iss: string, jti: string) {
    const r = (await this.pool.query('SELECT exp, aud FROM jti_seen WHERE iss = $1 AND jti = $2', [iss, jti])).rows[0] as { exp: string | number; aud: string | null } | undefined;
    return r ? { exp: Number(r.exp), aud: r.aud } : undefined;
  }

  async findHookCalls(hookInstance: string): Promise<HookCallRecord[]> {
    return (await this.pool.query('SELECT * FROM hook_calls WHERE hook_instance = $1 ORDER BY received_at', [hookInstance])).rows.map(rowToHookCall);
  }

  async findAnsweredCall(clientIss: string | null, hookInstance: string, requestHash: string | null) {
    const r = (await this.pool.query('SELECT * FROM hook_calls WHERE client_iss = $1 AND hook_instance = $2 AND request_hash IS NOT DISTINCT FROM $3 AND status = 200', [clientIss ?? '', hookInstance, requestHash])).rows[0];
    return r ? rowToHookCall(r) : undefined;
  }

  async findAssertion(assertionId: string) {
    const rows = (await this.pool.query('SELECT * FROM coverage_assertions WHERE assertion_id = $1', [assertionId])).rows.map(rowToAssertion);
    if (rows.length === 0) return undefined;
    const call = (await this.pool.query('SELECT * FROM hook_calls WHERE request_id = $1', [rows[0].requestId])).rows[0];
    return { assertions: rows, call: call ? rowToHookCall(call) : undefined };
  }

  async findLatestOrderAssertion(clientIss: string, patientId: string, orderRef: string) {
    const a = (await this.pool.query(
      `SELECT a.* FROM coverage_assertions a JOIN hook_calls h ON h.request_id = a.request_id
       WHERE a.order_ref = $1 AND h.client_iss = $2 AND h.patient_id = $3 AND h.status = 200 ORDER BY a.issued_at DESC LIMIT 1`,
      [orderRef, clientIss, patientId],
    )).rows[0];
    if (!a) return undefined;
    const assertion = rowToAssertion(a);
    const call = (await this.pool.query('SELECT * FROM hook_calls WHERE request_id = $1', [assertion.requestId])).rows[0];
    return { assertion, call: rowToHookCall(call) };
  }

  async countHookCalls(): Promise<number> {
    return Number((await this.pool.query('SELECT COUNT(*) AS n FROM hook_calls')).rows[0].n);
  }

  async recentDtrEvents(kind: DtrEventRecord['kind'], limit: number) {
    return (await this.pool.query('SELECT * FROM dtr_events WHERE kind = $1 ORDER BY at DESC LIMIT $2', [kind, limit])).rows.map(rowToDtrEvent);
  }

  async saveResponse(response: QuestionnaireResponse, determination: Parameters, owner: string): Promise<string> {
    const id = randomUUID();
    const stored = { ...response, id, meta: { ...response.meta, versionId: '1', lastUpdated: this.clock.now().toISOString() } };
    await this.pool.query('INSERT INTO questionnaire_responses (id, patient_id, response, determination, created_at, client_id) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, response.subject?.reference ?? null, JSON.stringify(stored), JSON.stringify(determination), this.clock.now().toISOString(), owner]);
    return id;
  }

  async getResponse(id: string, reader: Reader) {
    const owned = ownerCondition(reader, 'client_id', (n) => `$${n}`, 2);
    const r = (await this.pool.query(`SELECT response, determination FROM questionnaire_responses WHERE id = $1 AND ${owned.sql}`, [id, ...owned.params])).rows[0];
    return r ? { response: JSON.parse(r.response) as QuestionnaireResponse, determination: JSON.parse(r.determination) as Parameters } : undefined;
  }

  async logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[], clientId: string | null = null): Promise<void> {
    await this.recordDtrEvent({ kind: 'questionnaire-errors', clientId, patientId: null, detail: { questionnaires, outcomes } });
  }

  sql(): SqlRunner {
    return (this.runner ??= new PostgresRunner(this.pool));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

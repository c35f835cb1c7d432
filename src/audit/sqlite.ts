/**
 * The audit store on SQLite: WAL journal with full sync, so a committed write survives a crash.
 * The driver is libsql (better-sqlite3's API over libSQL, SQLite's open fork, same file format), which
 * ships prebuilt binaries as npm packages: nothing is compiled at install time.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'libsql';
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';
import {
  MIGRATIONS, rowToAssertion, rowToDtrEvent, rowToHookCall,
  type AuditStore, type CoverageAssertionRecord, type DtrEventRecord, type FeedbackRecord, type HookCallRecord,
} from './store';
import { SqliteRunner, type SqlRunner } from './sql';
import { epochSeconds, systemClock, type Clock } from '../core/clock';
import { GroupCommit, type GroupCommitStats, type Outcome } from './group-commit';
import { ownerCondition, type Reader } from '../security/principal';

type HookWrite = [HookCallRecord, CoverageAssertionRecord[]];
type JtiClaim = { iss: string; jti: string; exp: number; aud?: string };

/** A hook call's row; the answered index (one 200 per client, hookInstance and request digest) makes a retry's row 'duplicate'. */
const INSERT_HOOK = `INSERT INTO hook_calls (request_id, hook_instance, service_id, client_iss, patient_id, order_ids, received_at, duration_ms, status, response, request_hash)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (client_iss, hook_instance, request_hash) WHERE status = 200 DO NOTHING`;
const INSERT_ASSERTION = 'INSERT INTO coverage_assertions (assertion_id, order_ref, request_id, coverage_ref, extension, issued_at) VALUES (?, ?, ?, ?, ?, ?)';

export class SqliteAuditStore implements AuditStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  /** Hook calls are group-committed: one transaction, one sync to disk, for the calls answered together. */
  private readonly hooks = new GroupCommit<HookWrite, 'recorded' | 'duplicate'>(async (items) => this.writeHooks(items));
  private readonly claims = new GroupCommit<JtiClaim, boolean>(async (items) => this.writeClaims(items));
  /** Statements prepared once (after the migrations), by their SQL. */
  private readonly statements = new Map<string, Database.Statement>();
  private runner: SqlRunner | undefined;

  /** `clock` stamps every record (the services' Clock). */
  constructor(file: string, private readonly clock: Clock = systemClock) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').all().map((r) => (r as { version: number }).version));
    const apply = this.db.transaction((version: number, sql: string) => {
      this.db.exec(sql);
      this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, this.clock.now().toISOString());
    });
    MIGRATIONS.forEach((sql, i) => {
      if (!applied.has(i + 1)) apply(i + 1, sql);
    });
  }

  recordHook(call: HookCallRecord, assertions: CoverageAssertionRecord[]): Promise<'recorded' | 'duplicate'> {
    return this.hooks.submit([call, assertions]);
  }

  /** How many hook records were written and in how many commits (group commit at work). */
  writeStats(): GroupCommitStats {
    return this.hooks.stats();
  }

  /** One transaction for the batch; each call with its assertions in a savepoint, so that one that fails is rolled back alone. */
  private writeHooks(items: HookWrite[]): Outcome<'recorded' | 'duplicate'>[] {
    const hook = this.stmt(INSERT_HOOK);
    const assertion = this.stmt(INSERT_ASSERTION);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = items.map(([call, assertions]): Outcome<'recorded' | 'duplicate'> => {
        this.db.exec('SAVEPOINT hook_call');
        try {
          const inserted = hook.run(call.requestId, call.hookInstance, call.serviceId, call.clientIss ?? '', call.patientId, JSON.stringify(call.orderIds),
            call.receivedAt, call.durationMs, call.status, JSON.stringify(call.response), call.requestHash).changes === 1;
          if (inserted) {
            for (const x of assertions) assertion.run(x.assertionId, x.orderRef, call.requestId, x.coverageRef, JSON.stringify(x.extension), x.issuedAt);
          }
          this.db.exec('RELEASE hook_call');
          return { ok: true, value: inserted ? 'recorded' : 'duplicate' };
        } catch (error) {
          this.db.exec('ROLLBACK TO hook_call');
          this.db.exec('RELEASE hook_call');
          return { ok: false, error };
        }
      });
      this.db.exec('COMMIT');
      return outcomes;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async recordDtrEvent(e: DtrEventRecord): Promise<void> {
    this.stmt('INSERT INTO dtr_events (id, kind, client_id, patient_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(randomUUID(), e.kind, e.clientId, e.patientId, JSON.stringify(e.detail), this.clock.now().toISOString());
  }

  async recordFeedback(f: FeedbackRecord): Promise<void> {
    this.stmt('INSERT INTO feedback (id, service_id, client_iss, card_uuid, outcome, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(randomUUID(), f.serviceId, f.clientIss, f.cardUuid, f.outcome, JSON.stringify(f.body), this.clock.now().toISOString());
  }

  /** Claims of JWT ids are group-committed too: one transaction (the expiry sweep and the claims) for those made together. */
  claimJti(iss: string, jti: string, exp: number, aud?: string): Promise<boolean> {
    return this.claims.submit({ iss, jti, exp, aud });
  }

  private writeClaims(items: JtiClaim[]): Outcome<boolean>[] {
    const insert = this.stmt('INSERT INTO jti_seen (iss, jti, exp, aud) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.stmt('DELETE FROM jti_seen WHERE exp < ?').run(epochSeconds(this.clock) - 3600);
      const outcomes = items.map((c): Outcome<boolean> => ({ ok: true, value: insert.run(c.iss, c.jti, c.exp, c.aud ?? null).changes === 1 }));
      this.db.exec('COMMIT');
      return outcomes;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async findJti(iss: string, jti: string) {
    const r = this.stmt('SELECT exp, aud FROM jti_seen WHERE iss = ? AND jti = ?').get(iss, jti) as { exp: number; aud: string | null } | undefined;
    return r ? { exp: Number(r.exp), aud: r.aud } : undefined;
  }

  async findHookCalls(hookInstance: string): Promise<HookCallRecord[]> {
    return this.stmt('SELECT * FROM hook_calls WHERE hook_instance = ? ORDER BY received_at').all(hookInstance).map((r) => rowToHookCall(r as Record<string, unknown>));
  }

  async findAnsweredCall(clientIss: string | null, hookInstance: string, requestHash: string | null) {
    const r = this.stmt('SELECT * FROM hook_calls WHERE client_iss = ? AND hook_instance = ? AND request_hash IS ? AND status = 200').get(clientIss ?? '', hookInstance, requestHash);
    return r ? rowToHookCall(r as Record<string, unknown>) : undefined;
  }

  async findAssertion(assertionId: string) {
    const rows = this.stmt('SELECT * FROM coverage_assertions WHERE assertion_id = ?').all(assertionId).map((r) => rowToAssertion(r as Record<string, unknown>));
    if (rows.length === 0) return undefined;
    const call = this.stmt('SELECT * FROM hook_calls WHERE request_id = ?').get(rows[0].requestId) as Record<string, unknown> | undefined;
    return { assertions: rows, call: call ? rowToHookCall(call) : undefined };
  }

  async findLatestOrderAssertion(clientIss: string, patientId: string, orderRef: string) {
    const a = this.db.prepare(
      `SELECT a.* FROM coverage_assertions a JOIN hook_calls h ON h.request_id = a.request_id
       WHERE a.order_ref = ? AND h.client_iss = ? AND h.patient_id = ? AND h.status = 200 ORDER BY a.issued_at DESC LIMIT 1`,
    ).get(orderRef, clientIss, patientId) as Record<string, unknown> | undefined;
    if (!a) return undefined;
    const assertion = rowToAssertion(a);
    const call = this.db.prepare('SELECT * FROM hook_calls WHERE request_id = ?').get(assertion.requestId) as Record<string, unknown>;
    return { assertion, call: rowToHookCall(call) };
  }

  async countHookCalls(): Promise<number> {
    return (this.stmt('SELECT COUNT(*) AS n FROM hook_calls').get() as { n: number }).n;
  }

  async recentDtrEvents(kind: DtrEventRecord['kind'], limit: number) {
    return this.stmt('SELECT * FROM dtr_events WHERE kind = ? ORDER BY at DESC LIMIT ?').all(kind, limit).map((r) => rowToDtrEvent(r as Record<string, unknown>));
  }

  async saveResponse(response: QuestionnaireResponse, determination: Parameters, owner: string): Promise<string> {
    const id = randomUUID();
    const stored = { ...response, id, meta: { ...response.meta, versionId: '1', lastUpdated: this.clock.now().toISOString() } };
    this.stmt('INSERT INTO questionnaire_responses (id, patient_id, response, determination, created_at, client_id) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, response.subject?.reference ?? null, JSON.stringify(stored), JSON.stringify(determination), this.clock.now().toISOString(), owner);
    return id;
  }

  async getResponse(id: string, reader: Reader) {
    const owned = ownerCondition(reader, 'client_id', () => '?', 2);
    const r = this.stmt(`SELECT response, determination FROM questionnaire_responses WHERE id = ? AND ${owned.sql}`).get(id, ...owned.params) as { response: string; determination: string } | undefined;
    return r ? { response: JSON.parse(r.response) as QuestionnaireResponse, determination: JSON.parse(r.determination) as Parameters } : undefined;
  }

  async logQuestionnaireErrors(questionnaires: string[], outcomes: OperationOutcome[], clientId: string | null = null): Promise<void> {
    await this.recordDtrEvent({ kind: 'questionnaire-errors', clientId, patientId: null, detail: { questionnaires, outcomes } });
  }

  sql(): SqlRunner {
    return (this.runner ??= new SqliteRunner(this.db));
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * The audit store: every hook call and its response, every coverage assertion, DTR packages,
 * populations, determinations and stored responses, feedback, and JWT ids already used. SQLite
 * (embedded default) and PostgreSQL (several instances) implement the same interface and the same
 * migrations. Writes complete before the caller answers its client; hook calls answered at the same
 * time are committed together (group commit), each still durable before its answer.
 */
import type { OperationOutcome, Parameters, QuestionnaireResponse } from 'fhir/r4';
import type { DtrStore } from '../dtr/store';
import type { GroupCommitStats } from './group-commit';
import type { SqlRunner } from './sql';

export interface HookCallRecord {
  requestId: string;
  hookInstance: string;
  serviceId: string;
  clientIss: string | null;
  patientId: string | null;
  orderIds: string[];
  receivedAt: string;
  durationMs: number;
  status: number;
  response: unknown;
  /** SHA-256 of the request body: a retry of the same call is answered from the record. */
  requestHash: string | null;
}

export interface CoverageAssertionRecord {
  assertionId: string;
  orderRef: string;
  coverageRef: string;
  /** The coverage-information extension as issued. */
  extension: unknown;
  issuedAt: string;
}

export interface DtrEventRecord {
  kind: 'package' | 'population' | 'next-question' | 'determination' | 'response' | 'questionnaire-errors';
  clientId: string | null;
  patientId: string | null;
  detail: unknown;
}

export interface FeedbackRecord {
  serviceId: string;
  clientIss: string | null;
  cardUuid: string;
  outcome: string;
  body: unknown;
}

export interface AuditStore extends DtrStore {
  readonly kind: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  /**
   * Records a hook call with its assertions, atomically. 'duplicate' when this client already got an
   * answer for the same hookInstance and the same request (body digest): a retry.
   */
  recordHook(call: HookCallRecord, assertions: CoverageAssertionRecord[]): Promise<'recorded' | 'duplicate'>;
  /** Hook records written and the commits they took: calls answered together share one (src/audit/group-commit.ts). */
  writeStats(): GroupCommitStats;
  recordDtrEvent(event: DtrEventRecord): Promise<void>;
  recordFeedback(feedback: FeedbackRecord): Promise<void>;
  /** Claims a JWT id for an issuer until `exp` (for audience `aud`); false when it was already used (replay). */
  claimJti(iss: string, jti: string, exp: number, aud?: string): Promise<boolean>;
  findJti(iss: string, jti: string): Promise<{ exp: number; aud: string | null } | undefined>;
  findHookCalls(hookInstance: string): Promise<HookCallRecord[]>;
  /** The answered (200) call of a client for a hookInstance and request digest, if any. */
  findAnsweredCall(clientIss: string | null, hookInstance: string, requestHash: string | null): Promise<HookCallRecord | undefined>;
  findAssertion(assertionId: string): Promise<{ assertions: CoverageAssertionRecord[]; call: HookCallRecord | undefined } | undefined>;
  /**
   * The latest coverage assertion this service issued for an order (`MedicationRequest/<id>`) of a patient in a
   * CDS client's answered hook calls, with that call: its response holds the order as the client sent it.
   */
  findLatestOrderAssertion(clientIss: string, patientId: string, orderRef: string): Promise<{ assertion: CoverageAssertionRecord; call: HookCallRecord } | undefined>;
  countHookCalls(): Promise<number>;
  /** The most recent DTR events of a kind (newest first). */
  recentDtrEvents(kind: DtrEventRecord['kind'], limit: number): Promise<(DtrEventRecord & { at: string })[]>;
  /** The store's connection for stores of their own tables (src/pas/store.ts): one dialect-neutral runner. */
  sql(): SqlRunner;
  close(): Promise<void>;
}

/** One schema for both engines: portable types, JSON kept as text. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE hook_calls (
     request_id TEXT PRIMARY KEY,
     hook_instance TEXT NOT NULL,
     service_id TEXT NOT NULL,
     client_iss TEXT NOT NULL,
     patient_id TEXT,
     order_ids TEXT NOT NULL,
     received_at TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     status INTEGER NOT NULL,
     response TEXT NOT NULL
   );
   CREATE UNIQUE INDEX hook_calls_answered ON hook_calls (client_iss, hook_instance) WHERE status = 200;
   CREATE INDEX hook_calls_instance ON hook_calls (hook_instance);
   CREATE TABLE coverage_assertions (
     assertion_id TEXT NOT NULL,
     order_ref TEXT NOT NULL,
     request_id TEXT NOT NULL REFERENCES hook_calls (request_id),
     coverage_ref TEXT NOT NULL,
     extension TEXT NOT NULL,
     issued_at TEXT NOT NULL,
     PRIMARY KEY (assertion_id, order_ref)
   );
   CREATE TABLE dtr_events (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     client_id TEXT,
     patient_id TEXT,
     detail TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE TABLE feedback (
     id TEXT PRIMARY KEY,
     service_id TEXT NOT NULL,
     client_iss TEXT,
     card_uuid TEXT NOT NULL,
     outcome TEXT NOT NULL,
     body TEXT NOT NULL,
     received_at TEXT NOT NULL
   );
   CREATE TABLE questionnaire_responses (
     id TEXT PRIMARY KEY,
     patient_id TEXT,
     response TEXT NOT NULL,
     determination TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE jti_seen (
     iss TEXT NOT NULL,
     jti TEXT NOT NULL,
     exp BIGINT NOT NULL,
     PRIMARY KEY (iss, jti)
   );`,
  `ALTER TABLE hook_calls ADD COLUMN request_hash TEXT;`,
  // Tenant isolation: a stored response belongs to the client that sent it (rows from before have
  // no owner and are readable by auditors only). The jti ledger keeps the audience (CDS_JTI_REUSE)
  // and its expiry sweep gets an index.
  `ALTER TABLE questionnaire_responses ADD COLUMN client_id TEXT;
   CREATE INDEX questionnaire_responses_client ON questionnaire_responses (client_id);
   ALTER TABLE jti_seen ADD COLUMN aud TEXT;
   CREATE INDEX jti_seen_exp ON jti_seen (exp);`,
  // A client that reuses a hookInstance for a different request gets it answered (and recorded) as a distinct call:
  // one answer per client, hookInstance and request digest; a true retry (same digest) is still a duplicate.
  `DROP INDEX hook_calls_answered;
   CREATE UNIQUE INDEX hook_calls_answered ON hook_calls (client_iss, hook_instance, request_hash) WHERE status = 200;`,
  // Prior authorization requests (PAS $submit), their member keys, every decision on them (automated or a
  // reviewer's) and the reviewer workbench's sessions (src/pas/store.ts, src/pas/reviewers.ts). Nothing is deleted:
  // pended and decided requests stay queryable (PAS: at least 6 months after the services).
  `CREATE TABLE pa_requests (
     id TEXT PRIMARY KEY,
     client_id TEXT NOT NULL,
     claim_system TEXT NOT NULL,
     claim_value TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     patient_ref TEXT NOT NULL,
     order_ref TEXT,
     coverage_ref TEXT,
     provider_ref TEXT,
     provider_npi TEXT,
     drug TEXT NOT NULL,
     indication TEXT,
     priority TEXT NOT NULL,
     status TEXT NOT NULL,
     received_at TEXT NOT NULL,
     due_at TEXT NOT NULL,
     decided_at TEXT,
     auth_number TEXT,
     period_start TEXT,
     period_end TEXT,
     replaces TEXT,
     replaced_by TEXT,
     submission TEXT NOT NULL,
     assessment TEXT NOT NULL,
     claim_response TEXT NOT NULL,
     version INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX pa_requests_claim ON pa_requests (client_id, claim_system, claim_value);
   CREATE UNIQUE INDEX pa_requests_auth_number ON pa_requests (auth_number);
   CREATE INDEX pa_requests_queue ON pa_requests (status, priority, due_at);
   CREATE TABLE pa_member_keys (
     request_id TEXT NOT NULL REFERENCES pa_requests (id),
     kind TEXT NOT NULL,
     key TEXT NOT NULL,
     PRIMARY KEY (request_id, kind, key)
   );
   CREATE INDEX pa_member_keys_key ON pa_member_keys (kind, key);
   CREATE TABLE pa_decisions (
     id TEXT PRIMARY KEY,
     request_id TEXT NOT NULL REFERENCES pa_requests (id),
     action TEXT NOT NULL,
     actor_kind TEXT NOT NULL,
     actor TEXT NOT NULL,
     human_reviewed INTEGER NOT NULL,
     reviewer_name TEXT,
     reviewer_npi TEXT,
     reviewer_specialty TEXT,
     reason_code TEXT,
     reason_text TEXT,
     letter_text TEXT,
     period_start TEXT,
     period_end TEXT,
     auth_number TEXT,
     at TEXT NOT NULL,
     detail TEXT NOT NULL
   );
   CREATE INDEX pa_decisions_request ON pa_decisions (request_id, at);
   CREATE TABLE reviewer_sessions (
     token_hash TEXT PRIMARY KEY,
     reviewer_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     expires_at TEXT NOT NULL
   );
   CREATE INDEX reviewer_sessions_expiry ON reviewer_sessions (expires_at);`,
];

export function rowToHookCall(r: Record<string, unknown>): HookCallRecord {
  return {
    requestId: String(r.request_id),
    hookInstance: String(r.hook_instance),
    serviceId: String(r.service_id),
    clientIss: r.client_iss ? String(r.client_iss) : null,
    patientId: r.patient_id === null || r.patient_id === undefined ? null : String(r.patient_id),
    orderIds: JSON.parse(String(r.order_ids)) as string[],
    receivedAt: String(r.received_at),
    durationMs: Number(r.duration_ms),
    status: Number(r.status),
    response: JSON.parse(String(r.response)),
    requestHash: r.request_hash === null || r.request_hash === undefined ? null : String(r.request_hash),
  };
}

export function rowToDtrEvent(r: Record<string, unknown>): DtrEventRecord & { at: string } {
  return {
    kind: String(r.kind) as DtrEventRecord['kind'],
    clientId: r.client_id === null ? null : String(r.client_id),
    patientId: r.patient_id === null ? null : String(r.patient_id),
    detail: JSON.parse(String(r.detail)),
    at: String(r.at),
  };
}

export function rowToAssertion(r: Record<string, unknown>): CoverageAssertionRecord & { requestId: string } {
  return {
    assertionId: String(r.assertion_id),
    orderRef: String(r.order_ref),
    coverageRef: String(r.coverage_ref),
    extension: JSON.parse(String(r.extension)),
    issuedAt: String(r.issued_at),
    requestId: String(r.request_id),
  };
}

export type { OperationOutcome, Parameters, QuestionnaireResponse };

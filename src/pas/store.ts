/**
 * The prior authorization records in the audit store (tables pa_requests, pa_member_keys and
 * pa_decisions, migration 5): requests as submitted and as decided, the member keys they are filed
 * under, and every decision with who made it, when and why. SQLite and PostgreSQL through one
 * runner (src/audit/sql.ts). Nothing is deleted or filtered by age: pended and decided requests stay
 * queryable (PAS: at least six months after the services).
 *
 * Tenancy (src/security/principal.ts): a client reads its own requests (`Reader`); the auditor scope
 * and the plan's reviewers read all.
 */
import type { Bundle, ClaimResponse } from 'fhir/r4';
import { SqlExpectationFailed, SqlUniqueViolation, type SqlRunner, type SqlStep } from '../audit/sql';
import type { AutomatedDecision, Period } from '../core/decision';
import { ownerCondition, type Reader } from '../security/principal';
import type { AuthorizationOnFile, ClaimIdentifier, DecisionRecord, PaRequest, PaStatus, Priority } from './types';
import { OPEN_STATUSES } from './types';

/** Someone changed the request first (another reviewer decided it): the caller reloads and says so. */
export class PaConflict extends Error {
  override readonly name = 'PaConflict';
}

type Row = Record<string, unknown>;
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function rowToRequest(r: Row): PaRequest {
  const start = text(r.period_start);
  const end = text(r.period_end);
  return {
    id: String(r.id),
    owner: String(r.client_id),
    claimIdentifier: { system: String(r.claim_system), value: String(r.claim_value) },
    contentHash: String(r.content_hash),
    patientRef: String(r.patient_ref),
    orderRef: text(r.order_ref),
    coverageRef: text(r.coverage_ref),
    providerRef: text(r.provider_ref),
    providerNpi: text(r.provider_npi),
    drug: String(r.drug),
    indication: text(r.indication),
    priority: String(r.priority) as Priority,
    status: String(r.status) as PaStatus,
    receivedAt: String(r.received_at),
    dueAt: String(r.due_at),
    decidedAt: text(r.decided_at),
    authNumber: text(r.auth_number),
    period: start && end ? { start, end } : null,
    replaces: text(r.replaces),
    replacedBy: text(r.replaced_by),
    submission: JSON.parse(String(r.submission)) as Bundle,
    assessment: JSON.parse(String(r.assessment)) as AutomatedDecision,
    claimResponse: JSON.parse(String(r.claim_response)) as ClaimResponse,
    version: Number(r.version),
  };
}

function rowToDecision(r: Row): DecisionRecord {
  const start = text(r.period_start);
  const end = text(r.period_end);
  const detail = JSON.parse(String(r.detail)) as { reviewer?: DecisionRecord['reviewer']; [k: string]: unknown };
  return {
    id: String(r.id),
    requestId: String(r.request_id),
    action: String(r.action) as DecisionRecord['action'],
    actorKind: String(r.actor_kind) as DecisionRecord['actorKind'],
    actor: String(r.actor),
    humanReviewed: Number(r.human_reviewed) === 1,
    reviewer: detail.reviewer ?? null,
    reasonCode: text(r.reason_code),
    reasonText: text(r.reason_text),
    letterText: text(r.letter_text),
    period: start && end ? { start, end } : null,
    authNumber: text(r.auth_number),
    at: String(r.at),
    detail: detail.detail ?? null,
  };
}

function insertDecision(d: DecisionRecord): SqlStep {
  return {
    sql: `INSERT INTO pa_decisions (id, request_id, action, actor_kind, actor, human_reviewed, reviewer_name, reviewer_npi, reviewer_specialty,
            reason_code, reason_text, letter_text, period_start, period_end, auth_number, at, detail)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [
      d.id, d.requestId, d.action, d.actorKind, d.actor, d.humanReviewed ? 1 : 0, d.reviewer?.name ?? null, d.reviewer?.npi ?? null,
      d.reviewer?.specialty ? JSON.stringify(d.reviewer.specialty) : null, d.reasonCode, d.reasonText, d.letterText,
      d.period?.start ?? null, d.period?.end ?? null, d.authNumber, d.at, JSON.stringify({ reviewer: d.reviewer, detail: d.detail }),
    ],
  };
}

/** What a new request carries besides the request itself: the keys it is filed under. */
export interface NewRequest {
  request: PaRequest;
  memberKeys: string[];
  patientKeys: string[];
  decision: DecisionRecord;
  /** The open request of the same client this one replaces (Claim.related), with its version. */
  replacing?: { id: string; version: number; decision: DecisionRecord };
}

/** A change of a request by a decision: its new status and ClaimResponse. */
export interface RequestUpdate {
  status: PaStatus;
  claimResponse: ClaimResponse;
  decidedAt: string | null;
  authNumber: string | null;
  period: Period | null;
}

export interface InquiryQuery {
  reader: Reader;
  claimIdentifier?: ClaimIdentifier;
  /** Identifiers of Claim.patient ('system|value'); the patient's reference is used when it has none. */
  patientKeys: string[];
  patientRef: string | null;
  providerNpi: string | null;
  providerRef: string | null;
}

export class PaStore {
  constructor(private readonly sql: SqlRunner) {}

  /**
   * Files a new request with its member keys and its automated decision, atomically (and marks the
   * request it replaces, when it replaces one). 'exists' when the client already used this
   * Claim.identifier: the caller compares the content (a retry, or a different request).
   */
  async add(n: NewRequest): Promise<'added' | 'exists'> {
    const r = n.request;
    const steps: SqlStep[] = [{
      sql: `INSERT INTO pa_requests (id, client_id, claim_system, claim_value, content_hash, patient_ref, order_ref, coverage_ref, provider_ref, provider_npi,
              drug, indication, priority, status, received_at, due_at, decided_at, auth_number, period_start, period_end, replaces, replaced_by,
              submission, assessment, claim_response, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [
        r.id, r.owner, r.claimIdentifier.system, r.claimIdentifier.value, r.contentHash, r.patientRef, r.orderRef, r.coverageRef, r.providerRef,
        r.providerNpi, r.drug, r.indication, r.priority, r.status, r.receivedAt, r.dueAt, r.decidedAt, r.authNumber, r.period?.start ?? null,
        r.period?.end ?? null, r.replaces, null, JSON.stringify(r.submission), JSON.stringify(r.assessment), JSON.stringify(r.claimResponse), r.version,
      ],
    }];
    for (const key of n.memberKeys) steps.push({ sql: 'INSERT INTO pa_member_keys (request_id, kind, key) VALUES (?, ?, ?)', params: [r.id, 'member', key] });
    for (const key of n.patientKeys) steps.push({ sql: 'INSERT INTO pa_member_keys (request_id, kind, key) VALUES (?, ?, ?)', params: [r.id, 'patient', key] });
    steps.push(insertDecision(n.decision));
    if (n.replacing) {
      steps.push({
        sql: `UPDATE pa_requests SET status = 'replaced', replaced_by = ?, version = version + 1 WHERE id = ? AND version = ? AND status IN ('pended', 'info-requested')`,
        params: [r.id, n.replacing.id, n.replacing.version],
        expectChanges: 1,
      }, insertDecision(n.replacing.decision));
    }
    try {
      await this.sql.atomic(steps);
      return 'added';
    } catch (e) {
      if (e instanceof SqlUniqueViolation) return 'exists';
      if (e instanceof SqlExpectationFailed) throw new PaConflict('the request it replaces was decided or replaced meanwhile');
      throw e;
    }
  }

  /** A request by id, if `reader` may read it. */
  async byId(id: string, reader: Reader): Promise<PaRequest | undefined> {
    const owned = ownerCondition(reader, 'client_id', () => '?', 2);
    const rows = await this.sql.all<Row>(`SELECT * FROM pa_requests WHERE id = ? AND ${owned.sql}`, [id, ...owned.params]);
    return rows[0] ? rowToRequest(rows[0]) : undefined;
  }

  /** The request a client filed under a Claim.identifier. */
  async byClaimIdentifier(owner: string, identifier: ClaimIdentifier): Promise<PaRequest | undefined> {
    const rows = await this.sql.all<Row>('SELECT * FROM pa_requests WHERE client_id = ? AND claim_system = ? AND claim_value = ?', [owner, identifier.system, identifier.value]);
    return rows[0] ? rowToRequest(rows[0]) : undefined;
  }

  /** The current request: a replaced one leads to the request that replaced it (PAS: an inquiry gets the current response). */
  async current(request: PaRequest, reader: Reader): Promise<PaRequest> {
    let at = request;
    for (let hops = 0; at.replacedBy && hops < 50; hops++) {
      const next = await this.byId(at.replacedBy, reader);
      if (!next) break;
      at = next;
    }
    return at;
  }

  /**
   * PAS $inquire, query by example: the requests `reader` may read for this patient (any identifier in
   * common, or the same patient reference when the inquiry's patient has no identifier) and this
   * provider (the same NPI, or the same reference when there is no NPI), with this Claim.identifier when
   * one is given. Each answered by its current request.
   */
  async inquire(q: InquiryQuery): Promise<PaRequest[]> {
    const owned = ownerCondition(q.reader, 'r.client_id', () => '?', 1);
    const where: string[] = [owned.sql];
    const params: unknown[] = [...owned.params];
    if (q.claimIdentifier) {
      where.push('r.claim_value = ?');
      params.push(q.claimIdentifier.value);
      if (q.claimIdentifier.system) {
        where.push('r.claim_system = ?');
        params.push(q.claimIdentifier.system);
      }
    }
    if (q.patientKeys.length) {
      where.push(`r.id IN (SELECT request_id FROM pa_member_keys WHERE kind = 'patient' AND key IN (${q.patientKeys.map(() => '?').join(', ')}))`);
      params.push(...q.patientKeys);
    } else if (q.patientRef) {
      where.push('r.patient_ref = ?');
      params.push(q.patientRef);
    } else return [];
    if (q.providerNpi) {
      where.push('r.provider_npi = ?');
      params.push(q.providerNpi);
    } else if (q.providerRef) {
      where.push('r.provider_ref = ?');
      params.push(q.providerRef);
    } else return [];
    const rows = await this.sql.all<Row>(`SELECT r.* FROM pa_requests r WHERE ${where.join(' AND ')} ORDER BY r.received_at`, params);
    const found = new Map<string, PaRequest>();
    for (const row of rows) {
      const current = await this.current(rowToRequest(row), q.reader);
      found.set(current.id, current);
    }
    return [...found.values()];
  }

  /** The reviewers' queue: open requests, expedited first, then by due time. */
  async queue(): Promise<PaRequest[]> {
    const rows = await this.sql.all<Row>(
      `SELECT * FROM pa_requests WHERE status IN (${OPEN_STATUSES.map(() => '?').join(', ')})
       ORDER BY CASE priority WHEN 'expedited' THEN 0 ELSE 1 END, due_at, received_at`,
      [...OPEN_STATUSES],
    );
    return rows.map(rowToRequest);
  }

  /** Requests decided most recently (for the workbench's history). */
  async recentlyDecided(limit: number): Promise<PaRequest[]> {
    const rows = await this.sql.all<Row>(`SELECT * FROM pa_requests WHERE status IN ('approved', 'denied') ORDER BY decided_at DESC LIMIT ?`, [limit]);
    return rows.map(rowToRequest);
  }

  /** Every decision on a request, oldest first. */
  async decisions(requestId: string): Promise<DecisionRecord[]> {
    // The automated decision comes first even when a reviewer decided within the same instant (a fixed clock).
    return (await this.sql.all<Row>(
      `SELECT * FROM pa_decisions WHERE request_id = ? ORDER BY at, CASE actor_kind WHEN 'system' THEN 0 ELSE 1 END, id`, [requestId],
    )).map(rowToDecision);
  }

  /**
   * Records a decision and the request's new state atomically, if the request is still open and
   * unchanged since `version` was read; otherwise PaConflict (someone decided it first).
   */
  async decide(requestId: string, version: number, update: RequestUpdate, decision: DecisionRecord): Promise<void> {
    try {
      await this.sql.atomic([
        {
          sql: `UPDATE pa_requests SET status = ?, claim_response = ?, decided_at = ?, auth_number = ?, period_start = ?, period_end = ?, version = version + 1
                WHERE id = ? AND version = ? AND status IN ('pended', 'info-requested')`,
          params: [update.status, JSON.stringify(update.claimResponse), update.decidedAt, update.authNumber, update.period?.start ?? null, update.period?.end ?? null, requestId, version],
          expectChanges: 1,
        },
        insertDecision(decision),
      ]);
    } catch (e) {
      if (e instanceof SqlExpectationFailed) throw new PaConflict(`request ${requestId} was decided or changed meanwhile`);
      throw e;
    }
  }

  /**
   * Approved authorizations of a drug filed under any of the member keys, whose period ends on or
   * after `since` (YYYY-MM-DD). The CQL decides which of them applies to an order.
   */
  async authorizationsOnFile(memberKeys: string[], drug: string, since: string): Promise<AuthorizationOnFile[]> {
    if (memberKeys.length === 0) return [];
    const rows = await this.sql.all<Row>(
      `SELECT DISTINCT r.auth_number, r.indication, r.period_start, r.period_end, r.decided_at FROM pa_requests r
       JOIN pa_member_keys k ON k.request_id = r.id AND k.kind = 'member'
       WHERE r.status = 'approved' AND r.drug = ? AND r.period_end >= ? AND r.indication IS NOT NULL
         AND k.key IN (${memberKeys.map(() => '?').join(', ')})
       ORDER BY r.period_end DESC`,
      [drug, since, ...memberKeys],
    );
    return rows.map((r) => ({
      number: String(r.auth_number),
      indication: String(r.indication),
      start: String(r.period_start),
      end: String(r.period_end),
      issued: String(r.decided_at).slice(0, 10),
    }));
  }
}

/**
 * The plan's clinical reviewers: who may sign in to the workbench and what they may decide.
 *
 * A plan registers its reviewers in REVIEWERS_FILE (JSON; no secret in it but password hashes):
 *
 *   {"reviewers": [{"id": "jdoe", "name": "Jane Doe, MD", "npi": "1234567893",
 *                   "specialty": {"system": "http://nucc.org/provider-taxonomy", "code": "207RR0500X", "display": "Rheumatology"},
 *                   "roles": ["reviewer", "adverse-determinations"], "passwordHash": "scrypt$32768$8$1$<salt>$<hash>"}]}
 *
 * `npm run reviewer:hash` makes a passwordHash (scrypt, N=2^15, r=8, p=1, 16-byte salt). Roles:
 * `reviewer` opens the workbench (queue, cases, approve, request information); `adverse-determinations`
 * also allows a denial (utilization-management rules reserve adverse determinations to a physician
 * or an appropriate clinical peer). NPI and specialty are recorded with every decision (PAS 2.2
 * ClaimResponseReviewer).
 *
 * Sessions live in the audit store (reviewer_sessions: only a SHA-256 of the token), so every
 * instance on one PostgreSQL shares them and signing out ends them everywhere. A session ends
 * after 30 minutes without use or 8 hours after sign-in. Five failed sign-ins lock an id for a
 * minute (per instance).
 */
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Coding } from 'fhir/r4';
import type { SqlRunner } from '../audit/sql';
import type { Clock } from '../core/clock';
import type { ReviewerOfRecord } from './types';

export const REVIEWER_ROLE = 'reviewer';
export const DENY_ROLE = 'adverse-determinations';
const ROLES = new Set([REVIEWER_ROLE, DENY_ROLE]);

export interface Reviewer extends ReviewerOfRecord {
  roles: string[];
}

interface Registered extends Reviewer {
  passwordHash: string;
}

export class ReviewerRegistryError extends Error {
  override readonly name = 'ReviewerRegistryError';
}

const SCRYPT = { N: 32768, r: 8, p: 1, keylen: 32 };

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

const maxmem = (N: number, r: number) => 256 * N * r;

/** A password hash for the reviewers file: scrypt$N$r$p$salt$hash (base64url). */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < 12) throw new ReviewerRegistryError('a reviewer password has at least 12 characters');
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: maxmem(SCRYPT.N, SCRYPT.r) });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function parseHash(hash: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounded work: a hostile file cannot make sign-in cost minutes.
  if (N < 16384 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 8 || r > 32 || p < 1 || p > 4) return null;
  const key = Buffer.from(m[5], 'base64url');
  return key.length >= 16 ? { N, r, p, salt: Buffer.from(m[4], 'base64url'), key } : null;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.key.length, { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: maxmem(parsed.N, parsed.r) });
  return timingSafeEqual(key, parsed.key);
}

/**
 * A hash that matches no password: checked for unknown ids, so that they take as long as known ones,
 * and the hash of a reviewer who signs in another way only (the sandbox's development reviewer).
 */
export const NO_PASSWORD = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`;

function coding(value: unknown, who: string): Coding | null {
  if (value === undefined || value === null) return null;
  const c = value as Coding;
  if (typeof c !== 'object' || typeof c.code !== 'string' || typeof c.system !== 'string') throw new ReviewerRegistryError(`${who}: specialty is a Coding with system and code`);
  return { system: c.system, code: c.code, ...(typeof c.display === 'string' ? { display: c.display } : {}) };
}

export class ReviewerRegistry {
  private readonly reviewers = new Map<string, Registered>();

  static fromFile(file: string | undefined): ReviewerRegistry {
    const registry = new ReviewerRegistry();
    if (!file) return registry;
    let json: { reviewers?: unknown };
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as { reviewers?: unknown };
    } catch (e) {
      throw new ReviewerRegistryError(`cannot read REVIEWERS_FILE ${file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(json.reviewers)) throw new ReviewerRegistryError(`REVIEWERS_FILE ${file}: "reviewers" is a list`);
    for (const entry of json.reviewers) registry.add(entry as Record<string, unknown>);
    return registry;
  }

  add(entry: Record<string, unknown>): Reviewer {
    const id = entry.id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(id)) throw new ReviewerRegistryError('reviewers: "id" is 1 to 64 letters, digits, ., _, @ or -');
    if (this.reviewers.has(id)) throw new ReviewerRegistryError(`reviewer ${id} is registered twice`);
    if (typeof entry.name !== 'string' || !entry.name.trim()) throw new ReviewerRegistryError(`${id}: "name" is required (it is recorded with each decision)`);
    if (typeof entry.passwordHash !== 'string' || !parseHash(entry.passwordHash)) throw new ReviewerRegistryError(`${id}: "passwordHash" is a scrypt hash made by npm run reviewer:hash`);
    const roles = entry.roles ?? [REVIEWER_ROLE];
    if (!Array.isArray(roles) || roles.some((r) => !ROLES.has(String(r)))) throw new ReviewerRegistryError(`${id}: roles are among ${[...ROLES].join(', ')}`);
    if (!roles.includes(REVIEWER_ROLE)) throw new ReviewerRegistryError(`${id}: the "${REVIEWER_ROLE}" role is what opens the workbench`);
    const npi = entry.npi === undefined ? null : String(entry.npi);
    if (npi !== null && !/^\d{10}$/.test(npi)) throw new ReviewerRegistryError(`${id}: npi is 10 digits`);
    const reviewer: Registered = {
      id, name: entry.name.trim(), npi, specialty: coding(entry.specialty, id), roles: roles.map(String), passwordHash: entry.passwordHash,
    };
    this.reviewers.set(id, reviewer);
    const { passwordHash: _hash, ...shown } = reviewer;
    return shown;
  }

  get(id: string): Reviewer | undefined {
    const r = this.reviewers.get(id);
    if (!r) return undefined;
    const { passwordHash: _hash, ...shown } = r;
    return shown;
  }

  get size(): number {
    return this.reviewers.size;
  }

  /** The reviewer whose password this is, or null (unknown ids cost the same time as wrong passwords). */
  async verify(id: string, password: string): Promise<Reviewer | null> {
    const r = this.reviewers.get(id);
    const ok = await verifyPassword(password, r?.passwordHash ?? NO_PASSWORD);
    return r && ok ? this.get(id)! : null;
  }
}

const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 8 * 3_600_000;
const LOCK_AFTER = 5;
const LOCK_MS = 60_000;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** Reviewer sessions in the audit store; the token itself is only ever in the reviewer's cookie. */
export class ReviewerSessions {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(private readonly sql: SqlRunner, private readonly clock: Clock, readonly registry: ReviewerRegistry) {}

  /** Whether sign-in for this id is locked after repeated failures. */
  locked(id: string): boolean {
    const f = this.failures.get(id);
    return Boolean(f && f.count >= LOCK_AFTER && f.until > this.clock.now().getTime());
  }

  /** Signs a reviewer in: a new session token, or null (wrong id or password). */
  async signIn(id: string, password: string): Promise<{ token: string; reviewer: Reviewer } | null> {
    const reviewer = await this.registry.verify(id, password);
    const now = this.clock.now().getTime();
    if (!reviewer) {
      const f = this.failures.get(id) ?? { count: 0, until: 0 };
      this.failures.set(id, { count: f.until > now || f.count < LOCK_AFTER ? f.count + 1 : 1, until: now + LOCK_MS });
      if (this.failures.size > 10_000) this.failures.clear();
      return null;
    }
    this.failures.delete(id);
    return { token: await this.open(reviewer), reviewer };
  }

  /** Opens a session for a registered reviewer (sign-in, and the sandbox's development sign-in). */
  async open(reviewer: Reviewer): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.sql.atomic([
      { sql: 'DELETE FROM reviewer_sessions WHERE expires_at < ?', params: [now.toISOString()] },
      {
        sql: 'INSERT INTO reviewer_sessions (token_hash, reviewer_id, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)',
        params: [digest(token), reviewer.id, now.toISOString(), now.toISOString(), new Date(now.getTime() + ABSOLUTE_MS).toISOString()],
      },
    ]);
    return token;
  }

  /** The reviewer a session token belongs to, if the session is alive (and still registered); refreshes its idle time. */
  async reviewerOf(token: string): Promise<Reviewer | null> {
    if (!token || token.length > 100) return null;
    const rows = await this.sql.all<{ reviewer_id: string; last_seen: string; expires_at: string }>(
      'SELECT reviewer_id, last_seen, expires_at FROM reviewer_sessions WHERE token_hash = ?', [digest(token)],
    );
    const row = rows[0];
    const now = this.clock.now();
    if (!row || Date.parse(row.expires_at) <= now.getTime() || Date.parse(row.last_seen) + IDLE_MS <= now.getTime()) return null;
    const reviewer = this.registry.get(row.reviewer_id);
    if (!reviewer) return null;
    await this.sql.atomic([{ sql: 'UPDATE reviewer_sessions SET last_seen = ? WHERE token_hash = ?', params: [now.toISOString(), digest(token)] }]);
    return reviewer;
  }

  async signOut(token: string): Promise<void> {
    await this.sql.atomic([{ sql: 'DELETE FROM reviewer_sessions WHERE token_hash = ?', params: [digest(token)] }]);
  }
}

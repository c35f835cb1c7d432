/**
 * Who is calling, as decided by the route that matched (src/http/route.ts), and what they may read.
 *
 * Tenant isolation: every record a client creates carries its owner (`ownerOf`), and every read of
 * such records goes through a `Reader` (`readerOf`): a client reads only what it created; a token
 * with the auditor scope reads everything. Stored QuestionnaireResponses and their determinations
 * use it, and so do prior authorization requests (PAS): a client reads its own; the plan's clinical
 * reviewers, signed in to the workbench, read every request (they work the queue).
 */
import type { Reviewer } from '../pas/reviewers';
import { hasScopes, type SessionBinding } from './smart';

export const AUDITOR_SCOPE = 'admin/audit.rs';

export type Principal =
  /** A public route, or a route where authentication is optional and no token was sent. */
  | { kind: 'none' }
  /** AUTH=off: authentication is switched off (local experiments only). */
  | { kind: 'anonymous' }
  /** A CDS client, authenticated by its CDS Hooks JWT. */
  | { kind: 'cds-client'; iss: string }
  /**
   * A SMART Backend Services client, authenticated by an access token from /auth/token; or a session of
   * the hosted DTR app (`session`: the verified launch it is bound to), with a token from /dtr/session.
   */
  | { kind: 'smart-client'; clientId: string; scopes: string[]; session?: SessionBinding }
  /** One of the plan's clinical reviewers, signed in to the workbench (src/pas/reviewers.ts). */
  | { kind: 'reviewer'; reviewer: Reviewer };

/** The owner written on a record the principal creates; '' for AUTH=off (no registered client has an empty id). */
export function ownerOf(principal: Principal): string {
  switch (principal.kind) {
    case 'smart-client':
      return principal.clientId;
    case 'cds-client':
      return principal.iss;
    case 'reviewer':
      return `reviewer:${principal.reviewer.id}`;
    default:
      return '';
  }
}

/** What a principal may read of owned records: its own, or everything with the auditor scope. */
export type Reader = { all: true } | { all: false; owner: string };

export function readerOf(principal: Principal): Reader {
  if (principal.kind === 'smart-client' && hasScopes(principal.scopes, [AUDITOR_SCOPE])) return { all: true };
  if (principal.kind === 'reviewer') return { all: true };
  return { all: false, owner: ownerOf(principal) };
}

/**
 * The SQL condition a store adds to a query over owned rows. `placeholder(n)` renders the n-th
 * parameter (`?` for SQLite, `$n` for PostgreSQL); `next` is the number of the first free parameter.
 */
export function ownerCondition(reader: Reader, column: string, placeholder: (n: number) => string, next: number): { sql: string; params: string[] } {
  return reader.all ? { sql: 'TRUE', params: [] } : { sql: `${column} = ${placeholder(next)}`, params: [reader.owner] };
}

/**
 * fetch for FHIR JSON with failures turned into AppErrors: a network failure is "unreachable", 401
 * "expired", 403 "forbidden", anything else not 2xx "rejected" with the OperationOutcome's text.
 */
import type { OperationOutcome } from 'fhir/r4';
import { AppError, type Party } from './errors';

function diagnostics(body: unknown): string | null {
  // OAuth-style errors (the session route): { error, error_description }.
  const oauth = body as { error?: unknown; error_description?: unknown } | null;
  if (typeof oauth?.error_description === 'string') return oauth.error_description;
  const oo = body as OperationOutcome | undefined;
  if (oo?.resourceType !== 'OperationOutcome') return null;
  const text = (oo.issue ?? []).map((i) => i.diagnostics ?? i.details?.text ?? i.code).filter(Boolean).join('; ');
  return text || null;
}

export interface JsonResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function fetchJson<T>(party: Party, url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { Accept: 'application/fhir+json, application/json', ...(init.headers ?? {}) } });
  } catch (e) {
    throw new AppError(party, 'unreachable', `${new URL(url, location.href).origin}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new AppError(party, 'invalid', `${url} did not answer with JSON`, res.status);
  }
  if (res.ok) return { status: res.status, body: body as T, headers: res.headers };
  const detail = diagnostics(body) ?? (text.slice(0, 200) || res.statusText || `HTTP ${res.status}`);
  const kind = res.status === 401 ? 'expired' : res.status === 403 ? 'forbidden' : 'rejected';
  const expressions = (body as OperationOutcome | null)?.resourceType === 'OperationOutcome' ? (body as OperationOutcome).issue.flatMap((i) => i.expression ?? []) : [];
  throw new AppError(party, kind, `HTTP ${res.status}: ${detail}`, res.status, expressions);
}

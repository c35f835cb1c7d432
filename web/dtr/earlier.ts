/**
 * The earlier prior authorization request for the order being documented, if the plan holds one: a new
 * launch of the app has no memory of what an earlier launch submitted, so it asks the plan ($inquire by
 * patient and provider, no identifier) and picks, among this client's requests, the one for this same
 * order. A request still pended (or waiting for more information) is the one the next submission
 * replaces (Claim.related, relationship `prior`); a decided one (approved, denied) is shown for
 * information only. The pick is a pure function of the inquiry's answer; the lookup never throws.
 */
import type { Bundle, ClaimResponse, Identifier } from 'fhir/r4';
import { PAS } from '../../src/constants';
import { readClaimResponse, type Authorization } from './pas';

export interface EarlierRequest {
  /** The request's Claim.identifier at the plan: what a replacing request names in Claim.related. */
  identifier: { system: string; value: string };
  answer: Authorization;
  /** Still open at the plan (pended, or more information requested): the next submission replaces it. */
  replaceable: boolean;
  /** When the plan made its current answer (ClaimResponse.created), when it says. */
  created: string | null;
}

/** The order being documented: its id on the EHR that launched the app. */
export interface OrderAtEhr {
  ehrBase: string;
  orderId: string;
}

const trimBase = (base: string) => base.replace(/\/+$/, '');

/** The ways a request of this client names the order: its URL on the EHR, or (the same EHR) its relative reference. */
function orderReferences(order: OrderAtEhr): Set<string> {
  return new Set([`${trimBase(order.ehrBase)}/MedicationRequest/${order.orderId}`, `MedicationRequest/${order.orderId}`]);
}

function requestedServices(cr: ClaimResponse): string[] {
  return (cr.item ?? []).flatMap((item) => (item.extension ?? []).filter((e) => e.url === PAS.requestedService))
    .map((e) => e.valueReference?.reference)
    .filter((r): r is string => typeof r === 'string');
}

function identifierOf(cr: ClaimResponse): { system: string; value: string } | null {
  const id: Identifier | undefined = cr.request?.identifier?.value ? cr.request.identifier : (cr.identifier ?? []).find((i) => i.value);
  return id?.value ? { system: id.system ?? '', value: id.value } : null;
}

/**
 * The request for this order in the plan's answer to an inquiry (a PAS inquiry response Bundle), or null
 * when there is none, or the answer is not a Bundle. Open requests come first (the latest of them), then
 * the latest decided one.
 */
export function pickEarlierRequest(answer: unknown, order: OrderAtEhr): EarlierRequest | null {
  const bundle = answer as Bundle | null;
  if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return null;
  const wanted = orderReferences(order);
  const candidates: EarlierRequest[] = [];
  for (const entry of bundle.entry) {
    const cr = entry?.resource;
    if (!cr || cr.resourceType !== 'ClaimResponse' || (cr.use && cr.use !== 'preauthorization')) continue;
    if (!requestedServices(cr).some((r) => wanted.has(r))) continue;
    const identifier = identifierOf(cr);
    if (!identifier) continue;
    const read = readClaimResponse(cr);
    candidates.push({ identifier, answer: read, replaceable: read.status === 'pended', created: typeof cr.created === 'string' ? cr.created : null });
  }
  const latestFirst = (a: EarlierRequest, b: EarlierRequest) => Date.parse(b.created ?? '') - Date.parse(a.created ?? '') || 0;
  return candidates.filter((c) => c.replaceable).sort(latestFirst)[0] ?? candidates.sort(latestFirst)[0] ?? null;
}

export type EarlierLookup =
  | { kind: 'found'; request: EarlierRequest }
  | { kind: 'none' }
  /** The plan could not be asked, or its answer could not be read: the app says so and carries on. */
  | { kind: 'failed'; error: unknown };

/** How long the app waits for the plan's answer before it carries on without it. */
export const EARLIER_LOOKUP_LIMIT_MS = 20_000;

/**
 * Asks the plan (`inquire`: its Claim/$inquire) and picks the request for the order. Never rejects; an
 * answer that does not come within `limitMs` is a failure (the form is not held up by a silent plan).
 */
export async function lookUpEarlier(inquire: () => Promise<Bundle>, order: OrderAtEhr, limitMs = EARLIER_LOOKUP_LIMIT_MS): Promise<EarlierLookup> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the plan did not answer within ${Math.round(limitMs / 1000)} s`)), limitMs);
  });
  try {
    const request = pickEarlierRequest(await Promise.race([inquire(), late]), order);
    return request ? { kind: 'found', request } : { kind: 'none' };
  } catch (error) {
    return { kind: 'failed', error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Bounded work per request, checked on the parsed body before any evaluation: how many draft
 * orders a hook call carries (MAX_DRAFT_ORDERS) and how many FHIR resources of patient data a
 * request brings (MAX_PREFETCH_RESOURCES: a hook's prefetch, a DTR operation's Bundles). The CQL
 * evaluation of one record runs on the event loop and cannot be interrupted, so the size of the
 * record is what bounds its time; see SECURITY.md for what remains until evaluation moves to a
 * worker pool.
 */
import type { RequestHandler } from 'express';
import { fhirOutcome } from '../http/errors';

export interface WorkLimits {
  maxDraftOrders: number;
  maxPrefetchResources: number;
}

/**
 * The FHIR resources in a JSON value: every object with a string resourceType, at any depth
 * (Bundle entries, contained resources, Parameters parts), counted without recursion. A Bundle
 * is a container, not counted itself (its entries are). Stops counting once past `stopAfter`.
 */
export function countResources(value: unknown, stopAfter = Infinity): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    const type = (v as { resourceType?: unknown }).resourceType;
    if (typeof type === 'string' && type !== 'Bundle' && ++count > stopAfter) return count;
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push(x);
  }
  return count;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The limit a hook request is over, as a message, or null. */
export function hookOverLimit(body: unknown, limits: WorkLimits): string | null {
  if (!isRecord(body)) return null;
  const drafts = isRecord(body.context) ? body.context.draftOrders : undefined;
  const entries = isRecord(drafts) && Array.isArray(drafts.entry) ? drafts.entry.length : 0;
  if (entries > limits.maxDraftOrders) {
    return `context.draftOrders holds ${entries} entries; at most ${limits.maxDraftOrders} are accepted per call (MAX_DRAFT_ORDERS)`;
  }
  const prefetched = countResources(body.prefetch, limits.maxPrefetchResources);
  if (prefetched > limits.maxPrefetchResources) {
    return `the prefetch holds more than ${limits.maxPrefetchResources} FHIR resources, the most accepted per call (MAX_PREFETCH_RESOURCES)`;
  }
  return null;
}

/** CDS Hooks service calls: 422 with the limit named. */
export function hookLimits(limits: WorkLimits): RequestHandler {
  return (req, res, next) => {
    const over = hookOverLimit(req.body, limits);
    if (over) return void res.status(422).json({ error: 'over-limit', message: over });
    next();
  };
}

/** DTR operations: the patient data a body brings (data Bundles, referenced resources), 422 OperationOutcome above the limit. */
export function fhirBodyLimits(limits: WorkLimits): RequestHandler {
  return (req, res, next) => {
    // The body itself (a Parameters or a QuestionnaireResponse) is one resource more than the data it carries.
    if (countResources(req.body, limits.maxPrefetchResources + 1) > limits.maxPrefetchResources + 1) {
      const message = `the request holds more than ${limits.maxPrefetchResources} FHIR resources of patient data, the most accepted per call (MAX_PREFETCH_RESOURCES)`;
      return void res.status(422).type('application/fhir+json').send(JSON.stringify(fhirOutcome('too-costly', message)));
    }
    next();
  };
}

/**
 * A PAS ClaimResponse read back by a client (the DTR app, the sandbox EHR): approved, pended or
 * denied by its X12 review action, the authorization number and period, and what the plan says.
 * Browser-safe.
 */
import type { Bundle, ClaimResponse } from 'fhir/r4';
import { PAS } from '../constants';

export interface Authorization {
  status: 'approved' | 'pended' | 'denied' | 'unknown';
  number: string | null;
  period: { start?: string; end?: string } | null;
  disposition: string;
  notes: string[];
  /** The plan's id of the request (its ClaimResponse). */
  id: string | null;
}

export function readClaimResponse(cr: ClaimResponse): Authorization {
  const action = cr.item?.[0]?.adjudication?.[0]?.extension?.find((e) => e.url === PAS.reviewAction);
  const code = action?.extension?.find((e) => e.url === PAS.reviewActionCode)?.valueCodeableConcept?.coding?.find((c) => c.system === PAS.x12ReviewAction)?.code;
  const status = code === 'A1' ? 'approved' : code === 'A4' ? 'pended' : code === 'A3' ? 'denied' : 'unknown';
  return {
    status,
    number: status === 'approved' ? cr.preAuthRef ?? action?.extension?.find((e) => e.url === 'number')?.valueString ?? null : null,
    period: cr.preAuthPeriod ?? null,
    disposition: cr.disposition ?? '',
    notes: (cr.processNote ?? []).map((n) => n.text).filter((t): t is string => Boolean(t)),
    id: cr.id ?? null,
  };
}

/** The plan's answer in a PAS response or inquiry Bundle: its first ClaimResponse. */
export function readAuthorization(bundle: Bundle): Authorization {
  const cr = (bundle.entry ?? []).map((e) => e.resource).find((r): r is ClaimResponse => r?.resourceType === 'ClaimResponse');
  if (!cr) throw new Error('the plan answered without a ClaimResponse');
  return readClaimResponse(cr);
}

/**
 * The CRD hook pipeline, as a plain function: validate -> find Kineret orders -> gather patient
 * data (prefetch, then the EHR) -> evaluate the policy CQL per order -> build cards and the
 * coverage-information system action. No HTTP here; the Express route only calls handleHook.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Medication, MedicationRequest, ValueSet } from 'fhir/r4';
import type { Config } from '../config';
import { DTR_LAUNCH_PATH, POLICY_PATH, QUESTIONNAIRE_ID, CONTENT_VERSION } from '../constants';
import type { TypeRequirement } from '../core/data-requirements';
import type { KineretEngine } from '../core/engine';
import { FhirClient } from '../fhir/client';
import { type CardContext, type OrderAssessment, criteriaWarningCard, priorAuthCard, selectNoticeCard, undeterminedCard } from './cards';
import { coverageInformation } from './coverage-information';
import { KineretMatcher, medicationRequestsOf, referenceLookup } from './orders';
import { PATIENT_SCOPED_TYPES, assemblePatientData, harvestPrefetch } from './patient-data';
import { validateHookRequest, type ValidationIssue } from './request';
import type { Card, HookRequest, HookResponse, ServiceDefinition, SystemAction } from './types';

export interface HookDeps {
  engine: KineretEngine;
  config: Config;
  services: ServiceDefinition[];
  requirements: TypeRequirement[];
  valueSets: ValueSet[];
  matcher: KineretMatcher;
  now?: () => Date;
}

/** Who called: the authenticated CDS client and the FHIR server origins it may send us to (null = any, auth off). */
export interface Caller {
  iss: string | null;
  fhirServers: readonly string[] | null;
}

export type HookResult =
  | { status: 200; body: HookResponse; meta: HookMeta }
  | { status: 403 | 404 | 412 | 422; body: ErrorBody; meta: HookMeta };

export interface HookMeta {
  kineretOrders: string[];
  queries: number;
  problems: string[];
}

export interface ErrorBody {
  error: string;
  message: string;
  issues?: ValidationIssue[];
  operationOutcome?: unknown;
}

interface Configuration {
  coverageInfo: boolean;
  guideline: boolean;
  maxCards: number;
}

/** davinci-crd.configuration: honoured when present, never required; unknown options ignored. */
function readConfiguration(request: HookRequest): Configuration {
  const raw = request.extension?.['davinci-crd.configuration'];
  const c = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const flag = (key: string) => (typeof c[key] === 'boolean' ? (c[key] as boolean) : true);
  const max = typeof c['max-cards'] === 'number' && Number.isInteger(c['max-cards']) && (c['max-cards'] as number) >= 0 ? (c['max-cards'] as number) : 10;
  return { coverageInfo: flag('coverage-info'), guideline: flag('guideline'), maxCards: max };
}

export function operationOutcome(issues: { message: string; path?: string }[], code = 'invalid') {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({ severity: 'error', code, diagnostics: i.message, ...(i.path ? { expression: [i.path] } : {}) })),
  };
}

function cardContext(config: Config): CardContext {
  return {
    payerName: config.payerName,
    policyUrl: `${config.publicBaseUrl}${POLICY_PATH}`,
    dtrLaunchUrl: `${config.publicBaseUrl}${DTR_LAUNCH_PATH}`,
    questionnaireCanonical: `${config.publicBaseUrl}/fhir/Questionnaire/${QUESTIONNAIRE_ID}|${CONTENT_VERSION}`,
  };
}

function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export async function handleHook(serviceId: string, body: unknown, deps: HookDeps, caller: Caller = { iss: null, fhirServers: null }): Promise<HookResult> {
  const meta: HookMeta = { kineretOrders: [], queries: 0, problems: [] };
  try {
    return await answerHook(serviceId, body, deps, caller, meta);
  } catch (e) {
    // Data a client sent that no check foresaw: answer honestly rather than fail (never a silent approval).
    meta.problems.push(`unexpected data: ${(e as Error).message}`);
    const drafts = isRecord(body) && isRecord(body.context) && isRecord(body.context.draftOrders) ? medicationRequestsOf(body.context.draftOrders as never) : [];
    const kineret = drafts.filter((o) => o && typeof o === 'object' && meta.kineretOrders.includes(`MedicationRequest/${o.id}`));
    if (kineret.length === 0) return { status: 422, body: { error: 'invalid-request', message: 'the request could not be processed: its content is malformed' }, meta };
    return { status: 200, body: { cards: [undeterminedCard(cardContext(deps.config), kineret, ['the order or the patient data sent with it could not be read'])] }, meta };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function answerHook(serviceId: string, body: unknown, deps: HookDeps, caller: Caller, meta: HookMeta): Promise<HookResult> {
  const service = deps.services.find((s) => s.id === serviceId);
  if (!service) return { status: 404, body: { error: 'unknown-service', message: `no CDS service with id ${serviceId}` }, meta };

  const validated = validateHookRequest(body, service.hook);
  if (!validated.ok) {
    const fhirIssues = validated.issues.filter((i) => i.fhir);
    return {
      status: 422,
      body: {
        error: 'invalid-request',
        message: validated.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
        issues: validated.issues,
        ...(fhirIssues.length ? { operationOutcome: operationOutcome(fhirIssues.map((i) => ({ message: i.message, path: i.path }))) } : {}),
      },
      meta,
    };
  }
  const request = validated.request;
  if (request.fhirServer && caller.fhirServers && !caller.fhirServers.includes(new URL(request.fhirServer).origin)) {
    return {
      status: 403,
      body: { error: 'fhir-server-not-allowed', message: `fhirServer ${new URL(request.fhirServer).origin} is not registered for client ${caller.iss}` },
      meta,
    };
  }
  const config = readConfiguration(request);
  const ctx = cardContext(deps.config);
  const now = (deps.now ?? (() => new Date()))();

  let drafts = medicationRequestsOf(request.context.draftOrders);
  if (service.hook === 'order-select') {
    const selected = new Set(request.context.selections ?? []);
    drafts = drafts.filter((o) => selected.has(`MedicationRequest/${o.id}`));
  }
  const harvest = harvestPrefetch(request.prefetch ?? undefined, service.prefetch ?? {});
  const draftResources = (request.context.draftOrders.entry ?? []).map((e) => e.resource!).filter(Boolean);

  // A client for the EHR's FHIR server, bounded by the hook's time budget.
  const budget = AbortSignal.timeout(Math.max(100, deps.config.hookBudgetMs - 400));
  // Every parallel FHIR query listens to the budget; more than Node's default of 10 is expected.
  setMaxListeners(200, budget);
  const client = request.fhirServer
    ? new FhirClient({
        baseUrl: request.fhirServer,
        accessToken: request.fhirAuthorization?.access_token,
        signal: budget,
        timeoutMs: deps.config.fhirTimeoutMs,
        maxPages: deps.config.fhirMaxPages,
        maxResponseBytes: deps.config.fhirMaxResponseBytes,
        policy: deps.config,
        allowedOrigins: caller.fhirServers,
      })
    : undefined;

  // Orders naming an external Medication need it to tell whether they are Kineret.
  const known = [...draftResources, ...harvest.resources];
  let lookup = referenceLookup<Medication>(known, 'Medication');
  const unresolved = drafts
    .map((o) => o.medicationReference?.reference)
    .filter((r): r is string => Boolean(r && !r.startsWith('#') && !lookup(r)));
  if (unresolved.length && client) {
    const fetched = await Promise.allSettled(unresolved.map((r) => client.get(r.replace(/^.*?(Medication\/[^/]+)$/, '$1'))));
    meta.queries += unresolved.length;
    lookup = referenceLookup<Medication>([...known, ...fetched.flatMap((f) => (f.status === 'fulfilled' ? [f.value] : []))], 'Medication');
  }
  const kineret = await deps.matcher.kineretOrders(drafts, lookup);
  meta.kineretOrders = kineret.map((o) => `MedicationRequest/${o.id}`);
  if (kineret.length === 0) return { status: 200, body: { cards: [] }, meta };

  if (service.hook === 'order-select') {
    const cards = config.coverageInfo ? [selectNoticeCard(ctx, kineret)] : [];
    return { status: 200, body: { cards: cards.slice(0, config.maxCards) }, meta };
  }

  // order-sign: data the prefetch lacks must come from the EHR; without a fhirServer that is a 412.
  const missing = PATIENT_SCOPED_TYPES.filter((t) => !harvest.covered.has(t));
  if (missing.length && !client) {
    return {
      status: 412,
      body: {
        error: 'prefetch-incomplete',
        message: `the prefetch lacks ${missing.join(', ')} and the request names no fhirServer to query`,
      },
      meta,
    };
  }

  const data = await assemblePatientData({
    patientId: request.context.patientId,
    orders: kineret,
    harvest,
    client,
    requirements: deps.requirements,
    valueSets: deps.valueSets,
  });
  meta.queries += data.queries;
  meta.problems = data.problems;
  const problems = data.problems.filter((p) => !p.startsWith('prefetch'));

  const assessments: OrderAssessment[] = [];
  for (const order of kineret) {
    try {
      const evaluation = await deps.engine.evaluate(data.bundle, {
        orderId: order.id,
        evaluationDate: today(now),
        nonPreferred: deps.config.kineretNonPreferred,
      });
      assessments.push({ order, evaluation });
    } catch (e) {
      problems.push(`the policy could not be evaluated: ${(e as Error).message}`);
      assessments.push({ order, evaluation: null });
    }
  }

  const cards: Card[] = [];
  const systemActions: SystemAction[] = [];
  const evaluated = assessments.filter((a) => a.evaluation);
  const coverageFailed = data.failedTypes.includes('Coverage') || data.failedTypes.includes('Patient');
  if (evaluated.length === 0 || coverageFailed) {
    if (config.coverageInfo) cards.push(undeterminedCard(ctx, kineret, problems.length ? problems : ['the patient record could not be read']));
  } else {
    const coverageReference = evaluated[0].evaluation!.coverageReference;
    if (config.coverageInfo) {
      cards.push(priorAuthCard(ctx, assessments, { coverageFound: Boolean(coverageReference), problems }));
      if (coverageReference) {
        const assertionId = randomUUID();
        for (const a of evaluated) {
          const order = structuredClone(a.order) as MedicationRequest;
          order.extension = [
            ...(order.extension ?? []),
            coverageInformation({
              coverageReference: a.evaluation!.coverageReference ?? coverageReference,
              assertionId,
              date: today(now),
              reason: `Kineret (anakinra) requires prior authorization under the ${deps.config.payerName} Kineret coverage guideline; clinical documentation is collected through DTR.`,
              questionnaire: ctx.questionnaireCanonical,
            }),
          ];
          systemActions.push({
            type: 'update',
            description: `Record that Kineret (anakinra) MedicationRequest/${a.order.id} needs prior authorization with clinical documentation (DTR).`,
            resource: order,
          });
        }
      }
    }
    if (config.guideline) {
      const warning = criteriaWarningCard(ctx, assessments);
      if (warning) cards.push(warning);
    }
  }
  return {
    status: 200,
    body: { cards: cards.slice(0, config.maxCards), ...(systemActions.length ? { systemActions } : {}) },
    meta,
  };
}

/**
 * The CRD hook pipeline, as a plain function: validate -> find Kineret orders -> gather patient
 * data (prefetch, then the EHR) -> evaluate the policy CQL per order -> build cards and the
 * coverage-information system action. No HTTP here; the Express route only calls handleHook.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Medication, MedicationRequest, OperationOutcome, ValueSet } from 'fhir/r4';
import type { Config } from '../config';
import { today, type Clock } from '../core/clock';
import { CRD, DTR_LAUNCH_PATH, POLICY_PATH, QUESTIONNAIRE_ID, CONTENT_VERSION } from '../constants';
import type { TypeRequirement } from '../core/data-requirements';
import type { KineretEngine } from '../core/engine';
import { FhirClient } from '../fhir/client';
import { clinicianProblems, NotEvaluated, type ExpectedFailure } from '../core/errors';
import { errorsIn, type FhirReader } from '../fhir/read';
import { referenceId } from '../fhir/references';
import { type CardContext, type OrderAssessment, criteriaWarningCard, priorAuthCard, selectNoticeCard, undeterminedCard } from './cards';
import { coverageInformation } from './coverage-information';
import { KineretMatcher, referenceLookup } from './orders';
import { assembleRecord, trustPrefetch, uncoveredTypes } from './patient-data';
import { outcomeOf, readHookRequest, type ValidationIssue } from './request';
import type { Card, HookResponse, ServiceDefinition, SystemAction } from './types';

export interface HookDeps {
  engine: KineretEngine;
  config: Config;
  services: ServiceDefinition[];
  requirements: TypeRequirement[];
  valueSets: ValueSet[];
  matcher: KineretMatcher;
  /** The one clock: the evaluation date and the coverage-information date of every hook answer. */
  clock: Clock;
  /** Reads client FHIR against the R4 element shapes (lenient reading, strict meaning). */
  reader: FhirReader;
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
  /** Expected failures met on the way (technical detail, for the log; the card says them in clinician words). */
  problems: string[];
  /** Sloppy-but-clear input read as meant, and how the prefetch was taken (for the log). */
  warnings: string[];
}

export interface ErrorBody {
  error: string;
  message: string;
  issues?: ValidationIssue[];
  operationOutcome?: OperationOutcome;
}

interface Configuration {
  coverageInfo: boolean;
  guideline: boolean;
  maxCards: number;
}

/** davinci-crd.configuration: honoured when present, never required; unknown options ignored. */
function readConfiguration(extension: Record<string, unknown> | undefined): Configuration {
  const raw = extension?.[CRD.configuration];
  const c = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const flag = (key: string) => (typeof c[key] === 'boolean' ? (c[key] as boolean) : true);
  const max = typeof c['max-cards'] === 'number' && Number.isInteger(c['max-cards']) && (c['max-cards'] as number) >= 0 ? (c['max-cards'] as number) : 10;
  return { coverageInfo: flag('coverage-info'), guideline: flag('guideline'), maxCards: max };
}

function cardContext(config: Config): CardContext {
  return {
    payerName: config.payerName,
    policyUrl: `${config.publicBaseUrl}${POLICY_PATH}`,
    dtrLaunchUrl: `${config.publicBaseUrl}${DTR_LAUNCH_PATH}`,
    questionnaireCanonical: `${config.publicBaseUrl}/fhir/Questionnaire/${QUESTIONNAIRE_ID}|${CONTENT_VERSION}`,
  };
}

/**
 * Answers one hook call. Refusals of the input come back as 4xx results; expected failures (the
 * EHR slow, down or sending what cannot be used; data missing) become an honest "could not be
 * determined" card. Anything else thrown is a defect and propagates to the error handler (a 500
 * with its stack logged), never a card.
 */
export async function handleHook(serviceId: string, body: unknown, deps: HookDeps, caller: Caller = { iss: null, fhirServers: null }): Promise<HookResult> {
  const started = performance.now();
  const meta: HookMeta = { kineretOrders: [], queries: 0, problems: [], warnings: [] };
  const service = deps.services.find((s) => s.id === serviceId);
  if (!service) return { status: 404, body: { error: 'unknown-service', message: `no CDS service with id ${serviceId}` }, meta };

  const read = readHookRequest(body, service, deps.reader);
  if (!read.ok) {
    const outcome = outcomeOf(read.issues);
    return {
      status: read.status,
      body: { error: 'invalid-request', message: read.issues.map((i) => (i.fhir ? i.message : `${i.path}: ${i.message}`)).join('; '), issues: read.issues, ...(outcome ? { operationOutcome: outcome } : {}) },
      meta,
    };
  }
  const request = read.request;
  meta.warnings.push(...request.warnings);
  if (request.fhirServer && caller.fhirServers && !caller.fhirServers.includes(new URL(request.fhirServer).origin)) {
    return {
      status: 403,
      body: { error: 'fhir-server-not-allowed', message: `fhirServer ${new URL(request.fhirServer).origin} is not registered for client ${caller.iss}` },
      meta,
    };
  }
  const config = readConfiguration(request.extension);
  const ctx = cardContext(deps.config);
  const drafts = request.medicationRequests;
  const prefetched = trustPrefetch(request.prefetch, service.prefetch ?? {}, request);
  meta.warnings.push(...prefetched.notes);

  // A client for the EHR's FHIR server, bounded by the hook's time budget.
  const budget = AbortSignal.timeout(Math.max(100, deps.config.hookBudgetMs - 400));
  // Every parallel FHIR query listens to the budget; more than Node's default of 10 is expected.
  setMaxListeners(200, budget);
  const client = request.fhirServer
    ? new FhirClient({
        baseUrl: request.fhirServer,
        accessToken: request.accessToken,
        signal: budget,
        timeoutMs: deps.config.fhirTimeoutMs,
        maxPages: deps.config.fhirMaxPages,
        maxResponseBytes: deps.config.fhirMaxResponseBytes,
        policy: deps.config,
        allowedOrigins: caller.fhirServers,
      })
    : undefined;

  // Orders naming an external Medication need it to tell whether they are Kineret.
  const known = [...request.draftOrders, ...prefetched.resources, ...prefetched.referenced];
  let lookup = referenceLookup<Medication>(known, 'Medication');
  const unresolved = [...new Set(drafts
    .map((o) => referenceId(o.medicationReference, 'Medication'))
    .filter((id): id is string => Boolean(id && !lookup(`Medication/${id}`))))];
  if (unresolved.length && client) {
    const fetched = await Promise.allSettled(unresolved.map((id) => client.get(`Medication/${encodeURIComponent(id)}`)));
    meta.queries += unresolved.length;
    const medications = fetched.flatMap((f) => {
      if (f.status !== 'fulfilled') return [];
      const r = deps.reader.resource<Medication>(f.value, 'the EHR\'s Medication', ['Medication']);
      return r.resource && errorsIn(r.issues).length === 0 ? [r.resource] : [];
    });
    lookup = referenceLookup<Medication>([...known, ...medications], 'Medication');
  }
  const kineret = await deps.matcher.kineretOrders(drafts, lookup);
  meta.kineretOrders = kineret.map((o) => `MedicationRequest/${o.id}`);
  if (kineret.length === 0) return { status: 200, body: { cards: [] }, meta };

  if (service.hook === 'order-select') {
    const cards = config.coverageInfo ? [selectNoticeCard(ctx, kineret)] : [];
    return { status: 200, body: { cards: cards.slice(0, config.maxCards) }, meta };
  }

  // order-sign: data the prefetch lacks must come from the EHR; without a fhirServer that is a 412.
  const missing = uncoveredTypes(deps.requirements, deps.valueSets, request.patientId, prefetched.covered);
  if (missing.length && !client) {
    return {
      status: 412,
      body: { error: 'prefetch-incomplete', message: `the prefetch lacks ${missing.join(', ')} and the request names no fhirServer to query` },
      meta,
    };
  }

  const record = await assembleRecord({
    patientId: request.patientId,
    orders: kineret,
    prefetched,
    client,
    requirements: deps.requirements,
    valueSets: deps.valueSets,
    reader: deps.reader,
  });
  meta.queries += record.queries;
  meta.warnings.push(...record.warnings.map((w) => w.diagnostics));
  const failures: ExpectedFailure[] = [...record.failures];

  const assessments: OrderAssessment[] = [];
  if (!record.failedTypes.has('Patient') && !record.failedTypes.has('Coverage')) {
    // One evaluation cannot be interrupted (it runs on the event loop until a worker pool takes it),
    // but the next one does not start once the hook budget is spent: those orders are answered as
    // not determined in time. A clock of elapsed time, read between evaluations (no timer fires meanwhile).
    const deadline = started + deps.config.hookBudgetMs;
    // The record (the orders themselves aside) is what one evaluation's time grows with.
    const tooLarge = (record.bundle.entry?.length ?? 0) - kineret.length > deps.config.maxPrefetchResources;
    if (tooLarge) failures.push(new NotEvaluated('record-too-large', deps.config.maxPrefetchResources));
    for (const order of kineret) {
      if (tooLarge) {
        assessments.push({ order, evaluation: null });
        continue;
      }
      if (performance.now() > deadline) {
        if (!failures.some((f) => f instanceof NotEvaluated)) failures.push(new NotEvaluated('out-of-time'));
        assessments.push({ order, evaluation: null });
        continue;
      }
      // A failure here is a defect (the input was checked): it propagates to a logged 500.
      const evaluation = await deps.engine.evaluate(record.bundle, {
        orderId: order.id,
        evaluationDate: today(deps.clock),
        nonPreferred: deps.config.kineretNonPreferred,
      });
      assessments.push({ order, evaluation });
    }
  }
  meta.problems = failures.map((f) => f.message);
  const problems = clinicianProblems(failures);

  const cards: Card[] = [];
  const systemActions: SystemAction[] = [];
  const evaluated = assessments.filter((a) => a.evaluation);
  if (evaluated.length === 0) {
    if (config.coverageInfo) cards.push(undeterminedCard(ctx, kineret, problems));
    return { status: 200, body: { cards: cards.slice(0, config.maxCards) }, meta };
  }
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
            date: today(deps.clock),
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
  return {
    status: 200,
    body: { cards: cards.slice(0, config.maxCards), ...(systemActions.length ? { systemActions } : {}) },
    meta,
  };
}

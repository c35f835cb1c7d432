/**
 * The CRD hook pipeline, as a plain function: validate -> find Kineret orders -> gather patient
 * data (prefetch, then the EHR) -> evaluate the policy CQL per order -> build cards and the
 * coverage-information system action. No HTTP here; the Express route only calls handleHook.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Coverage, Medication, MedicationRequest, OperationOutcome, Patient, ValueSet } from 'fhir/r4';
import type { Config } from '../config';
import { today, type Clock } from '../core/clock';
import { CRD, DTR_LAUNCH_PATH, POLICY_PATH, QUESTIONNAIRE_ID, CONTENT_VERSION } from '../constants';
import type { TypeRequirement } from '../core/data-requirements';
import type { KineretEngine } from '../core/engine';
import { addMonths } from '../core/decision';
import type { AuthorizationOnFile } from '../core/types';
import { memberKeys } from '../pas/member';
import { FhirClient } from '../fhir/client';
import { clinicianProblems, NotEvaluated, type ExpectedFailure } from '../core/errors';
import { errorsIn, type FhirReader } from '../fhir/read';
import { referenceId } from '../fhir/references';
import { type CardContext, type CardOptions, type OrderAssessment, orderSignCards, selectNoticeCard } from './cards';
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
  /**
   * The member's approved authorizations whose period ends on or after `since` (src/pas/store.ts),
   * by member key (src/pas/member.ts). The CQL decides whether one covers the order.
   */
  authorizations?: (memberKeys: string[], since: string) => Promise<AuthorizationOnFile[]>;
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

interface Configuration extends CardOptions {
  maxCards: number;
}

/**
 * davinci-crd.configuration: honoured when present, never required; unknown options ignored. One
 * boolean per card type (CRD dev-5): coverage-info, guideline, off-guideline; and max-cards.
 */
function readConfiguration(extension: Record<string, unknown> | undefined): Configuration {
  const raw = extension?.[CRD.configuration];
  const c = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const flag = (key: string) => (typeof c[key] === 'boolean' ? (c[key] as boolean) : true);
  const max = typeof c['max-cards'] === 'number' && Number.isInteger(c['max-cards']) && (c['max-cards'] as number) >= 0 ? (c['max-cards'] as number) : 10;
  return { coverageInfo: flag('coverage-info'), guideline: flag('guideline'), offGuideline: flag('off-guideline'), maxCards: max };
}

/**
 * order-sign is a primary hook: the response always carries `systemActions` (CRD hook-16; the Inferno
 * CRD kit's response validation requires the array on order-sign), empty when there is no coverage
 * information to give (no Kineret order, no active coverage, nothing evaluated).
 */
function respond(hook: string, cards: Card[], systemActions: SystemAction[], maxCards: number): HookResponse {
  return { cards: cards.slice(0, maxCards), ...(hook === 'order-sign' ? { systemActions } : systemActions.length ? { systemActions } : {}) };
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
  if (kineret.length === 0) return { status: 200, body: respond(service.hook, [], [], config.maxCards), meta };

  if (service.hook === 'order-select') {
    const cards = config.coverageInfo ? [selectNoticeCard(ctx, kineret)] : [];
    return { status: 200, body: respond(service.hook, cards, [], config.maxCards), meta };
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
    // What the plan holds for this member (the Texas one-a-year rule looks a year back).
    const recordResources = (record.bundle.entry ?? []).map((e) => e.resource);
    const patient = recordResources.find((r): r is Patient => r?.resourceType === 'Patient');
    const keys = [...new Set(recordResources.filter((r): r is Coverage => r?.resourceType === 'Coverage').flatMap((c) => memberKeys(patient, c)))];
    const authorizationsOnFile = deps.authorizations && keys.length ? await deps.authorizations(keys, addMonths(today(deps.clock), -12)) : [];
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
        authorizationsOnFile,
      });
      assessments.push({ order, evaluation });
    }
  }
  meta.problems = failures.map((f) => f.message);
  const problems = clinicianProblems(failures);

  const evaluated = assessments.filter((a) => a.evaluation);
  const coverageReference = evaluated[0]?.evaluation!.coverageReference ?? null;
  const cards = orderSignCards(ctx, { assessments: kineret.map((order) => assessments.find((a) => a.order === order) ?? { order, evaluation: null }), coverageFound: Boolean(coverageReference), problems, options: config });
  const systemActions: SystemAction[] = [];
  if (config.coverageInfo && coverageReference) {
    const assertionId = randomUUID();
    for (const a of evaluated) {
      const onFile = a.evaluation!.authorizationOnFile;
      const order = structuredClone(a.order) as MedicationRequest;
      order.extension = [
        ...(order.extension ?? []),
        coverageInformation({
          coverageReference: a.evaluation!.coverageReference ?? coverageReference,
          assertionId,
          date: today(deps.clock),
          // An authorization on file covers the order: pa-needed satisfied, no documentation request.
          ...(onFile
            ? {
                reason: `Prior authorization ${onFile.number} for Kineret (anakinra) is on file and covers this order until ${onFile.through}.`,
                satisfiedPaId: onFile.number,
              }
            : {
                reason: `Kineret (anakinra) requires prior authorization under the ${deps.config.payerName} Kineret coverage guideline; clinical documentation is collected through DTR.`,
                questionnaire: ctx.questionnaireCanonical,
              }),
        }),
      ];
      systemActions.push({
        type: 'update',
        description: onFile
          ? `Record that Kineret (anakinra) MedicationRequest/${a.order.id} is covered by prior authorization ${onFile.number}, on file until ${onFile.through}.`
          : `Record that Kineret (anakinra) MedicationRequest/${a.order.id} needs prior authorization with clinical documentation (DTR).`,
        resource: order,
      });
    }
  }
  return { status: 200, body: respond(service.hook, cards, systemActions, config.maxCards), meta };
}

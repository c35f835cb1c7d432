/** The DTR FHIR endpoint under /fhir: content read/search, ValueSet/$expand and the DTR operations. */
import type { Request, Response } from 'express';
import type { Bundle, CapabilityStatement, FhirResource, OperationOutcome, Parameters, QuestionnaireResponse, ValueSet } from 'fhir/r4';
import { CONTENT_BASE, DTR, PAS, SDC_LIBRARY_PROFILE, SMART } from '../constants';
import { nowIso, today } from '../core/clock';
import { CONTENT_TYPES } from '../dtr/content';
import { evaluateOperation, nextQuestionOperation, outcome, populateOperation, questionnairePackage, submitResponse, type DtrDeps, type FhirResult } from '../dtr/operations';
import { parseReference } from '../fhir/references';
import type { AuditStore, DtrEventRecord } from '../audit/store';
import type { Logger } from '../log';
import { fhirBodyLimits, type WorkLimits } from '../security/limits';
import { AUDITOR_SCOPE, ownerOf, readerOf, type Principal } from '../security/principal';
import type { ClientRegistry } from '../security/registry';
import { hasScopes, POPULATE_FETCH_SCOPE } from '../security/smart';
import { isPublic, principalOf, scopes, scopesAnyOf } from './auth';
import type { Routes } from './route';

function send(res: Response, result: FhirResult): void {
  res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.body));
}

function searchset(resources: FhirResource[], selfUrl: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    link: [{ relation: 'self', url: selfUrl }],
    entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
  };
}

/** Profiles this endpoint serves, per resource type (CapabilityStatement supportedProfile). */
const SUPPORTED_PROFILES: Record<string, string[]> = {
  Questionnaire: [DTR.stdQuestionnaireProfile, DTR.adaptiveSearchQuestionnaireProfile],
  Library: [SDC_LIBRARY_PROFILE],
  QuestionnaireResponse: [DTR.questionnaireResponseProfile, DTR.adaptiveQuestionnaireResponseProfile],
};

/**
 * The CapabilityStatement: the DTR payer service, the operations and profiles served, and how to
 * authenticate (SMART Backend Services: client_credentials with a private_key_jwt assertion at the
 * token endpoint; the same document as /fhir/.well-known/smart-configuration).
 */
function capabilityStatement(base: string, date: string, tokenEndpoint: string): CapabilityStatement {
  const profiles = (type: string) => (SUPPORTED_PROFILES[type] ? { supportedProfile: SUPPORTED_PROFILES[type] } : {});
  const content = CONTENT_TYPES.map((type) => ({
    type,
    ...profiles(type),
    interaction: [{ code: 'read' as const }, { code: 'search-type' as const }],
    searchParam: [
      { name: '_id', type: 'token' as const },
      { name: 'url', type: 'uri' as const },
      { name: 'version', type: 'token' as const },
      { name: 'name', type: 'string' as const },
    ],
    ...(type === 'Questionnaire'
      ? { operation: [
          { name: 'questionnaire-package', definition: DTR.questionnairePackageOperation },
          { name: 'next-question', definition: DTR.nextQuestionOperation },
          { name: 'populate', definition: DTR.populateOperation },
          { name: 'log-questionnaire-errors', definition: DTR.logQuestionnaireErrorsOperation },
        ] }
      : {}),
    ...(type === 'ValueSet' ? { operation: [{ name: 'expand', definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand' }] } : {}),
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'Kineret prior authorization service (DTR)', version: '0.1.0' },
    implementation: { description: 'Da Vinci DTR STU 2.0.1 payer endpoint for Kineret (anakinra)', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    instantiates: [DTR.payerServiceCapabilities],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          extension: [{
            url: SMART.oauthUris,
            extension: [{ url: 'token', valueUri: tokenEndpoint }],
          }],
          service: [{ coding: [{ system: SMART.securityServiceSystem, code: 'SMART-on-FHIR' }], text: 'SMART Backend Services' }],
          description: `SMART Backend Services (DTR spec-120): a registered client gets an access token from ${tokenEndpoint} with client_credentials and a private_key_jwt assertion (RS384 or ES384), and sends it as a Bearer token. Scopes: system/Questionnaire.rs, system/Library.rs, system/ValueSet.rs, system/CodeSystem.rs, system/QuestionnaireResponse.cr (wildcards such as system/*.rs are granted as far as the client's registration allows). Discovery: ${base}/.well-known/smart-configuration.`,
        },
        resource: [
          ...content,
          {
            type: 'QuestionnaireResponse',
            ...profiles('QuestionnaireResponse'),
            interaction: [{ code: 'create' }, { code: 'read' }],
            operation: [{ name: 'evaluate', definition: `${CONTENT_BASE}/OperationDefinition/QuestionnaireResponse-evaluate` }],
          },
          // Da Vinci PAS STU 2.0.1 (src/http/pas.ts).
          { type: 'Claim', operation: [{ name: 'submit', definition: PAS.submitOperation }, { name: 'inquire', definition: PAS.inquireOperation }] },
          { type: 'ClaimResponse', interaction: [{ code: 'read' }] },
        ],
      },
    ],
  };
}

function expand(vs: ValueSet, filter: string | undefined, offset: number, count: number | undefined, timestamp: string): ValueSet {
  const f = filter?.toLowerCase();
  const all = (vs.expansion?.contains ?? []).filter((c) => !f || `${c.code} ${c.display ?? ''}`.toLowerCase().includes(f));
  const page = all.slice(offset, count === undefined ? undefined : offset + count);
  return {
    ...vs,
    expansion: {
      ...(vs.expansion ?? { timestamp }),
      total: all.length,
      offset,
      ...(filter ? { parameter: [{ name: 'filter', valueString: filter }] } : {}),
      contains: page,
    },
  };
}

/** The patient a DTR call is about, for the audit trail (an id, never clinical content). */
function patientOf(body: unknown): string | null {
  const params = (body as Parameters | undefined)?.parameter ?? [];
  for (const p of params) {
    const ref = p.valueReference?.reference ?? (p.resource as { subject?: { reference?: string }; beneficiary?: { reference?: string } } | undefined)?.subject?.reference
      ?? (p.resource as { beneficiary?: { reference?: string } } | undefined)?.beneficiary?.reference;
    if (parseReference(ref)?.type === 'Patient') return ref!;
  }
  const subject = (body as QuestionnaireResponse | undefined)?.subject?.reference;
  return subject ?? null;
}

function summary(result: FhirResult): unknown {
  const body = result.body as Parameters;
  if (body.resourceType !== 'Parameters') return { status: result.status, resourceType: result.body.resourceType };
  return { status: result.status, decision: body.parameter?.find((p) => p.name === 'decision')?.valueCode ?? null, parameters: body.parameter?.map((p) => p.name) };
}

const CONTENT_SCOPE = (type: string, permission: 'r' | 's') => `system/${type}.${permission}`;

export interface FhirRouteDeps extends DtrDeps {
  store: AuditStore;
  registry: ClientRegistry;
  log: Logger;
}

/** Refusal of a $populate fhirServer: the same text whatever the target, so refusals say nothing about the network. */
export const FHIR_SERVER_REFUSED = `fhirServer is not allowed for this client: reading a record from a FHIR server needs the ${POPULATE_FETCH_SCOPE} scope and an origin registered for the client; send the patient data as parameter "data" instead`;

/** The fhirServer a $populate call asks to read from (only when it sends no data). */
function populateServer(body: unknown): string | undefined {
  const params = (body as Parameters | undefined)?.parameter;
  if (!Array.isArray(params) || params.some((x) => x?.name === 'data' && x.resource)) return undefined;
  const server = params.find((x) => x?.name === 'fhirServer');
  return server?.valueUrl ?? server?.valueUri ?? undefined;
}

/** Origins $populate may read from for this principal (null = any, AUTH=off), or a refusal. */
function populateOrigins(principal: Principal, server: string | undefined, registry: ClientRegistry): { allowed: readonly string[] | null } | { refused: true } {
  if (principal.kind === 'anonymous') return { allowed: null };
  const allowed = principal.kind === 'smart-client' ? registry.dtrClient(principal.clientId)?.fhirServers ?? [] : [];
  if (server === undefined) return { allowed };
  if (principal.kind !== 'smart-client' || !hasScopes(principal.scopes, [POPULATE_FETCH_SCOPE])) return { refused: true };
  let origin: string;
  try {
    origin = new URL(server).origin;
  } catch {
    return { refused: true };
  }
  return allowed.includes(origin) ? { allowed } : { refused: true };
}

/** The DTR FHIR endpoint. Every route declares the scopes it needs; a stored response is read only by its owner or an auditor. */
export function registerFhirRoutes(routes: Routes, deps: FhirRouteDeps, limits: WorkLimits): void {
  const base = deps.content.fhirBase;
  const bounded = fhirBodyLimits(limits);
  /** Sloppy-but-clear input read as meant: logged (ids and element paths only), the sender may fix it. */
  const logWarnings = (res: Response, result: FhirResult) => {
    if (result.warnings?.length) deps.log.warn({ requestId: res.locals.requestId, warnings: result.warnings.slice(0, 20), count: result.warnings.length }, 'FHIR input read leniently');
  };
  const audited = (kind: DtrEventRecord['kind'], run: (body: unknown, res: Response) => Promise<FhirResult>) =>
    async (req: Request, res: Response) => {
      const result = await run(req.body, res);
      logWarnings(res, result);
      await deps.store.recordDtrEvent({ kind, clientId: ownerOf(principalOf(res)) || null, patientId: patientOf(req.body), detail: summary(result) });
      send(res, result);
    };

  routes.route('GET', '/fhir/metadata', { access: isPublic('the CapabilityStatement: FHIR clients read it before they authenticate') },
    (_req, res) => send(res, { status: 200, body: capabilityStatement(base, today(deps.clock), `${deps.config.publicBaseUrl}/auth/token`) }));

  const pkg = audited('package', (body) => questionnairePackage(body, deps));
  const packageAccess = scopes(CONTENT_SCOPE('Questionnaire', 'r'), CONTENT_SCOPE('Library', 'r'), CONTENT_SCOPE('ValueSet', 'r'));
  routes.route('POST', '/fhir/Questionnaire/\\$questionnaire-package', { access: packageAccess }, bounded, pkg);
  routes.route('POST', '/fhir/\\$questionnaire-package', { access: packageAccess }, bounded, pkg);
  // On a Questionnaire instance (the Inferno DTR kit's "custom endpoint"): that questionnaire, e.g. the adaptive one.
  routes.route('POST', '/fhir/Questionnaire/:id/\\$questionnaire-package', { access: packageAccess }, bounded,
    (req, res) => audited('package', (body) => questionnairePackage(body, deps, { questionnaireId: req.params.id }))(req, res));

  // SDC $next-question for the adaptive form: at [base]/Questionnaire/$next-question (SDC, Inferno) and [base]/$next-question (DTR's wording).
  const next = audited('next-question', (body) => nextQuestionOperation(body, deps));
  routes.route('POST', '/fhir/Questionnaire/\\$next-question', { access: scopes(CONTENT_SCOPE('Questionnaire', 'r')) }, bounded, next);
  routes.route('POST', '/fhir/\\$next-question', { access: scopes(CONTENT_SCOPE('Questionnaire', 'r')) }, bounded, next);

  routes.route('POST', '/fhir/Questionnaire/\\$populate', { access: scopes(CONTENT_SCOPE('Questionnaire', 'r')) }, bounded,
    audited('population', async (body, res) => {
      const origins = populateOrigins(principalOf(res), populateServer(body), deps.registry);
      if ('refused' in origins) return outcome(403, 'forbidden', FHIR_SERVER_REFUSED);
      return populateOperation(body, deps, { allowedOrigins: origins.allowed });
    }));

  routes.route('POST', '/fhir/Questionnaire/\\$log-questionnaire-errors', { access: scopes(CONTENT_SCOPE('Questionnaire', 'r')) }, bounded, async (req, res) => {
    const p = req.body as Parameters;
    if (p?.resourceType !== 'Parameters') return send(res, outcome(400, 'invalid', 'the body must be a Parameters resource'));
    const questionnaires = (p.parameter ?? []).filter((x) => x.name === 'questionnaire').map((x) => x.valueCanonical ?? x.valueUri ?? '');
    const outcomes = (p.parameter ?? []).filter((x) => x.name === 'operationOutcome' && x.resource?.resourceType === 'OperationOutcome').map((x) => x.resource as OperationOutcome);
    if (questionnaires.length === 0 || outcomes.length === 0) {
      return send(res, outcome(400, 'required', 'parameters "questionnaire" and "operationOutcome" are required'));
    }
    await deps.store.logQuestionnaireErrors(questionnaires, outcomes, ownerOf(principalOf(res)) || null);
    send(res, outcome(200, 'informational', `logged ${outcomes.length} outcome(s) for ${questionnaires.join(', ')}`));
  });

  routes.route('POST', '/fhir/QuestionnaireResponse/\\$evaluate', { access: scopes('system/QuestionnaireResponse.c') }, bounded,
    audited('determination', (body) => evaluateOperation(body, deps)));

  // A response alone is stored without a determination; with its record (Parameters: response, data, date) it is evaluated against it.
  routes.route('POST', '/fhir/QuestionnaireResponse', { access: scopes('system/QuestionnaireResponse.c') }, bounded, async (req, res) => {
    const { result, stored } = await submitResponse(req.body, deps);
    logWarnings(res, result);
    if (!stored) return send(res, result);
    const principal = principalOf(res);
    const id = await deps.store.saveResponse(stored.response, stored.determination, ownerOf(principal));
    const saved = (await deps.store.getResponse(id, readerOf(principal)))!;
    const determination: FhirResult = { status: stored.determination.resourceType === 'Parameters' ? 200 : 404, body: stored.determination };
    await deps.store.recordDtrEvent({ kind: 'response', clientId: ownerOf(principal) || null, patientId: stored.response.subject?.reference ?? null, detail: { id, ...summary(determination) as object } });
    res.setHeader('Location', `${base}/QuestionnaireResponse/${id}/_history/1`);
    res.setHeader('Link', `<${base}/QuestionnaireResponse/${id}/$determination>; rel="determination"`);
    send(res, { status: 201, body: saved.response });
  });

  // A stored response and its determination: its owner (with read scope) or an auditor; anyone else gets 404, as if unknown.
  const storedAccess = scopesAnyOf(['system/QuestionnaireResponse.r'], [AUDITOR_SCOPE]);
  routes.route('GET', '/fhir/QuestionnaireResponse/:id/\\$determination', { access: storedAccess }, async (req, res) => {
    const found = await deps.store.getResponse(req.params.id, readerOf(principalOf(res)));
    if (!found) return send(res, outcome(404, 'not-found', `QuestionnaireResponse/${req.params.id} is not known`));
    // Stored without its record: the OperationOutcome saying there is no determination.
    send(res, { status: found.determination.resourceType === 'Parameters' ? 200 : 404, body: found.determination });
  });
  routes.route('GET', '/fhir/QuestionnaireResponse/:id', { access: storedAccess }, async (req, res) => {
    const found = await deps.store.getResponse(req.params.id, readerOf(principalOf(res)));
    send(res, found ? { status: 200, body: found.response } : outcome(404, 'not-found', `QuestionnaireResponse/${req.params.id} is not known`));
  });

  const expandRoute = (req: Request, res: Response) => {
    const p = req.method === 'POST' ? (req.body as Parameters) : undefined;
    const fromBody = (name: string) => p?.parameter?.find((x) => x.name === name);
    const query = req.query as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const url = text(query.url) ?? fromBody('url')?.valueUri ?? fromBody('url')?.valueCanonical;
    const vs = req.params.id
      ? (deps.content.byId('ValueSet', req.params.id) as ValueSet | undefined)
      : url ? (deps.content.byCanonical('ValueSet', url) as ValueSet | undefined)
      : (fromBody('valueSet')?.resource as ValueSet | undefined);
    if (!vs) return send(res, outcome(url || req.params.id ? 404 : 400, url || req.params.id ? 'not-found' : 'required', url || req.params.id ? `unknown value set ${url ?? req.params.id}` : 'parameter "url" is required'));
    const filter = text(query.filter) ?? fromBody('filter')?.valueString;
    const offset = Number(query.offset ?? fromBody('offset')?.valueInteger ?? 0);
    const countRaw = query.count ?? fromBody('count')?.valueInteger;
    const count = countRaw === undefined ? undefined : Number(countRaw);
    if (!Number.isInteger(offset) || offset < 0 || (count !== undefined && (!Number.isInteger(count) || count < 0))) {
      return send(res, outcome(400, 'invalid', 'offset and count must be non-negative integers'));
    }
    send(res, { status: 200, body: expand(vs, filter, offset, count, nowIso(deps.clock)) });
  };
  const expandAccess = { access: scopes(CONTENT_SCOPE('ValueSet', 'r')) };
  routes.route('GET', '/fhir/ValueSet/\\$expand', expandAccess, expandRoute);
  routes.route('POST', '/fhir/ValueSet/\\$expand', expandAccess, bounded, expandRoute);
  routes.route('GET', '/fhir/ValueSet/:id/\\$expand', expandAccess, expandRoute);

  // Content read and search, one declared route per type: the scope names the type.
  for (const type of CONTENT_TYPES) {
    routes.route('GET', `/fhir/${type}/:id`, { access: scopes(CONTENT_SCOPE(type, 'r')) }, (req, res) => {
      const r = deps.content.byId(type, req.params.id);
      send(res, r ? { status: 200, body: r } : outcome(404, 'not-found', `${type}/${req.params.id} is not known`));
    });
    routes.route('GET', `/fhir/${type}`, { access: scopes(CONTENT_SCOPE(type, 's')) }, (req, res) => {
      const q = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
      const matches = deps.content.all().filter((r) =>
        r.resourceType === type &&
        (!q._id || q._id.split(',').includes(r.id ?? '')) &&
        (!q.url || r.url === q.url.split('|')[0]) &&
        (!q.url?.includes('|') || r.version === q.url.split('|')[1]) &&
        (!q.version || r.version === q.version) &&
        (!q.name || (r.name ?? '').toLowerCase().startsWith(q.name.toLowerCase())),
      );
      const search = new URL(req.url, 'http://self.invalid').search;
      send(res, { status: 200, body: searchset(matches, `${base}/${type}${search}`) });
    });
  }
}

/** The DTR FHIR endpoint under /fhir: content read/search, ValueSet/$expand and the DTR operations. */
import { Router, type Response } from 'express';
import type { Bundle, CapabilityStatement, FhirResource, OperationOutcome, Parameters, QuestionnaireResponse, ValueSet } from 'fhir/r4';
import { CONTENT_BASE, DTR } from '../constants';
import { nowIso, today } from '../core/clock';
import { parseReference } from '../fhir/references';
import { CONTENT_TYPES, isContentType } from '../dtr/content';
import { evaluateOperation, outcome, populateOperation, questionnairePackage, submitResponse, type DtrDeps, type FhirResult } from '../dtr/operations';
import type { AuditStore, DtrEventRecord } from '../audit/store';
import type { Logger } from '../log';

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

function capabilityStatement(base: string, date: string): CapabilityStatement {
  const content = CONTENT_TYPES.map((type) => ({
    type,
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
        resource: [
          ...content,
          {
            type: 'QuestionnaireResponse',
            interaction: [{ code: 'create' }, { code: 'read' }],
            operation: [{ name: 'evaluate', definition: `${CONTENT_BASE}/OperationDefinition/QuestionnaireResponse-evaluate` }],
          },
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

export function fhirRouter(deps: DtrDeps & { store: AuditStore; log: Logger }): Router {
  const router = Router();
  /** Sloppy-but-clear input read as meant: logged (ids and element paths only), the sender may fix it. */
  const logWarnings = (res: Response, result: FhirResult) => {
    if (result.warnings?.length) deps.log.warn({ requestId: res.locals.requestId, client: res.locals.clientId, warnings: result.warnings.slice(0, 20), count: result.warnings.length }, 'FHIR input read leniently');
  };
  const base = deps.content.fhirBase;
  const audited = (kind: DtrEventRecord['kind'], run: (body: unknown) => Promise<FhirResult>) =>
    async (req: { body: unknown }, res: Response, next: (e: unknown) => void) => {
      try {
        const result = await run(req.body);
        logWarnings(res, result);
        await deps.store.recordDtrEvent({ kind, clientId: (res.locals.clientId as string | undefined) ?? null, patientId: patientOf(req.body), detail: summary(result) });
        send(res, result);
      } catch (e) {
        next(e);
      }
    };

  router.get('/fhir/metadata', (_req, res) => send(res, { status: 200, body: capabilityStatement(base, today(deps.clock)) }));

  const pkg = audited('package', (body) => questionnairePackage(body, deps));
  router.post('/fhir/Questionnaire/\\$questionnaire-package', pkg);
  router.post('/fhir/\\$questionnaire-package', pkg);
  router.post('/fhir/Questionnaire/\\$populate', audited('population', (body) => populateOperation(body, deps)));

  router.post('/fhir/Questionnaire/\\$log-questionnaire-errors', async (req, res, next) => {
    try {
      const p = req.body as Parameters;
      if (p?.resourceType !== 'Parameters') return send(res, outcome(400, 'invalid', 'the body must be a Parameters resource'));
      const questionnaires = (p.parameter ?? []).filter((x) => x.name === 'questionnaire').map((x) => x.valueCanonical ?? x.valueUri ?? '');
      const outcomes = (p.parameter ?? []).filter((x) => x.name === 'operationOutcome' && x.resource?.resourceType === 'OperationOutcome').map((x) => x.resource as OperationOutcome);
      if (questionnaires.length === 0 || outcomes.length === 0) {
        return send(res, outcome(400, 'required', 'parameters "questionnaire" and "operationOutcome" are required'));
      }
      await deps.store.logQuestionnaireErrors(questionnaires, outcomes);
      send(res, outcome(200, 'informational', `logged ${outcomes.length} outcome(s) for ${questionnaires.join(', ')}`));
    } catch (e) {
      next(e);
    }
  });

  router.post('/fhir/QuestionnaireResponse/\\$evaluate', audited('determination', (body) => evaluateOperation(body, deps)));

  // A response alone is stored without a determination; with its record (Parameters: response, data, date) it is evaluated against it.
  router.post('/fhir/QuestionnaireResponse', async (req, res, next) => {
    try {
      const { result, stored } = await submitResponse(req.body, deps);
      logWarnings(res, result);
      if (!stored) return send(res, result);
      const id = await deps.store.saveResponse(stored.response, stored.determination);
      const saved = (await deps.store.getResponse(id))!;
      const determination: FhirResult = { status: stored.determination.resourceType === 'Parameters' ? 200 : 404, body: stored.determination };
      await deps.store.recordDtrEvent({ kind: 'response', clientId: (res.locals.clientId as string | undefined) ?? null, patientId: stored.response.subject?.reference ?? null, detail: { id, ...summary(determination) as object } });
      res.setHeader('Location', `${base}/QuestionnaireResponse/${id}/_history/1`);
      res.setHeader('Link', `<${base}/QuestionnaireResponse/${id}/$determination>; rel="determination"`);
      send(res, { status: 201, body: saved.response });
    } catch (e) {
      next(e);
    }
  });

  router.get('/fhir/QuestionnaireResponse/:id/\\$determination', async (req, res) => {
    const found = await deps.store.getResponse(req.params.id);
    if (!found) return send(res, outcome(404, 'not-found', `QuestionnaireResponse/${req.params.id} is not known`));
    // Stored without its record: the OperationOutcome saying there is no determination.
    send(res, { status: found.determination.resourceType === 'Parameters' ? 200 : 404, body: found.determination });
  });
  router.get('/fhir/QuestionnaireResponse/:id', async (req, res) => {
    const found = await deps.store.getResponse(req.params.id);
    send(res, found ? { status: 200, body: found.response } : outcome(404, 'not-found', `QuestionnaireResponse/${req.params.id} is not known`));
  });

  const expandRoute = (req: { query: Record<string, unknown>; params: Record<string, string>; body?: unknown; method: string }, res: Response) => {
    const p = req.method === 'POST' ? (req.body as Parameters) : undefined;
    const fromBody = (name: string) => p?.parameter?.find((x) => x.name === name);
    const url = (req.query.url as string | undefined) ?? fromBody('url')?.valueUri ?? fromBody('url')?.valueCanonical;
    const vs = req.params.id
      ? (deps.content.byId('ValueSet', req.params.id) as ValueSet | undefined)
      : url ? (deps.content.byCanonical('ValueSet', url) as ValueSet | undefined)
      : (fromBody('valueSet')?.resource as ValueSet | undefined);
    if (!vs) return send(res, outcome(url || req.params.id ? 404 : 400, url || req.params.id ? 'not-found' : 'required', url || req.params.id ? `unknown value set ${url ?? req.params.id}` : 'parameter "url" is required'));
    const filter = (req.query.filter as string | undefined) ?? fromBody('filter')?.valueString;
    const offset = Number(req.query.offset ?? fromBody('offset')?.valueInteger ?? 0);
    const countRaw = req.query.count ?? fromBody('count')?.valueInteger;
    const count = countRaw === undefined ? undefined : Number(countRaw);
    if (!Number.isInteger(offset) || offset < 0 || (count !== undefined && (!Number.isInteger(count) || count < 0))) {
      return send(res, outcome(400, 'invalid', 'offset and count must be non-negative integers'));
    }
    send(res, { status: 200, body: expand(vs, filter, offset, count, nowIso(deps.clock)) });
  };
  router.get('/fhir/ValueSet/\\$expand', expandRoute);
  router.post('/fhir/ValueSet/\\$expand', expandRoute);
  router.get('/fhir/ValueSet/:id/\\$expand', expandRoute);

  router.get('/fhir/:type/:id', (req, res) => {
    const { type, id } = req.params;
    if (!isContentType(type)) return send(res, outcome(404, 'not-supported', `resource type ${type} is not served here`));
    const r = deps.content.byId(type, id);
    send(res, r ? { status: 200, body: r } : outcome(404, 'not-found', `${type}/${id} is not known`));
  });

  router.get('/fhir/:type', (req, res) => {
    const { type } = req.params;
    if (!isContentType(type)) return send(res, outcome(404, 'not-supported', `resource type ${type} is not served here`));
    const q = req.query as Record<string, string | undefined>;
    const matches = deps.content.all().filter((r) =>
      r.resourceType === type &&
      (!q._id || q._id.split(',').includes(r.id ?? '')) &&
      (!q.url || r.url === q.url.split('|')[0]) &&
      (!q.url?.includes('|') || r.version === q.url.split('|')[1]) &&
      (!q.version || r.version === q.version) &&
      (!q.name || (r.name ?? '').toLowerCase().startsWith(q.name.toLowerCase())),
    );
    send(res, { status: 200, body: searchset(matches, `${base}${req.originalUrl.replace(/^\/fhir/, '')}`) });
  });

  return router;
}

/** CDS Hooks routes: discovery, service calls and feedback. Thin: authenticate, call the core, audit, answer. */
import { createHash, randomUUID } from 'node:crypto';
import type { Extension } from 'fhir/r4';
import type { AuditStore, CoverageAssertionRecord } from '../audit/store';
import { CRD } from '../constants';
import { nowIso } from '../core/clock';
import { handleHook, type Caller, type HookDeps, type HookResult } from '../crd/hook';
import type { Logger } from '../log';
import { hookLimits, type WorkLimits } from '../security/limits';
import { cdsClient } from './auth';
import type { Routes } from './route';

function assertionsOf(result: HookResult, issuedAt: string): CoverageAssertionRecord[] {
  if (result.status !== 200) return [];
  return (result.body.systemActions ?? []).flatMap((action) =>
    (action.resource.extension ?? [])
      .filter((e) => e.url === CRD.coverageInformationUrl)
      .map((e: Extension) => {
        const sub = (url: string) => e.extension?.find((x) => x.url === url);
        return {
          assertionId: sub('coverage-assertion-id')?.valueString ?? '',
          orderRef: `MedicationRequest/${action.resource.id}`,
          coverageRef: sub('coverage')?.valueReference?.reference ?? '',
          extension: e,
          issuedAt,
        };
      }),
  );
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function registerCdsRoutes(routes: Routes, deps: HookDeps & { store: AuditStore; log: Logger }, limits: WorkLimits): void {
  routes.route('GET', '/cds-services', { access: cdsClient({ optional: true }) }, (_req, res) => {
    res.json({ services: deps.services });
  });

  routes.route('POST', '/cds-services/:id', { access: cdsClient() }, hookLimits(limits), async (req, res, next) => {
    try {
      const receivedAt = nowIso(deps.clock);
      const started = process.hrtime.bigint();
      const caller = res.locals.caller as Caller;
      const body = req.body as Record<string, unknown> | undefined;
      const hookInstance = str(body?.hookInstance) ?? '';
      res.locals.hookInstance = hookInstance;
      // A call is keyed by client, hookInstance and the digest of its body: a retry (same body) gets the recorded
      // answer; a reused hookInstance with a different body is a distinct call, answered and recorded as such.
      const requestHash = createHash('sha256').update(JSON.stringify(req.body)).digest('hex');
      const answered = hookInstance ? await deps.store.findAnsweredCall(caller.iss, hookInstance, requestHash) : undefined;
      if (answered) {
        res.setHeader('X-Replayed-From', answered.requestId);
        res.status(200).json(answered.response);
        return;
      }
      const result = await handleHook(req.params.id, req.body, deps, caller);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const context = body?.context as Record<string, unknown> | undefined;
      const call = {
        requestId: String(res.locals.requestId ?? randomUUID()),
        hookInstance,
        serviceId: req.params.id,
        clientIss: caller.iss,
        patientId: str(context?.patientId),
        orderIds: result.meta.kineretOrders,
        receivedAt,
        durationMs: ms,
        status: result.status as number,
        response: result.body,
        requestHash,
      };
      let outcome: 'recorded' | 'duplicate';
      try {
        outcome = await deps.store.recordHook(call, assertionsOf(result, nowIso(deps.clock)));
      } catch (e) {
        deps.log.error({ requestId: call.requestId, hookInstance, err: (e as Error).message }, 'audit write failed');
        res.status(503).json({ error: 'audit-unavailable', message: 'the answer could not be recorded, so it is not given; retry later' });
        return;
      }
      if (outcome === 'duplicate') {
        // A concurrent retry of the very same call was answered first: give the answer already recorded.
        const earlier = await deps.store.findAnsweredCall(caller.iss, hookInstance, requestHash);
        if (!earlier) throw new Error(`hook call ${hookInstance} reported as a duplicate, but no answered call is recorded`);
        res.setHeader('X-Replayed-From', earlier.requestId);
        res.status(200).json(earlier.response);
        return;
      }
      const meta = result.meta;
      deps.log.info({ requestId: call.requestId, hookInstance, service: req.params.id, status: result.status, kineretOrders: meta.kineretOrders.length, queries: meta.queries, problems: meta.problems, ms: Math.round(ms) }, 'hook answered');
      if (meta.warnings.length) deps.log.warn({ requestId: call.requestId, hookInstance, warnings: meta.warnings.slice(0, 20), count: meta.warnings.length }, 'hook request read leniently');
      res.setHeader('Server-Timing', `hook;dur=${ms.toFixed(1)}`);
      res.status(result.status).json(result.body);
    } catch (e) {
      next(e);
    }
  });

  routes.route('POST', '/cds-services/:id/feedback', { access: cdsClient() }, async (req, res, next) => {
    try {
      if (!deps.services.some((s) => s.id === req.params.id)) {
        res.status(404).json({ error: 'unknown-service', message: `no CDS service with id ${req.params.id}` });
        return;
      }
      const feedback = (req.body as { feedback?: unknown })?.feedback;
      const valid =
        Array.isArray(feedback) &&
        feedback.length <= 100 &&
        feedback.every(
          (f) =>
            typeof f === 'object' && f !== null && typeof (f as { card?: unknown }).card === 'string' &&
            ['accepted', 'overridden'].includes(String((f as { outcome?: unknown }).outcome)) &&
            typeof (f as { outcomeTimestamp?: unknown }).outcomeTimestamp === 'string',
        );
      if (!valid) {
        res.status(422).json({ error: 'invalid-feedback', message: 'feedback must be an array of {card, outcome (accepted|overridden), outcomeTimestamp}' });
        return;
      }
      const caller = res.locals.caller as Caller;
      for (const f of feedback as { card: string; outcome: string }[]) {
        await deps.store.recordFeedback({ serviceId: req.params.id, clientIss: caller.iss, cardUuid: f.card, outcome: f.outcome, body: f });
      }
      res.status(200).json({});
    } catch (e) {
      next(e);
    }
  });
}

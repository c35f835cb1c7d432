/**
 * An evaluation worker thread (started by ./pool.ts): loads the compiled ELM, the value sets and the FHIR
 * model info once, warms the engine up on a minimal record, says it is ready, then evaluates one record per
 * message and answers with the result as JSON text (./evaluation.ts), or the error.
 */
import { parentPort } from 'node:worker_threads';
import type { Bundle } from 'fhir/r4';
import { KineretEngine, loadContent } from './engine';
import { runOnEngine } from './evaluate-here';
import type { JobMessage, WorkerMessage } from './pool';

const port = parentPort;
if (!port) throw new Error('pool-worker runs as a worker thread (src/core/pool.ts)');

const engine = new KineretEngine(loadContent());

function errorOf(e: unknown): { name: string; message: string; stack?: string } {
  return e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: 'Error', message: String(e) };
}

async function handle(m: JobMessage): Promise<void> {
  let answer: WorkerMessage;
  try {
    const bundle = JSON.parse(m.record) as Bundle;
    answer = { type: 'result', id: m.id, ok: true, json: await runOnEngine(engine, m.kind, bundle, m.options) };
  } catch (e) {
    answer = { type: 'result', id: m.id, ok: false, error: errorOf(e) };
  }
  port!.postMessage(answer);
}

async function warmUp(): Promise<void> {
  // The first evaluation compiles the engine's hot paths; a minimal record takes that cost before any request.
  const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'warm-up', birthDate: '1980-01-01' } }] };
  for (const kind of ['decision', 'libraries'] as const) {
    await runOnEngine(engine, kind, bundle, { evaluationDate: '2026-01-01' }).catch(() => undefined);
  }
}

void warmUp().then(() => {
  port.on('message', (m: JobMessage) => void handle(m));
  port.postMessage({ type: 'ready' } satisfies WorkerMessage);
});

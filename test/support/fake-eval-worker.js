/**
 * A stand-in evaluation worker for the pool's own tests (test/core/pool.test.ts): it speaks the pool's
 * protocol (src/core/pool.ts) and does what the job's orderId says, so that queueing, time limits, deaths
 * and replacements can be tested without CQL:
 *   'busy:<ms>'  holds its thread for <ms> (a busy loop, like an evaluation), then answers
 *   'crash'      throws outside any handler (the worker dies)
 *   'input'      answers an EvaluationInputError
 * The answer is {"thread": <threadId>, "jobs": <jobs this worker ran>}.
 */
const { parentPort, threadId, workerData } = require('node:worker_threads');

if (workerData.data && workerData.data.failStart) throw new Error('cannot load the content');
let jobs = 0;
parentPort.on('message', (m) => {
  jobs++;
  const what = String(m.options.orderId || '');
  if (what === 'crash') setImmediate(() => { throw new Error('worker crashed'); });
  else if (what === 'input') parentPort.postMessage({ type: 'result', id: m.id, ok: false, error: { name: 'EvaluationInputError', message: 'no Patient' } });
  else {
    const until = performance.now() + Number(what.split(':')[1] || 0);
    while (performance.now() < until) { /* busy, as an evaluation is */ }
    parentPort.postMessage({ type: 'result', id: m.id, ok: true, json: JSON.stringify({ thread: threadId, jobs }) });
  }
});
parentPort.postMessage({ type: 'ready' });

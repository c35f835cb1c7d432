/**
 * The benchmarks' baseline: an Express app that parses a JSON body and sends it back, nothing else.
 * Benchmark harness only (never part of the service). Run as its own process, like the service:
 *   PORT=4100 node --import tsx bench/echo-server.ts
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: '64mb', type: ['application/json', 'application/fhir+json'], strict: false }));
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.post('*', (req, res) => {
  res.json(req.body);
});

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT is required');
const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

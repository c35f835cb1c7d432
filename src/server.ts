/** Entry point: load configuration and content once, open the audit store, then serve. */
import { createApp, createServices } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig();
  const started = performance.now();
  const services = await createServices(config);
  const app = createApp(services);
  const server = app.listen(config.port, () => {
    services.log.info({ port: config.port, publicBaseUrl: config.publicBaseUrl, store: services.store.kind, auth: config.auth, sandbox: config.sandbox, startupMs: Math.round(performance.now() - started) }, 'listening');
  });
  const stop = () => server.close(() => void services.store.close().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: Error) => {
  console.error(JSON.stringify({ level: 'fatal', msg: 'start-up failed', error: e.message }));
  process.exit(1);
});

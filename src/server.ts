/** Entry point: load configuration and content once, open the audit store, then serve. */
import type { AddressInfo } from 'node:net';
import { createApp, createServices } from './app';
import { loadConfig } from './config';

/** How long open requests may take to finish after SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const started = performance.now();
  const services = await createServices(config);
  const { log } = services;
  const app = createApp(services);
  const server = app.listen(config.port, () => {
    const port = (server.address() as AddressInfo).port;
    log.info({ port, publicBaseUrl: config.publicBaseUrl, store: services.store.kind, auth: config.auth, sandbox: config.sandbox, startupMs: Math.round(performance.now() - started) }, 'listening');
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    stopping = true;
    const since = performance.now();
    log.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'stopping: no new connections, finishing open requests, then closing the audit store');
    setTimeout(() => {
      log.error({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'open requests did not finish in time: exiting without closing the audit store');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // close() stops accepting connections and closes the idle keep-alive ones; a connection whose request
    // finishes while stopping is closed as soon as it is idle, rather than at its keep-alive timeout.
    setInterval(() => server.closeIdleConnections(), 50).unref();
    server.close(() => {
      services.store.close().then(
        () => {
          log.info({ signal, shutdownMs: Math.round(performance.now() - since) }, 'stopped');
          process.exit(0);
        },
        (e: Error) => {
          log.error({ signal, error: e.message }, 'the audit store did not close cleanly');
          process.exit(1);
        },
      );
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: Error) => {
  console.error(JSON.stringify({ level: 'fatal', msg: 'start-up failed', error: e.message }));
  process.exit(1);
});

/** Entry point: load configuration and content once, then serve. */
import { createApp, createServices } from './app';
import { loadConfig } from './config';

function main(): void {
  const config = loadConfig();
  const started = Date.now();
  const services = createServices(config);
  const app = createApp(services);
  const server = app.listen(config.port, () => {
    console.log(JSON.stringify({ level: 'info', msg: 'listening', port: config.port, publicBaseUrl: config.publicBaseUrl, startupMs: Date.now() - started }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();

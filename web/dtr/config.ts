/** The app's run-time configuration from the server that serves it (/dtr/config.json). */
import type { DtrAppConfig } from '../../src/dtr/app-config';
import { fetchJson } from './http';

export async function loadConfig(): Promise<DtrAppConfig> {
  return (await fetchJson<DtrAppConfig>('app', new URL('config.json', new URL('/dtr/', location.href)).toString())).body;
}

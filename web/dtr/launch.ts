/**
 * /dtr/launch: the EHR opens this with ?launch=...&iss=... (SMART App Launch 2, EHR launch).
 * fhirclient discovers the EHR's authorization server from iss, and redirects there with the
 * scopes and PKCE; the EHR sends the browser back to /dtr/ with a code.
 */
import FHIR from 'fhirclient/lib/entry/browser';
import { loadConfig } from './config';
import { userMessage } from './errors';

async function launch(): Promise<void> {
  const params = new URLSearchParams(location.search);
  if (!params.get('iss') || !params.get('launch')) {
    throw new Error('this page is opened by an EHR with launch and iss parameters (SMART EHR launch); open the app from the EHR');
  }
  const config = await loadConfig();
  await FHIR.oauth2.authorize({ clientId: config.clientId, scope: config.scope, redirectUri: new URL('/dtr/', location.href).toString(), pkceMode: 'ifSupported' });
}

launch().catch((e: unknown) => {
  const el = document.getElementById('status');
  if (el) {
    el.className = 'alert alert-error';
    el.textContent = `The documentation app could not be launched: ${userMessage(e)}`;
  }
});

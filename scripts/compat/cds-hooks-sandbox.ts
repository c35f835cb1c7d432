/**
 * The CDS Hooks sandbox (cds-hooks/sandbox, built into COMPAT_DIR/cds-hooks-sandbox/build) against this service,
 * AUTH on, its issuer trusted with the key its repository publishes: discovery, a search for anakinra in its drug
 * list, and Sign Order for a drug of the list. `npx tsx scripts/compat/cds-hooks-sandbox.ts`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPAT_DIR, EHR, SERVICE, startWorld } from './world';

async function main(): Promise<void> {
  const build = path.join(COMPAT_DIR, 'cds-hooks-sandbox', 'build');
  const world = await startWorld({
    auth: 'on',
    trust: (s) => s.registry.addCdsClient({ iss: 'https://sandbox.cds-hooks.org', jwks: JSON.parse(readFileSync(path.join(build, '.well-known', 'jwks.json'), 'utf8')), fhirServers: ['http://127.0.0.1:8080'] }),
  });
  try {
    await world.serve(8085, build);
    const log: string[] = [];
    const page = await world.page(log);
    await page.goto(`http://127.0.0.1:8085/?fhirServiceUrl=${encodeURIComponent(EHR)}&serviceDiscoveryURL=${encodeURIComponent(`${SERVICE}/cds-services`)}&patientId=ra-mtx`);
    await page.waitForTimeout(5000);
    await page.getByText('Rx Sign').first().click();
    await page.locator('[name=medication-input]').fill('anakinra');
    await page.waitForTimeout(2000);
    console.log(`drugs offered for "anakinra": ${await page.locator('.MuiListItemButton-root').count()}`);
    await page.locator('[name=medication-input]').fill('Naproxen');
    await page.waitForTimeout(2000);
    console.log(`drugs offered for "Naproxen": ${await page.locator('.MuiListItemButton-root').count()}`);
    await page.getByText('Naproxen 750 MG').first().click();
    await page.getByText('Sign Order').first().click();
    await page.waitForTimeout(4000);
    await page.screenshot({ path: path.join(COMPAT_DIR, 'cds-hooks-sandbox.png') });
    console.log(log.join('\n'));
  } finally {
    await world.close();
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * The Da Vinci DTR reference app (HL7-DaVinci/dtr, built in COMPAT_DIR/dtr) launched by the open EHR with our card's
 * appContext for ra-tnf, AUTH=off. Its LHC-Forms comes from a CDN (36.20.3); here it is served from an lforms build:
 * LFORMS_DIR (default: the lforms this project installs). `npx tsx scripts/compat/dtr-app.ts`.
 */
import path from 'node:path';
import { COMPAT_DIR, EHR, responsive, SERVICE, startWorld } from './world';

async function main(): Promise<void> {
  const pub = path.join(COMPAT_DIR, 'dtr', 'public');
  const lforms = path.resolve(process.env.LFORMS_DIR ?? path.join('node_modules', 'lforms', 'dist', 'lforms'));
  const world = await startWorld({ auth: 'off' });
  try {
    // Its own backend keeps client ids and logs in a database; these stand in for it.
    await world.serve(3005, pub, (app) => {
      app.get('/clients/', (_req, res) => res.json([{ id: '1', name: 'default', client: 'app-login' }]));
      app.post('/logs', (_req, res) => res.json({ id: '1' }));
      app.put('/logs/:id', (_req, res) => res.json({ id: '1' }));
      app.get('/launch', (_req, res) => res.sendFile(path.join(pub, 'launch.html')));
      app.get('/index', (_req, res) => res.sendFile(path.join(pub, 'index.html')));
    });
    const p = 'ra-tnf';
    const appContext = `questionnaire=${SERVICE}/fhir/Questionnaire/kineret-pa&order=MedicationRequest/${p}-kineret-order&coverage=Coverage/${p}-cov`;
    const launch = world.ehrAuth.createLaunch({ patient: p, user: `Practitioner/${p}-dr-rheum`, appContext, fhirContext: [{ reference: `MedicationRequest/${p}-kineret-order` }, { reference: `Coverage/${p}-cov` }] });
    const log: string[] = [];
    const page = await world.page(log);
    await page.route(/lhcforms-static\.nlm\.nih\.gov\/lforms-versions\/[^/]+\/(.*)$/, (r) => r.fulfill({ path: path.join(lforms, /lforms-versions\/[^/]+\/(.*)$/.exec(r.request().url())![1]) }));
    await page.goto(`http://127.0.0.1:3005/launch?iss=${encodeURIComponent(EHR)}&launch=${launch}`);
    let alive = true;
    for (let s = 0; s < 40 && alive; s++) {
      alive = await responsive(page);
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (alive) {
      log.push(`form items shown: ${await page.locator('lhc-item').count()}`);
      await page.getByText('Show details').first().click().catch(() => undefined);
      log.push((await page.locator('body').innerText()).slice(0, 600));
      await page.screenshot({ path: path.join(COMPAT_DIR, 'dtr-app.png') });
    } else log.push('the tab stopped answering');
    console.log(`LHC-Forms from ${lforms}\n${log.join('\n')}`);
  } finally {
    await world.close();
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});

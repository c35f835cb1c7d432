/**
 * The Da Vinci CRD request generator (HL7-DaVinci/crd-request-generator, built in COMPAT_DIR/crd-request-generator)
 * against this service: AUTH=on (refused), then AUTH=off: a Kineret order for ra-tnf, the cards, the same call
 * again (its constant hookInstance), and the DTR link launching the app hosted here. `npx tsx scripts/compat/request-generator.ts`.
 */
import path from 'node:path';
import { COMPAT_DIR, EHR, SERVICE, startWorld } from './world';

async function once(auth: 'on' | 'off'): Promise<void> {
  const dir = path.join(COMPAT_DIR, 'crd-request-generator');
  const world = await startWorld({ auth });
  try {
    world.spawn('node', ['server.js'], dir, {
      NODE_ENV: 'production', PORT: '8086', REACT_APP_EHR_SERVER: EHR, REACT_APP_CDS_SERVICE: `${SERVICE}/cds-services`,
      REACT_APP_ORDER_SIGN: 'crd-order-sign', REACT_APP_ORDER_SELECT: 'crd-order-select', REACT_APP_PUBLIC_KEYS: 'http://127.0.0.1:8086/public_keys',
    });
    await new Promise((r) => setTimeout(r, 3000));
    const log: string[] = [];
    const page = await world.page(log);
    await page.goto('http://127.0.0.1:8086/');
    await page.waitForTimeout(3000);
    await page.getByText('Patient Select').first().click();
    await page.waitForTimeout(3000);
    const card = page.locator('.MuiCardContent-root').filter({ hasText: 'ra-tnf Test' }).first();
    await card.locator('[role=combobox]').first().click();
    await page.locator('[role=option]').filter({ hasText: /anakinra|Kineret/i }).first().click();
    await card.getByText('Click to select this patient').click();
    await page.waitForTimeout(2000);
    for (let i = 0; i < 2; i++) {
      await page.getByText('Submit to CRD and Display Cards').first().click();
      await page.waitForTimeout(6000);
    }
    await page.screenshot({ path: path.join(COMPAT_DIR, `request-generator-auth-${auth}.png`), fullPage: true });
    if (auth === 'off') {
      const [app] = await Promise.all([page.context().waitForEvent('page'), page.getByText('Complete the Kineret prior authorization documentation').first().click()]);
      await app.waitForSelector('body[data-ready]', { timeout: 60_000 });
      log.push(`the DTR app hosted here: ${await app.locator('body').getAttribute('data-ready')}: ${await app.locator('#status').textContent()}`);
      await app.screenshot({ path: path.join(COMPAT_DIR, 'request-generator-dtr.png') });
    }
    console.log(`AUTH=${auth}\n${log.join('\n')}\n`);
  } finally {
    await world.close();
  }
}

once('on').then(() => once('off')).then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});

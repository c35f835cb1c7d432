/**
 * The DTR app in adaptive mode (DTR_FORM=adaptive): launched from the sandbox's card, it asks the
 * payer for the adaptive form, fills each group of questions from the record, asks for the next
 * questions until the payer says the form is complete, and submits it: saved on the EHR, sent to
 * the plan as a prior authorization request (PAS; its answer shown and refreshable), and the
 * determination in words. A plan that cannot be reached at Submit costs no answer.
 */
import type { QuestionnaireResponse } from 'fhir/r4';
import { journey, startHarness, type Harness } from './harness';
import { answerBoolean, answerText, launchFromCard, marks, openSandbox, signOrder, submit, waitForError } from './pages';

jest.setTimeout(120_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ DTR_FORM: 'adaptive' });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

test('an approvable RA request through the adaptive form: the questions come a group at a time, filled from the record, then approved', async () => {
  await journey(h, 'adaptive', async (context) => {
    const ehr = await openSandbox(context, h.base);
    await signOrder(ehr, 'ra-mtx', { prefetch: true });
    const { app } = await launchFromCard(context, ehr);
    expect(await app.locator('body').getAttribute('data-ready')).toBe('true');
    await expect(app.locator('#save').textContent()).resolves.toBe('Next questions');
    // The opening questions only, filled from the record.
    expect(await marks(app)).toEqual({ 'request-type': 'auto', indication: 'auto' });
    expect(await app.locator('lhc-item[id^="item-no-active-infection/"]').count()).toBe(0);
    const seen: string[] = [];
    for (let step = 0; step < 8 && (await app.locator('#submit').isDisabled()); step++) {
      const before = Number(await app.locator('body').getAttribute('data-adaptive-step'));
      for (const linkId of ['no-active-infection', 'no-concurrent-biologic', 'no-hypersensitivity', 'ra-mtx-max-dose-not-at-goal']) {
        if (await app.locator(`label[id^="${linkId}/"][id$="|true"]`).count()) await answerBoolean(app, linkId, true);
      }
      if (await app.locator('lhc-item[id^="item-ra-baseline-doc.text/"]').count()) await answerText(app, 'ra-baseline-doc.text', 'CDAI 28 (high). Goal: CDAI <= 10 by 6 months.');
      seen.push(...Object.keys(await marks(app)));
      await app.click('#save');
      await app.waitForSelector(`body[data-adaptive-step="${before + 1}"], [data-testid=error]`, { timeout: 30_000 });
      expect(await app.locator('[data-testid=error]').count()).toBe(0);
    }
    expect(await app.locator('#submit').isDisabled()).toBe(false);
    // Prefilled along the way: the RA severity from the record's CDAI, the route and the weight from the order and the record.
    expect(seen).toEqual(expect.arrayContaining(['ra-moderate-severe', 'route-subcutaneous', 'weight-kg']));
    // The plan unreachable at Submit: a clear message, the answers still in the form, Submit offered again.
    const answersBefore = await marks(app);
    const claimSubmit = /\/fhir\/Claim\/\$submit/;
    await app.route(claimSubmit, (r) => r.abort('connectionrefused'));
    await app.click('#submit');
    await waitForError(app, 'prior-authorization service could not be reached');
    expect(await app.locator('#submit').isDisabled()).toBe(false);
    expect(await marks(app)).toEqual(answersBefore);
    await expect(app.locator('[data-testid=decision]').count()).resolves.toBe(0);
    await app.unroute(claimSubmit);

    expect(await submit(app)).toMatchObject({ decision: 'approved', outcome: 'approved', headline: 'Approved' });
    const id = /QuestionnaireResponse\/([A-Za-z0-9-]+)/.exec((await app.locator('#status').textContent()) ?? '')?.[1];
    // The prior authorization request went to the plan (PAS): its answer, with the authorization number, refreshable.
    await expect(app.locator('[data-testid=authorization-status]').textContent()).resolves.toBe('APPROVED');
    const number = await app.locator('[data-testid=authorization-number]').textContent();
    expect(number).toMatch(/^KPA-[0-9A-Z]{10}$/);
    await app.click('#refresh-authorization');
    await app.waitForSelector('#authorization[data-status="approved"]');
    await expect(app.locator('[data-testid=authorization-number]').textContent()).resolves.toBe(number);
    // The completed adaptive response is saved on the EHR, once (the failed submission's save was updated, not repeated).
    const saved = await h.services.sandbox!.fhir.read<QuestionnaireResponse>('QuestionnaireResponse', id!);
    expect({ questionnaire: saved?.questionnaire, status: saved?.status }).toEqual({ questionnaire: '#adaptive', status: 'completed' });
    const adaptiveResponses = (await h.services.sandbox!.fhir.search('QuestionnaireResponse', `subject=${encodeURIComponent(saved!.subject!.reference!)}`))
      .filter((r) => (r as QuestionnaireResponse).questionnaire === '#adaptive');
    expect(adaptiveResponses.map((r) => r.id)).toEqual([id]);
    // Submitted: read-only, with the next steps.
    await expect(app.locator('#actions').isHidden()).resolves.toBe(true);
    await expect(app.locator('[data-testid=next-steps]').textContent()).resolves.toContain('Print or save as PDF');
    await app.close();
  });
});

/**
 * `npm run evaluate -- <bundle.json> [--date] [--answers]` on a corpus file, on a plain Bundle that is not in
 * the corpus (with a QuestionnaireResponse as the answers), and on bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, QuestionnaireResponse } from 'fhir/r4';
import { ROOT } from '../../src/paths';

jest.setTimeout(60_000);

function run(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'scripts', 'evaluate.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

const dir = mkdtempSync(path.join(tmpdir(), 'kineret-evaluate-'));

describe('npm run evaluate', () => {
  it('a corpus scenario: its date and plan, with its scripted answers: the decision, the period and every criterion', () => {
    const file = path.join(ROOT, 'test', 'fixtures', 'scenarios', 'ra-texas-marketplace-12-months.json');
    const r = run(file, '--answers', file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('evaluated at 2026-11-28');
    expect(r.stdout).toContain('DECISION: APPROVED');
    expect(r.stdout).toContain('Approval period: 2026-11-28 to 2027-11-28 (12 months)');
    for (const code of ['IND', 'ALL-1', 'ALL-2', 'ALL-3', 'ALL-CI', 'ALL-ROUTE', 'AGE', 'PRESC', 'DOSE', 'RA-1', 'RA-2', 'RA-3']) expect(r.stdout).toMatch(new RegExp(`\\n${code}\\s+met\\s`));
    expect(r.stdout).toContain('evidence: Condition/ra, Observation/cdai');
  });

  it('a record not in the corpus, with a QuestionnaireResponse and a date: pended with its reasons, as JSON too', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle', type: 'collection', entry: [
        { resource: { resourceType: 'Patient', id: 'walk-in', birthDate: '2012-07-01' } },
        { resource: { resourceType: 'Condition', id: 'dx', subject: { reference: 'Patient/walk-in' }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M04.2' }] } } },
        { resource: { resourceType: 'MedicationRequest', id: 'rx', status: 'draft', intent: 'order', subject: { reference: 'Patient/walk-in' },
          medicationCodeableConcept: { text: 'Kineret 100 mg/0.67 mL prefilled syringe' },
          dosageInstruction: [{ route: { text: 'SC' }, timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }, doseAndRate: [{ doseQuantity: { value: 100, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } }] }] } },
      ],
    };
    const response: QuestionnaireResponse = {
      resourceType: 'QuestionnaireResponse', status: 'completed',
      item: [{ linkId: 'all-indications', item: [{ linkId: 'no-active-infection', answer: [{ valueBoolean: true }] }] }],
    };
    writeFileSync(path.join(dir, 'walk-in.json'), JSON.stringify(bundle));
    writeFileSync(path.join(dir, 'response.json'), JSON.stringify(response));
    const r = run(path.join(dir, 'walk-in.json'), '--date', '2026-12-01', '--answers', path.join(dir, 'response.json'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Patient/walk-in, evaluated at 2026-12-01');
    expect(r.stdout).toContain('Order: MedicationRequest/rx    Coverage: none (plan unknown)');
    expect(r.stdout).toContain('DECISION: PENDED');
    expect(r.stdout).toContain('- plan-unknown:');
    expect(r.stdout).toMatch(/\nALL-1\s+met\s+clinician/);
    expect(r.stdout).toMatch(/\nALL-ROUTE\s+met\s+record/);
    const json = run(path.join(dir, 'walk-in.json'), '--date', '2026-12-01', '--json');
    const parsed = JSON.parse(json.stdout) as { decision: string; indication: string; determination: { resourceType: string } };
    expect(parsed).toMatchObject({ decision: 'pended', indication: 'CAPS', determination: { resourceType: 'Parameters' } });
  });

  it('refuses what it cannot read, with a message and a non-zero exit', () => {
    writeFileSync(path.join(dir, 'not-fhir.json'), '{"hello": 1}');
    const notFhir = run(path.join(dir, 'not-fhir.json'));
    expect(notFhir.status).toBe(1);
    expect(notFhir.stderr).toContain('neither a FHIR Bundle nor a scenario file');
    const badDate = run(path.join(dir, 'not-fhir.json'), '--date', 'tomorrow');
    expect(badDate.status).toBe(1);
    expect(badDate.stderr).toContain('--date must be YYYY-MM-DD');
    const usage = run();
    expect(usage.status).toBe(1);
    expect(usage.stderr).toContain('usage: npm run evaluate');
  });
});

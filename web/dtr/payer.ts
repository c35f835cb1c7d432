/**
 * The payer's FHIR endpoint as the app sees it: DTR ($questionnaire-package, $evaluate,
 * $next-question) and PAS (Claim/$submit, Claim/$inquire). The app holds no payer key: it opens a session at its
 * own backend from the verified SMART launch (POST /dtr/session with the launch's id_token and access
 * token; src/security/dtr-session.ts) and uses the payer access token it gets, in memory only. When
 * that token expires the app opens a new session with the same launch; once the launch itself has
 * expired, the clinician launches again from the EHR (the draft is kept on the device).
 */
import type { Bundle, FhirResource, MedicationRequest, Parameters, QuestionnaireResponse } from 'fhir/r4';
import type { DtrAppConfig } from '../../src/dtr/app-config';
import { AppError } from './errors';
import { fetchJson } from './http';
import type { LaunchCredentials } from './launch-context';

export class Payer {
  private token: string | null = null;

  constructor(private readonly config: DtrAppConfig, private readonly credentials: LaunchCredentials) {}

  /** Opens (or renews) the session; the answer's errors become AppErrors that say what to do. */
  async openSession(): Promise<void> {
    const c = this.credentials;
    if (!c.idToken) {
      throw new AppError('app', 'invalid', 'the EHR launched the app without an id_token (the openid and fhirUser scopes), so the plan cannot verify the launch; launch the app from an EHR that grants them');
    }
    try {
      const answer = await fetchJson<{ access_token?: string }>('payer', this.config.sessionUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id_token: c.idToken, access_token: c.accessToken, fhirBase: c.fhirBase, patient: c.patient }),
      });
      if (!answer.body?.access_token) throw new AppError('payer', 'invalid', 'the plan opened no session (no access token in its answer)');
      this.token = answer.body.access_token;
    } catch (e) {
      // The session route speaks OAuth errors: 401 is an expired or invalid launch, 403 an EHR the plan does not know.
      if (e instanceof AppError && e.party === 'payer' && e.kind === 'expired') throw new AppError('payer', 'launch-expired', e.message, e.status);
      throw e;
    }
  }

  private async call<T>(url: string, init: RequestInit): Promise<T> {
    const send = async () => (await fetchJson<T>('payer', url, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${this.token}` } })).body;
    if (!this.token) await this.openSession();
    try {
      return await send();
    } catch (e) {
      // An expired session token: a new session from the same launch, once.
      if (!(e instanceof AppError && e.kind === 'expired')) throw e;
      await this.openSession();
      return send();
    }
  }

  private operation<T extends FhirResource>(path: string, body: FhirResource): Promise<T> {
    return this.call<T>(`${this.config.payerFhirBase}/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(body) });
  }

  questionnairePackage(input: Parameters): Promise<Parameters> {
    return this.operation<Parameters>('Questionnaire/$questionnaire-package', input);
  }

  evaluate(input: Parameters): Promise<Parameters> {
    return this.operation<Parameters>('QuestionnaireResponse/$evaluate', input);
  }

  /** PAS: the prior authorization request Bundle in, the plan's response Bundle (ClaimResponse first) out. */
  submitClaim(request: Bundle): Promise<Bundle> {
    return this.operation<Bundle>('Claim/$submit', request);
  }

  /** PAS: the current ClaimResponse of a request (by its identifier, patient and provider). */
  inquire(inquiry: Bundle): Promise<Bundle> {
    return this.operation<Bundle>('Claim/$inquire', inquiry);
  }

  /** SDC $next-question (adaptive forms): the adaptive response in, the next one out. */
  nextQuestion(input: Parameters): Promise<QuestionnaireResponse> {
    return this.operation<QuestionnaireResponse>('Questionnaire/$next-question', input);
  }

  /** The order as the plan recorded it from the EHR's order-sign call, or null when the plan has no record of it. */
  async recordedOrder(reference: string): Promise<MedicationRequest | null> {
    try {
      return await this.call<MedicationRequest>(`${this.config.recordedOrderUrl}?reference=${encodeURIComponent(reference)}`, { method: 'GET' });
    } catch (e) {
      if (e instanceof AppError && e.status === 404) return null;
      throw e;
    }
  }
}

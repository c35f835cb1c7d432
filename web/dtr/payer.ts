/**
 * The payer's FHIR endpoint: DTR ($questionnaire-package, $evaluate) and PAS (Claim/$submit,
 * Claim/$inquire), with a payer access token. The
 * token source is what /dtr/config.json names: in the sandbox a development route of the same
 * server; a deployed DTR app has none in the browser (its own backend calls the payer, or the EHR is
 * the DTR client), and then this says so instead of failing obscurely.
 */
import type { Bundle, FhirResource, Parameters, QuestionnaireResponse } from 'fhir/r4';
import type { DtrAppConfig } from '../../src/dtr/app-config';
import { AppError } from './errors';
import { fetchJson } from './http';

export class Payer {
  private token: string | null = null;

  constructor(private readonly config: DtrAppConfig) {}

  private async freshToken(): Promise<string> {
    const source = this.config.payerToken;
    if (!source) {
      throw new AppError('payer', 'forbidden', 'this app has no payer access token here: a deployed DTR app obtains it through its own backend (SMART Backend Services), or the EHR acts as the DTR client');
    }
    let res: Response;
    try {
      res = await fetch(source.url, { headers: { Accept: 'text/plain' } });
    } catch (e) {
      throw new AppError('payer', 'unreachable', `token source ${source.url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new AppError('payer', 'forbidden', `the token source ${source.url} answered HTTP ${res.status}`);
    this.token = (await res.text()).trim();
    return this.token;
  }

  /** POSTs a FHIR resource; on 401 (an expired payer token) gets a new token once and retries. */
  private async operation<T extends FhirResource>(path: string, body: FhirResource): Promise<T> {
    const post = async (token: string) =>
      (await fetchJson<T>('payer', `${this.config.payerFhirBase}/${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify(body),
      })).body;
    try {
      return await post(this.token ?? (await this.freshToken()));
    } catch (e) {
      if (e instanceof AppError && e.kind === 'expired') return post(await this.freshToken());
      throw e;
    }
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
}

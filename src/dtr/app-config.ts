/**
 * The DTR app's run-time configuration, served as /dtr/config.json (src/http/dtr-app.ts) and read
 * by the browser app (web/dtr). Types only, so that both sides can import it.
 */
export interface DtrAppConfig {
  /** The app's SMART client id at the EHR that launches it. */
  clientId: string;
  /** The scopes the app asks for at launch. */
  scope: string;
  /** The payer's DTR FHIR endpoint ($questionnaire-package, $evaluate). */
  payerFhirBase: string;
  /**
   * Where the app opens its payer session from the verified launch (POST id_token, access_token,
   * fhirBase, patient; src/security/dtr-session.ts). The browser never holds a payer key.
   */
  sessionUrl: string;
  /** Where a session reads the order as the payer recorded it from the EHR's order-sign call (?reference=MedicationRequest/<id>). */
  recordedOrderUrl: string;
  /** The plan's formulary status of Kineret, a parameter of the payer's CQL (criterion ALL-3). */
  kineretNonPreferred: boolean;
  /** Which form the app asks for (DTR_FORM); a launch's appContext `form=adaptive|standard` overrides it. */
  form: 'standard' | 'adaptive';
  /** The canonical of the adaptive form ($next-question), asked for in adaptive mode. */
  adaptiveQuestionnaire: string;
}

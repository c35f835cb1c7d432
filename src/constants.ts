/**
 * FHIR URLs, code systems and identifiers used across the service: one place per concern.
 */
import content from '../terminology/content.json';

/** Canonical base of the project's own content (value sets, libraries, code systems). */
export const CONTENT_BASE: string = content.base;
export const CONTENT_VERSION: string = content.version;

export const CRITERIA_CODE_SYSTEM = `${CONTENT_BASE}/CodeSystem/kineret-pa-criteria`;
export const INDICATION_CODE_SYSTEM = `${CONTENT_BASE}/CodeSystem/kineret-pa-indication`;

/** The rule: applicable criteria, decision, approval (cql/KineretPA.cql). */
export const MAIN_LIBRARY = 'KineretPA';
/** Questionnaire prepopulation, the library the Questionnaire's cqf-library names (cql/KineretPrefill.cql). */
export const PREFILL_LIBRARY = 'KineretPrefill';
/** "Is this a Kineret order?" (cql/KineretProduct.cql): the CRD pre-check evaluates it alone. */
export const PRODUCT_LIBRARY = 'KineretProduct';
export const HELPERS_LIBRARY = 'FHIRHelpers';

/** Code system URIs (terminology/content.json is shared with the value set generator). */
export const SYSTEMS = content.systems as {
  rxnorm: string; ndc: string; icd10cm: string; snomed: string; loinc: string; nucc: string; hgnc: string; hgncLegacy: string;
};

/** Da Vinci CRD STU 2.0.1 */
export const CRD = {
  coverageInformationUrl: 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information',
  /** 2.0.1 card topic and reason code system. */
  tempCodeSystem: 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp',
  configurationOptions: 'davinci-crd.configuration-options',
  configuration: 'davinci-crd.configuration',
} as const;

/** Da Vinci DTR STU 2.0.1 and SDC */
export const DTR = {
  qrContext: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/qr-context',
  intendedUse: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/intendedUse',
  informationOrigin: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin',
  stdQuestionnaireProfile: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire',
  questionnaireResponseProfile: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaireresponse',
  cqfLibrary: 'http://hl7.org/fhir/StructureDefinition/cqf-library',
  launchContext: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext',
  initialExpression: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression',
  qpackageBundleProfile: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/DTR-QPackageBundle',
  questionnairePackageOperation: 'http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/questionnaire-package',
  logQuestionnaireErrorsOperation: 'http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/log-questionnaire-errors',
  payerServiceCapabilities: 'http://hl7.org/fhir/us/davinci-dtr/CapabilityStatement/dtr-payer-service',
  /** SDC $populate. */
  populateOperation: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate',
} as const;

export const QUESTIONNAIRE_ID = 'kineret-pa';
/** Path of the policy text served by this service. */
export const POLICY_PATH = '/policy/kineret-anakinra';
export const DTR_LAUNCH_PATH = '/dtr/launch';
/** Scopes the DTR app asks for at an EHR launch (SMART App Launch 2): the patient's record, and writing its responses. */
export const DTR_APP_SCOPES = ['launch', 'openid', 'fhirUser', 'patient/*.rs', 'patient/QuestionnaireResponse.cru'];
/**
 * What a session of the hosted DTR app (src/security/dtr-session.ts) may do at the payer: the DTR
 * operations, and reading the order this service recorded from the same EHR's order-sign call for the
 * launch's patient (patient/MedicationRequest.r: the session is bound to that patient).
 */
export const DTR_SESSION_SCOPES = [
  'system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs', 'system/CodeSystem.rs', 'system/QuestionnaireResponse.cr',
  'patient/MedicationRequest.r',
];

export const LIBRARY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/library-type';

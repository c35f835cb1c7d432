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
  /** The adaptive Questionnaire a package returns (DTR 2.0.1). */
  adaptiveSearchQuestionnaireProfile: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaire-adapt-search',
  /** The Questionnaire contained in an adaptive QuestionnaireResponse (DTR 2.0.1). */
  adaptiveQuestionnaireProfile: 'http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaire-adapt',
  /** SDC's adaptive QuestionnaireResponse (a contained Questionnaire it names). */
  adaptiveQuestionnaireResponseProfile: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse-adapt',
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
  /** SDC: a Questionnaire is adaptive (boolean), or the base where $next-question is called (url). */
  questionnaireAdaptive: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive',
  /** SDC $next-question (adaptive forms). */
  nextQuestionOperation: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question',
} as const;

/** SMART on FHIR in a CapabilityStatement: the security service code and the OAuth endpoints extension. */
export const SMART = {
  securityServiceSystem: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
  oauthUris: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
} as const;

export const QUESTIONNAIRE_ID = 'kineret-pa';
/** Path of the policy text served by this service. */
export const POLICY_PATH = '/policy/kineret-anakinra';
export const DTR_LAUNCH_PATH = '/dtr/launch';
/** Scopes the DTR app asks for at an EHR launch (SMART App Launch 2): the patient's record, and writing its responses. */
export const DTR_APP_SCOPES = ['launch', 'openid', 'fhirUser', 'patient/*.rs', 'patient/QuestionnaireResponse.cru'];
/**
 * What a session of the hosted DTR app (src/security/dtr-session.ts) may do at the payer: the DTR
 * operations, reading the order this service recorded from the same EHR's order-sign call for the
 * launch's patient (patient/MedicationRequest.r: the session is bound to that patient), and PAS:
 * submitting the prior authorization request and reading its answer, for that patient only
 * (src/http/pas.ts checks the binding).
 */
export const DTR_SESSION_SCOPES = [
  'system/Questionnaire.rs', 'system/Library.rs', 'system/ValueSet.rs', 'system/CodeSystem.rs', 'system/QuestionnaireResponse.cr',
  'patient/MedicationRequest.r',
  'system/Claim.c', 'system/ClaimResponse.r',
];

export const LIBRARY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/library-type';
/** SDC 3.0.0 Library profile: the one the DTR adaptive questionnaire's cqf-library targets (DTR STU 2.0.1 depends on SDC 3.0.0). */
export const SDC_LIBRARY_PROFILE = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-library';

/** Da Vinci PAS STU 2.0.1 (and the 2.2 additions the store keeps for a later 2.2 setting) */
export const PAS = {
  requestBundleProfile: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-request-bundle',
  responseBundleProfile: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-response-bundle',
  inquiryResponseBundleProfile: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-inquiry-response-bundle',
  claimResponseProfile: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claimresponse',
  claimInquiryResponseProfile: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claiminquiryresponse',
  submitOperation: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit',
  inquireOperation: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry',
  requestedService: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService',
  levelOfServiceCode: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-levelOfServiceCode',
  itemTraceNumber: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber',
  reviewAction: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction',
  reviewActionCode: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode',
  itemPreAuthIssueDate: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemPreAuthIssueDate',
  itemPreAuthPeriod: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemPreAuthPeriod',
  administrationReferenceNumber: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-administrationReferenceNumber',
  /** PAS 2.2: who reviewed the request, and whether a human did. */
  claimResponseReviewer: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-claimResponseReviewer',
  tempCodes: 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes',
  /** X12 306 Health Care Services Review action codes (HCR01): A1 certified in total, A3 not certified, A4 pended. */
  x12ReviewAction: 'https://codesystem.x12.org/005010/306',
  /** X12 1338 level of service (UM06): U urgent, 03 emergency. */
  x12LevelOfService: 'https://codesystem.x12.org/005010/1338',
} as const;

/** HL7 terminology used by PAS messages. */
export const HL7_SYSTEMS = {
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  adjudication: 'http://terminology.hl7.org/CodeSystem/adjudication',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  subscriberRelationship: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
  npi: 'http://hl7.org/fhir/sid/us-npi',
} as const;

/** The plan's reviewer decision codes (denial reasons), for the letter and ClaimResponse.item.adjudication.reason. */
export const DENIAL_REASON_CODE_SYSTEM = `${CONTENT_BASE}/CodeSystem/kineret-pa-denial-reason`;
/** The workbench of the plan's clinical reviewers. */
export const REVIEW_PATH = '/review';

/**
 * The part of LHC-Forms' global API (window.LForms, from node_modules/lforms, served under
 * /dtr/vendor/lforms) that the DTR app uses. LHC-Forms ships no TypeScript types.
 */
import type { Questionnaire, QuestionnaireResponse } from 'fhir/r4';

declare global {
  /** LHC-Forms' internal form definition (opaque to the app). */
  interface LFormsDefinition {
    readonly [key: string]: unknown;
  }

  interface LFormsOptions {
    prepopulate?: boolean;
    fhirVersion?: 'R4';
    /** Display options of the rendered form. */
    displayControl?: Record<string, unknown>;
    hideRequiredIndicator?: boolean;
    showCodingInstruction?: boolean;
    allowHTML?: boolean;
  }

  interface LFormsUtil {
    convertFHIRQuestionnaireToLForms(questionnaire: Questionnaire, fhirVersion: 'R4'): LFormsDefinition;
    mergeFHIRDataIntoLForms(resource: QuestionnaireResponse, form: LFormsDefinition, fhirVersion: 'R4'): LFormsDefinition;
    addFormToPage(form: LFormsDefinition | Questionnaire, container: HTMLElement | string, options?: LFormsOptions): Promise<void>;
    getFormFHIRData(resourceType: 'QuestionnaireResponse', fhirVersion: 'R4', container?: HTMLElement | string): QuestionnaireResponse;
    checkValidity(container?: HTMLElement | string): string[] | null;
  }

  interface Window {
    LForms?: { Util: LFormsUtil; lformsVersion?: string };
  }
}

export {};

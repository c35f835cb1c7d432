/**
 * Failures the user must understand: which party failed (the EHR, the payer) and how (unreachable,
 * session expired, refused, answered with an error). Every message says what to do next and that
 * typed answers are kept.
 */
export type Party = 'ehr' | 'payer' | 'app';
export type FailureKind = 'unreachable' | 'expired' | 'launch-expired' | 'forbidden' | 'rejected' | 'invalid';

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly party: Party,
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    /** The FHIRPath expressions of the answer's OperationOutcome issues (what the refusal is about). */
    readonly expressions: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * Where typed answers survive a failure: the standard form keeps a draft on this device and restores it at the next
 * launch; the adaptive form keeps its answers in the open page only.
 */
export type Keeping = 'device' | 'page';

const KEEPING: Record<Keeping, { kept: string; relaunch: string }> = {
  device: { kept: 'Your answers are kept on this device and nothing you typed is lost.', relaunch: 'your unsaved answers will be restored there' },
  page: { kept: 'Your answers stay in this page while it is open; do not close it before they are submitted.', relaunch: 'answers not yet submitted are not kept once this page is closed' },
};

/** The text shown to the user for any failure. */
export function userMessage(e: unknown, keeping: Keeping = 'device'): string {
  const { kept, relaunch } = KEEPING[keeping];
  if (!(e instanceof AppError)) return `Something went wrong in the documentation app: ${e instanceof Error ? e.message : String(e)}. ${kept}`;
  if (e.party === 'ehr') {
    switch (e.kind) {
      case 'unreachable': return `The EHR could not be reached (${e.message}). Check the connection and try again. ${kept}`;
      case 'expired': return `Your EHR session has expired or was ended. Launch the documentation again from the EHR; ${relaunch}. ${kept}`;
      case 'forbidden': return `The EHR refused the request (${e.message}). ${kept}`;
      default: return `The EHR answered with an error: ${e.message}. ${kept}`;
    }
  }
  if (e.party === 'payer') {
    switch (e.kind) {
      case 'unreachable': return `The payer's prior-authorization service could not be reached (${e.message}). Try again in a moment. ${kept}`;
      case 'expired': return `The plan did not accept this app's session (${e.message}). Try again; if it persists, launch the documentation again from the EHR. ${kept}`;
      case 'launch-expired': return `Your session with the plan has ended (${e.message}). Launch the documentation again from the EHR; ${relaunch}. ${kept}`;
      case 'forbidden': return `The payer refused the request: ${e.message}. ${kept}`;
      default: return `The payer answered with an error: ${e.message}. ${kept}`;
    }
  }
  return `${e.message}. ${kept}`;
}

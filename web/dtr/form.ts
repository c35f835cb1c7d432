/**
 * The form, rendered by LHC-Forms (the lforms npm package's web component, served from
 * /dtr/vendor/lforms): load a Questionnaire with a response, read the response back, hear about
 * edits, mark each item with where its answer came from and whether the plan still needs it, and
 * make it read-only once submitted. LHC-Forms renders every item it shows as
 * <lhc-item id="item-{linkId}/..."> (items disabled by enableWhen are not rendered); the marks are
 * re-applied after each change, since LHC-Forms re-renders items as enableWhen shows and hides them.
 */
import type { Questionnaire, QuestionnaireResponse } from 'fhir/r4';
import type { OriginSource } from './origin';
import { forRendering } from './render-hints';

export interface ItemMark {
  /** Where the answer came from; 'problem' for an unanswered item the record could not fill. */
  source: OriginSource | 'problem';
  /** Shown on hover over the mark. */
  title: string;
  /** Population problem for this item, if any. */
  problem?: string;
}

const LABELS: Record<ItemMark['source'], string> = { auto: 'From the record', override: 'Changed by you', manual: 'Entered by you', problem: 'Not filled: see note' };

export async function lformsUtil(timeoutMs = 20_000): Promise<LFormsUtil> {
  const started = Date.now();
  while (!window.LForms?.Util || !('convertFHIRQuestionnaireToLForms' in window.LForms.Util)) {
    if (Date.now() - started > timeoutMs) throw new Error('the form renderer (LHC-Forms) did not load');
    await new Promise((r) => setTimeout(r, 50));
  }
  return window.LForms.Util;
}

function linkIdOf(el: HTMLElement): string {
  return el.id.slice('item-'.length).replace(/(\/\d+)+$/, '');
}

export class FormView {
  private util: LFormsUtil | null = null;
  private marks = new Map<string, ItemMark>();
  private needed = new Map<string, string>();
  private onSelect: ((linkId: string) => void) | null = null;

  constructor(private readonly container: HTMLElement) {}

  async render(questionnaire: Questionnaire, response: QuestionnaireResponse): Promise<void> {
    this.util = await lformsUtil();
    const form = this.util.convertFHIRQuestionnaireToLForms(forRendering(questionnaire), 'R4');
    const withAnswers = response.item?.length ? this.util.mergeFHIRDataIntoLForms(response, form, 'R4') : form;
    await this.util.addFormToPage(withAnswers, this.container, { prepopulate: false });
    this.applyMarks();
  }

  /** The form's answers as a QuestionnaireResponse (LHC-Forms' own output, without DTR extensions). */
  read(): QuestionnaireResponse {
    if (!this.util) throw new Error('the form is not rendered yet');
    return this.util.getFormFHIRData('QuestionnaireResponse', 'R4', this.container);
  }

  /** Values LHC-Forms cannot accept (a number field holding text...), empty when every value is well-formed. */
  problems(): string[] {
    return this.util?.checkValidity(this.container) ?? [];
  }

  /** The linkIds of the items on screen (the ones enableWhen leaves enabled). */
  shown(): Set<string> {
    return new Set(Array.from(this.container.querySelectorAll<HTMLElement>('lhc-item[id^="item-"]')).map(linkIdOf));
  }

  /** Scrolls to an item and focuses its first input. */
  goTo(linkId: string): void {
    const el = this.container.querySelector<HTMLElement>(`lhc-item[data-link-id="${CSS.escape(linkId)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.querySelector<HTMLElement>('input, textarea, select')?.focus({ preventScroll: true });
  }

  /** No more changes: every field read-only (LHC-Forms' readonlyMode), as after submission. */
  setReadOnly(): void {
    const element = this.container.querySelector('wc-lhc-form') as (HTMLElement & { options?: Record<string, unknown> }) | null;
    if (element) element.options = { ...(element.options ?? {}), readonlyMode: true };
    this.container.classList.add('read-only');
    this.container.setAttribute('aria-readonly', 'true');
  }

  /** Calls `listener` (debounced) after the clinician changes anything. */
  onEdit(listener: () => void): void {
    let timer: number | undefined;
    const fire = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        listener();
        this.applyMarks();
      }, 250);
    };
    // Capture phase: LHC-Forms' radio buttons stop their click events from bubbling.
    for (const type of ['input', 'change', 'click', 'keyup']) this.container.addEventListener(type, fire, true);
  }

  /** Called with the linkId when the clinician clicks an item's origin mark. */
  onMarkSelected(listener: (linkId: string) => void): void {
    this.onSelect = listener;
  }

  setMarks(marks: Map<string, ItemMark>): void {
    this.marks = marks;
    this.applyMarks();
  }

  /** Items the plan still needs answered: linkId -> why (shown on hover). */
  setNeeded(needed: Map<string, string>): void {
    this.needed = needed;
    this.applyMarks();
  }

  private applyMarks(): void {
    for (const el of Array.from(this.container.querySelectorAll<HTMLElement>('lhc-item[id^="item-"]'))) {
      const linkId = linkIdOf(el);
      const own = <T extends Element>(selector: string) => Array.from(el.querySelectorAll<T & HTMLElement>(selector)).find((x) => x.closest('lhc-item') === el);
      const mark = this.marks.get(linkId);
      const label = own<HTMLElement>('.lhc-de-label');
      el.dataset.linkId = linkId;
      for (const s of ['auto', 'override', 'manual', 'problem']) el.classList.toggle(`dtr-origin-${s}`, mark?.source === s);
      el.classList.toggle('dtr-has-problem', Boolean(mark?.problem));
      const need = this.needed.get(linkId);
      el.classList.toggle('dtr-needed', need !== undefined);

      const existingNeed = own<HTMLElement>('.dtr-needed-mark');
      if (need === undefined || !label) existingNeed?.remove();
      else {
        const badge = existingNeed ?? document.createElement('span');
        badge.className = 'dtr-needed-mark';
        badge.textContent = 'Needed';
        badge.title = need;
        badge.dataset.linkId = linkId;
        if (!existingNeed) label.append(badge);
      }

      const existing = own<HTMLButtonElement>('.dtr-origin');
      if (!mark || !label) {
        existing?.remove();
        continue;
      }
      const badge = existing ?? document.createElement('button');
      badge.type = 'button';
      badge.className = `dtr-origin dtr-origin-badge-${mark.source}`;
      badge.dataset.linkId = linkId;
      badge.dataset.origin = mark.source;
      badge.textContent = LABELS[mark.source];
      badge.title = mark.problem ? `${mark.title}\n${mark.problem}` : mark.title;
      badge.onclick = (e) => {
        e.preventDefault();
        e.stopPropagation();
        this.onSelect?.(linkId);
      };
      if (!existing) label.prepend(badge);
    }
  }
}

/**
 * The form, rendered by LHC-Forms (the lforms npm package's web component, served from
 * /dtr/vendor/lforms): load a Questionnaire with a response, read the response back, hear about
 * edits, and mark each item with where its answer came from (LHC-Forms renders every item as
 * <lhc-item id="item-{linkId}/..."> ; the marks are re-applied after each change, since
 * LHC-Forms re-renders items as enableWhen shows and hides them).
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

export class FormView {
  private util: LFormsUtil | null = null;
  private marks = new Map<string, ItemMark>();
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

  /** Validation messages (required items...), empty when the form can be submitted. */
  problems(): string[] {
    return this.util?.checkValidity(this.container) ?? [];
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

  private applyMarks(): void {
    for (const el of Array.from(this.container.querySelectorAll<HTMLElement>('lhc-item[id^="item-"]'))) {
      const linkId = el.id.slice('item-'.length).replace(/(\/\d+)+$/, '');
      const own = <T extends Element>(selector: string) => Array.from(el.querySelectorAll<T & HTMLElement>(selector)).find((x) => x.closest('lhc-item') === el);
      const mark = this.marks.get(linkId);
      const label = own<HTMLElement>('.lhc-de-label');
      const existing = own<HTMLButtonElement>('.dtr-origin');
      el.dataset.linkId = linkId;
      for (const s of ['auto', 'override', 'manual', 'problem']) el.classList.toggle(`dtr-origin-${s}`, mark?.source === s);
      el.classList.toggle('dtr-has-problem', Boolean(mark?.problem));
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

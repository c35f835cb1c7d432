/**
 * Adaptive forms (DTR STU 2.0.1 with SDC's $next-question): the Kineret questionnaire offered one
 * group of questions at a time. Generic over the standard Questionnaire and the CQL evaluation:
 *
 * - what applies is the standard Questionnaire's own enableWhen, decided here (the DTR adaptive
 *   questionnaire profile forbids enableWhen in what is sent) from the answers given so far, which
 *   the CQL prefilled from the record (request type, indication...);
 * - what is already known is the CQL prefill (the items' initialExpressions, through ./populate.ts),
 *   sent as answers with information-origin `auto`; the items keep their CQL initialExpressions, so a
 *   DTR client fills them from the EHR too;
 * - no criterion is restated here: the determination of the completed response is the CQL's
 *   ($evaluate), and the response answers the same linkIds as the standard form.
 *
 * One call: the answers are checked against the standard Questionnaire; a question asked earlier
 * that no longer applies (its condition changed) is withdrawn with its answer; questions that now
 * apply within the groups already opened come next (follow-ups); otherwise, once every required
 * question asked is answered, the next top-level group that applies is opened. When nothing is left
 * to ask, the response comes back `completed`. Stateless: everything is in the response.
 */
import type {
  Bundle, Extension, FhirResource, Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer,
} from 'fhir/r4';
import { DTR } from '../constants';
import type { LibraryResults } from '../core/evaluator';
import { withNarrative } from '../fhir/narrative';
import { itemExpression, operationOutcome, OutcomeError, type IssueInput } from '../fhir/outcome';
import { checkResponse, conditionHolds } from './answers';
import { populate, type LaunchContext } from './populate';

/** The id of the adaptive Questionnaire served beside the standard one. */
export const ADAPTIVE_SUFFIX = '-adaptive';
/** The id of the Questionnaire contained in an adaptive QuestionnaireResponse. */
export const CONTAINED_ID = 'adaptive';

const ADAPTIVE_EXTENSION = DTR.questionnaireAdaptive;
/** Extensions of the standard Questionnaire that the adaptive ones carry too (population). */
const CARRIED = [DTR.cqfLibrary, DTR.launchContext];

const canonicalOf = (q: Questionnaire) => `${q.url}|${q.version}`;

/**
 * The adaptive Questionnaire of a standard one (DTR dtr-questionnaire-adapt-search): its metadata and
 * population extensions, `questionnaireAdaptive` naming the payer's FHIR base where $next-question
 * is called, and the questions a response starts with (its opening group as it stands before any
 * answer). DTR 2.0.1's search profile allows items (2.2 forbids them); they let a client see how
 * the form opens, and carry the CQL prefill expressions the Inferno DTR kit looks for.
 */
export function adaptiveQuestionnaire(standard: Questionnaire, fhirBase: string): Questionnaire {
  const id = `${standard.id}${ADAPTIVE_SUFFIX}`;
  return withNarrative({
    resourceType: 'Questionnaire',
    id,
    meta: { profile: [DTR.adaptiveSearchQuestionnaireProfile] },
    extension: [
      { url: ADAPTIVE_EXTENSION, valueUrl: fhirBase },
      ...(standard.extension ?? []).filter((e) => CARRIED.includes(e.url as (typeof CARRIED)[number])),
    ],
    url: `${fhirBase}/Questionnaire/${id}`,
    version: standard.version,
    name: `${standard.name ?? 'Questionnaire'}Adaptive`,
    title: `${standard.title ?? standard.name} (adaptive)`,
    status: standard.status,
    experimental: standard.experimental,
    subjectType: standard.subjectType,
    date: standard.date,
    publisher: standard.publisher,
    description: `${standard.description ?? ''} Adaptive: the questions come a group at a time from $next-question, only those that apply to this request, with what the record shows filled in.`.trim(),
    effectivePeriod: standard.effectivePeriod,
    derivedFrom: [canonicalOf(standard)],
    item: openingItems(standard),
  });
}

/** The standard Questionnaire's items, flattened with their parents, in document order. */
interface Node {
  item: QuestionnaireItem;
  parent: Node | null;
  top: Node;
}

function nodes(q: Questionnaire): Node[] {
  const out: Node[] = [];
  const walk = (items: QuestionnaireItem[] | undefined, parent: Node | null) => {
    for (const item of items ?? []) {
      const node: Node = { item, parent, top: null as unknown as Node };
      node.top = parent ? parent.top : node;
      out.push(node);
      walk(item.item, node);
    }
  };
  walk(q.item, null);
  return out;
}

type State = 'on' | 'off' | 'pending';

/**
 * Whether each item applies, from its enableWhen (and its parent's): a condition on a question not
 * asked yet (and not answered) is pending; once asked, an unanswered question counts as no answer,
 * as in FHIR.
 */
function states(all: Node[], answers: Map<string, QuestionnaireResponseItemAnswer[]>, asked: (linkId: string) => boolean): Map<string, State> {
  const out = new Map<string, State>();
  for (const node of all) {
    const parent = node.parent ? out.get(node.parent.item.linkId)! : 'on';
    if (parent !== 'on') {
      out.set(node.item.linkId, parent);
      continue;
    }
    const conditions = (node.item.enableWhen ?? []).map((c): State => {
      const given = answers.get(c.question) ?? [];
      if (given.length === 0 && !asked(c.question)) return 'pending';
      return conditionHolds(c, given) ? 'on' : 'off';
    });
    let state: State = 'on';
    if (conditions.length) {
      if (node.item.enableBehavior === 'any') state = conditions.includes('on') ? 'on' : conditions.includes('pending') ? 'pending' : 'off';
      else state = conditions.includes('off') ? 'off' : conditions.includes('pending') ? 'pending' : 'on';
    }
    out.set(node.item.linkId, state);
  }
  return out;
}

/** The items a response opens with: the first top-level group, as far as it applies before any answer. */
function openingItems(standard: Questionnaire): QuestionnaireItem[] {
  const all = nodes(standard);
  const s = states(all, new Map(), () => false);
  const first = all.find((n) => !n.parent && s.get(n.item.linkId) === 'on');
  if (!first) return [];
  const released = new Set(all.filter((n) => n.top === first && s.get(n.item.linkId) === 'on').map((n) => n.item.linkId));
  return prune(standard.item ?? [], released);
}

/** The standard items restricted to `released`, without enableWhen (decided here, and 0..0 in dtr-questionnaire-adapt). */
function prune(items: QuestionnaireItem[], released: Set<string>): QuestionnaireItem[] {
  return items.filter((i) => released.has(i.linkId)).map((i) => {
    const { enableWhen: _w, enableBehavior: _b, item: children, ...rest } = i;
    const kept = prune(children ?? [], released);
    return { ...rest, ...(kept.length ? { item: kept } : {}) };
  });
}

function linkIds(items: QuestionnaireItem[] | undefined, out = new Set<string>()): Set<string> {
  for (const i of items ?? []) {
    out.add(i.linkId);
    linkIds(i.item, out);
  }
  return out;
}

function answersOf(items: QuestionnaireResponseItem[] | undefined, out = new Map<string, QuestionnaireResponseItemAnswer[]>(), byLinkId = new Map<string, QuestionnaireResponseItem>()) {
  for (const i of items ?? []) {
    if (typeof i?.linkId !== 'string') continue;
    byLinkId.set(i.linkId, i);
    if (i.answer?.length) out.set(i.linkId, [...(out.get(i.linkId) ?? []), ...i.answer]);
    answersOf(i.item, out, byLinkId);
    for (const a of i.answer ?? []) answersOf(a.item, out, byLinkId);
  }
  return { answers: out, items: byLinkId };
}

/** The questionnaires an adaptive response is about: the one it contains, and the standard one that is derived from. */
export interface AdaptiveForm {
  contained: Questionnaire;
  /** The served adaptive Questionnaire the contained one derives from. */
  adaptive: Questionnaire;
  /** The standard Questionnaire whose items the adaptive form asks. */
  standard: Questionnaire;
}

const invalid = (diagnostics: string, expression?: string) => new OutcomeError(400, operationOutcome({ code: 'invalid', diagnostics, expression }));

/**
 * The adaptive form a response belongs to: `questionnaire` names its contained Questionnaire
 * (`#id`), which derives from a served adaptive Questionnaire (or its standard one). Refusals are
 * 400 with an OperationOutcome (DTR: an invalid adaptive response is a 400).
 */
export function adaptiveFormOf(response: QuestionnaireResponse, served: { adaptive: Questionnaire; standard: Questionnaire }[]): AdaptiveForm {
  const ref = response.questionnaire;
  if (!ref?.startsWith('#')) throw invalid('an adaptive QuestionnaireResponse names its contained Questionnaire in "questionnaire" (#id)', 'QuestionnaireResponse.questionnaire');
  const contained = (response.contained ?? []).find((r): r is Questionnaire => r.resourceType === 'Questionnaire' && r.id === ref.slice(1));
  if (!contained) throw invalid(`the response names ${ref}, which it does not contain`, 'QuestionnaireResponse.questionnaire');
  const derived = contained.derivedFrom ?? [];
  const form = served.find(({ adaptive, standard }) => derived.some((d) => {
    const [url, version] = d.split('|');
    return (url === adaptive.url || url === standard.url) && (!version || version === adaptive.version);
  }));
  if (!form) {
    throw invalid(`the contained Questionnaire derives from ${derived.join(', ') || 'nothing'}; this service serves ${served.map((s) => canonicalOf(s.adaptive)).join(', ')}`, 'QuestionnaireResponse.contained.ofType(Questionnaire).derivedFrom');
  }
  return { contained, ...form };
}

/** The forms this service serves (the standard Questionnaire and its adaptive form), as adaptiveFormOf takes them. */
export interface ServedForms {
  questionnaire: Questionnaire;
  adaptiveQuestionnaire: Questionnaire;
}

export const servedForms = (content: ServedForms) => [{ adaptive: content.adaptiveQuestionnaire, standard: content.questionnaire }];

/**
 * Whether a response is documentation of this service's questionnaire: it names the standard
 * Questionnaire's canonical (any version), or it is an adaptive response whose contained
 * Questionnaire derives from the served adaptive form (as adaptiveFormOf decides). A response
 * to another questionnaire, or naming a contained one that is not ours, is not.
 */
export function answersServedForm(response: QuestionnaireResponse, content: ServedForms): boolean {
  const canonical = response.questionnaire ?? '';
  if (!canonical.startsWith('#')) return canonical.split('|')[0] === content.questionnaire.url;
  try {
    adaptiveFormOf(response, servedForms(content));
    return true;
  } catch (e) {
    if (e instanceof OutcomeError) return false;
    throw e;
  }
}

export interface NextQuestionInput {
  form: { adaptive: Questionnaire; standard: Questionnaire };
  /** The response so far; a new one when starting (the package's initial response). */
  response: QuestionnaireResponse;
  /** Questions already asked (the contained Questionnaire's linkIds); none when starting. */
  asked: Set<string>;
  /** Evaluates the questionnaire's CQL libraries for the patient, with the answers so far. */
  evaluate: () => Promise<LibraryResults>;
  context: LaunchContext;
  /** Time stamp for `authored`, from the caller's clock. */
  now: string;
}

/** The contained Questionnaire of an adaptive response: the adaptive one's metadata, the questions asked so far. */
function containedQuestionnaire(form: NextQuestionInput['form'], items: QuestionnaireItem[]): Questionnaire {
  const a = form.adaptive;
  return withNarrative({
    resourceType: 'Questionnaire',
    id: CONTAINED_ID,
    meta: { profile: [DTR.adaptiveQuestionnaireProfile] },
    extension: [{ url: ADAPTIVE_EXTENSION, valueBoolean: true }, ...(a.extension ?? []).filter((e) => e.url !== ADAPTIVE_EXTENSION)],
    name: a.name,
    title: a.title,
    status: a.status,
    subjectType: a.subjectType,
    date: a.date,
    publisher: a.publisher,
    effectivePeriod: a.effectivePeriod,
    derivedFrom: [canonicalOf(a)],
    item: items,
  });
}

/**
 * One step of the adaptive form (see the module comment). Throws OutcomeError 400 when the response
 * does not fit the form: an answer to a question not asked or not of the form, an answer of the
 * wrong type, or a required question asked and not answered.
 */
export async function nextQuestion(input: NextQuestionInput): Promise<QuestionnaireResponse> {
  const { standard } = input.form;
  const all = nodes(standard);
  const known = new Set(all.map((n) => n.item.linkId));
  for (const linkId of input.asked) {
    if (!known.has(linkId)) throw invalid(`the contained Questionnaire asks "${linkId}", which is not a question of ${canonicalOf(standard)}`, itemExpression('Questionnaire', linkId));
  }
  const { answers, items: given } = answersOf(input.response.item);
  for (const linkId of given.keys()) {
    if (!input.asked.has(linkId)) throw invalid(`the response answers "${linkId}", which was not asked`, itemExpression('QuestionnaireResponse', linkId));
  }
  const issues: IssueInput[] = checkResponse(standard, { ...input.response, status: 'in-progress', questionnaire: canonicalOf(standard) });
  if (issues.length) throw new OutcomeError(400, operationOutcome(issues));

  let s = states(all, answers, (id) => input.asked.has(id));
  // Asked, and still applies: every required one must be answered before the form goes on.
  const kept = new Set([...input.asked].filter((id) => s.get(id) === 'on'));
  const answeredWithin = (node: Node): boolean => (answers.get(node.item.linkId)?.length ?? 0) > 0 ||
    all.some((n) => n.parent === node && kept.has(n.item.linkId) && answeredWithin(n));
  const missing = all.filter((n) => kept.has(n.item.linkId) && n.item.required && !answeredWithin(n));
  if (missing.length) {
    throw new OutcomeError(400, operationOutcome(missing.map((n) => ({
      code: 'required' as const,
      expression: itemExpression('QuestionnaireResponse', n.item.linkId),
      diagnostics: `"${n.item.text ?? n.item.linkId}" (${n.item.linkId}) is required: answer it before the next questions`,
    }))));
  }

  const released = new Set(kept);
  const release = (candidates: Node[]) => {
    const added: string[] = [];
    for (const n of candidates) {
      if (released.has(n.item.linkId) || s.get(n.item.linkId) !== 'on') continue;
      if (n.parent && !released.has(n.parent.item.linkId)) continue;
      released.add(n.item.linkId);
      added.push(n.item.linkId);
    }
    return added;
  };
  // Follow-ups: questions that now apply inside the groups already opened.
  const opened = new Set(all.filter((n) => kept.has(n.item.linkId)).map((n) => n.top));
  let added = release(all.filter((n) => opened.has(n.top)));
  if (added.length === 0) {
    // The next top-level group that applies; conditions still pending on questions never asked count as unanswered at the end.
    for (const lenient of [false, true]) {
      if (lenient) s = states(all, answers, () => true);
      const next = all.find((n) => !n.parent && !opened.has(n) && s.get(n.item.linkId) === 'on');
      if (next) {
        added = release(all.filter((n) => n.top === next));
        break;
      }
    }
  }

  // What the record (and the answers so far) already answers, for the questions asked now.
  const { response: prefilled } = await populate({ questionnaire: standard, context: input.context, evaluate: input.evaluate, now: input.now });
  const { items: prefill } = answersOf(prefilled.item);
  const build = (items: QuestionnaireItem[]): QuestionnaireResponseItem[] => items.filter((i) => i.type !== 'display').map((i) => {
    const previous = given.get(i.linkId);
    const children = build(i.item ?? []);
    const base: QuestionnaireResponseItem = previous
      ? { ...previous, item: undefined }
      : { linkId: i.linkId, ...(i.text ? { text: i.text } : {}), ...(prefill.get(i.linkId)?.answer?.length && added.includes(i.linkId) ? { answer: prefill.get(i.linkId)!.answer } : {}) };
    const { item: _drop, ...rest } = base;
    return { ...rest, ...(children.length ? { item: children } : {}) };
  });
  const asked = prune(standard.item ?? [], released);
  const others: FhirResource[] = (input.response.contained ?? []).filter((r) => !(r.resourceType === 'Questionnaire' && r.id === CONTAINED_ID));
  const extension: Extension[] = input.response.extension?.length ? input.response.extension : prefilled.extension ?? [];
  const { contained: _c, item: _i, text: _t, ...rest } = input.response;
  return {
    ...rest,
    resourceType: 'QuestionnaireResponse',
    // The profiles the response already claims (a client's may not meet DTR's), and SDC's adaptive one, which it now meets.
    meta: { ...(rest.meta ?? {}), profile: [...new Set([...(rest.meta?.profile ?? []), DTR.adaptiveQuestionnaireResponseProfile])] },
    contained: [containedQuestionnaire(input.form, asked), ...others],
    extension,
    questionnaire: `#${CONTAINED_ID}`,
    status: added.length ? 'in-progress' : 'completed',
    subject: rest.subject ?? { reference: input.context.patient },
    authored: input.now,
    item: build(asked),
  };
}

/** The record a $next-question evaluates against: the `data` Bundle given, or only the Patient the response is about. */
export function recordFor(patientId: string, data: Bundle | undefined): Bundle {
  return data ?? { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: patientId } }] };
}

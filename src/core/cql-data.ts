/**
 * Browser-safe pieces of the CQL evaluation shared by the server engine (src/core/engine.ts) and
 * the DTR app's browser evaluator (web/dtr/cql.ts): no Node APIs here.
 */
import * as cql from 'cql-execution';
import type { Bundle, FhirResource, ValueSet } from 'fhir/r4';

type MessageListener = ConstructorParameters<typeof cql.PatientContext>[5];

/**
 * Every library of an ELM set, resolved once: each library is one cql-execution Library instance,
 * shared by every library that includes it (cql.Repository makes a fresh copy per include).
 */
export class LibrarySet {
  private readonly instances = new Map<string, cql.Library>();
  constructor(private readonly elm: Record<string, unknown>) {}

  /** cql-execution's library manager interface: an included library by name (and version). */
  resolve(name: string, version?: string): cql.Library | undefined {
    const known = this.instances.get(name);
    if (known) return known;
    const json = this.elm[name] as { library?: { identifier?: { version?: string } } } | undefined;
    if (!json?.library) return undefined;
    if (version && json.library.identifier?.version && json.library.identifier.version !== version) return undefined;
    const library = new cql.Library(json, this);
    this.instances.set(name, library);
    return library;
  }

  get(name: string): cql.Library {
    const library = this.resolve(name);
    if (!library) throw new Error(`library ${name} is not in the compiled set (missing dependency?)`);
    return library;
  }
}

/**
 * cql-execution's PatientContext keeps one context per include alias and per including library, so a
 * library included by several others would compute its definitions once per includer. Here every
 * library has one context per patient, shared through `registry`: each definition runs at most once.
 */
class SharedPatientContext extends cql.PatientContext {
  constructor(
    library: cql.Library,
    patient: cql.PatientObject | null | undefined,
    codeService: cql.TerminologyProvider,
    parameters: Record<string, unknown>,
    executionDateTime: cql.DateTime,
    messageListener: MessageListener,
    private readonly registry: Map<cql.Library, SharedPatientContext>,
  ) {
    super(library, patient, codeService, parameters, executionDateTime, messageListener);
    registry.set(library, this);
  }

  static for(library: cql.Library, like: SharedPatientContext): SharedPatientContext {
    return like.registry.get(library) ??
      new SharedPatientContext(library, like.patient, like.codeService, like.parameters, like.executionDateTime!, like.messageListener, like.registry);
  }

  /**
   * cql-execution resolves a parameter inside a query or function body (a child context) by walking up
   * to the first context whose value is not null; a value given as null is passed over, and the walk ends
   * at the Library, whose ParameterDef object then becomes the parameter's value. A value given for this
   * evaluation, null included, ends the search here; only a parameter not given reaches its default.
   */
  override getParentParameter(name: string): unknown {
    if (Object.prototype.hasOwnProperty.call(this.parameters ?? {}, name)) return undefined;
    return super.getParentParameter(name);
  }

  override getLibraryContext(alias: string): SharedPatientContext {
    const own = this.library_context as Record<string, SharedPatientContext>;
    own[alias] ??= SharedPatientContext.for(this.get(alias) as cql.Library, this);
    return own[alias];
  }
}

export interface ExecuteOptions {
  /** The libraries whose definitions are wanted; their includes run only as far as needed. */
  libraries: cql.Library[];
  source: cql.DataProvider;
  codeService: cql.TerminologyProvider;
  parameters: Record<string, unknown>;
  executionDateTime: cql.DateTime;
  messageListener?: MessageListener;
}

/**
 * Evaluates every Patient-context definition of the given libraries for the source's first patient,
 * sharing one context per library (see SharedPatientContext). Returns library name -> definition -> value,
 * or null when the source has no patient.
 */
export async function executeLibraries(o: ExecuteOptions): Promise<Record<string, Record<string, unknown>> | null> {
  const patient = await o.source.currentPatient();
  if (!patient) return null;
  const registry = new Map<cql.Library, SharedPatientContext>();
  const results: Record<string, Record<string, unknown>> = {};
  for (const library of o.libraries) {
    const ctx = registry.get(library) ??
      new SharedPatientContext(library, patient, o.codeService, o.parameters, o.executionDateTime, o.messageListener, registry);
    const values: Record<string, unknown> = {};
    for (const [name, expression] of Object.entries(library.expressions as Record<string, { context?: string; execute(ctx: unknown): Promise<unknown> }>)) {
      if (expression.context !== 'Patient') continue;
      // A definition another one needed earlier is already in the context: it is not run again.
      const cached = (ctx.context_values as Record<string, unknown>)[name];
      values[name] = cached !== undefined ? cached : await expression.execute(ctx);
    }
    results[library.name as string] = values;
  }
  return results;
}

type ValueSetDictionary = Record<string, Record<string, { code: string; system: string; version?: string }[]>>;

/** A cql-execution code service over the pinned, expanded value sets. */
export function codeServiceFor(valueSets: ValueSet[]): cql.CodeService {
  const dict: ValueSetDictionary = {};
  for (const vs of valueSets) {
    if (!vs.url) continue;
    const codes = (vs.expansion?.contains ?? []).flatMap((c) =>
      c.code && c.system ? [{ code: c.code, system: c.system, ...(c.version ? { version: c.version } : {}) }] : [],
    );
    dict[vs.url] = { [vs.version ?? '']: codes };
  }
  return new cql.CodeService(dict);
}

/**
 * cql-exec-fhir types contained resources as plain Resource, so CQL cannot read a contained
 * Medication in place. Each one is added to the evaluated copy as a Medication with id
 * '<parent id>--<local id>', which the library's "Referenced Medication" resolves.
 */
export function liftContainedMedications(bundle: Bundle): Bundle {
  const lifted: FhirResource[] = [];
  for (const entry of bundle.entry ?? []) {
    const parent = entry.resource as (FhirResource & { contained?: FhirResource[] }) | undefined;
    for (const contained of parent?.contained ?? []) {
      if (contained.resourceType === 'Medication' && contained.id && parent?.id) {
        lifted.push({ ...contained, id: `${parent.id}--${contained.id}` });
      }
    }
  }
  return lifted.length === 0 ? bundle : { ...bundle, entry: [...(bundle.entry ?? []), ...lifted.map((resource) => ({ resource }))] };
}

/** Converts cql-execution values (Decimal, Code, DateTime...) to JSON-friendly ones. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof cql.DateTime || value instanceof cql.Date) return value.toString();
  if (value instanceof cql.Quantity) return { value: value.value, unit: value.unit };
  return value;
}

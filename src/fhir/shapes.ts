/**
 * What FHIR R4 says each element is: its type, whether it repeats, which choice element it belongs
 * to; and what each primitive's value looks like. Distilled at build time from the R4
 * StructureDefinitions (scripts/build-fhir-shapes.mjs) and loaded once per process.
 */
import { readFileSync } from 'node:fs';
import { FHIR_SHAPES_FILE } from '../paths';

export interface ElementShape {
  /** A data type code ('CodeableConcept', 'date', 'Resource') or the path of an inline backbone type ('MedicationRequest.dispenseRequest'). */
  type: string;
  array: boolean;
  /** For a choice element's variant (valueQuantity): its base name (value). */
  choice?: string;
}

interface ShapesFile {
  fhirVersion: string;
  resources: string[];
  primitives: Record<string, string | null>;
  types: Record<string, Record<string, [string, 0 | 1] | [string, 0 | 1, string]>>;
}

/** Primitive types whose specification regex is cheap and safe to run on client input (short values). */
const CHECKED_BY_REGEX = new Set(['date', 'dateTime', 'instant', 'time', 'code', 'id', 'oid', 'uuid']);
const MAX_CHECKED_LENGTH = 4096;

export class FhirShapes {
  private readonly resourceTypes: Set<string>;
  private readonly regexes = new Map<string, RegExp>();

  private constructor(private readonly file: ShapesFile) {
    this.resourceTypes = new Set(file.resources);
    for (const [type, regex] of Object.entries(file.primitives)) {
      if (regex && CHECKED_BY_REGEX.has(type)) this.regexes.set(type, new RegExp(`^(?:${regex})$`));
    }
  }

  private static loaded: FhirShapes | undefined;

  /** The shapes of FHIR R4, read once per process from the build output. */
  static r4(): FhirShapes {
    if (!FhirShapes.loaded) {
      let text: string;
      try {
        text = readFileSync(FHIR_SHAPES_FILE, 'utf8');
      } catch {
        throw new Error(`${FHIR_SHAPES_FILE} is missing: run npm run build`);
      }
      FhirShapes.loaded = new FhirShapes(JSON.parse(text) as ShapesFile);
    }
    return FhirShapes.loaded;
  }

  get fhirVersion(): string {
    return this.file.fhirVersion;
  }

  isResourceType(type: string): boolean {
    return this.resourceTypes.has(type);
  }

  isPrimitive(type: string): boolean {
    return type in this.file.primitives;
  }

  /** The element `name` of the type or backbone at `owner` ('Patient', 'CodeableConcept', 'MedicationRequest.dispenseRequest'). */
  element(owner: string, name: string): ElementShape | undefined {
    const e = this.file.types[owner]?.[name];
    if (!e) return undefined;
    return e.length === 3 ? { type: e[0], array: e[1] === 1, choice: e[2] } : { type: e[0], array: e[1] === 1 };
  }

  /** Whether `value` is a valid value of the primitive `type` (JSON type, range, and the specification's regex where it is safe to run). */
  primitiveValid(type: string, value: unknown): boolean {
    switch (type) {
      case 'boolean':
        return typeof value === 'boolean';
      case 'integer':
        return Number.isInteger(value) && Math.abs(value as number) <= 2147483647;
      case 'positiveInt':
        return Number.isInteger(value) && (value as number) > 0 && (value as number) <= 2147483647;
      case 'unsignedInt':
        return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 2147483647;
      case 'decimal':
        return typeof value === 'number' && Number.isFinite(value);
      default: {
        if (typeof value !== 'string' || value.length === 0) return false;
        const regex = this.regexes.get(type);
        if (!regex) return true;
        return value.length <= MAX_CHECKED_LENGTH && regex.test(value);
      }
    }
  }
}

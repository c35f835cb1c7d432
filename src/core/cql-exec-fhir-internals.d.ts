/**
 * Narrow types for the parts of cql-exec-fhir 2.2.0 that src/core/fast-source.ts reuses: its model info
 * loader (so the FHIR model info is parsed with the reference code, once per process) and the 4.0.1 model
 * info text. Only what the fast source reads is declared; the runtime objects have more.
 */
declare module 'cql-exec-fhir/lib/load' {
  namespace load {
    /**
     * One type specifier class per kind in cql-exec-fhir (Named, List, Interval, Choice). Each kind answers
     * only its own flag getter (`isNamed`, `isList`, ...); the others are undefined, so code branches on the flags.
     */
    interface TypeSpecifier {
      readonly isNamed?: boolean;
      readonly isList?: boolean;
      readonly isInterval?: boolean;
      readonly isChoice?: boolean;
      /** Named: the type name without namespace, e.g. 'CodeableConcept' or 'DateTime'. */
      readonly name?: string;
      /** Named: 'FHIR' or 'System'. */
      readonly namespace?: string;
      /** Named: '<namespace>.<name>'. */
      readonly fqn?: string;
      readonly elementType?: TypeSpecifier;
      readonly pointType?: TypeSpecifier;
      readonly choices?: TypeSpecifier[];
    }
    interface ClassElement {
      readonly name: string;
      readonly typeSpecifier: TypeSpecifier;
    }
    interface ClassInfo {
      readonly name: string;
      readonly namespace: string;
      readonly baseTypeSpecifier?: TypeSpecifier;
      readonly elements: ClassElement[];
      readonly modelInfo: ModelInfo;
      findElement(name: string, allowExplicitChoice?: boolean): ClassElement | undefined;
      parentClasses(): ClassInfo[];
    }
    interface ModelInfo {
      readonly name: string;
      readonly url: string;
      readonly version: string;
      readonly patientClassName: string;
      readonly patientClassIdentifier?: string;
      findClass(name: string): ClassInfo | undefined;
    }
  }
  /** Parses model info XML (or reads it from a file path); undefined when it is not valid. */
  function load(filePathOrXml: string): load.ModelInfo | undefined;
  export = load;
}

declare module 'cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml.js' {
  const xml: string;
  export = xml;
}

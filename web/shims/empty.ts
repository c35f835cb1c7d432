/** Stands in for Node's fs in the browser bundle: cql-exec-fhir reads model info from a string, never from disk. */
export {};

/**
 * A bare page that loads LHC-Forms' prebuilt web component from `base` (where the test serves lforms'
 * dist/lforms), with one empty #form: the one place that knows the bundle's file layout.
 */
export function lformsHostPage(base: string, title = 'LHC-Forms render check'): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/webcomponent/styles.css"></head><body><div id="form"></div>
<script src="${base}/webcomponent/assets/lib/zone.min.js"></script>
<script src="${base}/webcomponent/runtime.js" type="module"></script>
<script src="${base}/webcomponent/polyfills.js" type="module"></script>
<script src="${base}/webcomponent/main.js" type="module"></script>
<script src="${base}/fhir/R4/lformsFHIR.min.js" defer></script></body></html>`;
}

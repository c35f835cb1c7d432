/**
 * Text from a record or a request placed in card markdown (CDS Hooks `detail` is GitHub-flavoured
 * markdown): escaped so that a drug name, an id or a reason shows as written and never becomes a
 * link, an image, an autolink, HTML, emphasis, a table cell break or a block (heading, list, quote).
 * Line breaks become spaces: the text stays inside the line the card puts it on.
 */

/** Inline markup, HTML and table syntax; ':' and '@' so that no scheme or e-mail address is auto-linked. */
const INLINE = /[\\`*_{}[\]<>&|~!:@]/g;
/** What opens a block when it starts the text: heading, quote, list, setext underline. */
const BLOCK_START = /^(\s*)(?:([#>+\-=])|(\d+)([.)]))/;

export function escapeMarkdown(text: string): string {
  return String(text)
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(INLINE, '\\$&')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(BLOCK_START, (_m, space: string, marker?: string, digits?: string, delimiter?: string) =>
      marker ? `${space}\\${marker}` : `${space}${digits}\\${delimiter}`);
}

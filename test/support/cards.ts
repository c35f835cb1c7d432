/** Reading the service's cards as a CRD client or a person would: their response type, and the criteria they state. */
import type { Card } from '../../src/crd/types';

/** The CRD response type of a card, as the Inferno CRD kit identifies it (cards_identification.rb). */
export function cardType(card: { links?: { type: string }[] }): 'instructions' | 'launch-smart-app' | 'external-reference' | 'mixed' {
  const links = card.links ?? [];
  if (links.length === 0) return 'instructions';
  if (links.every((l) => l.type === 'smart')) return 'launch-smart-app';
  if (links.every((l) => l.type === 'absolute')) return 'external-reference';
  return 'mixed';
}

const SECTIONS: Record<string, string> = { 'Already met on the record:': 'met', 'You will be asked about:': 'unknown' };

/**
 * Criterion title -> status, read from the lists of the PA card (met, to be asked) and the
 * criteria-not-met card; `repeated` lists the titles stated more than once (the cards say nothing twice).
 */
export function criteriaOnCards(cards: Card[]): { statuses: Record<string, string>; repeated: string[] } {
  const statuses: Record<string, string> = {};
  const repeated: string[] = [];
  for (const card of cards) {
    const notMetCard = card.source.topic?.code === 'off-guideline';
    let status: string | null = notMetCard ? 'not-met' : null;
    for (const line of (card.detail ?? '').split('\n')) {
      if (line in SECTIONS) status = SECTIONS[line];
      else if (line === '') status = notMetCard ? 'not-met' : null;
      else if (status && line.startsWith('- ')) {
        const title = line.slice(2, line.indexOf(' — '));
        if (title in statuses) repeated.push(title);
        statuses[title] = status;
      }
    }
  }
  return { statuses, repeated };
}

/**
 * The one clock. Every date the service reasons with (the evaluation date of the CQL, the date of
 * a coverage assertion, `authored`, audit and JWT times) comes from the request or from the Clock
 * in the services object; this module is the only place in src/ that reads the system time
 * (test/core/clock.test.ts enforces it). Tests pass a fixed clock; production uses systemClock.
 * Browser-safe.
 */
export interface Clock {
  now(): Date;
}

/** The system time: the clock of a deployed service. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock that always answers the same instant (tests, CLI runs "as of" a date). A bare date means noon UTC of that day. */
export function fixedClock(at: string | Date): Clock {
  const instant = typeof at === 'string' ? parseInstant(at) : new Date(at.getTime());
  return { now: () => new Date(instant.getTime()) };
}

/**
 * A clock that starts at `at` and then runs with `base` (the system time by default): timers,
 * token lifetimes and durations behave as in production, on the chosen day.
 */
export function startingClock(at: string | Date, base: Clock = systemClock): Clock {
  const start = typeof at === 'string' ? parseInstant(at) : at;
  const offset = start.getTime() - base.now().getTime();
  return { now: () => new Date(base.now().getTime() + offset) };
}

function parseInstant(value: string): Date {
  const instant = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00.000Z` : value);
  if (Number.isNaN(instant.getTime())) throw new Error(`not a date or instant: ${value}`);
  return instant;
}

/** The calendar date (UTC) of the clock's now, as a FHIR date (YYYY-MM-DD). */
export function today(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10);
}

/** The clock's now as a FHIR instant. */
export function nowIso(clock: Clock): string {
  return clock.now().toISOString();
}

/** The clock's now in whole seconds since the epoch (JWT NumericDate). */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000);
}

/** An instant for people to read in text the service writes (a disposition, a letter): `2026-12-07 06:12 UTC`. */
export function instantWords(instant: string): string {
  const t = new Date(instant);
  return Number.isNaN(t.getTime()) ? instant : `${t.toISOString().slice(0, 10)} ${t.toISOString().slice(11, 16)} UTC`;
}

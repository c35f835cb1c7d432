/**
 * Moves a scenario's record in time so that it means on `to` what it meant on `from` (its
 * evaluation date): the sandbox EHR shows the corpus on the day it starts, and `ra-17` is still
 * 17 years and 364 days old, a 90-day window still 90 days.
 *
 * - every date, dateTime and instant moves by the same number of days (the calendar date moves; the
 *   time of day and the offset stay as written); a year or year-month is moved by its middle day;
 * - Patient.birthDate keeps the patient's age on `to` as it was on `from`: the same whole years, and
 *   the same distance to the nearer birthday (18 today stays 18 today, 17 years and 364 days stays
 *   18 tomorrow); moving by days alone would drift across leap days.
 */
import type { FhirResource, Patient } from 'fhir/r4';
import { mapPrimitives } from '../fhir/read';
import type { FhirShapes } from '../fhir/shapes';

const DAY_MS = 86_400_000;

function parseDay(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((parseDay(to) - parseDay(from)) / DAY_MS);
}

export function addDays(date: string, days: number): string {
  return formatDay(parseDay(date) + days * DAY_MS);
}

/** `date` plus whole years, 29 February becoming 28 February in a common year. */
export function addYears(date: string, years: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const target = new Date(Date.UTC(y + years, m - 1, d));
  if (target.getUTCMonth() !== m - 1) target.setUTCDate(0);
  return formatDay(target.getTime());
}

/** Completed years from `birth` to `on`. */
export function ageInYears(birth: string, on: string): number {
  const [by, bm, bd] = birth.split('-').map(Number);
  const [y, m, d] = on.split('-').map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** A FHIR date, dateTime or instant moved by `days`, at its own precision. */
export function shiftDateValue(value: string, days: number): string {
  if (/^\d{4}$/.test(value)) return addDays(`${value}-07-02`, days).slice(0, 4);
  if (/^\d{4}-\d{2}$/.test(value)) return addDays(`${value}-15`, days).slice(0, 7);
  const m = /^(\d{4}-\d{2}-\d{2})(.*)$/.exec(value);
  return m ? `${addDays(m[1], days)}${m[2]}` : value;
}

/** The birth date that gives, on `to`, the age (whole years, days from the nearer birthday) that `birth` gives on `from`. */
export function shiftBirthDate(birth: string, from: string, to: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(birth)) return shiftDateValue(birth, daysBetween(from, to));
  const years = ageInYears(birth, from);
  const sinceLast = daysBetween(addYears(birth, years), from);
  const untilNext = daysBetween(from, addYears(birth, years + 1));
  let moved = sinceLast <= untilNext
    ? addYears(addDays(to, -sinceLast), -years)
    : addYears(addDays(to, untilNext), -(years + 1));
  // Around 29 February the calendar can slip a day: the age in whole years is what must hold.
  while (ageInYears(moved, to) > years) moved = addDays(moved, 1);
  while (ageInYears(moved, to) < years) moved = addDays(moved, -1);
  return moved;
}

export function shiftResource<T extends FhirResource>(shapes: FhirShapes, resource: T, from: string, to: string): T {
  const days = daysBetween(from, to);
  if (days === 0) return resource;
  const moved = mapPrimitives(shapes, resource, (type, value) =>
    (type === 'date' || type === 'dateTime' || type === 'instant') && typeof value === 'string' ? shiftDateValue(value, days) : value);
  if (moved.resourceType === 'Patient' && (resource as Patient).birthDate) {
    (moved as Patient).birthDate = shiftBirthDate((resource as Patient).birthDate!, from, to);
  }
  return moved;
}

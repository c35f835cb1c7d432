/**
 * One clock: nothing in src/ reads the system time but src/core/clock.ts. Durations use the
 * monotonic timer (performance.now, process.hrtime), which says nothing about the date.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fixedClock, nowIso, startingClock, systemClock, today, epochSeconds } from '../../src/core/clock';
import { ROOT } from '../../src/paths';

/** The only modules allowed to read the system time. */
const ALLOWED = ['src/core/clock.ts'];
const SYSTEM_TIME = [/\bnew\s+Date\s*\(\s*\)/, /\bDate\.now\s*\(/, /\bnew\s+Date\s*(?![\s(])/];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return /\.(ts|mts|cts|js|mjs)$/.test(name) ? [full] : [];
  });
}

test('no module in src/ reads the system time except the clock', () => {
  const offenders: string[] = [];
  for (const file of sources(path.join(ROOT, 'src'))) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (ALLOWED.includes(rel)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (SYSTEM_TIME.some((re) => re.test(line))) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(offenders).toEqual([]);
});

test('the scan finds what it looks for (it can fail)', () => {
  for (const line of ['const t = new Date();', 'Date.now() - start', 'new Date ()', 'x = new Date;']) {
    expect({ line, found: SYSTEM_TIME.some((re) => re.test(line)) }).toEqual({ line, found: true });
  }
  for (const line of ["new Date('2026-01-01')", 'new Date(value)', 'Date.parse(x)', 'performance.now()']) {
    expect({ line, found: SYSTEM_TIME.some((re) => re.test(line)) }).toEqual({ line, found: false });
  }
});

describe('clocks', () => {
  test('a fixed clock answers the same instant; a bare date is noon UTC', () => {
    const clock = fixedClock('2026-11-28');
    expect(nowIso(clock)).toBe('2026-11-28T12:00:00.000Z');
    expect(today(clock)).toBe('2026-11-28');
    expect(epochSeconds(clock)).toBe(Date.UTC(2026, 10, 28, 12) / 1000);
    expect(today(fixedClock('2026-11-28T23:59:59-05:00'))).toBe('2026-11-29');
    expect(() => fixedClock('yesterday')).toThrow(/not a date/);
  });

  test('a starting clock runs with its base from the chosen instant', () => {
    let t = Date.UTC(2030, 0, 1);
    const base = { now: () => new Date(t) };
    const clock = startingClock('2026-11-28T00:00:00Z', base);
    expect(nowIso(clock)).toBe('2026-11-28T00:00:00.000Z');
    t += 90_000;
    expect(nowIso(clock)).toBe('2026-11-28T00:01:30.000Z');
  });

  test('the system clock is the system time', () => {
    expect(Math.abs(systemClock.now().getTime() - Date.now())).toBeLessThan(1000);
  });
});

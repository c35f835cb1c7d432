/** The reviewer workbench's session cookie: HttpOnly, SameSite=Strict, Secure under https, scoped to the workbench. */
import type { Response } from 'express';
import { REVIEW_PATH } from '../constants';

export const REVIEW_COOKIE = 'kpa_review';

/** A cookie's value from a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function setReviewCookie(res: Response, token: string, publicBaseUrl: string): void {
  const secure = publicBaseUrl.startsWith('https:') ? '; Secure' : '';
  res.setHeader('Set-Cookie', `${REVIEW_COOKIE}=${encodeURIComponent(token)}; Path=${REVIEW_PATH}; HttpOnly; SameSite=Strict${secure}`);
}

export function clearReviewCookie(res: Response, publicBaseUrl: string): void {
  const secure = publicBaseUrl.startsWith('https:') ? '; Secure' : '';
  res.setHeader('Set-Cookie', `${REVIEW_COOKIE}=; Path=${REVIEW_PATH}; HttpOnly; SameSite=Strict; Max-Age=0${secure}`);
}

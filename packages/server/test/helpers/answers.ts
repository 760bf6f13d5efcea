import type { Api, ApiResponse } from './harness.js';

/** Requests whose answers are all kept, for the checks that no secret shows in any of them (leaksOf). */
export interface AnswerLog {
  /** The text of every answer so far. */
  seen: string[];
  /** `api.req` (the admin's by default) that keeps the answer's text. */
  req(method: string, p: string, body?: unknown, api?: Api): Promise<ApiResponse>;
  /** A GET as the admin, kept likewise. */
  get(p: string): Promise<ApiResponse>;
}

/** `admin` is called at request time, so it may name a harness started in a later hook. */
export function answerLog(admin: () => Api): AnswerLog {
  const seen: string[] = [];
  const req: AnswerLog['req'] = async (method, p, body, api = admin()) => {
    const r = await api.req(method, p, body);
    seen.push(r.text);
    return r;
  };
  return { seen, req, get: (p) => req('GET', p) };
}

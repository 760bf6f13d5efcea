/** The headers of a form posted by HTMX, as the browser sends them. */
export const HTMX_FORM = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };

/** A URL-encoded form body of `fields`. */
export const formBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Node's `clientError` answer, in the API's error shape: a request Node cannot hand to the app
 * (request line plus headers over the 16 KiB limit, a malformed request line, a header timeout)
 * gets `{ error: { code, message } }` as JSON and the connection closes. Node's own answer has
 * no body, which breaks the OpenAPI document's "every 4XX is an Error object".
 * A socket already answering a request, or already gone, is only destroyed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'too_large', 'the request line and headers exceed 16 KiB']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'timeout', 'the request headers did not arrive in time']
        : [400, 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CloseCode, isTerminal } from '@restic-manager/protocol';
import type { JobStatus } from '@restic-manager/protocol';
import type { AuthService, SessionInfo } from '../services/auth.service.js';
import type { ApiTokenService } from '../services/api-token.service.js';
import type { JobHub, JobFrame } from '../services/job-hub.js';
import type { JobRepository } from '../repositories/job.repository.js';
import { syntheticFinished } from '../services/job.service.js';
import { SESSION_COOKIE } from '../http/auth.middleware.js';
import { rejectUpgrade } from './agent-gateway.js';
import { HostScope } from '../services/host-scope.js';

/**
 * Browser live stream `WS /api/jobs/:id/stream` (spec §6.1). Session-cookie authenticated
 * (any role), or an API token in `Authorization: Bearer` (within its scope); cross-origin
 * upgrades are refused. Forwards job.started / job.progress /
 * log.stream / job.finished frames unchanged and closes (1000) after job.finished.
 * Late-subscriber race: subscribe FIRST, then read the job; if it is already terminal send a
 * synthetic job.finished (with `synthetic: true`) and close.
 */
export class JobStream {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  constructor(
    private readonly auth: AuthService,
    private readonly hub: JobHub,
    private readonly jobs: JobRepository,
    private readonly allowedOrigins: () => string[],
    private readonly cookieName: string = SESSION_COOKIE,
    /** Accepts `Authorization: Bearer <API token>` too when set. */
    private readonly tokens?: ApiTokenService,
    private readonly clientIp: (req: IncomingMessage) => string = (req) => req.socket.remoteAddress ?? '',
    /** The host-tag scope check (scoped users and tokens see only their hosts' jobs). */
    private readonly scopes?: HostScope,
  ) {}

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, jobId: string): Promise<void> {
    const origin = req.headers.origin;
    const self = `http://${req.headers.host ?? ''}`;
    if (origin && origin !== self && !this.allowedOrigins().includes(origin)) return rejectUpgrade(socket, 403, 'forbidden', 'cross-origin stream refused');
    const bearer = req.headers.authorization;
    let session: SessionInfo | null;
    if (bearer !== undefined && this.tokens) {
      // An API token (the CLI's `logs -f`): the header alone decides, as on the REST API.
      const ip = this.clientIp(req);
      const r = await this.tokens.authenticate(bearer, ip).catch(() => ({ code: 'token_invalid' as const, message: 'API token could not be checked' }));
      if (!('user' in r)) return rejectUpgrade(socket, 401, r.code, r.message);
      session = r;
    } else {
      const token = parseCookie(req.headers.cookie ?? '', this.cookieName);
      session = token ? await this.auth.resolve(token).catch(() => null) : null;
    }
    if (!session) return rejectUpgrade(socket, 401, 'unauthorized', 'sign in first');
    if (session.totpSetupRequired) return rejectUpgrade(socket, 403, 'totp_required', 'set up two-factor sign-in first');
    // One scope check for tokens and signed-in users: an out-of-scope job's stream is refused
    // (403, audited) before the socket is upgraded, so not one frame of it is sent.
    const use = { method: 'GET', path: `/api/jobs/${jobId}/stream`, ip: this.clientIp(req) };
    if (session.scope && this.scopes && !(await this.scopes.jobInScope(session, jobId).catch(() => false))) {
      await this.scopes.denied(session, use, 'scope').catch(() => undefined);
      return rejectUpgrade(socket, 403, 'forbidden', `${HostScope.describe(session)}; the host of job ${jobId} is not`);
    }
    if (session.token && this.tokens) await this.tokens.used(session, { ...use, status: 101 });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (f: JobFrame) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(f));
        if (f.type === 'job.finished') ws.close(CloseCode.normal, 'job finished');
      };
      const unsubscribe = this.hub.subscribe(jobId, send);
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      ws.on('message', () => undefined);
      void this.jobs.findById(jobId).then(
        (job) => {
          if (!job) {
            unsubscribe();
            ws.close(CloseCode.notFound, 'job not found');
          } else if (isTerminal(job.status as JobStatus)) {
            unsubscribe();
            send(syntheticFinished(job));
          }
        },
        () => ws.close(1011, 'internal error'),
      );
    });
  }

  close(): void {
    for (const c of this.wss.clients) c.close(CloseCode.goingAway, 'server shutting down');
    this.wss.close();
  }
}

function parseCookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

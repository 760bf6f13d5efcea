import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CloseCode, isTerminal } from '@restic-manager/protocol';
import type { JobStatus } from '@restic-manager/protocol';
import type { AuthService } from '../services/auth.service.js';
import type { JobHub, JobFrame } from '../services/job-hub.js';
import type { JobRepository } from '../repositories/job.repository.js';
import { syntheticFinished } from '../services/job.service.js';
import { SESSION_COOKIE } from '../http/auth.middleware.js';
import { rejectUpgrade } from './agent-gateway.js';

/**
 * Browser live stream `WS /api/jobs/:id/stream` (spec §6.1). Session-cookie authenticated
 * (any role); cross-origin upgrades are refused. Forwards job.started / job.progress /
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
  ) {}

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, jobId: string): Promise<void> {
    const origin = req.headers.origin;
    const self = `http://${req.headers.host ?? ''}`;
    if (origin && origin !== self && !this.allowedOrigins().includes(origin)) return rejectUpgrade(socket, 403, 'forbidden', 'cross-origin stream refused');
    const token = parseCookie(req.headers.cookie ?? '', this.cookieName);
    const session = token ? await this.auth.resolve(token).catch(() => null) : null;
    if (!session) return rejectUpgrade(socket, 401, 'unauthorized', 'sign in first');
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

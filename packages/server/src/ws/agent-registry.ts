import type { WebSocket } from 'ws';
import type { ServerMessage } from '@restic-manager/protocol';
import type { AgentLink } from '../services/context.js';

/** Open agent sockets by host id (at most one per host). Implements the services' AgentLink. */
export class AgentRegistry implements AgentLink {
  private readonly sockets = new Map<string, WebSocket>();
  /**
   * Sockets whose hello exchange is done. Only these take frames from the services (command.run,
   * config, requests): an agent ignores every frame before the server's hello, so a job sent in
   * that window was lost (robustness harness, issue 22). A job created meanwhile stays queued and
   * goes out with the others right after the hello.
   */
  private readonly ready = new WeakSet<WebSocket>();

  /**
   * `onSend` observes every frame handed to a socket (metrics); `onPresence` every agent that
   * became ready or went away (the cluster link tells the other replicas). Neither may throw.
   */
  constructor(private readonly onSend?: (hostId: string, msg: ServerMessage) => void, public onPresence?: (hostId: string, up: boolean) => void) {}

  /** Registers a socket; returns the previous one for the host, if any (caller closes it). */
  add(hostId: string, ws: WebSocket): WebSocket | undefined {
    const prev = this.sockets.get(hostId);
    this.sockets.set(hostId, ws);
    return prev;
  }

  /** The server's hello went out on this socket: services may send to it from now on. */
  markReady(hostId: string, ws: WebSocket): void {
    if (this.sockets.get(hostId) !== ws) return;
    this.ready.add(ws);
    this.onPresence?.(hostId, true);
  }

  /** Removes the socket only if it is still the registered one. */
  remove(hostId: string, ws: WebSocket): boolean {
    if (this.sockets.get(hostId) !== ws) return false;
    this.sockets.delete(hostId);
    if (this.ready.has(ws)) this.onPresence?.(hostId, false);
    return true;
  }

  /** A socket is registered for the host, past its hello or not. */
  has(hostId: string): boolean {
    return this.sockets.has(hostId);
  }

  send(hostId: string, msg: ServerMessage): boolean {
    const ws = this.sockets.get(hostId);
    if (!ws || ws.readyState !== ws.OPEN || !this.ready.has(ws)) return false;
    ws.send(JSON.stringify(msg));
    this.onSend?.(hostId, msg);
    return true;
  }

  isConnected(hostId: string): boolean {
    const ws = this.sockets.get(hostId);
    return ws !== undefined && ws.readyState === 1 && this.ready.has(ws);
  }

  disconnect(hostId: string, code: number, reason: string): void {
    const ws = this.sockets.get(hostId);
    if (!ws) return;
    this.sockets.delete(hostId);
    if (this.ready.has(ws)) this.onPresence?.(hostId, false);
    ws.close(code, reason);
  }

  connectedCount(): number {
    return this.sockets.size;
  }

  hostIds(): string[] {
    return [...this.sockets.keys()];
  }

  /** Hosts whose socket is open and past the hello (the ones `send` reaches). */
  readyHostIds(): string[] {
    return [...this.sockets].filter(([, ws]) => ws.readyState === 1 && this.ready.has(ws)).map(([id]) => id);
  }

  isLocal(hostId: string): boolean {
    return this.isConnected(hostId);
  }

  /** Closes every socket (graceful shutdown: "tell agents"). */
  closeAll(code: number, reason: string): void {
    for (const [id, ws] of this.sockets) {
      this.sockets.delete(id);
      if (this.ready.has(ws)) this.onPresence?.(id, false);
      ws.close(code, reason);
    }
  }
}

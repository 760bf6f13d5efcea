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

  /** `onSend` observes every frame handed to a socket (metrics); it must not throw. */
  constructor(private readonly onSend?: (hostId: string, msg: ServerMessage) => void) {}

  /** Registers a socket; returns the previous one for the host, if any (caller closes it). */
  add(hostId: string, ws: WebSocket): WebSocket | undefined {
    const prev = this.sockets.get(hostId);
    this.sockets.set(hostId, ws);
    return prev;
  }

  /** The server's hello went out on this socket: services may send to it from now on. */
  markReady(hostId: string, ws: WebSocket): void {
    if (this.sockets.get(hostId) === ws) this.ready.add(ws);
  }

  /** Removes the socket only if it is still the registered one. */
  remove(hostId: string, ws: WebSocket): boolean {
    if (this.sockets.get(hostId) !== ws) return false;
    this.sockets.delete(hostId);
    return true;
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
    ws.close(code, reason);
  }

  connectedCount(): number {
    return this.sockets.size;
  }

  hostIds(): string[] {
    return [...this.sockets.keys()];
  }

  /** Closes every socket (graceful shutdown: "tell agents"). */
  closeAll(code: number, reason: string): void {
    for (const [id, ws] of this.sockets) {
      this.sockets.delete(id);
      ws.close(code, reason);
    }
  }
}

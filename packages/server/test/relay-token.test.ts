import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RELAY_TOKEN_TTL_MS, RelayTokens } from '../src/cluster/relay-token.js';
import { SecretBox } from '../src/crypto/secret-box.js';

/*
 * Replica tokens (docs/decisions/server-0013-downloads-across-replicas.md): bound to one request
 * on one replica for a few seconds, accepted once. The real route with two replicas is tested in
 * e2e/replicas-download.test.ts.
 */

const box = new SecretBox(randomBytes(32));
const target = '/api/internal/replica/downloads/h1?snapshot_id=ab&path=%2Fsrv&format=tar&max_bytes=0';

describe('RelayTokens', () => {
  it('accepts a token once, for exactly its method, path and query, and replica', () => {
    let now = 1_800_000_000_000;
    const holder = new RelayTokens(box, 'replica-a', () => now);
    const asker = new RelayTokens(box, 'replica-b', () => now);
    const t = asker.mint({ method: 'GET', target, replica: 'replica-a' });
    expect(t).toMatch(/^v1\.[0-9a-f-]{36}\.\d{13}\.[0-9a-f]{64}$/);
    expect(holder.verify(t, 'POST', target)).toBe(false);
    expect(holder.verify(t, 'GET', `${target}&x=1`)).toBe(false);
    expect(holder.verify(t, 'GET', target.replace('h1', 'h2'))).toBe(false);
    expect(asker.verify(t, 'GET', target)).toBe(false); // minted for replica-a
    expect(holder.verify(t, 'GET', target)).toBe(true);
    expect(holder.verify(t, 'GET', target)).toBe(false); // used
    // Expired one millisecond after its lifetime.
    const late = asker.mint({ method: 'GET', target, replica: 'replica-a' });
    now += RELAY_TOKEN_TTL_MS + 1;
    expect(holder.verify(late, 'GET', target)).toBe(false);
  });

  it('refuses tampered, malformed and far-future tokens without throwing', () => {
    const now = 1_800_000_000_000;
    const holder = new RelayTokens(box, 'replica-a', () => now);
    const t = new RelayTokens(box, 'x', () => now).mint({ method: 'GET', target, replica: 'replica-a' });
    const [v, id, exp, mac] = t.split('.') as [string, string, string, string];
    const later = new RelayTokens(box, 'x', () => now + 3_600_000).mint({ method: 'GET', target, replica: 'replica-a' });
    for (const bad of [undefined, null, '', 'Bearer x', `${v}.${id}.${Number(exp) + 1}.${mac}`, `${v}.${id}.${exp}.${mac.slice(0, 63)}${mac.endsWith('0') ? '1' : '0'}`, `v2.${id}.${exp}.${mac}`, `${t}.x`, 'v1.'.padEnd(500, 'a'), later]) {
      expect(holder.verify(bad, 'GET', target)).toBe(false);
    }
    expect(holder.verify(t, 'GET', target)).toBe(true);
  });
});
